// Shape profiles: BuildOptions.shapes (min/opt/max per input, any dimension) resolved into the batch
// range and the ranges of the other named dynamic dims; and binding those dims at run time from feeds.
import { ErrorCode, TensorRTError } from './errors.js';
import type { BatchProfile, Dim, DimRange, ShapeProfile } from './types.js';
import { describe, invalid, isInteger, plainObject, positiveInteger } from './validate.js';

/** The default profile for a dynamic batch when no shapes are given. */
export const DEFAULT_PROFILE: BatchProfile = Object.freeze({ min: 1, opt: 1, max: 32 });

export interface ProfileInput {
  name: string;
  shape: Dim[];
}

export interface ResolvedProfile {
  /** The range of the batch (axis 0); fixed to its size when the batch is static. */
  batch: BatchProfile;
  /** The batch symbol, if the batch is dynamic. */
  batchSymbol?: string;
  /** Ranges of the other dynamic dims, by symbol (e.g. { sequence: { min: 1, opt: 128, max: 512 } }). */
  dims: Record<string, DimRange>;
}

/** The symbol at axis 0 of the inputs, if they have one. */
function batchSymbolOf(inputs: readonly ProfileInput[]): string | undefined {
  for (const i of inputs) if (typeof i.shape[0] === 'string') return i.shape[0];
  return undefined;
}

/**
 * Resolves `shapes` against the inputs: every input with a dynamic dim needs min/opt/max shapes (unless
 * only its batch is dynamic and no shapes are given at all: DEFAULT_PROFILE); static dims must match;
 * min ≤ opt ≤ max; inputs that share a symbolic dim must give it the same range.
 * @example
 * resolveShapeProfile([{ name: 'ids', shape: ['batch', 'sequence'] }], { ids: { min: [1, 1], opt: [8, 128], max: [32, 512] } });
 * // { batch: { min: 1, opt: 8, max: 32 }, batchSymbol: 'batch', dims: { sequence: { min: 1, opt: 128, max: 512 } } }
 */
export function resolveShapeProfile(inputs: readonly ProfileInput[], shapes?: Record<string, ShapeProfile>): ResolvedProfile {
  const batchSymbol = batchSymbolOf(inputs);
  const dynamic = inputs.filter((i) => i.shape.some((d) => typeof d !== 'number'));
  if (shapes === undefined) {
    for (const i of dynamic) {
      const k = i.shape.findIndex((d, a) => typeof d !== 'number' && !(a === 0 && d === batchSymbol));
      if (k >= 0) {
        throw new TensorRTError(
          ErrorCode.INVALID_ARGUMENT,
          `Input '${i.name}' has the dynamic dimension '${i.shape[k]}' at axis ${k} ([${i.shape.join(', ')}]); give its range in shapes: { ${i.name}: { min, opt, max } }`,
        );
      }
    }
    if (dynamic.length) return { batch: { ...DEFAULT_PROFILE }, batchSymbol, dims: {} };
    const b = Number(inputs[0]?.shape[0] ?? 1);
    return { batch: { min: b, opt: b, max: b }, dims: {} };
  }
  const s = plainObject(shapes, 'shapes');
  const names = new Set(inputs.map((i) => i.name));
  for (const k of Object.keys(s)) {
    if (!names.has(k)) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `shapes names '${k}', which is not an input of the model (inputs: ${[...names].join(', ')})`);
    }
  }
  const ranges = new Map<string, { range: DimRange; from: string }>();
  for (const input of inputs) {
    const entry = s[input.name] as ShapeProfile | undefined;
    if (entry === undefined) {
      if (input.shape.some((d) => typeof d !== 'number')) {
        throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `shapes has no min/opt/max for dynamic input '${input.name}' [${input.shape.join(', ')}]`);
      }
      continue;
    }
    const e = plainObject(entry, `shapes.${input.name}`);
    const read = (which: 'min' | 'opt' | 'max'): number[] => {
      const v = e[which];
      if (!Array.isArray(v) || v.length !== input.shape.length || !v.every((d) => isInteger(d) && d > 0)) {
        invalid(`an array of ${input.shape.length} positive integers`, `shapes.${input.name}.${which}`, v);
      }
      input.shape.forEach((d, k) => {
        if (typeof d === 'number' && v[k] !== d) {
          throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `shapes.${input.name}.${which}[${k}] is ${v[k]} but the model fixes that dimension to ${d}`);
        }
      });
      return v as number[];
    };
    const [mn, op, mx] = [read('min'), read('opt'), read('max')];
    input.shape.forEach((d, k) => {
      if (typeof d === 'number') return;
      const range = { min: mn[k], opt: op[k], max: mx[k] };
      const what = k === 0 && d === batchSymbol ? 'batch' : `dimension '${d}'`;
      if (!(range.min <= range.opt && range.opt <= range.max)) {
        throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `shapes.${input.name} must have min ≤ opt ≤ max, got ${what} ${range.min}, ${range.opt}, ${range.max}`);
      }
      const had = ranges.get(d);
      if (had && (had.range.min !== range.min || had.range.opt !== range.opt || had.range.max !== range.max)) {
        throw new TensorRTError(
          ErrorCode.INVALID_ARGUMENT,
          d === batchSymbol
            ? `Inputs disagree on the batch profile ('${had.from}' and '${input.name}')`
            : `Inputs '${had.from}' and '${input.name}' share the dimension '${d}' but give it different ranges (${had.range.min}..${had.range.max} and ${range.min}..${range.max})`,
        );
      }
      if (!had) ranges.set(d, { range, from: input.name });
    });
  }
  const dims: Record<string, DimRange> = {};
  for (const [k, v] of ranges) if (k !== batchSymbol) dims[k] = v.range;
  const batch = batchSymbol ? ranges.get(batchSymbol)?.range : undefined;
  if (batch) return { batch: { ...batch }, batchSymbol, dims };
  const b = Number(inputs[0]?.shape[0] ?? 1);
  return { batch: Number.isFinite(b) ? { min: b, opt: b, max: b } : { ...DEFAULT_PROFILE }, batchSymbol, dims };
}

/**
 * The batch profile for `inputs` (see resolveShapeProfile).
 * @example resolveBatchProfile([{ name: 'input', shape: ['batch', 3, 224, 224] }], { input: { min: [1,3,224,224], opt: [8,3,224,224], max: [32,3,224,224] } })
 */
export function resolveBatchProfile(inputs: readonly ProfileInput[], shapes?: Record<string, ShapeProfile>): BatchProfile {
  return resolveShapeProfile(inputs, shapes).batch;
}

/** A feed as bindInputDims sees it: its element count, or its full shape. */
export type FeedShape = { length: number } | { dims: number[] };

/**
 * Values of the symbolic dims of `inputs` (e.g. { batch: 4, sequence: 12 }) from, in order: `given`
 * (explicit values), the feeds that come with their dims, and the flat feeds' lengths, each of which
 * solves one unknown symbol. Inputs that share a symbol must agree (ERR_SHAPE_MISMATCH naming both);
 * a symbol nothing determines is ERR_INVALID_INPUT.
 * @example
 * bindInputDims([{ name: 'ids', shape: ['batch', 'sequence'] }], { ids: { length: 24 } }, { sequence: 12 }); // Map { sequence → 12, batch → 2 }
 */
export function bindInputDims(inputs: readonly ProfileInput[], feeds: Record<string, FeedShape | undefined>, given: Record<string, number> = {}): Map<string, number> {
  const bound = new Map<string, number>();
  const source = new Map<string, string>();
  const bind = (sym: string, v: number, from: string) => {
    const had = bound.get(sym);
    if (had !== undefined && had !== v) {
      throw new TensorRTError(ErrorCode.SHAPE_MISMATCH, `Dimension '${sym}' is ${had} for ${source.get(sym)} but ${v} for ${from}`);
    }
    bound.set(sym, v);
    if (!source.has(sym)) source.set(sym, from);
  };
  const known = new Set(inputs.flatMap((i) => i.shape.filter((x): x is string => typeof x === 'string')));
  for (const [k, v] of Object.entries(given)) {
    if (!known.has(k)) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `dims names '${k}', which is no dynamic dimension of the inputs (${[...known].join(', ') || 'none'})`);
    bind(k, positiveInteger(v, `dims.${k}`), 'dims');
  }
  for (const i of inputs) {
    const f = feeds[i.name];
    if (!f) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Missing input '${i.name}'`);
    if (!('dims' in f)) continue;
    const dims = f.dims;
    if (!Array.isArray(dims) || dims.length !== i.shape.length || !dims.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      throw new TensorRTError(ErrorCode.INVALID_INPUT, `Expected ${i.shape.length} non-negative integers for the dims of input '${i.name}' [${i.shape.join(', ')}] but received ${describe(dims)}`);
    }
    i.shape.forEach((d, k) => {
      if (typeof d === 'string') bind(d, dims[k], `input '${i.name}'`);
      else if (d !== dims[k]) throw new TensorRTError(ErrorCode.SHAPE_MISMATCH, `Input '${i.name}' has dims [${dims.join(', ')}] but the model fixes axis ${k} to ${d}`);
    });
  }
  const lengthOf = (i: ProfileInput): number => {
    const f = feeds[i.name]!;
    return 'dims' in f ? f.dims.reduce((a, b) => a * b, 1) : f.length;
  };
  const flat = inputs.filter((i) => !('dims' in feeds[i.name]!));
  for (let progress = true; progress; ) {
    progress = false;
    for (const i of flat) {
      const free = [...new Set(i.shape.filter((d): d is string => typeof d === 'string' && !bound.has(d)))];
      if (free.length !== 1) continue;
      const len = lengthOf(i);
      const fixed = i.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : (bound.get(d) ?? 1)), 1);
      const count = i.shape.filter((d) => d === free[0]).length;
      const v = count === 1 ? len / fixed : Math.round((len / fixed) ** (1 / count));
      if (!Number.isInteger(v) || v < 1 || fixed * v ** count !== len) {
        const shown = i.shape.map((d) => (typeof d === 'number' ? d : (bound.get(d) ?? d)));
        throw new TensorRTError(ErrorCode.INVALID_INPUT, `Input '${i.name}' has ${len} elements, which is no whole multiple of ${fixed} (shape [${shown.join(', ')}])`);
      }
      bind(free[0], v, `input '${i.name}'`);
      progress = true;
    }
  }
  for (const i of inputs) {
    const free = [...new Set(i.shape.filter((d): d is string => typeof d === 'string' && !bound.has(d)))];
    if (free.length) {
      throw new TensorRTError(
        ErrorCode.INVALID_INPUT,
        `Input '${i.name}' has several dynamic dimensions (${free.join(', ')}) that its length cannot determine; give their values as dims (e.g. { ${free[free.length - 1]}: … }) or pass the input with its dims`,
      );
    }
    const len = lengthOf(i);
    const need = i.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : bound.get(d)!), 1);
    if (need !== len) {
      const shown = `[${i.shape.map((d) => (typeof d === 'number' ? d : `${d}=${bound.get(d)}`)).join(', ')}]`;
      const others = i.shape.filter((d): d is string => typeof d === 'string' && source.get(d) !== `input '${i.name}'`).map((d) => `'${d}' from ${source.get(d)}`);
      const code = others.some((o) => o.includes("from input '")) ? ErrorCode.SHAPE_MISMATCH : ErrorCode.INVALID_INPUT;
      throw new TensorRTError(code, `Input '${i.name}' has ${len} elements; shape ${shown} needs ${need}${others.length ? ` (${others.join(', ')})` : ''}`);
    }
  }
  return bound;
}

/**
 * Checks bound dims against a profile: the batch against `batch` (ERR_BATCH_OUT_OF_RANGE), every other
 * dim against its range (ERR_SHAPE_OUT_OF_RANGE naming the input and the axis).
 * @example
 * checkDimsInProfile(inputs, new Map([['sequence', 80]]), profile); // throws: sequence 80 is outside 1..64
 */
export function checkDimsInProfile(inputs: readonly ProfileInput[], bound: ReadonlyMap<string, number>, profile: ResolvedProfile, maxBatch = profile.batch.max): void {
  for (const [sym, v] of bound) {
    if (sym === profile.batchSymbol) {
      const { min, max } = profile.batch;
      if (v < min || v > Math.min(max, maxBatch)) {
        throw new TensorRTError(ErrorCode.BATCH_OUT_OF_RANGE, `Batch ${v} is outside this context's range ${min}..${Math.min(max, maxBatch)} (engine profile ${min}..${max}, context maxBatch ${maxBatch})`);
      }
      continue;
    }
    const r = profile.dims[sym];
    if (r && (v < r.min || v > r.max)) {
      const where = inputs.flatMap((i) => i.shape.map((d, k) => (d === sym ? `input '${i.name}' axis ${k}` : ''))).filter(Boolean);
      throw new TensorRTError(ErrorCode.SHAPE_OUT_OF_RANGE, `Dimension '${sym}' (${where.join(', ')}) is ${v}, outside the engine's profile ${r.min}..${r.max}`);
    }
  }
}
