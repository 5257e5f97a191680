// BuildOptions for the tensorrt backend → the native builder's typed options: optimization profiles from
// `shapes` (validated against the model's inputs), FP16 strategy per TensorRT major, log level, progress phases.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { NativeTrtProfile } from '../native.js';
import type { BatchProfile, BuildProgress, Dim, DimRange, Precision, ShapeProfile, TensorInfo } from '../types.js';
import { describe, invalid, isInteger, knownKeys, plainObject } from '../validate.js';
import { parseTrtVersion } from './version.js';

const isDynamic = (d: Dim) => typeof d !== 'number' || d < 0;
const fmt = (shape: readonly Dim[]) => `[${shape.map((d) => (typeof d === 'string' ? `'${d}'` : String(d))).join(', ')}]`;
const bad = (message: string): never => {
  throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, message);
};

function dims(v: unknown, name: string, rank: number): number[] {
  const what = `an array of ${rank} positive integer${rank === 1 ? '' : 's'}`;
  if (!Array.isArray(v) || v.length !== rank) invalid(what, name, v);
  const a = v as unknown[];
  for (let i = 0; i < rank; i++) {
    if (!isInteger(a[i]) || (a[i] as number) < 1 || !Number.isSafeInteger(a[i])) {
      bad(`Expected ${what} for ${name} but element ${i} is ${describe(a[i])}`);
    }
  }
  return a as number[];
}

function example(input: TensorInfo): string {
  const pick = (b: number) => `[${input.shape.map((d, i) => (isDynamic(d) ? (i === 0 ? b : 'n') : d)).join(', ')}]`;
  return `shapes: { ${JSON.stringify(input.name)}: { min: ${pick(1)}, opt: ${pick(8)}, max: ${pick(32)} } }`;
}

export interface TrtProfiles {
  /** One optimization profile: min/opt/max for every input named in `shapes`. */
  profiles: NativeTrtProfile[];
  /** The batch range (dimension 0) the engine will accept. */
  batch: BatchProfile;
  /** Other dimensions the profile lets vary, by their symbol (a sequence length, an image size). */
  dims: Record<string, DimRange>;
}

/**
 * Validates `BuildOptions.shapes` against the model's inputs and maps it to an optimization profile.
 * Every input with a dynamic dimension needs min/opt/max shapes of its rank; fixed dimensions must match the model;
 * min ≤ opt ≤ max in every dimension; all inputs share the batch range (dimension 0), and a symbolic dimension that
 * varies has one range wherever it appears.
 * Throws ERR_INVALID_ARGUMENT with a message naming the input and dimension.
 * @example trtProfiles([{ name: 'x', shape: ['batch', 3], dtype: 'float32' }], { x: { min: [1, 3], opt: [4, 3], max: [8, 3] } })
 */
export function trtProfiles(inputs: readonly TensorInfo[], shapes: unknown): TrtProfiles {
  const given = shapes === undefined ? {} : plainObject(shapes, 'shapes');
  const byName = new Map(inputs.map((t) => [t.name, t]));
  for (const key of Object.keys(given)) {
    if (!byName.has(key)) {
      bad(`Unknown input '${key}' in shapes; the model's inputs are ${inputs.map((t) => `'${t.name}'`).join(', ') || 'none'}`);
    }
  }
  const profiles: NativeTrtProfile[] = [];
  const varying: Record<string, DimRange> = {};
  let batch: (BatchProfile & { from: string }) | undefined;
  for (const input of inputs) {
    const raw = given[input.name];
    const dynamic = input.shape.some(isDynamic);
    if (raw === undefined) {
      if (dynamic) bad(`Input '${input.name}' has dynamic dimensions ${fmt(input.shape)}; give its shapes, e.g. ${example(input)}`);
      continue;
    }
    const name = `shapes.${input.name}`;
    const p = plainObject(raw, name);
    knownKeys(p, name, ['min', 'opt', 'max']);
    const rank = input.shape.length;
    const min = dims(p.min, `${name}.min`, rank);
    const opt = dims(p.opt, `${name}.opt`, rank);
    const max = dims(p.max, `${name}.max`, rank);
    input.shape.forEach((d, i) => {
      if (isDynamic(d)) return;
      for (const [which, v] of [['min', min], ['opt', opt], ['max', max]] as const) {
        if (v[i] !== d) bad(`${name}.${which}[${i}] is ${v[i]} but dimension ${i} of input '${input.name}' ${fmt(input.shape)} is fixed at ${d}`);
      }
    });
    for (let i = 0; i < rank; i++) {
      if (!(min[i] <= opt[i] && opt[i] <= max[i])) {
        bad(`${name}: min ≤ opt ≤ max must hold in every dimension, but dimension ${i} has min ${min[i]}, opt ${opt[i]}, max ${max[i]}`);
      }
      // Any dynamic dimension may vary, as in a TensorRT optimization profile; it is named for runs by its symbol.
      if (i > 0 && min[i] !== max[i]) {
        const sym = input.shape[i];
        const range = { min: min[i], opt: opt[i], max: max[i] };
        const seen = varying[sym as string];
        if (seen && (seen.min !== range.min || seen.opt !== range.opt || seen.max !== range.max)) {
          bad(`${name}: dimension ${i} ('${String(sym)}') has range ${range.min}/${range.opt}/${range.max}, but another input gives '${String(sym)}' ${seen.min}/${seen.opt}/${seen.max}`);
        }
        varying[sym as string] = range;
      }
    }
    profiles.push({ input: input.name, min, opt, max });
    if (rank > 0 && isDynamic(input.shape[0])) {
      const b = { min: min[0], opt: opt[0], max: max[0], from: input.name };
      if (batch && (batch.min !== b.min || batch.opt !== b.opt || batch.max !== b.max)) {
        bad(
          `All dynamic inputs must share the batch range: shapes.${batch.from} gives batch ${batch.min}/${batch.opt}/${batch.max} ` +
            `but ${name} gives ${b.min}/${b.opt}/${b.max} (min/opt/max of dimension 0)`,
        );
      }
      batch = b;
    }
  }
  if (batch) return { profiles, batch: { min: batch.min, opt: batch.opt, max: batch.max }, dims: varying };
  const first = inputs.find((t) => t.shape.length > 0);
  const fixed = first && typeof first.shape[0] === 'number' ? first.shape[0] : 1;
  return { profiles, batch: { min: fixed, opt: fixed, max: fixed }, dims: varying };
}

/**
 * Shapes for a batch range: every input whose only dynamic dimension is the batch gets min/opt/max with
 * dimension 0 from `batch`. Inputs with other dynamic dimensions need explicit shapes (ERR_INVALID_ARGUMENT).
 * @example batchShapes(model.inputs, { min: 1, opt: 8, max: 32 })
 */
export function batchShapes(inputs: readonly TensorInfo[], batch: BatchProfile): Record<string, ShapeProfile> {
  const out: Record<string, ShapeProfile> = {};
  for (const t of inputs) {
    if (!t.shape.some(isDynamic)) continue;
    const rest = t.shape.slice(1);
    if (rest.some(isDynamic)) bad(`Input '${t.name}' ${fmt(t.shape)} has dynamic dimensions besides the batch; give its shapes explicitly`);
    const at = (b: number) => [b, ...(rest as number[])];
    out[t.name] = { min: at(batch.min), opt: at(batch.opt), max: at(batch.max) };
  }
  return out;
}

/**
 * How FP16 is obtained: TensorRT 10.x sets BuilderFlag::kFP16 unless the ONNX is already the front end's FP16
 * autocast graph; 11.x removed the flag, so FP16 must come from the autocast ONNX (ERR_INVALID_ARGUMENT otherwise).
 * @example trtFp16Flag('10.16.0', 'fp16', false) // true
 */
export function trtFp16Flag(tensorrtVersion: string, precision: Precision, autocast: boolean): boolean {
  if (precision !== 'fp16' || autocast) return false;
  const v = parseTrtVersion(tensorrtVersion);
  if (v && v.major >= 11) {
    bad(`TensorRT ${tensorrtVersion} takes FP16 from the model itself (11.x has no FP16 builder flag): pass the FP16-autocast ONNX with autocast: true, or precision: 'fp32'`);
  }
  return true;
}

export const TRT_LOG_LEVELS = ['error', 'warning', 'info', 'verbose'] as const;
export type TrtLogLevel = (typeof TRT_LOG_LEVELS)[number];
const SEVERITY_NAMES = ['error', 'error', 'warning', 'info', 'verbose'] as const; // ILogger::Severity 0..4 (0 is internal error)

/** ILogger severity for a log level (the most verbose one forwarded). @example trtLogSeverity('info') // 3 */
export function trtLogSeverity(level: TrtLogLevel): number {
  return TRT_LOG_LEVELS.indexOf(level) + 1;
}

/** A native ILogger severity as a level name. @example trtLogLevelOf(2) // 'warning' */
export function trtLogLevelOf(severity: number): TrtLogLevel {
  return SEVERITY_NAMES[severity] ?? 'verbose';
}

/**
 * A native progress report → BuildProgress: 'parse' stays, TensorRT phases whose path names tactics or timing
 * become 'tactics', the rest 'optimize'.
 * @example trtProgress('Building engine/Tactic selection', 3, 10) // { phase: 'tactics', done: 3, total: 10, ... }
 */
export function trtProgress(phase: string, done: number, total: number): BuildProgress & { trtPhase: string } {
  const kind = phase === 'parse' ? 'parse' : /tactic|timing|autotun/i.test(phase) ? 'tactics' : 'optimize';
  return { phase: kind, done, total, trtPhase: phase };
}
