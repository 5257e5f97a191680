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
import { detectionMetrics, type DetectionMetrics, type GroundTruth, type ScoredBox } from './metrics.js';
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
  /** What the training script measured with PyTorch FP32 (mAP@0.5 and per class), for the report. */
  torch: { map50: number; scoreThreshold: number };
  /** The NMS settings the script's numbers used; evaluations should build engines with them. */
  nms: { scoreThreshold: number; iouThreshold: number; maxDetections: number };
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
  return {
    dir, count: t.count, height, width, images, classes: t.classes, truths,
    torch: { map50: t.torch.map50, scoreThreshold: t.torch.scoreThreshold },
    nms: { scoreThreshold: t.nms.scoreThreshold, iouThreshold: t.nms.iouThreshold, maxDetections: t.nms.maxDetections },
  };
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
    const x = ctx.inputs[input.name] as Float32Array;
    const plane = h * w;
    for (let first = 0; first < set.count; first += batch) {
      const rows = Math.min(batch, set.count - first);
      for (let r = 0; r < rows; r++) {
        const img = set.images.subarray((first + r) * plane * 3, (first + r + 1) * plane * 3);
        for (let p = 0; p < plane; p++) for (let k = 0; k < 3; k++) x[(r * 3 + k) * plane + p] = img[p * 3 + k] / 255;
      }
      await ctx.run({ batch: rows });
      for (let r = 0; r < rows; r++) {
        if (staged) {
          const k = (ctx.outputs[names[2]] as Float32Array).length / batch;
          const n = (ctx.outputs[names[0]] as Int32Array)[r];
          const boxes = ctx.outputs[names[1]] as Float32Array;
          const scores = ctx.outputs[names[2]] as Float32Array;
          const cls = ctx.outputs[names[3]] as Int32Array;
          dets.push(Array.from({ length: n }, (_, j) => ({ box: Array.from(boxes.subarray((r * k + j) * 4, (r * k + j) * 4 + 4)), score: scores[r * k + j], classIndex: cls[r * k + j] })));
        } else {
          const raw = ctx.outputs[names[0]] as Float32Array;
          const [, ch, n] = engine.outputs[0].shape as number[];
          const nc = ch - 4;
          const boxes = new Float32Array(n * 4);
          const scores = new Float32Array(n * nc);
          for (let i = 0; i < n; i++)
            for (let k = 0; k < ch; k++) {
              const v = raw[(r * ch + k) * n + i];
              if (k < 4) boxes[i * 4 + k] = v;
              else scores[i * nc + k - 4] = v;
            }
          const o = efficientNms(boxes, scores, undefined, 1, n, nc, { boxFormat: 'cxcywh', maxOutput: set.nms.maxDetections, scoreThreshold: set.nms.scoreThreshold, iouThreshold: set.nms.iouThreshold, classAgnostic: false });
          dets.push(Array.from({ length: o.count[0] }, (_, j) => ({ box: Array.from(o.boxes.subarray(j * 4, j * 4 + 4)), score: o.scores[j], classIndex: o.classes[j] })));
        }
      }
    }
  } finally {
    ctx.dispose();
  }
  return detectionMetrics(dets, set.truths, set.classes.length, { scoreThreshold: options.scoreThreshold ?? set.torch.scoreThreshold });
}
