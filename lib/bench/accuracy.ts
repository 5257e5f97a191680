// Accuracy on real data (--accuracy): a held-out split through the reference, FP32 and FP16 engines and
// onnxruntime-node. The digits (classification: accuracy, per-class precision and recall) live here; a detection
// set (mAP@0.5) is recognised by its test.json format and scored by accuracy-detect.ts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Engine } from '../engine.js';
import type { BackendName } from '../capabilities.js';
import { packageRoot } from '../native.js';
import type { Precision } from '../types.js';
import { batchProfiles } from './engines.js';
import { onnxGraphIO, type OnnxGraphIO } from './onnx-io.js';
import { loadOrt } from './peers/ort.js';
import { runDetectionAccuracy, type DetectionAccuracyReport } from './accuracy-detect.js';
import { SHAPES_FORMAT } from '../vision/evaluate.js';
import { scoreAccuracyEngines } from './accuracy-engines.js';

/** The format test.json declares. */
export const DIGITS_FORMAT = 'node-tensorrt-digits/1';

export interface DigitsSet {
  dir: string;
  onnxPath: string;
  io: OnnxGraphIO;
  /** count × shape, preprocessed as the model expects. */
  images: Float32Array;
  labels: number[];
  count: number;
  /** Per-sample shape, e.g. [1, 8, 8]. */
  shape: number[];
  classes: number;
  /** What the training script recorded (seed, split, its own accuracies). */
  meta: Record<string, unknown>;
}

/** The test split shipped with the repository. @example await loadDigits(defaultDigitsDir()) */
export function defaultDigitsDir(): string {
  return path.join(packageRoot(), 'test', 'fixtures', 'digits');
}

/**
 * Loads digits.onnx, test.json and the image file it names; checks that sizes agree.
 * @example const set = await loadDigits(defaultDigitsDir());
 */
export async function loadDigits(dir: string): Promise<DigitsSet> {
  const read = async (f: string): Promise<Buffer> => {
    try {
      return await readFile(path.join(dir, f));
    } catch (e) {
      throw new TensorRTError(ErrorCode.IO, `Could not read ${path.join(dir, f)} (run scripts/train_digits.py to create the digits set): ${(e as Error).message}`, { cause: e });
    }
  };
  const meta = JSON.parse((await read('test.json')).toString('utf8')) as Record<string, unknown>;
  if (meta.format !== DIGITS_FORMAT) throw new TensorRTError(ErrorCode.INVALID_INPUT, `${path.join(dir, 'test.json')} is not in the ${DIGITS_FORMAT} format`);
  const count = meta.count as number;
  const shape = meta.shape as number[];
  const labels = meta.labels as number[];
  const classes = meta.classes as number;
  const raw = await read(meta.images as string);
  const per = shape.reduce((a, b) => a * b, 1);
  if (raw.byteLength !== count * per * 4 || labels.length !== count) {
    throw new TensorRTError(ErrorCode.INVALID_INPUT, `The digits set is inconsistent: ${raw.byteLength} image bytes and ${labels.length} labels for ${count} samples of shape [${shape.join(', ')}]`);
  }
  const images = new Float32Array(count * per);
  Buffer.from(images.buffer).set(raw);
  const onnxPath = path.join(dir, 'digits.onnx');
  const io = onnxGraphIO(await read('digits.onnx'));
  const { images: _i, labels: _l, ...rest } = meta;
  return { dir, onnxPath, io, images, labels, count, shape, classes, meta: rest };
}

/** Index of the largest value in each row of a rows × cols matrix. @example argmaxRows(logits, 2, 10) */
export function argmaxRows(values: ArrayLike<number>, rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[r * cols + c] > values[r * cols + best]) best = c;
    out.push(best);
  }
  return out;
}

export interface ClassMetrics {
  class: number;
  /** Samples of this class. */
  support: number;
  /** Correct / predicted as this class; null when nothing was predicted as it. */
  precision: number | null;
  /** Correct / support; null for a class with no samples. */
  recall: number | null;
}

export interface ClassificationMetrics {
  total: number;
  correct: number;
  accuracy: number;
  perClass: ClassMetrics[];
  /** Mean of the per-class values that are defined. */
  macroPrecision: number;
  macroRecall: number;
  /** confusion[truth][predicted]. */
  confusion: number[][];
}

const meanDefined = (xs: (number | null)[]): number => {
  const d = xs.filter((x): x is number => x !== null);
  return d.length ? d.reduce((a, b) => a + b, 0) / d.length : NaN;
};

/**
 * Accuracy, per-class precision and recall, and the confusion matrix.
 * @example classificationMetrics([0, 1, 1], [0, 1, 0], 2).accuracy // 2/3
 */
export function classificationMetrics(predicted: readonly number[], labels: readonly number[], classes: number): ClassificationMetrics {
  if (predicted.length !== labels.length) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected as many predictions as labels but received ${predicted.length} and ${labels.length}`);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    confusion[labels[i]][predicted[i]]++;
    if (labels[i] === predicted[i]) correct++;
  }
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < classes; c++) {
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, row) => a + row[c], 0);
    const tp = confusion[c][c];
    perClass.push({ class: c, support, precision: predictedAs ? tp / predictedAs : null, recall: support ? tp / support : null });
  }
  return {
    total: labels.length,
    correct,
    accuracy: labels.length ? correct / labels.length : NaN,
    perClass,
    macroPrecision: meanDefined(perClass.map((p) => p.precision)),
    macroRecall: meanDefined(perClass.map((p) => p.recall)),
    confusion,
  };
}

export interface AccuracyRun {
  /** e.g. "reference (CPU FP32)", "builtin FP16", "onnxruntime-node (CPU)". */
  name: string;
  backend?: BackendName | 'onnxruntime';
  precision?: Precision;
  metrics?: ClassificationMetrics;
  predictions?: number[];
  skipped?: string;
}

export interface ClassificationAccuracyReport {
  kind: 'classification';
  dataset: { dir: string; count: number; shape: number[]; classes: number; meta: Record<string, unknown> };
  runs: Omit<AccuracyRun, 'predictions'>[];
  /** Fraction of samples on which two runs predict the same class. */
  agreement: { a: string; b: string; fraction: number }[];
}

/** What --accuracy reports: a classification set's or a detection set's figures. */
export type AccuracyReport = ClassificationAccuracyReport | DetectionAccuracyReport;

const CHUNK = 64;

/** The fixture folders --dataset names. @example datasetDir('shapes') // '…/test/fixtures/shapes' */
export function datasetDir(name: string): string {
  return name === 'digits' || name === 'shapes' ? path.join(packageRoot(), 'test', 'fixtures', name) : name;
}

/**
 * The --accuracy set: --dataset when given, else the model's own folder when it holds a test.json this module
 * reads (the shapes detector's), else the digits.
 * @example await resolveDatasetDir(undefined, 'test/fixtures/shapes/shapes_yolo.onnx') // 'test/fixtures/shapes'
 */
export async function resolveDatasetDir(dataset: string | undefined, modelPath: string | undefined): Promise<string> {
  if (dataset !== undefined) return datasetDir(dataset);
  if (modelPath !== undefined) {
    const dir = path.dirname(modelPath);
    const format = await datasetFormat(dir);
    if (format === DIGITS_FORMAT || format === SHAPES_FORMAT) return dir;
  }
  return defaultDigitsDir();
}

/** The format a data set folder's test.json declares, or undefined when it has none (or not JSON). @example await datasetFormat(dir) // 'node-tensorrt-shapes/1' */
export async function datasetFormat(dir: string): Promise<string | undefined> {
  try {
    const t = JSON.parse((await readFile(path.join(dir, 'test.json'))).toString('utf8')) as { format?: unknown };
    return typeof t.format === 'string' ? t.format : undefined;
  } catch {
    return undefined;
  }
}

async function predictWithEngine(engine: Engine, set: DigitsSet): Promise<number[]> {
  const ctx = await engine.createContext({ maxBatch: Math.min(CHUNK, engine.profile.max) });
  try {
    const per = set.shape.reduce((a, b) => a * b, 1);
    const name = engine.inputs[0].name;
    const out: number[] = [];
    for (let i = 0; i < set.count; i += ctx.maxBatch) {
      const n = Math.min(ctx.maxBatch, set.count - i);
      const res = await ctx.infer({ [name]: set.images.slice(i * per, (i + n) * per) });
      out.push(...argmaxRows(res[engine.outputs[0].name] as Float32Array, n, set.classes));
    }
    return out;
  } finally {
    ctx.dispose();
  }
}

async function predictWithOrt(set: DigitsSet): Promise<number[] | string> {
  const ort = await loadOrt();
  if (typeof ort === 'string') return ort;
  const session = await ort.InferenceSession.create(set.onnxPath, { executionProviders: ['cpu'] });
  try {
    const res = await session.run({ [set.io.inputs[0].name]: new ort.Tensor('float32', set.images, [set.count, ...set.shape]) });
    return argmaxRows(res[set.io.outputs[0].name].data as Float32Array, set.count, set.classes);
  } finally {
    await session.release();
  }
}

/**
 * Scores the held-out split in `dir` with the reference backend, FP32 and FP16 engines of `backend` (GPU only) and
 * onnxruntime-node: a detection set (its test.json says node-tensorrt-shapes/1) by mAP@0.5, else the digits by
 * accuracy, per-class precision and recall, and the runs' pairwise agreement.
 * @example const acc = await runAccuracy({ dir: defaultDigitsDir(), backend: 'auto', hasGpu: true, device: 0, log: console.error });
 */
export async function runAccuracy(o: { dir: string; backend: 'auto' | BackendName; hasGpu: boolean; device: number; log: (l: string) => void }): Promise<AccuracyReport> {
  if ((await datasetFormat(o.dir)) === SHAPES_FORMAT) return runDetectionAccuracy(o);
  const set = await loadDigits(o.dir);
  const shapes = batchProfiles(set.io, CHUNK, CHUNK);
  const runs: AccuracyRun[] = [];
  runs.push(
    ...(await scoreAccuracyEngines(o, set.onnxPath, { shapes }, async (engine) => {
      const predictions = await predictWithEngine(engine, set);
      return { predictions, metrics: classificationMetrics(predictions, set.labels, set.classes) };
    })),
  );
  o.log('[accuracy] onnxruntime-node (CPU)');
  const ortPred = await predictWithOrt(set).catch((e: Error) => `failed: ${e.message.split('\n')[0]}`);
  if (typeof ortPred === 'string') runs.push({ name: 'onnxruntime-node (CPU)', skipped: ortPred });
  else runs.push({ name: 'onnxruntime-node (CPU)', backend: 'onnxruntime', precision: 'fp32', predictions: ortPred, metrics: classificationMetrics(ortPred, set.labels, set.classes) });

  const agreement: ClassificationAccuracyReport['agreement'] = [];
  const done = runs.filter((r) => r.predictions);
  for (let i = 0; i < done.length; i++) {
    for (let j = i + 1; j < done.length; j++) {
      const a = done[i].predictions!;
      const b = done[j].predictions!;
      agreement.push({ a: done[i].name, b: done[j].name, fraction: a.filter((p, k) => p === b[k]).length / a.length });
    }
  }
  return {
    kind: 'classification',
    dataset: { dir: set.dir, count: set.count, shape: set.shape, classes: set.classes, meta: set.meta },
    runs: runs.map(({ predictions: _p, ...r }) => r),
    agreement,
  };
}
