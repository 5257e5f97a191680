// Shape/dtype rules for reductions and normalizations: Reduce* over any axes (attribute and input
// forms), LayerNormalization, and LogSoftmax.
import { attrFloat, attrInt, attrInts } from './attrs.js';
import { MAX_VALUE_ELEMENTS, type InferResult, type NodeContext } from './context.js';
import { allStatic, multiplyDims, normAxis } from './dims.js';
import { isFloat, shapeToString, type Dim, type TensorType } from './types.js';

/** The first opset where each reduction takes its axes as an input rather than an attribute. */
const AXES_INPUT_SINCE: Record<string, number> = { ReduceSum: 13 };
/** The first opset where reduction `op` takes its axes as an input rather than an attribute (ReduceSum 13, others 18). */
export const axesInputSince = (op: string): number => AXES_INPUT_SINCE[op] ?? 18;

/**
 * The reduced axes of a Reduce* node (normalized), or undefined for "all axes"; [] means a no-op
 * (noop_with_empty_axes with empty axes).
 */
export function reductionAxes(ctx: NodeContext, rank: number): number[] | undefined {
  const since = axesInputSince(ctx.op);
  let raw: number[] | undefined;
  if (ctx.opset >= since) raw = ctx.has(1) ? ctx.ints(1, 'axes') : undefined;
  else {
    if (ctx.node.inputs.length > 1) ctx.invalid(`axes is an attribute before opset ${since}, not an input`);
    raw = attrInts(ctx.node, 'axes');
  }
  const noop = ctx.opset >= since && attrInt(ctx.node, 'noop_with_empty_axes', 0) !== 0;
  if (raw === undefined || raw.length === 0) return noop ? [] : undefined;
  const axes = raw.map((a) => normAxis(a, rank) ?? ctx.invalid(`axis ${a} out of range for rank ${rank}`));
  if (new Set(axes).size !== axes.length) ctx.invalid(`duplicate axes [${raw.join(', ')}]`);
  return axes;
}

/** ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp. */
export function reduce(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.dtype === 'bool') ctx.invalid(`${ctx.op} of a bool tensor`);
  if (!isFloat(x.dtype) && ['ReduceMean', 'ReduceL2', 'ReduceLogSumExp', 'ReduceLogSum'].includes(ctx.op)) ctx.float(0);
  const rank = x.shape.length;
  const axes = reductionAxes(ctx, rank);
  if (axes !== undefined && axes.length === 0) return { types: [{ dtype: x.dtype, shape: [...x.shape] }], values: [ctx.values[0]] };
  const set = new Set(axes ?? x.shape.map((_, i) => i));
  const keep = attrInt(ctx.node, 'keepdims', 1) !== 0;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!set.has(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  // The element count of a shape (ReduceProd over a Shape) stays symbolic.
  let value: Dim[] | undefined;
  const v = ctx.values[0];
  if (v && rank === 1 && set.has(0)) {
    if (ctx.op === 'ReduceProd') value = [multiplyDims(v)];
    else if (allStatic(v) && v.length <= MAX_VALUE_ELEMENTS) {
      if (ctx.op === 'ReduceSum') value = [v.reduce((a, b) => a + b, 0)];
      if (ctx.op === 'ReduceMax' && v.length) value = [Math.max(...v)];
      if (ctx.op === 'ReduceMin' && v.length) value = [Math.min(...v)];
    }
  }
  return { types: [{ dtype: x.dtype, shape }], values: [value] };
}

/**
 * The checks LayerNormalization and RMSNormalization share: x float, axis in range, ε, float32 statistics, and each
 * given parameter (scale 1, bias 2) broadcasting onto the normalized tail x[axis..]. Returns x, the axis and the tail.
 */
function normalization(ctx: NodeContext, params: number[]): { x: TensorType; axis: number; norm: Dim[] } {
  const x = ctx.float(0);
  ctx.float(1);
  const r = x.shape.length;
  const a = attrInt(ctx.node, 'axis', -1);
  const axis = normAxis(a, r) ?? ctx.invalid(`axis ${a} out of range for rank ${r}`);
  attrFloat(ctx.node, 'epsilon', 1e-5);
  const norm = x.shape.slice(axis);
  for (const i of params) {
    if (!ctx.has(i)) continue;
    const s = ctx.input(i).shape;
    if (s.length > norm.length || s.some((d, k) => d !== 1 && d !== norm[norm.length - s.length + k])) {
      ctx.mismatch(`${i === 1 ? 'scale' : 'bias'} ${shapeToString(s)} does not broadcast to the normalized shape ${shapeToString(norm)}`);
    }
  }
  const stash = attrInt(ctx.node, 'stash_type', 1);
  if (stash !== 1) ctx.unsupported(`stash_type ${stash} (only float32 statistics)`);
  return { x, axis, norm };
}

/** RMSNormalization(x, scale) (opset 23): x / √(mean(x²) + ε) · scale over axis.. ; one output of scale's type. */
export function rmsNorm(ctx: NodeContext): InferResult {
  const { x } = normalization(ctx, [1]);
  // Y has the scale's type (V), which may differ from X's (T).
  return { types: [{ dtype: ctx.input(1).dtype, shape: [...x.shape] }] };
}

/** LayerNormalization(x, scale, bias?): normalizes over axis.. ; optional Mean and InvStdDev outputs. */
export function layerNorm(ctx: NodeContext): InferResult {
  const { x, axis, norm } = normalization(ctx, [1, 2]);
  const stat = [...x.shape.slice(0, axis), ...norm.map(() => 1)];
  const types = [{ dtype: x.dtype, shape: [...x.shape] }];
  for (let k = 1; k < ctx.node.outputs.length; k++) types.push({ dtype: 'float32', shape: [...stat] });
  return { types };
}
