// lib/vision: letterbox geometry, detect / segment through reference engines (boxes back in image pixels, class maps
// at the image's size), drawing, label sets, detection metrics, and the detect / segment CLI commands.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { runCli } from '../../lib/cli/program.js';
import { decodeImage, type RgbaImage } from '../../lib/image/decode.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Constant, Node } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { builtinLabels, labelsForClasses } from '../../lib/vision/labels.js';
import { letterbox, letterboxGeometry, unletterbox } from '../../lib/vision/letterbox.js';
import { detectionMetrics, type GroundTruth, type ScoredBox } from '../../lib/vision/metrics.js';
import { evaluateDetector, loadDetectionSet, SHAPES_FORMAT } from '../../lib/vision/evaluate.js';
import { gzipSync } from 'node:zlib';
import { detect, segment } from '../../lib/vision/pipeline.js';
import { drawDetections, drawMask, encodePng } from '../../lib/vision/draw.js';

const f32 = (name: string, dims: number[], data: ArrayLike<number>): Constant => ({ name, dtype: 'float32', dims, data: Float32Array.from(data) });

/** images [B, 3, S, S] → 1×1 Conv (weights w, bias b) → optional Reshape to [B, C, S·S]. */
function convModel(size: number, w: number[], b: number[], flatten: boolean): Uint8Array {
  const c = b.length;
  const nodes: Node[] = [{ name: 'conv', op: 'Conv', domain: '', inputs: ['images', 'w', 'b'], outputs: [flatten ? 'maps' : 'out'], attrs: {} }];
  const inits = [f32('w', [c, 3, 1, 1], w), f32('b', [c], b)];
  if (flatten) {
    nodes.push({ name: 'flat', op: 'Reshape', domain: '', inputs: ['maps', 'shape'], outputs: ['out'], attrs: {} });
    inits.push({ name: 'shape', dtype: 'int64', dims: [3], data: BigInt64Array.from([0n, BigInt(c), -1n]) });
  }
  const g = new Graph({
    opset: 17,
    inputs: [{ name: 'images', type: { dtype: 'float32', shape: ['B', 3, size, size] } }],
    outputs: [{ name: 'out', type: { dtype: 'float32', shape: [] } }],
    nodes,
    initializers: new Map(inits.map((k) => [k.name, k])),
  });
  inferShapes(g);
  return writeModel(g);
}

/** Every anchor predicts box (cx 16, cy 16, w 8, h 4) with class scores 0.9 / 0.2: NMS keeps one per class. */
const detector = () => convModel(32, new Array(18).fill(0), [16, 16, 8, 4, 0.9, 0.2], true);

function solid(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([...pixel(x, y), 255], (y * width + x) * 4);
  return { width, height, data };
}

describe('letterbox', () => {
  it('fits, pads evenly and maps boxes back', async () => {
    const g = letterboxGeometry(1280, 720, 640, 640);
    expect(g).toMatchObject({ scale: 0.5, padX: 0, padY: 140, innerWidth: 640, innerHeight: 360 });
    expect(unletterbox([0, 140, 640, 500], g)).toEqual([0, 0, 1280, 720]);
    expect(unletterbox([-5, 0, 700, 650], g)).toEqual([0, 0, 1280, 720]);
    const { image, geometry } = await letterbox(solid(64, 32, () => [200, 10, 10]), 32, 32);
    expect(geometry).toMatchObject({ padY: 8, innerHeight: 16 });
    expect(Array.from(image.data.subarray(0, 4))).toEqual([114, 114, 114, 255]);
    expect(Array.from(image.data.subarray((16 * 32 + 16) * 4, (16 * 32 + 16) * 4 + 3))).toEqual([200, 10, 10]);
  });
});

describe('detect and segment through reference engines', () => {
  it('detect: host NMS on a raw YOLO-style output; boxes in the original image pixels', async () => {
    const e = await buildEngine(detector(), { backend: 'reference', precision: 'fp32' });
    const ctx = await e.createContext({ maxBatch: 1 });
    // 64×32 → scale 0.5, 8 px padding above: model box [12, 14, 20, 18] is [24, 12, 40, 20] in the image.
    const dets = await detect(ctx, solid(64, 32, () => [90, 90, 90]), { labels: ['ring', 'block'], scoreThreshold: 0.1 });
    expect(dets.map((d) => [d.label, d.classIndex])).toEqual([['ring', 0], ['block', 1]]);
    expect(dets[0].box).toEqual([24, 12, 40, 20]);
    expect(dets[0].score).toBeCloseTo(0.9, 6);
    expect(await detect(ctx, solid(64, 32, () => [1, 2, 3]), { scoreThreshold: 0.5 })).toHaveLength(1);
    await expect(detect(ctx, solid(8, 8, () => [0, 0, 0]), { scoreThreshold: 2 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(detect(ctx, new Uint8Array([1, 2, 3, 4, 5]))).rejects.toMatchObject({ code: 'ERR_IMAGE_DECODE' });
    e.dispose({ contexts: true });
  });

  it('detect: the engine NMS stage gives the same detections', async () => {
    const e = await buildEngine(detector(), { backend: 'reference', precision: 'fp32', postprocess: { nms: { scoreThreshold: 0.1 } } });
    const ctx = await e.createContext({ maxBatch: 1 });
    const dets = await detect(ctx, solid(64, 32, () => [90, 90, 90]), { labels: ['ring', 'block'], scoreThreshold: 0.1 });
    expect(dets.map((d) => [d.label, d.box])).toEqual([['ring', [24, 12, 40, 20]], ['block', [24, 12, 40, 20]]]);
    e.dispose({ contexts: true });
  });

  it('segment: a class map at the image size, classes counted', async () => {
    // Identity 1×1 conv: the class is the dominant colour channel (R 0, G 1, B 2).
    const e = await buildEngine(convModel(16, [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0], false), { backend: 'reference', precision: 'fp32' });
    const ctx = await e.createContext({ maxBatch: 1 });
    const img = solid(40, 20, (x) => (x < 20 ? [220, 10, 10] : [10, 10, 220]));
    const seg = await segment(ctx, img, { preset: 'none', labels: ['red', 'green', 'blue'] });
    expect([seg.width, seg.height]).toEqual([40, 20]);
    expect(seg.classMap[0]).toBe(0);
    expect(seg.classMap[39]).toBe(2);
    expect(seg.classes.map((c) => [c.label, c.pixels])).toEqual([['red', 400], ['blue', 400]]);
    const masked = drawMask(img, seg);
    expect(masked.data[0]).toBe(220); // class 0 is background: untouched
    expect(masked.data[39 * 4 + 2]).not.toBe(220);
    e.dispose({ contexts: true });
  });
});

describe('drawing', () => {
  it('draws boxes and label tabs and encodes PNG', async () => {
    const img = solid(120, 80, () => [255, 255, 255]);
    const out = await drawDetections(img, [{ box: [30, 40, 90, 70], score: 0.87, label: 'cross', classIndex: 3 }]);
    expect(Array.from(img.data.subarray(0, 4))).toEqual([255, 255, 255, 255]); // the input is not modified
    const edge = (40 * 120 + 60) * 4;
    expect(Array.from(out.data.subarray(edge, edge + 3))).not.toEqual([255, 255, 255]);
    const png = await encodePng(out);
    const back = await decodeImage(png);
    expect([back.width, back.height]).toEqual([120, 80]);
  });
});

describe('label sets', () => {
  it('ship COCO 80 / 91, VOC 21 and ImageNet 1000, chosen by class count', () => {
    expect(builtinLabels('coco80')).toHaveLength(80);
    expect(builtinLabels('coco80')[79]).toBe('toothbrush');
    expect(builtinLabels('coco91')).toHaveLength(91);
    expect(builtinLabels('coco91')[1]).toBe('person');
    expect(builtinLabels('coco91')[90]).toBe('toothbrush');
    expect(builtinLabels('voc21')[15]).toBe('person');
    const inet = builtinLabels('imagenet1000');
    expect(inet).toHaveLength(1000);
    expect([inet[0], inet[207], inet[281], inet[999]]).toEqual(['tench', 'golden retriever', 'tabby', 'toilet tissue']);
    expect(labelsForClasses(1001)?.[1]).toBe('tench');
    expect(labelsForClasses(7)).toBeUndefined();
    expect(() => builtinLabels('coco' as never)).toThrow(/label set/);
  });
});

describe('detection metrics', () => {
  it('AP, precision and recall by hand', () => {
    const gts: GroundTruth[][] = [[{ classIndex: 0, box: [0, 0, 10, 10] }, { classIndex: 0, box: [20, 20, 30, 30] }], [{ classIndex: 1, box: [0, 0, 10, 10] }]];
    const dets: ScoredBox[][] = [
      [
        { classIndex: 0, box: [0, 0, 10, 10], score: 0.9 }, // hit
        { classIndex: 0, box: [0, 0, 10, 10], score: 0.8 }, // duplicate: a false positive
        { classIndex: 0, box: [21, 21, 30, 30], score: 0.1 }, // hit, low score
      ],
      [{ classIndex: 1, box: [50, 50, 60, 60], score: 0.7 }], // miss
    ];
    const m = detectionMetrics(dets, gts, 3);
    // class 0: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 → AP = 0.5·1 + 0.5·(2/3)
    expect(m.perClass[0].ap50).toBeCloseTo(0.5 + 1 / 3, 10);
    expect(m.perClass[0]).toMatchObject({ precision: 0.5, recall: 0.5, instances: 2 });
    expect(m.perClass[1]).toMatchObject({ ap50: 0, precision: 0, recall: 0, instances: 1 });
    expect(m.perClass[2].ap50).toBeNull();
    expect(m.map50).toBeCloseTo((0.5 + 1 / 3) / 2, 10);
  });

  const fixture = 'test/fixtures/shapes/test.json';
  it.skipIf(!existsSync(fixture))('agrees with the training script on the shapes detector held-out split', () => {
    const t = JSON.parse(readFileSync(fixture, 'utf8'));
    const gts = (t.boxes as number[][][]).map((g) => g.map(([c, ...box]) => ({ classIndex: c, box })));
    const dets = (t.torch.detections as number[][][]).map((d) => d.map((r) => ({ box: r.slice(0, 4), score: r[4], classIndex: r[5] })));
    const m = detectionMetrics(dets, gts, t.classes.length, { scoreThreshold: t.torch.scoreThreshold });
    expect(m.map50).toBeCloseTo(t.torch.map50, 9);
    t.classes.forEach((name: string, i: number) => expect(m.perClass[i].precision).toBeCloseTo(t.torch.perClass[name].precision, 9));
  });
});

describe('evaluateDetector', () => {
  it('scores a detection set through an engine, with or without the NMS stage', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-shapes-'));
    writeFileSync(path.join(dir, 'imgs.u8.gz'), gzipSync(new Uint8Array(3 * 32 * 32 * 3).fill(90)));
    const nms = { scoreThreshold: 0.001, iouThreshold: 0.5, maxDetections: 100 };
    writeFileSync(path.join(dir, 'test.json'), JSON.stringify({
      format: SHAPES_FORMAT, count: 3, shape: [32, 32, 3], images: 'imgs.u8.gz', classes: ['ring', 'block'],
      boxes: [[[0, 12, 14, 20, 18]], [[0, 12, 14, 20, 18]], [[0, 0, 0, 5, 5]]], nms, torch: { map50: 0.5, scoreThreshold: 0.25 },
    }));
    const set = await loadDetectionSet(dir);
    expect(set.count).toBe(3);
    for (const postprocess of [undefined, { nms: { scoreThreshold: nms.scoreThreshold, iouThreshold: nms.iouThreshold, maxOutput: 100 } }]) {
      const e = await buildEngine(detector(), { backend: 'reference', precision: 'fp32', postprocess });
      const m = await evaluateDetector(e, set, { batch: 2 });
      // Class 0: three detections at 0.9, two hits of three truths → AP 2/3, precision 2/3, recall 2/3.
      expect(m.perClass[0].ap50).toBeCloseTo(2 / 3, 10);
      expect(m.perClass[0]).toMatchObject({ instances: 3 });
      expect(m.perClass[0].precision).toBeCloseTo(2 / 3, 10);
      expect(m.perClass[1]).toMatchObject({ ap50: null, precision: 0, instances: 0 });
      expect(m.map50).toBeCloseTo(2 / 3, 10);
      e.dispose({ contexts: true });
    }
    await expect(loadDetectionSet(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'ERR_IO' });
  });
});

describe('CLI detect and segment', () => {
  it('detect prints the table, writes the picture and JSON', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-vision-'));
    const model = path.join(dir, 'det.onnx');
    writeFileSync(model, detector());
    const image = path.join(dir, 'in.png');
    writeFileSync(image, await encodePng(solid(64, 32, () => [90, 90, 90])));
    const labels = path.join(dir, 'labels.txt');
    writeFileSync(labels, 'ring\nblock\n');
    let out = '';
    let err = '';
    const io = { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } };
    const png = path.join(dir, 'out.png');
    const code = await runCli(['detect', model, image, '-o', png, '--labels', labels, '--score', '0.1', '--backend', 'reference', '--fp32', '--no-cache', '-q'], io);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/2 detections/);
    expect(out).toMatch(/ring\s+0\.900\s+24\.0, 12\.0, 40\.0, 20\.0/);
    expect((await decodeImage(png)).width).toBe(64);
    out = '';
    expect(await runCli(['detect', model, image, '--json', '--nms', 'host', '--backend', 'reference', '--fp32', '--no-cache'], io)).toBe(0);
    expect(JSON.parse(out).detections[0]).toMatchObject({ box: [24, 12, 40, 20], label: 'class 0' });
    out = '';
    err = '';
    expect(await runCli(['detect', model, model, '--backend', 'reference', '--no-cache'], io)).toBe(1);
    expect(err).toMatch(/ERR_IMAGE_DECODE/);
    err = '';
    expect(await runCli(['detect', model, image, '--score', '2', '--backend', 'reference'], io)).toBe(1);
    expect(err).toMatch(/Expected a number from 0 to 1 for --score but received '2'/);
  });

  it('segment prints class shares and writes the mask picture', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-vision-'));
    const model = path.join(dir, 'seg.onnx');
    writeFileSync(model, convModel(16, [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0], false));
    const image = path.join(dir, 'in.png');
    writeFileSync(image, await encodePng(solid(40, 20, (x) => (x < 10 ? [220, 10, 10] : [10, 220, 10]))));
    let out = '';
    const io = { out: { write: (s: string) => (out += s) }, err: { write: () => true } };
    const png = path.join(dir, 'mask.png');
    expect(await runCli(['segment', model, image, '-o', png, '--backend', 'reference', '--fp32', '--no-cache', '-q'], io)).toBe(0);
    expect(out).toMatch(/40x20, 2 classes/);
    expect(out).toMatch(/class 1\s+75\.0%/);
    expect((await decodeImage(png)).height).toBe(20);
  });
});
