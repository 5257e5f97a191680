// Command-line values: the strings commander hands over, checked and turned into typed build/run options.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { ShapeProfile } from '../types.js';
import { describe } from '../validate.js';

export const BACKEND_CHOICES = ['auto', 'tensorrt', 'builtin', 'reference'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

const bad = (flag: string, what: string, value: unknown): never => {
  throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected ${what} for ${flag} but received ${describe(value)}`);
};

/**
 * A decimal integer ≥ `min` written as a string (no '1e3', no '12abc').
 * @example parseIntegerArg('8', '--top') // 8
 */
export function parseIntegerArg(value: string, flag: string, min = 1): number {
  const what = min === 0 ? 'a non-negative integer' : 'a positive integer';
  if (typeof value !== 'string' || !/^\s*\d+\s*$/.test(value)) bad(flag, what, value);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) bad(flag, what, value);
  return n;
}

/**
 * One of a fixed set of words.
 * @example parseChoice('builtin', '--backend', BACKEND_CHOICES) // 'builtin'
 */
export function parseChoice<T extends string>(value: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) bad(flag, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  return value as T;
}

/** '1x3x224x224' → [1, 3, 224, 224], or undefined when it is not one. */
function dims(s: string): number[] | undefined {
  if (!/^\d+(x\d+)*$/.test(s)) return undefined;
  const d = s.split('x').map(Number);
  return d.every((v) => Number.isSafeInteger(v) && v >= 1) ? d : undefined;
}

const SHAPES_EXAMPLE = 'input:1x3x224x224,8x3x224x224,32x3x224x224';

/** Checks rank agreement and min ≤ opt ≤ max for one input. */
function checkProfile(name: string, p: ShapeProfile, flag: string): ShapeProfile {
  if (p.min.length !== p.opt.length || p.opt.length !== p.max.length) {
    throw new TensorRTError(
      ErrorCode.INVALID_ARGUMENT,
      `${flag}: the min, opt and max shapes of '${name}' have different ranks (${p.min.length}, ${p.opt.length}, ${p.max.length})`,
    );
  }
  for (let i = 0; i < p.min.length; i++) {
    if (!(p.min[i] <= p.opt[i] && p.opt[i] <= p.max[i])) {
      throw new TensorRTError(
        ErrorCode.INVALID_ARGUMENT,
        `${flag}: dimension ${i} of '${name}' must satisfy min <= opt <= max but is ${p.min[i]}, ${p.opt[i]}, ${p.max[i]}`,
      );
    }
  }
  return p;
}

/**
 * `--shapes` values, one per input: `name:min,opt,max` (each shape `AxBxC…`), or `name:shape` for a fixed shape.
 * @example parseShapes(['input:1x3x224x224,8x3x224x224,32x3x224x224']) // { input: { min: [1,3,224,224], … } }
 */
export function parseShapes(values: readonly string[], flag = '--shapes'): Record<string, ShapeProfile> {
  const out: Record<string, ShapeProfile> = {};
  for (const value of values) {
    const at = value.lastIndexOf(':');
    const name = value.slice(0, at);
    const shapes = value.slice(at + 1).split(',').map(dims);
    if (at <= 0 || (shapes.length !== 1 && shapes.length !== 3) || shapes.some((s) => s === undefined)) {
      bad(flag, `name:min,opt,max shapes (e.g. ${SHAPES_EXAMPLE}) or name:shape`, value);
    }
    if (name in out) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `${flag}: '${name}' is given more than once`);
    const [min, opt, max] = shapes.length === 3 ? (shapes as number[][]) : [shapes[0]!, shapes[0]!, shapes[0]!];
    out[name] = checkProfile(name, { min, opt, max }, flag);
  }
  return out;
}

/** trtexec's `--minShapes a:1x3,b:1x5` form: a comma list of name:shape pairs. */
function namedShapes(value: string, flag: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  // A name may itself contain ':' (e.g. 'input:0' from TF exports): split each item at its last ':'.
  for (const item of value.split(',')) {
    const at = item.lastIndexOf(':');
    const d = at > 0 ? dims(item.slice(at + 1)) : undefined;
    if (!d) bad(flag, 'a comma-separated list of name:shape (e.g. input:1x3x224x224)', value);
    m.set(item.slice(0, at), d!);
  }
  return m;
}

/**
 * trtexec's `--minShapes/--optShapes/--maxShapes` (each `name:AxBx…[,name:…]`) as one profile per input.
 * @example parseTrtexecShapes('x:1x3', 'x:4x3', 'x:8x3') // { x: { min: [1,3], opt: [4,3], max: [8,3] } }
 */
export function parseTrtexecShapes(min?: string, opt?: string, max?: string): Record<string, ShapeProfile> {
  const given = [min, opt, max].filter((v) => v !== undefined).length;
  if (given === 0) return {};
  if (given !== 3) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, '--minShapes, --optShapes and --maxShapes go together; pass all three');
  const mins = namedShapes(min!, '--minShapes');
  const opts = namedShapes(opt!, '--optShapes');
  const maxs = namedShapes(max!, '--maxShapes');
  const out: Record<string, ShapeProfile> = {};
  for (const name of new Set([...mins.keys(), ...opts.keys(), ...maxs.keys()])) {
    const p = { min: mins.get(name), opt: opts.get(name), max: maxs.get(name) };
    if (!p.min || !p.opt || !p.max) {
      const missing = (['min', 'opt', 'max'] as const).filter((k) => !p[k]).map((k) => `--${k}Shapes`);
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `'${name}' has no shape in ${missing.join(' and ')}`);
    }
    out[name] = checkProfile(name, p as ShapeProfile, '--minShapes/--optShapes/--maxShapes');
  }
  return out;
}
