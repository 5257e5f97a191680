// Shape/dtype rules for element-wise math, comparisons, logic and selection. Int and bool results
// carry their (possibly symbolic) values, so mask and shape subgraphs resolve during inference.
import { attrInt, attrString } from './attrs.js';
import { MAX_VALUE_ELEMENTS, type InferResult, type NodeContext } from './context.js';
import { allStatic, broadcast, broadcastIndex } from './dims.js';
import { isFloat, numel, shapeToString, type DataType, type Dim } from './types.js';

const out = (dtype: DataType, shape: Dim[], value?: Dim[]): InferResult => ({ types: [{ dtype, shape }], values: [value] });

/** The broadcast shape of every present input; ERR_SHAPE_MISMATCH when they don't broadcast. */
export function broadcastAll(ctx: NodeContext, idx: number[]): Dim[] {
  let shape: Dim[] = [];
  for (const i of idx) {
    const r = broadcast(shape, ctx.input(i).shape);
    if (typeof r === 'string') ctx.mismatch(r);
    shape = r;
  }
  return shape;
}

/**
 * Values of an element-wise op over inputs `idx` when every input's values are known and the shapes are
 * static and small; `fn` returns undefined when an element cannot be computed (e.g. symbolic).
 */
export function elementValues(ctx: NodeContext, idx: number[], shape: Dim[], fn: (v: Dim[]) => Dim | undefined): Dim[] | undefined {
  const vals = idx.map((i) => ctx.values[i]);
  if (vals.some((v) => !v) || !allStatic(shape) || numel(shape) > MAX_VALUE_ELEMENTS) return undefined;
  const shapes = idx.map((i) => ctx.input(i).shape);
  if (!shapes.every(allStatic)) return undefined;
  const maps = shapes.map((s) => broadcastIndex(shape, s as number[]));
  const res: Dim[] = [];
  for (let i = 0; i < numel(shape); i++) {
    const r = fn(maps.map((m, k) => vals[k]![m(i)]));
    if (r === undefined) return undefined;
    res.push(r);
  }
  return res;
}

const FLOAT_UNARY = new Set(['Erf', 'Sqrt', 'Exp', 'Log', 'Reciprocal', 'Floor', 'Ceil', 'Gelu', 'Round', 'Sin', 'Cos', 'Softplus', 'Softsign', 'Elu', 'Selu', 'Celu', 'Mish', 'ThresholdedRelu', 'Sign', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Shrink']);

/** Unary math: float-only ops, and Neg/Abs (also on ints, carrying their values). */
export function unary(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (FLOAT_UNARY.has(ctx.op)) {
    ctx.float(0);
    if (ctx.op === 'Gelu') {
      const a = attrString(ctx.node, 'approximate', 'none');
      if (a !== 'none' && a !== 'tanh') ctx.invalid(`approximate must be 'none' or 'tanh', got '${a}'`);
    }
    return out(x.dtype, [...x.shape]);
  }
  if (x.dtype === 'bool') ctx.invalid(`${ctx.op} of a bool tensor`);
  const v = ctx.values[0];
  const value = v && allStatic(v) ? v.map((d) => (ctx.op === 'Neg' ? -d : Math.abs(d))) : undefined;
  return out(x.dtype, [...x.shape], value);
}

/** IsNaN and IsInf: float → bool. */
export function isNanInf(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  return out('bool', [...x.shape]);
}

/** Not: bool → bool. */
export function not(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.dtype !== 'bool') ctx.invalid(`Not takes a bool tensor, got ${x.dtype}`);
  const v = ctx.values[0];
  return out('bool', [...x.shape], v && allStatic(v) ? v.map((d) => (d ? 0 : 1)) : undefined);
}

/** Whether a comparison between a symbolic dim and a number is decided (dims are ≥ 1). */
function compareDims(op: string, a: Dim, b: Dim): boolean | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    switch (op) {
      case 'Equal':
        return a === b;
      case 'Less':
        return a < b;
      case 'Greater':
        return a > b;
      case 'LessOrEqual':
        return a <= b;
      case 'GreaterOrEqual':
        return a >= b;
    }
    return undefined;
  }
  if (a === b) return op === 'Equal' || op === 'LessOrEqual' || op === 'GreaterOrEqual';
  // A symbolic dim is a positive size: it exceeds any number below 1.
  if (typeof b === 'number' && b < 1) return op === 'Greater' || op === 'GreaterOrEqual' ? true : op === 'Equal' || op === 'Less' || op === 'LessOrEqual' ? false : undefined;
  if (typeof a === 'number' && a < 1) return op === 'Less' || op === 'LessOrEqual' ? true : op === 'Equal' || op === 'Greater' || op === 'GreaterOrEqual' ? false : undefined;
  return undefined;
}

/** Equal/Less/Greater/LessOrEqual/GreaterOrEqual: same-dtype inputs, broadcast, bool output. */
export function compare(ctx: NodeContext): InferResult {
  const dtype = ctx.sameDtype(0, 1);
  if (dtype === 'bool' && ctx.op !== 'Equal') ctx.invalid(`${ctx.op} of bool tensors`);
  const shape = broadcastAll(ctx, [0, 1]);
  const value = elementValues(ctx, [0, 1], shape, ([a, b]) => {
    const r = compareDims(ctx.op, a, b);
    return r === undefined ? undefined : r ? 1 : 0;
  });
  return out('bool', shape, value);
}

/** And/Or/Xor of bool tensors. */
export function logical(ctx: NodeContext): InferResult {
  for (const i of [0, 1]) if (ctx.input(i).dtype !== 'bool') ctx.invalid(`${ctx.op} takes bool tensors, input ${i} is ${ctx.input(i).dtype}`);
  const shape = broadcastAll(ctx, [0, 1]);
  const value = elementValues(ctx, [0, 1], shape, ([a, b]) => {
    if (typeof a !== 'number' || typeof b !== 'number') return undefined;
    return ctx.op === 'And' ? (a && b ? 1 : 0) : ctx.op === 'Or' ? (a || b ? 1 : 0) : (!a !== !b ? 1 : 0);
  });
  return out('bool', shape, value);
}

/** Where(cond, x, y): three-way broadcast, symbolic values picked through. */
export function where(ctx: NodeContext): InferResult {
  if (ctx.input(0).dtype !== 'bool') ctx.invalid(`the condition must be bool, got ${ctx.input(0).dtype}`);
  const dtype = ctx.sameDtype(1, 2);
  const shape = broadcastAll(ctx, [0, 1, 2]);
  const value = elementValues(ctx, [0, 1, 2], shape, ([c, x, y]) => (typeof c !== 'number' ? (x === y ? x : undefined) : c ? x : y));
  return out(dtype, shape, value);
}

/** Pow(x, y): the base's dtype; the exponent may be any numeric type. */
export function pow(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const y = ctx.input(1);
  if (x.dtype === 'bool' || y.dtype === 'bool') ctx.invalid('Pow of bool tensors');
  return out(x.dtype, broadcastAll(ctx, [0, 1]));
}

/** Mod with fmod 0 (sign of the divisor, ints) or 1 (C fmod). */
export function mod(ctx: NodeContext): InferResult {
  const dtype = ctx.sameDtype(0, 1);
  if (dtype === 'bool') ctx.invalid('Mod of bool tensors');
  const fmod = attrInt(ctx.node, 'fmod', 0);
  if (isFloat(dtype) && fmod !== 1) ctx.invalid('Mod of floats requires fmod=1');
  const shape = broadcastAll(ctx, [0, 1]);
  const value = elementValues(ctx, [0, 1], shape, ([a, b]) => {
    if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return a === b ? 0 : undefined;
    return modValue(a, b, fmod === 1);
  });
  return out(dtype, shape, value);
}

/** a mod b: C fmod (sign of a) or Python-style (sign of b). */
export function modValue(a: number, b: number, fmod: boolean): number {
  const r = a % b;
  if (fmod || r === 0 || (r < 0) === (b < 0)) return r;
  return r + b;
}

/** Min/Max/Sum/Mean over any number of same-dtype inputs, broadcast. */
export function variadic(ctx: NodeContext): InferResult {
  const idx = ctx.node.inputs.map((_, i) => i);
  const dtype = ctx.sameDtype(...idx);
  if (dtype === 'bool') ctx.invalid(`${ctx.op} of bool tensors`);
  if (ctx.op === 'Mean' && !isFloat(dtype)) ctx.invalid('Mean of int tensors');
  const shape = broadcastAll(ctx, idx);
  let value: Dim[] | undefined;
  if (ctx.op === 'Min' || ctx.op === 'Max') {
    value = elementValues(ctx, idx, shape, (v) => {
      if (!allStatic(v)) return v.every((d) => d === v[0]) ? v[0] : undefined;
      return ctx.op === 'Min' ? Math.min(...v) : Math.max(...v);
    });
  }
  return out(dtype, shape, value);
}

const BITWISE_TYPES: ReadonlySet<string> = new Set(['int8', 'uint8', 'int32', 'int64']);

/** BitwiseAnd/Or/Xor (opset 18): two tensors of one integer type, numpy broadcasting; BitwiseNot: one. */
export function bitwise(ctx: NodeContext): InferResult {
  const idx = ctx.op === 'BitwiseNot' ? [0] : [0, 1];
  const dtype = idx.length === 2 ? ctx.sameDtype(0, 1) : ctx.input(0).dtype;
  if (!BITWISE_TYPES.has(dtype)) ctx.invalid(`${ctx.op} of ${dtype} (an integer type: int8, uint8, int32 or int64)`);
  return { types: [{ dtype, shape: broadcastAll(ctx, idx) }] };
}

/** BitShift (opset 11): unsigned integers shifted by as many bits as the second input holds, direction LEFT or RIGHT. */
export function bitShift(ctx: NodeContext): InferResult {
  const dtype = ctx.sameDtype(0, 1);
  if (dtype !== 'uint8') ctx.unsupported(`BitShift of ${dtype} (uint8 is the unsigned type read)`);
  const dir = attrString(ctx.node, 'direction', '');
  if (dir !== 'LEFT' && dir !== 'RIGHT') ctx.invalid(`direction must be LEFT or RIGHT, got '${dir}'`);
  return { types: [{ dtype, shape: broadcastAll(ctx, [0, 1]) }] };
}

/** Det (opset 11): the determinants of x's trailing square matrices [..., M, M] → [...]. */
export function det(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  const r = x.shape.length;
  const [m, n] = x.shape.slice(-2);
  if (r < 2 || (typeof m === 'number' && typeof n === 'number' && m !== n)) ctx.mismatch(`input must be [..., M, M], got ${shapeToString(x.shape)}`);
  return { types: [{ dtype: x.dtype, shape: x.shape.slice(0, -2) }] };
}
