// Accuracy of a detector on a held-out split (the shapes fixture that scripts/train_shapes_detector.py writes):
// images through an engine in batches, detections best first, then mAP@0.5 and per-class precision / recall.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Engine } from '../engine.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import { packageRoot } from '../native.js';
import { efficientNms } from '../reference/efficient-nms.js';
import { positiveInteger } from '../validate.js';
import { detectionMetrics, type ClassMetrics, type DetectionMetrics, type GroundTruth, type ScoredBox } from './metrics.js';
import { NMS_OUTPUTS } from './postprocess.js';

export const SHAPES_FORMAT = 'node-tensorrt-shapes/1';

export interface DetectionSet {
  dir: string;
  count: number;
  height: number;
  width: number;
  /** NHWC RGB, count × height × width × 3. */
  images: Uint8Array;
  classes: string[];
  truths: GroundTruth[][];
  /** What the training script measured with PyTorch FP32 (mAP@0.5 and per class, in `classes` order), for the report. */
  torch: { map50: number; scoreThreshold: number; perClass?: ClassMetrics[]; version?: string };
  /** The NMS settings the script's numbers used; evaluations should build engines with them. */
  nms: { scoreThreshold: number; iouThreshold: number; maxDetections: number };
  /** The set's own model (test.json's `model`, default shapes_yolo.onnx in the folder). */
  onnxPath: string;
  /** The rest of test.json (seed, split, training time, …), without the boxes and detections. */
  meta: Record<string, unknown>;
}

/**
 * Loads test.json and the gzipped images of a detection fixture (default: the package's test/fixtures/shapes).
 * @example const set = await loadDetectionSet(); set.count // 120
 */
export async function loadDetectionSet(dir = path.join(packageRoot(), 'test', 'fixtures', 'shapes')): Promise<DetectionSet> {
  const read = async (f: string) => {
    try {
      return await readFile(path.join(dir, f));
    } catch (e) {
      throw new TensorRTError(ErrorCode.IO, `Could not read ${path.join(dir, f)} (scripts/train_shapes_detector.py writes it): ${(e as Error).message}`, { cause: e });
    }
  };
  const t = JSON.parse((await read('test.json')).toString('utf8'));
  if (t.format !== SHAPES_FORMAT) throw new TensorRTError(ErrorCode.INVALID_INPUT, `${path.join(dir, 'test.json')} is not a ${SHAPES_FORMAT} file`);
  const [height, width] = t.shape as number[];
  const images = new Uint8Array(gunzipSync(await read(t.images)));
  if (images.length !== t.count * height * width * 3) {
    throw new TensorRTError(ErrorCode.INVALID_INPUT, `${t.images} holds ${images.length} bytes; ${t.count} images of ${width}x${height} RGB need ${t.count * height * width * 3}`);
  }
  const truths = (t.boxes as number[][][]).map((g) => g.map(([c, ...box]) => ({ classIndex: c, box })));
  const classes = t.classes as string[];
  const byName = t.torch.perClass as Record<string, ClassMetrics> | undefined;
  const { boxes: _b, torch: _t, ...meta } = t as Record<string, unknown>;
  return {
    dir, count: t.count, height, width, images, classes, truths,
    torch: {
      map50: t.torch.map50, scoreThreshold: t.torch.scoreThreshold,
      ...(byName ? { perClass: classes.map((c) => byName[c]) } : {}),
      ...(typeof t.torch.version === 'string' ? { version: t.torch.version } : {}),
    },
    nms: { scoreThreshold: t.nms.scoreThreshold, iouThreshold: t.nms.iouThreshold, maxDetections: t.nms.maxDetections },
    onnxPath: path.join(dir, typeof t.model === 'string' ? t.model : 'shapes_yolo.onnx'),
    meta,
  };
}

/**
 * Writes images first .. first + rows - 1 of the set into `x` as NCHW float32, RGB / 255 (the models' input).
 * @example fillImages(set, 0, 8, ctx.inputs.images as Float32Array)
 */
export function fillImages(set: DetectionSet, first: number, rows: number, x: Float32Array): void {
  const plane = set.height * set.width;
  for (let r = 0; r < rows; r++) {
    const img = set.images.subarray((first + r) * plane * 3, (first + r + 1) * plane * 3);
    for (let p = 0; p < plane; p++) for (let k = 0; k < 3; k++) x[(r * 3 + k) * plane + p] = img[p * 3 + k] / 255;
  }
}

/**
 * Detections of `rows` images from a raw YOLO-style output (each row [4+C, N], boxes cx, cy, w, h), through the
 * NMS of the stage on the host with the set's settings.
 * @example const dets = rawDetections(output0, 8, 8, 525, set.nms);
 */
export function rawDetections(raw: Float32Array, rows: number, ch: number, n: number, nms: DetectionSet['nms']): ScoredBox[][] {
  const nc = ch - 4;
  const dets: ScoredBox[][] = [];
  for (let r = 0; r < rows; r++) {
    const boxes = new Float32Array(n * 4);
    const scores = new Float32Array(n * nc);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < ch; k++) {
        const v = raw[(r * ch + k) * n + i];
        if (k < 4) boxes[i * 4 + k] = v;
        else scores[i * nc + k - 4] = v;
      }
    const o = efficientNms(boxes, scores, undefined, 1, n, nc, { boxFormat: 'cxcywh', maxOutput: nms.maxDetections, scoreThreshold: nms.scoreThreshold, iouThreshold: nms.iouThreshold, classAgnostic: false });
    dets.push(Array.from({ length: o.count[0] }, (_, j) => ({ box: Array.from(o.boxes.subarray(j * 4, j * 4 + 4)), score: o.scores[j], classIndex: o.classes[j] })));
  }
  return dets;
}

/**
 * Runs every image of `set` through `engine` (an NCHW float input of the set's size, RGB / 255) and scores the
 * detections: the engine's NMS stage when it has one, else NMS on the host with the set's settings.
 * @example const m = await evaluateDetector(engine, await loadDetectionSet()); m.map50 // 0.9
 */
export async function evaluateDetector(engine: Engine, set: DetectionSet, options: { batch?: number; scoreThreshold?: number } = {}): Promise<DetectionMetrics> {
  const input = engine.inputs[0];
  const [, c, h, w] = input.shape;
  if (engine.inputs.length !== 1 || c !== 3 || h !== set.height || w !== set.width) {
    throw new TensorRTError(ErrorCode.INVALID_INPUT, `The engine's input [${input.shape.join(', ')}] does not take the set's ${set.width}x${set.height} RGB images`);
  }
  const batch = Math.min(options.batch === undefined ? engine.profile.max : positiveInteger(options.batch, 'batch'), engine.profile.max);
  const ctx = await engine.createContext({ maxBatch: batch });
  const names = engine.outputs.map((o) => o.name);
  const staged = NMS_OUTPUTS.every((n, i) => names[i]?.startsWith(n));
  const dets: ScoredBox[][] = [];
  try {
    for (let first = 0; first < set.count; first += batch) {
      const rows = Math.min(batch, set.count - first);
      fillImages(set, first, rows, ctx.inputs[input.name] as Float32Array);
      await ctx.run({ batch: rows });
      if (!staged) {
        const [, ch, n] = engine.outputs[0].shape as number[];
        dets.push(...rawDetections(ctx.outputs[names[0]] as Float32Array, rows, ch, n, set.nms));
        continue;
      }
      const k = (ctx.outputs[names[2]] as Float32Array).length / batch;
      const boxes = ctx.outputs[names[1]] as Float32Array;
      const scores = ctx.outputs[names[2]] as Float32Array;
      const cls = ctx.outputs[names[3]] as Int32Array;
      for (let r = 0; r < rows; r++) {
        const n = (ctx.outputs[names[0]] as Int32Array)[r];
        dets.push(Array.from({ length: n }, (_, j) => ({ box: Array.from(boxes.subarray((r * k + j) * 4, (r * k + j) * 4 + 4)), score: scores[r * k + j], classIndex: cls[r * k + j] })));
      }
    }
  } finally {
    ctx.dispose();
  }
  return detectionMetrics(dets, set.truths, set.classes.length, { scoreThreshold: options.scoreThreshold ?? set.torch.scoreThreshold });
}
