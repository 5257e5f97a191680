// Per-operator lowering: IR nodes → builtin layers (conv, pool, reduce, softmax, binary, unary, copy, ...).
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Constant, Node } from '../ir/types.js';
import { Act, BinaryOp, ReduceOp, type ActName } from './program.js';
import { LowerContext, logicalStrides, physicalOrder, prod, rowStrides, type Val } from './lower-context.js';
import { ATTENTION_LOWERINGS, lowerMatMul } from './lower/attention.js';
import { foldBiasAdd } from './lower/epilogue.js';
import { MATH_LOWERINGS } from './lower/math.js';
import { NORM_LOWERINGS } from './lower/norm.js';
import { SHAPE_LOWERINGS } from './lower/shape.js';
import { broadcastStrides, constFloats, constInts, FLT_MAX, ints, num, out, str } from './lower/util.js';
import { mbconv } from './lower-mbconv.js';
import { floatValues, toKRSC, toRSC, transpose2d } from './weights.js';
import { VISION_LOWERINGS } from './lower/vision.js';
import { stridedView } from './lower/view.js';

// ---- convolution and fully connected ------------------------------------------------------------

const ACTS: Record<string, ActName> = {
  none: 'none',
  relu: 'relu',
  clip: 'clip',
  leakyrelu: 'leakyrelu',
  sigmoid: 'sigmoid',
  hardsigmoid: 'hardsigmoid',
  hardswish: 'hardswish',
  tanh: 'tanh',
  silu: 'silu',
};

/** A convolution's float32 bias tensor (or -1) and its fused activation's parameters. */
function convEpilogue(cx: LowerContext, n: Node, k: number): { bias: number; act: number; alpha: number; beta: number } {
  const bias = constFloats(cx, n.inputs[2]);
  if (n.inputs[2] && !bias) cx.unsupported(n, 'the bias must be constant');
  const actName = n.op === 'FusedConv' ? str(n, 'activation', 'none') : 'none';
  const act = ACTS[actName];
  if (!act) cx.unsupported(n, `activation '${actName}'`);
  return {
    bias: bias ? cx.packWeights(`${n.inputs[2]}:bias32`, bias, 'float32', [k]) : -1,
    act: Act[act], alpha: num(n, 'act_alpha', 0), beta: num(n, 'act_beta', 0),
  };
}

function conv(cx: LowerContext, n: Node): void {
  const xIn = cx.value(n.inputs[0], n);
  if (xIn.shape.length !== 4) cx.unsupported(n, `only 2-D convolutions (4-D tensors) are supported, got rank ${xIn.shape.length}`);
  const dtype = cx.typeOf(n.outputs[0], n).dtype;
  if (dtype !== 'float16' && dtype !== 'float32') cx.unsupported(n, `dtype ${dtype}`);
  if (patchify(cx, n, xIn, dtype)) return;
  const x = cx.convert(xIn, 'nhwc', dtype);
  const w = cx.constant(n.inputs[1]);
  if (!w) cx.unsupported(n, 'the weights must be constant');
  const [k, cg, r, s] = w.dims;
  const g = num(n, 'group', 1);
  const [, c, h, wd] = x.shape;
  const y = out(cx, n);
  const [, , p, q] = y.shape;
  const strides = ints(n, 'strides') ?? [1, 1];
  const dil = ints(n, 'dilations') ?? [1, 1];
  let pads = ints(n, 'pads') ?? [0, 0, 0, 0];
  const autoPad = str(n, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = (o: number, i: number, st: number, kk: number, dd: number) => Math.max(0, (o - 1) * st + (kk - 1) * dd + 1 - i);
    const th = total(p, h, strides[0], r, dil[0]);
    const tw = total(q, wd, strides[1], s, dil[1]);
    pads = autoPad === 'SAME_UPPER' ? [th >> 1, tw >> 1, th - (th >> 1), tw - (tw >> 1)] : [th - (th >> 1), tw - (tw >> 1), th >> 1, tw >> 1];
  }
  const depthwise = g === c && g === k && g > 1 && cg === 1;
  const wTensor = cx.packWeights(
    `${w.name}:${depthwise ? 'rsc' : 'krsc'}`,
    () => (depthwise ? toRSC(floatValues(w.dtype, w.data), c, r, s) : toKRSC(floatValues(w.dtype, w.data), k, cg, r, s)),
    dtype,
    depthwise ? [r, s, c] : [k, r, s, cg],
    w.data,
  );
  const ep = convEpilogue(cx, n, k);
  let rTensor = -1;
  if (n.inputs[3]) rTensor = cx.convert(cx.value(n.inputs[3], n, dtype), 'nhwc', dtype).tensor;
  cx.emit(n.name, 'conv', [x.tensor, wTensor, ep.bias, rTensor], [y.tensor], {
    n: x.shape[0], h, w: wd, c, k, r, s, p, q,
    sh: strides[0], sw: strides[1], ph: pads[0], pw: pads[1], dh: dil[0], dw: dil[1], g,
    act: ep.act, alpha: ep.alpha, beta: ep.beta,
  }, x.batched);
}

/**
 * A patch-embedding convolution (kernel = stride, no padding, dilation or groups: ViT's and Swin's stem) as one
 * strided copy that gathers each patch into a row (converting layout and dtype at once) and a 1×1 convolution over
 * those rows, a plain GEMM for the tensor-core and cuBLASLt tactics. The patch row is ordered (c, r, s), as ONNX
 * stores the weights, so the weights are the convolution's own, unpermuted, and the copy's innermost run is a patch
 * row of the input (16 contiguous pixels for ViT's stem), not one pixel per channel plane.
 */
function patchify(cx: LowerContext, n: Node, xIn: Val, dtype: 'float16' | 'float32'): boolean {
  const w = cx.constant(n.inputs[1]);
  if (!w || w.dims.length !== 4 || n.inputs[3] || xIn.batched) return false;
  const [k, cg, r, s] = w.dims;
  const [N, c, h, wd] = xIn.shape;
  const strides = ints(n, 'strides') ?? [1, 1];
  const pads = ints(n, 'pads') ?? [0, 0, 0, 0];
  const dil = ints(n, 'dilations') ?? [1, 1];
  const autoPad = str(n, 'auto_pad', 'NOTSET');
  if (num(n, 'group', 1) !== 1 || cg !== c || r * s < 4 || strides[0] !== r || strides[1] !== s) return false;
  if (pads.some((v) => v !== 0) || dil.some((v) => v !== 1) || (autoPad !== 'NOTSET' && autoPad !== 'VALID')) return false;
  if (h % r || wd % s) return false;
  const [p, q] = [h / r, wd / s];
  // Read through a Cast in front (FP16 autocast's input cast): the copy converts the dtype itself.
  const cast = cx.graph.producers().get(n.inputs[0]);
  const before = cast && cast.op === 'Cast' && cast.domain === '' ? cx.values.get(cast.inputs[0]) : undefined;
  const src = before && (before.dtype === 'float32' || before.dtype === 'float16') && before.shape.join() === xIn.shape.join() ? before : xIn;
  const xs = logicalStrides(src);
  const patches = cx.newTensor(`${n.name}:patches`, dtype, [N, p, q, r * s * c], false, 'nhwc');
  cx.emit(`${n.name}:patchify`, 'copy', [src.tensor], [patches], {
    dims: [N, p, q, c, r, s], xs: [xs[0], r * xs[2], s * xs[3], xs[1], xs[2], xs[3]], ys: rowStrides([N, p, q, c, r, s]), xoff: 0, yoff: 0,
  }, false);
  const y = out(cx, n);
  const wTensor = cx.packWeights(`${w.name}:kcrs`, () => floatValues(w.dtype, w.data), dtype, [k, 1, 1, c * r * s], w.data);
  const ep = convEpilogue(cx, n, k);
  cx.emit(n.name, 'conv', [patches, wTensor, ep.bias, -1], [y.tensor], {
    n: N, h: p, w: q, c: r * s * c, k, r: 1, s: 1, p, q, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, g: 1,
    act: ep.act, alpha: ep.alpha, beta: ep.beta,
  }, false);
  return true;
}

/** A fully connected layer as a 1×1 convolution over rows: y[M,N] = x[M,K] · Wᵀ + bias. */
function fullyConnected(
  cx: LowerContext, n: Node, x: Val, w: { nk: () => Float32Array; count: number; source: object }, bias: Float32Array | undefined,
  act: ActName, alpha: number, beta: number, key: string,
): void {
  const dtype = cx.typeOf(n.outputs[0], n).dtype;
  const K = x.shape[x.shape.length - 1];
  const rows = prod(x.shape.slice(0, -1));
  const N = w.count / K;
  const y = out(cx, n, 'rowmajor');
  const wTensor = cx.packWeights(`${key}:nk`, w.nk, dtype as 'float16' | 'float32', [N, 1, 1, K], w.source);
  const bTensor = bias ? cx.packWeights(`${key}:bias32`, bias, 'float32', [N]) : -1;
  cx.emit(n.name, 'conv', [x.tensor, wTensor, bTensor, -1], [y.tensor], {
    n: rows, h: 1, w: 1, c: K, k: N, r: 1, s: 1, p: 1, q: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, g: 1,
    act: Act[act], alpha, beta,
  }, x.batched);
}

function gemm(cx: LowerContext, n: Node): void {
  const dtype = cx.typeOf(n.outputs[0], n).dtype;
  if (num(n, 'transA', 0) !== 0) cx.unsupported(n, 'transA = 1');
  const x = cx.convert(cx.value(n.inputs[0], n), 'rowmajor', dtype);
  const b = cx.constant(n.inputs[1]);
  if (!b) return lowerMatMul(cx, n);
  const [d0, d1] = b.dims;
  const alpha = num(n, 'alpha', 1);
  const nk = () => {
    let w = floatValues(b.dtype, b.data);
    if (num(n, 'transB', 0) === 0) w = transpose2d(w, d0, d1); // [K,N] → [N,K]
    return alpha !== 1 ? w.map((v) => v * alpha) : w;
  };
  const N = d0 * d1 / x.shape[x.shape.length - 1];
  let bias: Float32Array | undefined;
  if (n.inputs[2]) {
    const c = cx.constant(n.inputs[2]);
    if (!c || prod(c.dims) !== N) cx.unsupported(n, 'C must be a constant broadcast over rows ([N] or [1, N])');
    const beta = num(n, 'beta', 1);
    bias = floatValues(c.dtype, c.data).map((v) => v * beta);
  }
  const act = n.op === 'FusedGemm' ? ACTS[str(n, 'activation', 'none')] : 'none';
  if (!act) cx.unsupported(n, `activation '${str(n, 'activation', '')}'`);
  fullyConnected(cx, n, x, { nk, count: d0 * d1, source: b.data }, bias, act, num(n, 'act_alpha', 0), num(n, 'act_beta', 0), `${b.name}:${n.name}`);
}

function matmul(cx: LowerContext, n: Node): void {
  const b = cx.constant(n.inputs[1]);
  if (!b || b.dims.length !== 2) return lowerMatMul(cx, n);
  const dtype = cx.typeOf(n.outputs[0], n).dtype;
  const x = cx.convert(cx.value(n.inputs[0], n), 'rowmajor', dtype);
  const nk = () => transpose2d(floatValues(b.dtype, b.data), b.dims[0], b.dims[1]);
  fullyConnected(cx, n, x, { nk, count: b.dims[0] * b.dims[1], source: b.data }, undefined, 'none', 0, 0, `${b.name}:mm`);
}

// ---- pooling and reductions ------------------------------------------------------------------

function pool(cx: LowerContext, n: Node): void {
  const x = cx.convert(cx.value(n.inputs[0], n), 'nhwc');
  if (x.shape.length !== 4) cx.unsupported(n, 'only 2-D pooling is supported');
  const y = out(cx, n);
  const [, c, h, w] = x.shape;
  const [, , p, q] = y.shape;
  if (n.op === 'GlobalAveragePool' || n.op === 'GlobalMaxPool') {
    cx.emit(n.name, 'reduce', [x.tensor], [y.tensor], { mode: n.op === 'GlobalAveragePool' ? ReduceOp.mean : ReduceOp.max, outer: x.shape[0], len: h * w, inner: c }, x.batched);
    return;
  }
  const kernel = ints(n, 'kernel_shape')!;
  const strides = ints(n, 'strides') ?? [1, 1];
  if ((ints(n, 'dilations') ?? [1, 1]).some((d) => d !== 1)) cx.unsupported(n, 'dilated pooling');
  let pads = ints(n, 'pads') ?? [0, 0, 0, 0];
  const autoPad = str(n, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const th = Math.max(0, (p - 1) * strides[0] + kernel[0] - h);
    const tw = Math.max(0, (q - 1) * strides[1] + kernel[1] - w);
    pads = autoPad === 'SAME_UPPER' ? [th >> 1, tw >> 1] : [th - (th >> 1), tw - (tw >> 1)];
  }
  cx.emit(n.name, 'pool', [x.tensor], [y.tensor], {
    n: x.shape[0], h, w, c, r: kernel[0], s: kernel[1], p, q, sh: strides[0], sw: strides[1], ph: pads[0], pw: pads[1],
    max: n.op === 'MaxPool' ? 1 : 0, cip: num(n, 'count_include_pad', 0),
  }, x.batched);
}

/** Splits a value's physical layout into [outer, len, inner] around logical `axes`, if they are contiguous. */
function around(v: Val, axes: number[]): { outer: number; len: number; inner: number } | null {
  const order = physicalOrder(v);
  const pos = axes.map((a) => order.indexOf(a)).sort((a, b) => a - b);
  for (let i = 1; i < pos.length; i++) if (pos[i] !== pos[i - 1] + 1) return null;
  const dims = order.map((a) => v.shape[a]);
  return { outer: prod(dims.slice(0, pos[0])), len: prod(dims.slice(pos[0], pos[pos.length - 1] + 1)), inner: prod(dims.slice(pos[pos.length - 1] + 1)) };
}

function reduce(cx: LowerContext, n: Node): void {
  let x = cx.value(n.inputs[0], n);
  const rank = x.shape.length;
  const raw = ints(n, 'axes') ?? constInts(cx, n.inputs[1]) ?? x.shape.map((_, i) => i);
  const axes = raw.map((a) => (a < 0 ? a + rank : a));
  if (x.batched && axes.includes(0)) cx.unsupported(n, 'reducing over the batch');
  let split = around(x, axes);
  if (!split) {
    x = cx.convert(x, 'rowmajor');
    split = around(x, axes);
    if (!split) cx.unsupported(n, `non-adjacent axes [${axes.join(', ')}]`);
  }
  const t = cx.typeOf(n.outputs[0], n);
  // The output holds the remaining axes in the input's physical order: with keepdims that is the input's
  // layout; without, it must already be row-major order.
  const kept = physicalOrder(x).filter((a) => !axes.includes(a));
  if (t.shape.length !== rank && kept.some((a, i) => i > 0 && a < kept[i - 1])) cx.unsupported(n, 'a reduction that reorders the remaining axes');
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, t.shape.length === rank ? x.layout : 'rowmajor');
  const mode = { ReduceMean: ReduceOp.mean, ReduceSum: ReduceOp.sum, ReduceMax: ReduceOp.max, ReduceMin: ReduceOp.min }[n.op]!;
  cx.emit(n.name, 'reduce', [x.tensor], [y.tensor], { mode, outer: split.outer, len: split.len, inner: split.inner }, x.batched);
}

function softmax(cx: LowerContext, n: Node): void {
  let x = cx.value(n.inputs[0], n);
  const rank = x.shape.length;
  const t = cx.typeOf(n.outputs[0], n);
  let axis = num(n, 'axis', cx.graph.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  let split;
  if (cx.graph.opset < 13) {
    // opset < 13: the input is coerced to 2-D at `axis`, softmax over everything from there on.
    x = cx.convert(x, 'rowmajor');
    split = { outer: prod(x.shape.slice(0, axis)), len: prod(x.shape.slice(axis)), inner: 1 };
  } else {
    split = around(x, [axis])!;
  }
  if (x.batched && axis === 0) cx.unsupported(n, 'softmax over the batch');
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, x.layout);
  cx.emit(n.name, 'softmax', [x.tensor], [y.tensor], { ...split, log: n.op === 'LogSoftmax' ? 1 : 0 }, x.batched);
}

// ---- element-wise ------------------------------------------------------------------------------

const UNARY: Record<string, ActName> = { Relu: 'relu', Clip: 'clip', LeakyRelu: 'leakyrelu', Sigmoid: 'sigmoid', HardSigmoid: 'hardsigmoid', HardSwish: 'hardswish', Tanh: 'tanh' };

function unary(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  const x0 = cx.value(n.inputs[0], n);
  const x = cx.convert(x0, x0.layout, t.dtype);
  let alpha = 0;
  let beta = 0;
  const act = UNARY[n.op];
  if (n.op === 'Clip') {
    alpha = constFloats(cx, n.inputs[1])?.[0] ?? num(n, 'min', -FLT_MAX);
    beta = constFloats(cx, n.inputs[2])?.[0] ?? num(n, 'max', FLT_MAX);
    if ((n.inputs[1] && !cx.constant(n.inputs[1])) || (n.inputs[2] && !cx.constant(n.inputs[2]))) cx.unsupported(n, 'min/max must be constants');
  } else if (n.op === 'LeakyRelu') {
    alpha = num(n, 'alpha', 0.01);
  } else if (n.op === 'HardSigmoid') {
    alpha = num(n, 'alpha', 0.2);
    beta = num(n, 'beta', 0.5);
  }
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, x.layout);
  cx.emit(n.name, 'unary', [x.tensor], [y.tensor], { act: Act[act], alpha, beta, n: prod(x.shape) }, x.batched);
}

const BINARY: Record<string, number> = { Add: BinaryOp.Add, Sub: BinaryOp.Sub, Mul: BinaryOp.Mul, Div: BinaryOp.Div, Max: BinaryOp.Max, Min: BinaryOp.Min, Pow: BinaryOp.Pow };

function binaryOp(cx: LowerContext, n: Node, op: number, aName: string, bName: string, outName: string): void {
  const t = cx.typeOf(outName, n);
  const a = cx.value(aName, n, t.dtype);
  const b = cx.value(bName, n, t.dtype);
  // NHWC when an activation operand is NHWC; the kernel reads any operand through its own strides.
  const isActivation = (v: Val) => cx.tensors[v.tensor].loc === 0;
  const layout = t.shape.length === 4 && [a, b].some((v) => isActivation(v) && v.layout === 'nhwc') ? 'nhwc' : 'rowmajor';
  const y = cx.define(outName, t.dtype, t.shape, t.batched, layout);
  const order = physicalOrder(y);
  const ac = a.dtype === t.dtype ? a : cx.convert(a, a.layout, t.dtype);
  const bc = b.dtype === t.dtype ? b : cx.convert(b, b.layout, t.dtype);
  const sa = broadcastStrides(ac, t.shape);
  const sb = broadcastStrides(bc, t.shape);
  cx.emit(n.name, 'binary', [ac.tensor, bc.tensor], [y.tensor], {
    op, act: Act.none, alpha: 0, beta: 0,
    dims: order.map((i) => t.shape[i]), sa: order.map((i) => sa[i]), sb: order.map((i) => sb[i]),
  }, t.batched);
}

function binary(cx: LowerContext, n: Node): void {
  if (n.op === 'Add' && foldBiasAdd(cx, n)) return;
  binaryOp(cx, n, BINARY[n.op], n.inputs[0], n.inputs[1], n.outputs[0]);
}

function batchNorm(cx: LowerContext, n: Node): void {
  const [scale, bias, mean, variance] = n.inputs.slice(1, 5).map((i) => constFloats(cx, i));
  if (!scale || !bias || !mean || !variance) cx.unsupported(n, 'BatchNormalization parameters must be constant');
  const eps = num(n, 'epsilon', 1e-5);
  const t = cx.typeOf(n.outputs[0], n);
  const C = scale.length;
  const s = scale.map((g, i) => g / Math.sqrt(variance[i] + eps));
  const b = bias.map((bb, i) => bb - mean[i] * s[i]);
  const shape = [C, ...t.shape.slice(2).map(() => 1)];
  const mk = (name: string, data: Float32Array): Constant => cx.addConstant({ name: `${n.name}:${name}`, dtype: 'float32', dims: shape, data });
  const sc = mk('scale', s);
  const bc = mk('shift', b);
  const mid = `${n.outputs[0]}:scaled`;
  cx.addType(mid, cx.graph.typeOf(n.outputs[0]));
  binaryOp(cx, n, BinaryOp.Mul, n.inputs[0], sc.name, mid);
  binaryOp(cx, n, BinaryOp.Add, mid, bc.name, n.outputs[0]);
}

// ---- data movement -------------------------------------------------------------------------------

function cast(cx: LowerContext, n: Node): void {
  const x = cx.value(n.inputs[0], n);
  const t = cx.typeOf(n.outputs[0], n);
  cx.alias(n.outputs[0], cx.convert(x, x.shape.length === 4 ? 'nhwc' : 'rowmajor', t.dtype, 'cast'));
}

/** Reshape-like ops: the same bytes in row-major order under the inferred output shape. */
function view(cx: LowerContext, n: Node): void {
  const x = cx.value(n.inputs[0], n);
  const t = cx.typeOf(n.outputs[0], n);
  if (x.batched !== t.batched) cx.unsupported(n, 'a reshape that moves the batch dimension');
  const rm = cx.convert(x, 'rowmajor');
  const layout = t.shape.length === 4 && (t.shape[2] * t.shape[3] === 1 || t.shape[1] === 1) ? 'nhwc' : 'rowmajor';
  cx.alias(n.outputs[0], { ...rm, shape: t.shape, layout });
}

function identity(cx: LowerContext, n: Node): void {
  cx.alias(n.outputs[0], cx.value(n.inputs[0], n));
}

function transpose(cx: LowerContext, n: Node): void {
  const x = cx.value(n.inputs[0], n);
  const perm = ints(n, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  if (x.batched && perm[0] !== 0) cx.unsupported(n, 'a transpose that moves the batch dimension');
  const t = cx.typeOf(n.outputs[0], n);
  // Nothing to move when the result, read through the reshapes before it, is already the row-major order of a
  // stored tensor (ViT's NHWC patch embedding → Reshape → Transpose to tokens).
  const v = stridedView(cx, n.outputs[0], t.dtype);
  if (v && v.offset === 0 && prod(v.shape) === prod(v.root.shape) && v.shape.every((d, i) => d === 1 || v.strides[i] === prod(v.shape.slice(i + 1)))) {
    cx.alias(n.outputs[0], { ...v.root, shape: t.shape, layout: 'rowmajor', batched: t.batched });
    return;
  }
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'nhwc');
  const xs = logicalStrides(x);
  // Present x as a value whose logical axis i is x's axis perm[i].
  const permuted: Val = { ...x, shape: perm.map((p) => x.shape[p]) };
  const order = physicalOrder(y);
  const ys = logicalStrides(y);
  cx.emit(n.name, 'copy', [x.tensor], [y.tensor], {
    dims: order.map((a) => permuted.shape[a]), xs: order.map((a) => xs[perm[a]]), ys: order.map((a) => ys[a]), xoff: 0, yoff: 0,
  }, x.batched);
}

function concat(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  let axis = num(n, 'axis', 0);
  if (axis < 0) axis += t.shape.length;
  if (t.batched && axis === 0) cx.unsupported(n, 'concatenation along the batch');
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'nhwc');
  let at = 0;
  for (const name of n.inputs) {
    const x = cx.value(name, n, t.dtype);
    const offset = t.shape.map((_, i) => (i === axis ? at : 0));
    cx.copyLayer(`${n.name}[${name}]`, x, y, offset);
    at += x.shape[axis];
  }
}

function slice(cx: LowerContext, n: Node): void {
  const x = cx.value(n.inputs[0], n);
  const rank = x.shape.length;
  const starts = constInts(cx, n.inputs[1]) ?? ints(n, 'starts');
  const ends = constInts(cx, n.inputs[2]) ?? ints(n, 'ends');
  if (!starts || !ends) cx.unsupported(n, 'starts/ends must be constant');
  const axes = (constInts(cx, n.inputs[3]) ?? ints(n, 'axes') ?? starts.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const steps = constInts(cx, n.inputs[4]) ?? starts.map(() => 1);
  const t = cx.typeOf(n.outputs[0], n);
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, x.layout);
  const xs = logicalStrides(x);
  let xoff = 0;
  const stride = [...xs];
  axes.forEach((a, i) => {
    if (x.batched && a === 0) cx.unsupported(n, 'slicing the batch');
    const d = x.shape[a];
    let st = starts[i] < 0 ? starts[i] + d : starts[i];
    st = steps[i] > 0 ? Math.min(Math.max(st, 0), d) : Math.min(Math.max(st, -1), d - 1);
    xoff += st * xs[a];
    stride[a] = xs[a] * steps[i];
  });
  const order = physicalOrder(y);
  const ys = logicalStrides(y);
  cx.emit(n.name, 'copy', [x.tensor], [y.tensor], { dims: order.map((a) => t.shape[a]), xs: order.map((a) => stride[a]), ys: order.map((a) => ys[a]), xoff, yoff: 0 }, x.batched);
}

function pad(cx: LowerContext, n: Node): void {
  const x = cx.value(n.inputs[0], n);
  const rank = x.shape.length;
  const pads = constInts(cx, n.inputs[1]) ?? ints(n, 'pads');
  if (!pads) cx.unsupported(n, 'pads must be constant');
  const value = constFloats(cx, n.inputs[2])?.[0] ?? num(n, 'value', 0);
  const mode = str(n, 'mode', 'constant');
  const t = cx.typeOf(n.outputs[0], n);
  const before = pads.slice(0, rank);
  if (pads.some((p) => p < 0)) cx.unsupported(n, 'negative pads');
  if (x.batched && (before[0] !== 0 || pads[rank] !== 0)) cx.unsupported(n, 'padding the batch');
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, x.layout);
  if (mode === 'constant') {
    cx.emit(`${n.name}:fill`, 'fill', [], [y.tensor], { n: prod(t.shape), value }, t.batched);
    cx.copyLayer(n.name, x, y, before);
    return;
  }
  const order = physicalOrder(x);
  cx.emit(n.name, 'pad', [x.tensor], [y.tensor], {
    mode: mode === 'reflect' ? 1 : mode === 'edge' ? 2 : cx.unsupported(n, `mode '${mode}'`),
    value, in: order.map((a) => x.shape[a]), out: order.map((a) => t.shape[a]), before: order.map((a) => before[a]),
  }, x.batched);
}

export const LOWERINGS: Record<string, (cx: LowerContext, n: Node) => void> = {
  Conv: conv,
  FusedConv: conv,
  FusedMBConv: mbconv,
  Gemm: gemm,
  FusedGemm: gemm,
  MatMul: matmul,
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: pool,
  GlobalMaxPool: pool,
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  Softmax: softmax,
  LogSoftmax: softmax,
  Relu: unary,
  Clip: unary,
  LeakyRelu: unary,
  Sigmoid: unary,
  HardSigmoid: unary,
  HardSwish: unary,
  Tanh: unary,
  Add: binary,
  Sub: binary,
  Mul: binary,
  Div: binary,
  Max: binary,
  Min: binary,
  Pow: binary,
  BatchNormalization: batchNorm,
  Cast: cast,
  Reshape: view,
  Flatten: view,
  Squeeze: view,
  Unsqueeze: view,
  Identity: identity,
  Dropout: identity,
  Transpose: transpose,
  Concat: concat,
  Slice: slice,
  Pad: pad,
  ...MATH_LOWERINGS,
  ...NORM_LOWERINGS,
  ...SHAPE_LOWERINGS,
  ...ATTENTION_LOWERINGS,
  ...VISION_LOWERINGS,
};

export function lowerNode(cx: LowerContext, n: Node): void {
  const f = LOWERINGS[n.op];
  if (!f) {
    throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, `Operator '${n.op}' (node '${n.name}') is not supported by the builtin backend`);
  }
  f(cx, n);
}
