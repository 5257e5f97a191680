// Pictures of results: boxes with labels (jimp's bundled bitmap font, no network) and coloured class masks over the
// image, encoded as PNG.
import { ErrorCode, TensorRTError } from '../errors.js';
import { checkRgbaImage, type RgbaImage } from '../image/decode.js';
import { jimp } from '../image/jimp.js';
import type { Detection, Segmentation } from './pipeline.js';

/** A distinct colour per class (Pascal VOC's bit-interleaved palette, brightened for class 0 boxes). */
export function classColour(i: number): [number, number, number] {
  let r = 0;
  let g = 0;
  let b = 0;
  let c = i + 1;
  for (let j = 0; j < 8; j++) {
    r |= ((c >> 0) & 1) << (7 - j);
    g |= ((c >> 1) & 1) << (7 - j);
    b |= ((c >> 2) & 1) << (7 - j);
    c >>= 3;
  }
  return [r, g, b];
}

function fillRect(img: RgbaImage, x0: number, y0: number, x1: number, y1: number, rgb: readonly number[], alpha = 1): void {
  const xa = Math.max(0, Math.floor(x0));
  const ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(img.width, Math.ceil(x1));
  const yb = Math.min(img.height, Math.ceil(y1));
  for (let y = ya; y < yb; y++)
    for (let x = xa; x < xb; x++) {
      const o = (y * img.width + x) * 4;
      for (let k = 0; k < 3; k++) img.data[o + k] = Math.round(img.data[o + k] * (1 - alpha) + rgb[k] * alpha);
      img.data[o + 3] = 255;
    }
}

/**
 * The image with each detection's box (2 px, class colour) and a label tab "label 0.93" above it.
 * @example const png = await encodePng(await drawDetections(rgba, dets));
 */
export async function drawDetections(image: RgbaImage, detections: readonly Detection[]): Promise<RgbaImage> {
  checkRgbaImage(image);
  const out: RgbaImage = { width: image.width, height: image.height, data: new Uint8Array(image.data) };
  const t = Math.max(2, Math.round(Math.min(image.width, image.height) / 300));
  for (const d of detections) {
    const [x1, y1, x2, y2] = d.box;
    const c = classColour(d.classIndex);
    fillRect(out, x1, y1, x2, y1 + t, c);
    fillRect(out, x1, y2 - t, x2, y2, c);
    fillRect(out, x1, y1, x1 + t, y2, c);
    fillRect(out, x2 - t, y1, x2, y2, c);
  }
  const { Jimp, loadFont } = await jimp();
  const { SANS_16_WHITE } = await import('jimp/fonts');
  const font = await loadFont(SANS_16_WHITE);
  const img = Jimp.fromBitmap({ width: out.width, height: out.height, data: Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength) });
  for (const d of detections) {
    const text = `${d.label} ${d.score.toFixed(2)}`;
    const [x1, y1] = d.box;
    const w = text.length * 8 + 6;
    const top = y1 >= 20 ? y1 - 20 : y1;
    const c = classColour(d.classIndex);
    const tab = { width: out.width, height: out.height, data: img.bitmap.data as unknown as Uint8Array };
    fillRect(tab, x1, top, x1 + w, top + 20, c.map((v) => v * 0.6));
    img.print({ font, x: Math.max(0, Math.round(x1 + 3)), y: Math.round(top + 1), text });
  }
  const d = img.bitmap.data;
  return { width: out.width, height: out.height, data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
}

/**
 * The image with a coloured mask of every class but `background` (class 0 by default) blended in.
 * @example const png = await encodePng(drawMask(rgba, await segment(ctx, rgba)));
 */
export function drawMask(image: RgbaImage, seg: Segmentation, options: { alpha?: number; background?: number } = {}): RgbaImage {
  checkRgbaImage(image);
  if (seg.width !== image.width || seg.height !== image.height) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `The class map is ${seg.width}x${seg.height} but the image is ${image.width}x${image.height}`);
  }
  const alpha = options.alpha ?? 0.55;
  const bg = options.background ?? 0;
  const out = new Uint8Array(image.data);
  for (let p = 0; p < seg.classMap.length; p++) {
    const k = seg.classMap[p];
    if (k === bg) continue;
    const c = classColour(k);
    for (let j = 0; j < 3; j++) out[p * 4 + j] = Math.round(out[p * 4 + j] * (1 - alpha) + c[j] * alpha);
  }
  return { width: image.width, height: image.height, data: out };
}

/**
 * PNG bytes of RGBA pixels.
 * @example await writeFile('out.png', await encodePng(rgba));
 */
export async function encodePng(image: RgbaImage): Promise<Uint8Array> {
  checkRgbaImage(image);
  const { Jimp } = await jimp();
  const img = Jimp.fromBitmap({ width: image.width, height: image.height, data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength) });
  return new Uint8Array(await img.getBuffer('image/png'));
}
