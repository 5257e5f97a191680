// Accuracy of a detector on its held-out split (--accuracy with a detection set such as the shapes fixture): the
// figures PyTorch measured (test.json) beside the reference, FP32 and FP16 engines and onnxruntime-node, every one
// decoded with the set's NMS rules (the engines' postprocess.nms stage; the same stage on the host for onnxruntime)
// and scored by lib/vision/metrics.ts.
import { readFile } from 'node:fs/promises';
import type { BackendName } from '../capabilities.js';
import type { Precision } from '../types.js';
import { evaluateDetector, fillImages, loadDetectionSet, rawDetections, type DetectionSet } from '../vision/evaluate.js';
import { detectionMetrics, type DetectionMetrics } from '../vision/metrics.js';
import { batchProfiles } from './engines.js';
import { onnxGraphIO } from './onnx-io.js';
import { loadOrt } from './peers/ort.js';
import { scoreAccuracyEngines } from './accuracy-engines.js';

export interface DetectionRun {
  /** e.g. "PyTorch FP32 (training script)", "reference (CPU FP32)", "builtin FP16". */
  name: string;
  backend?: BackendName | 'onnxruntime' | 'pytorch';
  precision?: Precision;
  metrics?: DetectionMetrics;
  skipped?: string;
}

export interface DetectionAccuracyReport {
  kind: 'detection';
  dataset: {
    dir: string;
    model: string;
    count: number;
    width: number;
    height: number;
    classes: string[];
    nms: DetectionSet['nms'];
    /** Precision and recall count detections scoring at least this. */
    scoreThreshold: number;
    meta: Record<string, unknown>;
  };
  runs: DetectionRun[];
}

const CHUNK = 32;

async function ortDetections(set: DetectionSet): Promise<DetectionMetrics | string> {
  const ort = await loadOrt();
  if (typeof ort === 'string') return ort;
  const io = onnxGraphIO(await readFile(set.onnxPath));
  const session = await ort.InferenceSession.create(set.onnxPath, { executionProviders: ['cpu'] });
  try {
    const dets = [];
    const x = new Float32Array(CHUNK * 3 * set.height * set.width);
    for (let first = 0; first < set.count; first += CHUNK) {
      const rows = Math.min(CHUNK, set.count - first);
      fillImages(set, first, rows, x);
      const input = new ort.Tensor('float32', x.subarray(0, rows * 3 * set.height * set.width), [rows, 3, set.height, set.width]);
      const out = (await session.run({ [io.inputs[0].name]: input }))[io.outputs[0].name];
      const [, ch, n] = out.dims as number[];
      dets.push(...rawDetections(out.data as Float32Array, rows, ch, n, set.nms));
    }
    return detectionMetrics(dets, set.truths, set.classes.length, { scoreThreshold: set.torch.scoreThreshold });
  } finally {
    await session.release();
  }
}

/**
 * Scores a detection set (test.json in the node-tensorrt-shapes/1 format) with the reference backend, FP32 and
 * FP16 engines of `backend` (GPU only) and onnxruntime-node, beside what PyTorch measured when it was written.
 * @example const acc = await runDetectionAccuracy({ dir: 'test/fixtures/shapes', backend: 'auto', hasGpu: true, device: 0, log: console.error });
 */
export async function runDetectionAccuracy(o: { dir: string; backend: 'auto' | BackendName; hasGpu: boolean; device: number; log: (l: string) => void }): Promise<DetectionAccuracyReport> {
  const set = await loadDetectionSet(o.dir);
  const runs: DetectionRun[] = [];
  if (set.torch.perClass) {
    runs.push({ name: 'PyTorch FP32 (test.json)', backend: 'pytorch', precision: 'fp32', metrics: { map50: set.torch.map50, scoreThreshold: set.torch.scoreThreshold, perClass: set.torch.perClass } });
    o.log(`[accuracy] PyTorch ${set.torch.version ?? ''} measured mAP@0.5 ${set.torch.map50.toFixed(4)} when the set was written`);
  } else runs.push({ name: 'PyTorch FP32 (test.json)', skipped: 'test.json holds no per-class figures' });
  const shapes = batchProfiles(onnxGraphIO(await readFile(set.onnxPath)), CHUNK, CHUNK);
  const postprocess = { nms: { scoreThreshold: set.nms.scoreThreshold, iouThreshold: set.nms.iouThreshold, maxOutput: set.nms.maxDetections } };
  runs.push(...(await scoreAccuracyEngines(o, set.onnxPath, { shapes, postprocess }, async (engine) => ({ metrics: await evaluateDetector(engine, set, { batch: CHUNK, scoreThreshold: set.torch.scoreThreshold }) }))));
  o.log('[accuracy] onnxruntime-node (CPU)');
  const ortMetrics = await ortDetections(set).catch((e: Error) => `failed: ${e.message.split('\n')[0]}`);
  if (typeof ortMetrics === 'string') runs.push({ name: 'onnxruntime-node (CPU)', skipped: ortMetrics });
  else runs.push({ name: 'onnxruntime-node (CPU)', backend: 'onnxruntime', precision: 'fp32', metrics: ortMetrics });
  return {
    kind: 'detection',
    dataset: {
      dir: set.dir, model: set.onnxPath, count: set.count, width: set.width, height: set.height, classes: set.classes,
      nms: set.nms, scoreThreshold: set.torch.scoreThreshold, meta: set.meta,
    },
    runs,
  };
}
