// Shape/dtype rules for the per-channel operators of older and generative CNNs: PRelu, InstanceNormalization,
// GroupNormalization, LRN, DepthToSpace, SpaceToDepth; LpNormalization and MeanVarianceNormalization; QuantizeLinear and DequantizeLinear (per
// tensor and per axis); and CastLike and Size.
import { attrInt, attrInts, attrString } from './attrs.js';
import type { InferResult, NodeContext } from './context.js';
import { broadcast, multiplyDims, normAxis } from './dims.js';
import { shapeToString, type Dim } from './types.js';

const same = (ctx: NodeContext, i = 0): InferResult => ({ types: [{ dtype: ctx.input(i).dtype, shape: [...ctx.input(i).shape] }] });

/** PRelu(x, slope): slope broadcasts to x (unidirectionally). */
export function prelu(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  ctx.sameDtype(0, 1);
  const b = broadcast(x.shape, ctx.input(1).shape);
  if (typeof b === 'string' || b.length !== x.shape.length || b.some((d, i) => d !== x.shape[i])) {
    ctx.mismatch(`slope ${shapeToString(ctx.input(1).shape)} does not broadcast to the input ${shapeToString(x.shape)}`);
  }
  return same(ctx);
}

/** The channel count of an [N, C, ...] input of rank ≥ 3. */
function channels(ctx: NodeContext): Dim {
  const x = ctx.float(0);
  if (x.shape.length < 3) ctx.invalid(`the input must be [N, C, D1, ...], got ${shapeToString(x.shape)}`);
  return x.shape[1];
}

/** A 1-D parameter of `len` elements (unchecked while `len` is symbolic). */
function vector(ctx: NodeContext, i: number, len: Dim, what: string): void {
  const s = ctx.input(i).shape;
  if (s.length !== 1 || (typeof len === 'number' && typeof s[0] === 'number' && s[0] !== len)) ctx.mismatch(`${what} must be [${len}], got ${shapeToString(s)}`);
}

/** InstanceNormalization(x, scale[C], B[C]). */
export function instanceNorm(ctx: NodeContext): InferResult {
  const c = channels(ctx);
  ctx.sameDtype(0, 1, 2);
  vector(ctx, 1, c, 'scale');
  vector(ctx, 2, c, 'B');
  return same(ctx);
}

/** GroupNormalization(x, scale, bias): scale and bias per group before opset 21, per channel from 21. */
export function groupNorm(ctx: NodeContext): InferResult {
  const c = channels(ctx);
  ctx.sameDtype(0, 1, 2);
  const groups = attrInt(ctx.node, 'num_groups');
  if (groups === undefined || groups < 1) ctx.invalid(`num_groups must be a positive integer, got ${groups}`);
  if (typeof c === 'number' && c % groups !== 0) ctx.mismatch(`${c} channels do not split into ${groups} groups`);
  const len = ctx.opset >= 21 ? c : groups;
  vector(ctx, 1, len, 'scale');
  vector(ctx, 2, len, 'bias');
  return same(ctx);
}

/** LRN(x): local response normalization across channels. */
export function lrn(ctx: NodeContext): InferResult {
  channels(ctx);
  const size = attrInt(ctx.node, 'size');
  if (size === undefined || size < 1) ctx.invalid(`size must be a positive integer, got ${size}`);
  return same(ctx);
}

function blocksize(ctx: NodeContext): number {
  const b = attrInt(ctx.node, 'blocksize');
  if (b === undefined || b < 1) ctx.invalid(`blocksize must be a positive integer, got ${b}`);
  const x = ctx.input(0);
  if (x.shape.length !== 4) ctx.invalid(`the input must be [N, C, H, W], got ${shapeToString(x.shape)}`);
  return b;
}

/** DepthToSpace(x): [N, C, H, W] → [N, C/b², H·b, W·b], in DCR or CRD order. */
export function depthToSpace(ctx: NodeContext): InferResult {
  const b = blocksize(ctx);
  const mode = attrString(ctx.node, 'mode', 'DCR');
  if (mode !== 'DCR' && mode !== 'CRD') ctx.invalid(`mode must be DCR or CRD, got '${mode}'`);
  const [n, c, h, w] = ctx.input(0).shape;
  if (typeof c !== 'number') ctx.unsupported(`a symbolic channel count (${c})`);
  if (c % (b * b) !== 0) ctx.mismatch(`${c} channels do not divide by blocksize² = ${b * b}`);
  return { types: [{ dtype: ctx.input(0).dtype, shape: [n, c / (b * b), multiplyDims([h, b]), multiplyDims([w, b])] }] };
}

/** SpaceToDepth(x): [N, C, H, W] → [N, C·b², H/b, W/b]. */
export function spaceToDepth(ctx: NodeContext): InferResult {
  const b = blocksize(ctx);
  const [n, c, h, w] = ctx.input(0).shape;
  if (typeof h !== 'number' || typeof w !== 'number') ctx.unsupported(`symbolic spatial dims (${h}, ${w})`);
  if (h % b !== 0 || w % b !== 0) ctx.mismatch(`${h}×${w} does not divide into blocks of ${b}`);
  return { types: [{ dtype: ctx.input(0).dtype, shape: [n, multiplyDims([c, b * b]), h / b, w / b] }] };
}

/** CastLike(x, like): x as like's dtype. */
export function castLike(ctx: NodeContext): InferResult {
  return { types: [{ dtype: ctx.input(1).dtype, shape: [...ctx.input(0).shape] }] };
}

/** LpNormalization(x): x over its L1 or L2 norm along one axis. */
export function lpNorm(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  const axis = attrInt(ctx.node, 'axis', -1);
  if (normAxis(axis, x.shape.length) === undefined) ctx.invalid(`axis ${axis} out of range for rank ${x.shape.length}`);
  const p = attrInt(ctx.node, 'p', 2);
  if (p !== 1 && p !== 2) ctx.invalid(`p must be 1 or 2, got ${p}`);
  return same(ctx);
}

/** The axes MeanVarianceNormalization normalizes over (default [0, 2, 3]), each within the rank, normalized. */
export function mvnAxes(node: NodeContext['node'], rank: number): number[] | undefined {
  const axes = attrInts(node, 'axes') ?? [0, 2, 3];
  const out = axes.map((a) => normAxis(a, rank));
  if (out.some((a) => a === undefined) || new Set(out).size !== out.length || out.length === 0) return undefined;
  return out as number[];
}

/** MeanVarianceNormalization(x): (x − mean) / (std + 1e-9) over `axes`. */
export function meanVarianceNorm(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  if (!mvnAxes(ctx.node, x.shape.length)) ctx.invalid(`axes ${JSON.stringify(attrInts(ctx.node, 'axes') ?? [0, 2, 3])} must be distinct axes of a rank-${x.shape.length} input`);
  return same(ctx);
}

/** Size(x): the element count, an int64 scalar (symbolic while a dim is). */
export function size(ctx: NodeContext): InferResult {
  return { types: [{ dtype: 'int64', shape: [] }], values: [[multiplyDims(ctx.input(0).shape)]] };
}

/** The scale and zero point of a (de)quantization: a scalar, or a vector along `axis` (opset 13+). */
function quantParams(ctx: NodeContext): void {
  const x = ctx.input(0);
  const scale = ctx.input(1);
  if (attrInt(ctx.node, 'block_size', 0) !== 0) ctx.unsupported('block quantization (block_size)');
  if (attrInt(ctx.node, 'output_dtype', 0) !== 0) ctx.unsupported('output_dtype (the output type is the zero point\'s, or the scale\'s)');
  if (attrInt(ctx.node, 'precision', 0) !== 0) ctx.unsupported('precision (the division runs at the scale\'s precision)');
  if (scale.shape.length > 1) ctx.mismatch(`the scale must be a scalar or 1-D, got ${shapeToString(scale.shape)}`);
  if (scale.shape.length === 1) {
    const a = attrInt(ctx.node, 'axis', 1);
    const axis = normAxis(a, x.shape.length);
    if (axis === undefined) ctx.invalid(`axis ${a} out of range for rank ${x.shape.length}`);
    const [n, d] = [scale.shape[0], x.shape[axis]];
    if (typeof n === 'number' && typeof d === 'number' && n !== d && n !== 1) ctx.mismatch(`${n} scales for ${d} elements along axis ${axis}`);
  }
  if (ctx.has(2) && shapeToString(ctx.input(2).shape) !== shapeToString(scale.shape)) ctx.mismatch(`the zero point ${shapeToString(ctx.input(2).shape)} must have the scale's shape ${shapeToString(scale.shape)}`);
}

/** QuantizeLinear(x, scale, zero_point?): int8 or uint8 (the zero point's type; uint8 without one). */
export function quantize(ctx: NodeContext): InferResult {
  ctx.float(0);
  quantParams(ctx);
  const to = ctx.has(2) ? ctx.input(2).dtype : 'uint8';
  if (to !== 'int8' && to !== 'uint8') ctx.unsupported(`quantizing to ${to}`);
  return { types: [{ dtype: to, shape: [...ctx.input(0).shape] }] };
}

/** DequantizeLinear(x, scale, zero_point?): the scale's float type. */
export function dequantize(ctx: NodeContext): InferResult {
  const t = ctx.input(0).dtype;
  if (t !== 'int8' && t !== 'uint8' && t !== 'int32') ctx.unsupported(`dequantizing ${t}`);
  if (ctx.has(2) && ctx.input(2).dtype !== t) ctx.invalid(`the zero point is ${ctx.input(2).dtype} but the input is ${t}`);
  if (t === 'int32' && ctx.values[2]?.some((v) => v !== 0)) ctx.invalid('an int32 zero point must be 0');
  quantParams(ctx);
  return { types: [{ dtype: ctx.float(1).dtype, shape: [...ctx.input(0).shape] }] };
}
