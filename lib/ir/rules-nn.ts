// Shape/dtype rules for the neural-network operators: convolution, pooling, normalization,
// matrix products, reductions and activations.
import { attrFloat, attrInt, attrInts, attrString } from './attrs.js';
import { MAX_VALUE_ELEMENTS, type InferResult, type NodeContext } from './context.js';
import { broadcast, normAxis } from './dims.js';
import { windowGeometry } from './geometry.js';
import { numel, shapeToString, type Dim, type TensorType } from './types.js';

export const ACTIVATIONS = ['none', 'relu', 'clip', 'leakyrelu', 'sigmoid', 'hardsigmoid', 'hardswish', 'tanh', 'silu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

function same(_ctx: NodeContext, t: TensorType): InferResult {
  return { types: [{ dtype: t.dtype, shape: [...t.shape] }] };
}

/** Conv and FusedConv: [N, C, H, W] * [M, C/group, kH, kW] → [N, M, oH, oW]. */
export function conv(ctx: NodeContext): InferResult {
  const fused = ctx.op === 'FusedConv';
  const x = ctx.float(0);
  const w = ctx.float(1);
  ctx.sameDtype(0, 1, 2, 3);
  const rank = x.shape.length;
  if (rank < 3) ctx.mismatch(`input must be [N, C, spatial...], got ${shapeToString(x.shape)}`);
  if (rank > 4) ctx.unsupported(`${rank - 2}-D convolution (only 1-D and 2-D are supported)`);
  if (fused && rank !== 4) ctx.mismatch(`FusedConv takes a 4-D input, got ${shapeToString(x.shape)}`);
  if (w.shape.length !== rank) ctx.mismatch(`weight ${shapeToString(w.shape)} does not match the ${rank}-D input ${shapeToString(x.shape)}`);
  const ws = w.shape.map((d) => (typeof d === 'number' ? d : ctx.unsupported(`weight with a dynamic shape ${shapeToString(w.shape)}`)));
  const group = attrInt(ctx.node, 'group', 1);
  if (group < 1) ctx.invalid(`group must be ≥ 1, got ${group}`);
  const c = x.shape[1];
  if (typeof c !== 'number') ctx.unsupported(`a dynamic channel dimension in ${shapeToString(x.shape)}`);
  const m = ws[0];
  if (ws[1] * group !== c) {
    ctx.mismatch(`input has ${c} channels but weight ${shapeToString(ws)} with group ${group} expects ${ws[1] * group}`);
  }
  if (m % group !== 0) ctx.mismatch(`${m} output channels are not divisible by group ${group}`);
  const kernel = ws.slice(2);
  const ks = attrInts(ctx.node, 'kernel_shape');
  if (ks && ks.join() !== kernel.join()) ctx.mismatch(`kernel_shape [${ks.join(', ')}] differs from the weight's ${shapeToString(kernel)}`);
  if (ctx.has(2)) {
    const b = ctx.input(2).shape;
    if (b.length !== 1 || b[0] !== m) ctx.mismatch(`bias ${shapeToString(b)} must be [${m}]`);
  }
  const g = windowGeometry(ctx, ctx.staticSpatial(0), kernel);
  const shape: Dim[] = [x.shape[0], m, ...g.out];
  if (fused) {
    if (ctx.has(3)) {
      const r = ctx.input(3).shape;
      if (r.join() !== shape.join()) ctx.mismatch(`residual ${shapeToString(r)} must equal the output ${shapeToString(shape)}`);
    }
    const act = attrString(ctx.node, 'activation', 'none');
    if (!(ACTIVATIONS as readonly string[]).includes(act)) ctx.invalid(`unknown activation '${act}'`);
  }
  return { types: [{ dtype: x.dtype, shape }] };
}

/** FusedMBConv: x [N, C, H, W] → 1×1 W1 [E, C] → depthwise Wd [E, 1, k, k] → 1×1 W2 [K, E] → [N, K, oH, oW]. */
export function mbconv(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  ctx.sameDtype(0, 1, 2, 3, 4, 5, 6, 7);
  if (x.shape.length !== 4) ctx.mismatch(`FusedMBConv takes a 4-D input, got ${shapeToString(x.shape)}`);
  const w = [1, 3, 5].map((i) => ctx.float(i).shape);
  if (w.some((s) => s.length !== 4 || s.some((d) => typeof d !== 'number'))) ctx.mismatch('FusedMBConv weights must be static 4-D tensors');
  const [w1, wd, w2] = w as number[][];
  const e = w1[0];
  if (w1[1] !== x.shape[1] || w1[2] !== 1 || w1[3] !== 1) ctx.mismatch(`expand weight ${shapeToString(w1)} does not fit the input ${shapeToString(x.shape)}`);
  if (wd[0] !== e || wd[1] !== 1 || attrInt(ctx.node, 'group', 1) !== e) ctx.mismatch(`depthwise weight ${shapeToString(wd)} does not fit ${e} expanded channels`);
  if (w2[1] !== e || w2[2] !== 1 || w2[3] !== 1) ctx.mismatch(`project weight ${shapeToString(w2)} does not fit ${e} expanded channels`);
  for (const [i, m] of [[2, e], [4, e], [6, w2[0]]]) {
    if (ctx.has(i) && (ctx.input(i).shape.length !== 1 || ctx.input(i).shape[0] !== m)) ctx.mismatch(`bias ${shapeToString(ctx.input(i).shape)} must be [${m}]`);
  }
  const g = windowGeometry(ctx, ctx.staticSpatial(0), wd.slice(2));
  const shape: Dim[] = [x.shape[0], w2[0], ...g.out];
  if (ctx.has(7) && ctx.input(7).shape.join() !== shape.join()) ctx.mismatch(`residual ${shapeToString(ctx.input(7).shape)} must equal the output ${shapeToString(shape)}`);
  for (const a of ['expand_activation', 'dw_activation', 'activation']) {
    const act = attrString(ctx.node, a, 'none');
    if (!(ACTIVATIONS as readonly string[]).includes(act)) ctx.invalid(`unknown activation '${act}'`);
  }
  return { types: [{ dtype: x.dtype, shape }] };
}

export function pool(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  const rank = x.shape.length;
  if (rank < 3) ctx.mismatch(`input must be [N, C, spatial...], got ${shapeToString(x.shape)}`);
  if (rank > 4) ctx.unsupported(`${rank - 2}-D pooling (only 1-D and 2-D are supported)`);
  if (ctx.node.outputs.length > 1 && ctx.node.outputs[1]) ctx.unsupported('the Indices output');
  const kernel = attrInts(ctx.node, 'kernel_shape');
  if (!kernel) ctx.invalid(`'kernel_shape' is required`);
  const g = windowGeometry(ctx, ctx.staticSpatial(0), kernel);
  return { types: [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...g.out] }] };
}

export function globalPool(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  if (x.shape.length < 3) ctx.mismatch(`input must be [N, C, spatial...], got ${shapeToString(x.shape)}`);
  return { types: [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] }] };
}

/** LpPool and GlobalLpPool: their pools' rules, with p a positive integer (default 2). */
export function lpPool(ctx: NodeContext): InferResult {
  lpExponent(ctx);
  return ctx.op === 'GlobalLpPool' ? globalPool(ctx) : pool(ctx);
}

function lpExponent(ctx: NodeContext): void {
  const p = attrInt(ctx.node, 'p', 2);
  if (!(p >= 1)) ctx.invalid(`p must be a positive integer, got ${p}`);
}

export function batchNorm(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  if (attrInt(ctx.node, 'training_mode', 0) !== 0) ctx.unsupported('training_mode=1');
  if (ctx.node.outputs.slice(1).some((o) => o)) ctx.unsupported('the training outputs (running mean/var)');
  if (x.shape.length < 2) ctx.mismatch(`input must be [N, C, ...], got ${shapeToString(x.shape)}`);
  const c = x.shape[1];
  for (let i = 1; i <= 4; i++) {
    const t = ctx.float(i);
    if (t.shape.length !== 1 || t.shape[0] !== c) ctx.mismatch(`input ${i} ${shapeToString(t.shape)} must be [${c}]`);
  }
  attrFloat(ctx.node, 'epsilon', 1e-5);
  return same(ctx, x);
}

export function gemm(ctx: NodeContext): InferResult {
  const a = ctx.rank(0, 2);
  const b = ctx.rank(1, 2);
  const dtype = ctx.sameDtype(0, 1, 2);
  ctx.float(0);
  const ta = attrInt(ctx.node, 'transA', 0) !== 0;
  const tb = attrInt(ctx.node, 'transB', 0) !== 0;
  const [m, ka] = ta ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, n] = tb ? [b.shape[1], b.shape[0]] : b.shape;
  if (ka !== kb) ctx.mismatch(`inner dimensions differ: A ${shapeToString(a.shape)}${ta ? 'ᵀ' : ''} · B ${shapeToString(b.shape)}${tb ? 'ᵀ' : ''}`);
  const out: Dim[] = [m, n];
  if (ctx.has(2)) {
    const c = ctx.input(2).shape;
    const r = broadcast(out, c);
    if (typeof r === 'string' || r.join() !== out.join()) ctx.mismatch(`C ${shapeToString(c)} does not broadcast to ${shapeToString(out)}`);
  }
  return { types: [{ dtype, shape: out }] };
}

export function matmul(ctx: NodeContext): InferResult {
  const a = ctx.input(0).shape;
  const b = ctx.input(1).shape;
  const dtype = ctx.sameDtype(0, 1);
  ctx.float(0);
  if (a.length === 0 || b.length === 0) ctx.mismatch('MatMul inputs must have rank ≥ 1');
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const k1 = a2[a2.length - 1];
  const k2 = b2[b2.length - 2];
  if (k1 !== k2) ctx.mismatch(`inner dimensions differ: ${shapeToString(a)} · ${shapeToString(b)}`);
  const batch = broadcast(a2.slice(0, -2), b2.slice(0, -2));
  if (typeof batch === 'string') ctx.mismatch(batch);
  const shape: Dim[] = [...batch];
  if (a.length > 1) shape.push(a2[a2.length - 2]);
  if (b.length > 1) shape.push(b2[b2.length - 1]);
  return { types: [{ dtype, shape }] };
}

export function softmax(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  const axis = attrInt(ctx.node, 'axis', ctx.opset >= 13 ? -1 : 1);
  const r = x.shape.length;
  // Before opset 13 the axis may equal the rank (coercion to [prod(:axis), prod(axis:)]).
  const ok = ctx.opset >= 13 ? normAxis(axis, r) !== undefined : axis >= -r && axis <= r;
  if (!ok) ctx.invalid(`axis ${axis} out of range for rank ${r}`);
  return same(ctx, x);
}

/** Element-wise float activations (Relu, Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish). */
export function activation(ctx: NodeContext): InferResult {
  return same(ctx, ctx.float(0));
}

export function clip(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.dtype === 'bool') ctx.invalid('Clip of a bool tensor');
  ctx.sameDtype(0, 1, 2);
  for (const i of [1, 2]) {
    if (ctx.has(i) && numel(ctx.input(i).shape) !== 1) ctx.mismatch(`${i === 1 ? 'min' : 'max'} must be a scalar, got ${shapeToString(ctx.input(i).shape)}`);
  }
  return same(ctx, x);
}

export function dropout(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const types: TensorType[] = [{ dtype: x.dtype, shape: [...x.shape] }];
  if (ctx.node.outputs.length > 1) types.push({ dtype: 'bool', shape: [...x.shape] });
  const v = ctx.values[0];
  return { types, values: [v && v.length <= MAX_VALUE_ELEMENTS ? [...v] : undefined] };
}
