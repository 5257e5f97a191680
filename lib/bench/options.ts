// Benchmark options: the raw strings commander hands over, checked and turned into one typed, resolved object.
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, TensorRTError } from '../errors.js';
import { describe } from '../validate.js';
import type { Precision } from '../types.js';

export const PEER_NAMES = ['torch', 'torch-compile', 'ort', 'trtexec'] as const;
export type PeerName = (typeof PEER_NAMES)[number];
/** The peers run when --peers is not given: torch-compile is opt-in (max-autotune takes minutes per shape). */
export const DEFAULT_PEERS: readonly PeerName[] = ['torch', 'ort', 'trtexec'];
export const BACKENDS = ['auto', 'builtin', 'tensorrt', 'reference'] as const;
export type BenchBackend = (typeof BACKENDS)[number];

/** Everything one `bench` run needs, resolved (defaults applied, values checked). */
export interface BenchOptions {
  /** ONNX or plan file; undefined: the generated MobileNetV2, cached under `cacheDir`. */
  model?: string;
  batches: number[];
  /** --batch was given (without it, a CPU-only run measures batch 1 alone). */
  batchesExplicit: boolean;
  /** Batch of the build profile's opt shape (tactics are timed there); undefined: the largest batch measured. */
  optBatch?: number;
  warmUpMs: number;
  iterations: number;
  durationS: number;
  /** Concurrent contexts, one configuration per entry. */
  streams: number[];
  cudaGraph: boolean;
  transfers: boolean;
  percentiles: number[];
  precisions: Precision[];
  backend: BenchBackend;
  device: number;
  json?: string;
  /** HTML report path; null: none. */
  report: string | null;
  peers: PeerName[];
  accuracy: boolean;
  /** Print the per-layer table; a string also writes it as JSON there. */
  exportProfile: boolean | string;
  repeat: number;
  seed: number;
  /** Samples for the accuracy check against the reference backend. */
  validateSamples: number;
  cacheDir: string;
  tacticCache?: string;
  python: string;
  /** --dataset (or --digits): 'digits', 'shapes' or a folder with a test.json; undefined: chosen from the model. */
  dataset?: string;
  /** --nms: the engines end with postprocess.nms, and the PyTorch peer runs batched_nms after the network. */
  nms?: BenchNms;
  /** --dims: symbolic dims besides the batch pinned at a value (e.g. { sequence: 128 }) for engines and peers alike. */
  dims?: Record<string, number>;
}

/** The NMS stage --nms appends (YOLO-style outputs: one [B, 4+C, N] or [B, N, 4+C], boxes cx, cy, w, h). */
export interface BenchNms {
  scoreThreshold: number;
  iouThreshold: number;
  maxOutput: number;
}

/** What --nms alone means: the usual YOLO deployment settings. */
export const DEFAULT_BENCH_NMS: BenchNms = { scoreThreshold: 0.25, iouThreshold: 0.45, maxOutput: 100 };

/** The option values as commander gives them: strings, booleans, or undefined. */
export type RawBenchOptions = Record<string, string | boolean | undefined>;

const bad = (flag: string, what: string, value: unknown): never => {
  throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected ${what} for ${flag} but received ${describe(value)}`);
};

function str(raw: RawBenchOptions, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === false) return undefined;
  if (v === true) bad(`--${key}`, 'a value', v);
  return v as string;
}

/** A decimal integer ≥ min written as a string (no '1e3', no '12abc'). @example parseIntArg('10', '--iterations') // 10 */
export function parseIntArg(value: string, flag: string, min = 1): number {
  const what = min === 0 ? 'a non-negative integer' : 'a positive integer';
  if (!/^\s*\d+\s*$/.test(value)) bad(flag, what, value);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) bad(flag, what, value);
  return n;
}

/** A finite number > 0 (or ≥ 0 when `allowZero`). @example parseNumberArg('0.5', '--duration') // 0.5 */
export function parseNumberArg(value: string, flag: string, allowZero = false): number {
  const what = allowZero ? 'a non-negative number' : 'a positive number';
  const n = /^\s*[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) bad(flag, what, value);
  return n;
}

/** A comma-separated list; duplicates removed, order kept. @example parseList('1,32,1', '--batch', 'integers', Number) // [1, 32] */
export function parseList<T>(value: string, flag: string, what: string, item: (s: string) => T | undefined): T[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) bad(flag, `a comma-separated list of ${what}`, value);
  const out: T[] = [];
  for (const p of parts) {
    const v = item(p);
    if (v === undefined) bad(flag, `a comma-separated list of ${what}`, value);
    if (!out.includes(v as T)) out.push(v as T);
  }
  return out;
}

const positiveIntItem = (s: string): number | undefined => (/^\d+$/.test(s) && Number(s) >= 1 && Number.isSafeInteger(Number(s)) ? Number(s) : undefined);
const percentItem = (s: string): number | undefined => {
  const n = /^[0-9]*\.?[0-9]+$/.test(s) ? Number(s) : NaN;
  return n >= 0 && n <= 100 ? n : undefined;
};

/**
 * --dims as given: `name=value` pairs, comma-separated.
 * @example parseDimsArg('sequence=128,height=640') // { sequence: 128, height: 640 }
 */
export function parseDimsArg(value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_.:-]*)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1 || Object.hasOwn(out, m[1])) bad('--dims', 'name=value pairs with positive integer values, each name once (e.g. sequence=128)', value);
    out[m![1]] = Number(m![2]);
  }
  return out;
}

/**
 * --nms as given: `true` (the flag alone) for the defaults, or 'SCORE,IOU,MAX'.
 * @example parseNmsArg('0.3,0.5,300') // { scoreThreshold: 0.3, iouThreshold: 0.5, maxOutput: 300 }
 */
export function parseNmsArg(value: string | true): BenchNms {
  if (value === true) return { ...DEFAULT_BENCH_NMS };
  const parts = value.split(',').map((p) => p.trim());
  const what = 'SCORE,IOU,MAX (two numbers from 0 to 1 and a detection count from 1 to 1024, e.g. 0.25,0.45,100)';
  if (parts.length !== 3) bad('--nms', what, value);
  const unit = (p: string): number => {
    const n = /^[0-9]*\.?[0-9]+$/.test(p) ? Number(p) : NaN;
    return n >= 0 && n <= 1 ? n : bad('--nms', what, value);
  };
  const max = /^\d+$/.test(parts[2]) ? Number(parts[2]) : NaN;
  if (!(max >= 1 && max <= 1024)) bad('--nms', what, value);
  return { scoreThreshold: unit(parts[0]), iouThreshold: unit(parts[1]), maxOutput: max };
}

/** The default model cache: $XDG_CACHE_HOME/node-tensorrt or ~/.cache/node-tensorrt. @example defaultCacheDir() // '/home/me/.cache/node-tensorrt' */
export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'node-tensorrt');
}

/**
 * Checks commander's raw option values and applies the defaults. Throws ERR_INVALID_ARGUMENT with a message
 * that names the flag, e.g. "Expected a positive integer for --iterations but received '0' of type string".
 * @example resolveBenchOptions({ batch: '1,8', precision: 'fp16' }, 'model.onnx')
 */
export function resolveBenchOptions(raw: RawBenchOptions, model?: string): BenchOptions {
  const batches = parseList(str(raw, 'batch') ?? '1,32,256', '--batch', 'positive integers', positiveIntItem);
  const optRaw = str(raw, 'optBatch');
  const optBatch = optRaw === undefined ? undefined : parseIntArg(optRaw, '--optBatch');
  const streams = parseList(str(raw, 'streams') ?? '1', '--streams', 'positive integers', positiveIntItem);
  const percentiles = parseList(str(raw, 'percentile') ?? '90,95,99', '--percentile', 'percentiles in [0, 100]', percentItem);
  const precision = str(raw, 'precision') ?? 'both';
  if (!['fp16', 'fp32', 'both'].includes(precision)) bad('--precision', "one of 'fp16', 'fp32', 'both'", precision);
  const precisions: Precision[] = precision === 'both' ? ['fp32', 'fp16'] : [precision as Precision];
  const backend = str(raw, 'backend') ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(backend)) bad('--backend', `one of ${BACKENDS.map((b) => `'${b}'`).join(', ')}`, backend);
  const peersRaw = str(raw, 'peers') ?? DEFAULT_PEERS.join(',');
  const peers: PeerName[] =
    peersRaw.trim() === 'none'
      ? []
      : parseList(peersRaw, '--peers', `${PEER_NAMES.join(', ')} (or 'none')`, (s) => ((PEER_NAMES as readonly string[]).includes(s) ? (s as PeerName) : undefined));
  if (raw.useCudaGraph === true && raw.noCudaGraph === true) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, '--useCudaGraph and --noCudaGraph contradict each other; pass one of them');
  }
  const exportProfile = raw.exportProfile === true ? true : (str(raw, 'exportProfile') ?? false);
  if (raw.noReport === true && str(raw, 'report') !== undefined) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, '--report and --noReport contradict each other; pass one of them');
  }
  const report = raw.noReport === true ? null : (str(raw, 'report') ?? 'bench-report.html');
  const opts: BenchOptions = {
    model,
    batches,
    batchesExplicit: str(raw, 'batch') !== undefined,
    optBatch,
    warmUpMs: parseNumberArg(str(raw, 'warmUp') ?? '200', '--warmUp', true),
    iterations: parseIntArg(str(raw, 'iterations') ?? '10', '--iterations'),
    durationS: parseNumberArg(str(raw, 'duration') ?? '3', '--duration', true),
    streams,
    cudaGraph: raw.noCudaGraph !== true,
    transfers: raw.noDataTransfers !== true,
    percentiles,
    precisions,
    backend: backend as BenchBackend,
    device: parseIntArg(str(raw, 'device') ?? '0', '--device', 0),
    json: str(raw, 'json'),
    report,
    peers,
    accuracy: raw.accuracy === true,
    exportProfile,
    repeat: parseIntArg(str(raw, 'repeat') ?? '1', '--repeat'),
    seed: parseIntArg(str(raw, 'seed') ?? '42', '--seed', 0),
    validateSamples: parseIntArg(str(raw, 'validateSamples') ?? '32', '--validateSamples', 0),
    cacheDir: str(raw, 'cacheDir') ?? defaultCacheDir(),
    tacticCache: str(raw, 'tacticCache'),
    python: str(raw, 'python') ?? 'python3',
    dataset: str(raw, 'dataset') ?? str(raw, 'digits'),
    ...(raw.nms === undefined || raw.nms === false ? {} : { nms: parseNmsArg(raw.nms as string | true) }),
    ...(str(raw, 'dims') === undefined ? {} : { dims: parseDimsArg(str(raw, 'dims')!) }),
  };
  if (str(raw, 'dataset') !== undefined && str(raw, 'digits') !== undefined) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, '--dataset and --digits name the same thing; pass one of them');
  }
  if (model !== undefined && model.length === 0) bad('the model argument', 'a path to an ONNX or plan file', model);
  return opts;
}
