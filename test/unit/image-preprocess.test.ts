import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Jimp } from 'jimp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  centerCropBox,
  decodeImage,
  imageFormat,
  imageInputSpec,
  imageToRgba,
  normalize,
  preprocess,
  preprocessBatch,
  resizeAndCrop,
  resizedSize,
  type RgbaImage,
} from '../../lib/image/index.js';

const RED = 0xff0000ff;
const BLUE = 0x0000ffff;
const GREEN = 0x00ff00ff;

/** 400x200: red where x < 150, blue elsewhere, and a green band where y >= 180 (over both). */
function pattern(): InstanceType<typeof Jimp> {
  const img = new Jimp({ width: 400, height: 200, color: BLUE });
  img.scan(0, 0, 400, 200, (x, y) => {
    if (y >= 180) img.setPixelColor(GREEN, x, y);
    else if (x < 150) img.setPixelColor(RED, x, y);
  });
  return img;
}

function pixel(img: RgbaImage, x: number, y: number): number[] {
  const p = (y * img.width + x) * 4;
  return [...img.data.subarray(p, p + 4)];
}

let png: Buffer;
let jpeg: Buffer;
const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-image-'));

beforeAll(async () => {
  png = await pattern().getBuffer('image/png');
  jpeg = await pattern().getBuffer('image/jpeg', { quality: 95 });
});

describe('decodeImage', () => {
  it('decodes PNG bytes exactly and JPEG from a path approximately', async () => {
    expect(imageFormat(png)).toBe('png');
    expect(imageFormat(jpeg)).toBe('jpeg');
    const p = await decodeImage(png);
    expect([p.width, p.height, p.data.length]).toEqual([400, 200, 400 * 200 * 4]);
    expect(pixel(p, 10, 10)).toEqual([255, 0, 0, 255]);
    expect(pixel(p, 300, 10)).toEqual([0, 0, 255, 255]);
    expect(pixel(p, 300, 190)).toEqual([0, 255, 0, 255]);
    const file = path.join(dir, 'pattern.jpg');
    writeFileSync(file, jpeg);
    const j = await decodeImage(file);
    expect([j.width, j.height]).toEqual([400, 200]);
    const [r, g, b] = pixel(j, 40, 40);
    expect(r).toBeGreaterThan(240);
    expect(g).toBeLessThan(15);
    expect(b).toBeLessThan(15);
  });

  it('names a text file and says what was expected', async () => {
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'hello, this is not an image\n');
    await expect(decodeImage(file)).rejects.toMatchObject({
      code: 'ERR_IMAGE_DECODE',
      message: `${file} is not an image: expected a JPEG or PNG image (GIF, BMP and TIFF are read too), but it starts with "hello, this is n"`,
    });
  });

  it('rejects truncated PNG and JPEG bytes with ERR_IMAGE_DECODE', async () => {
    await expect(decodeImage(png.subarray(0, png.length >> 1), { name: 'half.png' })).rejects.toMatchObject({
      code: 'ERR_IMAGE_DECODE',
      message: expect.stringMatching(/^Could not decode half\.png as PNG \(\d+ bytes; truncated or corrupt\?\): /),
    });
    await expect(decodeImage(jpeg.subarray(0, 64))).rejects.toMatchObject({
      code: 'ERR_IMAGE_DECODE',
      message: expect.stringMatching(/^Could not decode the image bytes as JPEG \(64 bytes/),
    });
    await expect(decodeImage(new Uint8Array(0))).rejects.toMatchObject({ code: 'ERR_IMAGE_DECODE', message: expect.stringContaining('it is empty') });
  });

  it('reports a missing file as ERR_IO and a wrong argument as ERR_INVALID_ARGUMENT', async () => {
    await expect(decodeImage(path.join(dir, 'missing.png'))).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringContaining('missing.png') });
    await expect(decodeImage(42 as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: 'Expected a path, a Uint8Array, an ArrayBuffer or { width, height, data } for image but received 42 of type number',
    });
    await expect(decodeImage({ width: 2, height: 2, data: new Uint8Array(3) })).rejects.toThrow('Expected 16 bytes of RGBA pixels');
  });
});

describe('geometry', () => {
  it('computes the shorter-side resize and the centred crop', () => {
    expect(resizedSize(400, 200, 256)).toEqual({ width: 512, height: 256 });
    expect(resizedSize(200, 333, 256)).toEqual({ width: 256, height: 426 });
    expect(centerCropBox(512, 256, 224, 224)).toEqual({ x: 144, y: 16, width: 224, height: 224 });
    expect(() => centerCropBox(200, 200, 224, 224)).toThrow('Cannot crop 224x224 out of a 200x200 image');
  });

  it('resizes the shorter side to 256 and centre-crops 224 on an asymmetric pattern', async () => {
    const out = await imageToRgba(png, { size: 224 });
    expect([out.width, out.height]).toEqual([224, 224]);
    // Red ends at x = 150 · 1.28 = 192 in the 512-wide resize, i.e. column 192 − 144 = 48 of the crop.
    for (const y of [0, 100, 200]) {
      for (let x = 0; x <= 46; x++) expect(pixel(out, x, y)).toEqual([255, 0, 0, 255]);
      for (let x = 50; x < 224; x++) expect(pixel(out, x, y)).toEqual([0, 0, 255, 255]);
    }
    // Green starts at y = 180 · 1.28 = 230.4 in the resize, i.e. row 214.4 of the crop.
    for (let y = 0; y <= 212; y++) expect(pixel(out, 10, y)[1]).toBe(0);
    for (let y = 216; y < 224; y++) expect(pixel(out, 10, y)).toEqual([0, 255, 0, 255]);
  });

  it('stretches with resize: "stretch" and honours [height, width] sizes', async () => {
    const img = await decodeImage(png);
    const s = await resizeAndCrop(img, { size: [100, 40], resize: 'stretch', resample: 'nearest' });
    expect([s.width, s.height]).toEqual([40, 100]);
    expect(pixel(s, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(pixel(s, 39, 0)).toEqual([0, 0, 255, 255]);
    expect(pixel(s, 39, 99)).toEqual([0, 255, 0, 255]);
    // The source is left untouched.
    expect([img.width, img.height]).toEqual([400, 200]);
    expect(pixel(img, 399, 0)).toEqual([0, 0, 255, 255]);
  });

  it('validates geometry options like sharp', async () => {
    const img = await decodeImage(png);
    await expect(resizeAndCrop(img, { size: -3 })).rejects.toThrow('Expected a positive integer for size but received -3 of type number');
    await expect(resizeAndCrop(img, { size: 224, resample: 'lanczos' as never })).rejects.toThrow(
      "Expected one of 'bilinear', 'bicubic', 'nearest' for resample but received 'lanczos' of type string",
    );
    await expect(resizeAndCrop(img, { size: 224, resize: 100 })).rejects.toThrow('Cannot crop 224x224 out of a 200x100 image');
    await expect(resizeAndCrop(img, { size: 224, crop: true } as never)).rejects.toThrow("Unknown option 'crop' in resizeAndCrop options");
  });
});

describe('normalize', () => {
  // 2x1 image: pixel 0 = (255, 51, 0), pixel 1 = (0, 102, 255)
  const img: RgbaImage = { width: 2, height: 1, data: new Uint8Array([255, 51, 0, 255, 0, 102, 255, 7]) };

  it('applies the imagenet preset in NCHW', () => {
    const t = normalize(img, { preset: 'imagenet' });
    const expected = [(1 - 0.485) / 0.229, (0 - 0.485) / 0.229, (0.2 - 0.456) / 0.224, (0.4 - 0.456) / 0.224, (0 - 0.406) / 0.225, (1 - 0.406) / 0.225];
    expect(t.length).toBe(6);
    [...t].forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('applies mobilenet ([-1, 1]), none ([0, 1]) and caffe (BGR, mean-subtracted) in NHWC', () => {
    expect([...normalize(img, { preset: 'mobilenet', layout: 'nhwc' })]).toEqual([1, 51 / 127.5 - 1, -1, -1, 102 / 127.5 - 1, 1].map(Math.fround));
    expect([...normalize(img, { preset: 'keras', layout: 'nhwc' })]).toEqual([...normalize(img, { preset: 'mobilenet', layout: 'nhwc' })]);
    expect([...normalize(img, { preset: 'none', layout: 'nhwc' })]).toEqual([1, 0.2, 0, 0, 0.4, 1].map(Math.fround));
    const caffe = normalize(img, { preset: 'caffe', layout: 'nhwc' });
    [0 - 103.939, 51 - 116.779, 255 - 123.68, 255 - 103.939, 102 - 116.779, 0 - 123.68].forEach((v, i) => expect(caffe[i]).toBeCloseTo(v, 4));
  });

  it('takes a custom mean/std and channel order', () => {
    const t = normalize(img, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 1], channels: 'bgr', layout: 'nhwc' });
    // Output channels are B, G, R and mean/std follow the output order.
    [-1, (0.2 - 0.5) / 0.25, 0.5, 1, (0.4 - 0.5) / 0.25, -0.5].forEach((v, i) => expect(t[i]).toBeCloseTo(v, 6));
    expect(() => normalize(img, { mean: [0.5, 0.5], std: [1, 1, 1] })).toThrow('Expected an array of 3 numbers (R, G, B) for mean but received an array of length 2');
    expect(() => normalize(img, { mean: [0, 0, 0], std: [1, 0, 1] })).toThrow('Expected a non-zero number for std[1]');
  });

  it('writes into a caller-supplied array at a batch row and touches nothing else', () => {
    const out = new Float32Array(3 * 6).fill(42);
    const r = normalize(img, { preset: 'none', out, row: 1 });
    expect(r).toBe(out);
    expect([...out]).toEqual([42, 42, 42, 42, 42, 42, 1, 0, 0.2, 0.4, 0, 1, 42, 42, 42, 42, 42, 42].map(Math.fround));
    expect(() => normalize(img, { out, row: 3 })).toThrow('Row 3 of 6 elements (3x1x2) does not fit in out (18 elements, 3 rows)');
    expect(() => normalize(img, { out: new Uint16Array(6) as never })).toThrow('Expected a Float32Array for out (a float32 input) but received a Uint16Array of length 6');
    expect(() => normalize(img, { preset: 'tf' as never })).toThrow("Expected one of 'imagenet', 'mobilenet', 'keras', 'caffe', 'none' for preset but received 'tf' of type string");
  });
});

describe('preprocess', () => {
  it('runs the whole pipeline into batch rows of one tensor', async () => {
    // 400x200 → 128x64 → centre 56x56 from x = 36: red up to column 11, blue from column 13.
    const one = await preprocess(png, { size: 56, resize: 64, preset: 'mobilenet' });
    const plane = 56 * 56;
    expect(one.length).toBe(3 * plane);
    // NCHW: the red plane is +1 at (0, 0) and the blue plane −1 there; at (55, 0) the opposite.
    expect([one[0], one[plane], one[2 * plane]]).toEqual([1, -1, -1]);
    expect([one[55], one[plane + 55], one[2 * plane + 55]]).toEqual([-1, -1, 1]);
    const batch = await preprocessBatch([png, png], { size: 56, resize: 64, preset: 'mobilenet', out: new Float32Array(3 * one.length), row: 1 });
    expect(batch.subarray(0, one.length).every((v) => v === 0)).toBe(true);
    expect(batch.subarray(one.length, 2 * one.length)).toEqual(one);
    expect(batch.subarray(2 * one.length)).toEqual(one);
    await expect(preprocessBatch([png, Buffer.from('GIF89a…not really')], { size: 56 })).rejects.toMatchObject({
      code: 'ERR_IMAGE_DECODE',
      message: expect.stringContaining('sources[1] as GIF'),
    });
  });

  it('writes RGBA rows into a caller-supplied (e.g. pinned staging) buffer', async () => {
    const fresh = await imageToRgba(png, { size: 32, resize: 64 });
    const staging = new Uint8Array(3 * 32 * 32 * 4).fill(9);
    const r = await imageToRgba(png, { size: 32, resize: 64, out: staging, row: 2 });
    expect([r.width, r.height]).toEqual([32, 32]);
    expect(r.data.buffer).toBe(staging.buffer);
    expect(r.data.byteOffset).toBe(2 * 32 * 32 * 4);
    expect(r.data).toEqual(fresh.data);
    expect(staging.subarray(0, 2 * 32 * 32 * 4).every((v) => v === 9)).toBe(true);
    await expect(imageToRgba(png, { size: 32, out: staging, row: 3 })).rejects.toThrow('Row 3 of 4096 bytes (32x32x4) does not fit in out (12288 bytes, 3 rows)');
    await expect(imageToRgba(png, { size: 32, out: new Float32Array(4) as never })).rejects.toThrow(
      'Expected a Uint8Array of RGBA8 rows for out but received a Float32Array of length 4',
    );
  });

  it('reads the layout and size from an engine input', () => {
    expect(imageInputSpec({ name: 'input', shape: ['batch', 3, 224, 224], dtype: 'float32' })).toEqual({ layout: 'nchw', size: [224, 224] });
    expect(imageInputSpec({ name: 'input', shape: ['N', 299, 299, 3], dtype: 'float32' })).toEqual({ layout: 'nhwc', size: [299, 299] });
    expect(() => imageInputSpec({ name: 'ids', shape: ['batch', 128], dtype: 'int64' })).toThrow(
      "Input 'ids' with shape [batch, 128] is not an RGB image input; expected [batch, 3, H, W] (NCHW) or [batch, H, W, 3] (NHWC)",
    );
  });
});
