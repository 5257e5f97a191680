// Operators the builtin backend has no kernel for, written as the ones it has (TensorRT parses them itself):
//   Softplus(x)        = Relu(x) + Log(1 + Exp(−|x|))   (no overflow: Exp never sees a positive argument)
//   Mish(x)            = x · Tanh(Softplus(x))          (YOLOv4's activation)
//   Softsign(x)        = x / (1 + |x|)
//   Elu(x; α)          = Relu(x) + α·(Exp(Min(x, 0)) − 1)
//   Selu(x; α, γ)      = γ·Elu(x; α)
//   Celu(x; α)         = Relu(x) + α·(Exp(Min(x, 0) / α) − 1)
//   ThresholdedRelu(x) = Where(x > α, x, 0)
//   Shrink(x; λ, b)    = Where(x < −λ, x + b, Where(x > λ, x − b, 0))
//   LpPool, GlobalLpPool = s·(Σ(|x|/s)^p)^(1/p), s = Max(ReduceMax(|x|) per plane, 2⁻¹⁴), the window sum an
//                        AveragePool (count_include_pad) times the window's size: the powers never pass 1
//   MeanVarianceNormalization = (x − m) / (Sqrt(ReduceMean((x − m)²)) + 1e-9), m = ReduceMean(x) over its axes
//   RMSNormalization   = q / Sqrt(ReduceMean(q²) + (√ε/s)²) · scale, q = x/s, s = the row's largest magnitude
//   Sum, Mean          = a chain of Adds (Mean's inputs each · 1/n first)
//   ReduceL1           = ReduceSum(|x|)
//   ReduceLogSumExp    = Log(ReduceSum(Exp(x − m))) + m, m = ReduceMax(x) clamped to the finite range (no overflow,
//                        and ±inf rows stay ±inf); ReduceLogSum = Log(ReduceSum(x))
//   Trilu(x, k)        = Where(the triangle as a constant mask, x, 0) when k and the last two dims are static
//   EyeLike(x)         = the identity constant, when x's shape is static
//   PRelu(x, s)        = Relu(x) + s · Min(x, 0)
//   InstanceNormalization, GroupNormalization = LayerNormalization over each (n, group) run of a reshaped x (the
//                        kernel accumulates in float32), then the per-channel scale and bias
//   LRN                = x / (bias + Conv1×1(x·√(α/size))², band of ones))^β   (the scale before squaring keeps
//                        float16 from overflowing)
//   DepthToSpace, SpaceToDepth = Reshape → Transpose → Reshape
//   ReduceL2(x)        = s·Sqrt(ReduceSum((x/s)²)), s = Max(ReduceMax(|x|), 2⁻¹⁴): the squares never pass 1, so
//                        float16 cannot overflow on the way (ReduceSumSquare is s²·the same sum)
//   LpNormalization    = q / ‖q‖ₚ with q = x / max|x| along its axis (p 1 or 2); a zero vector stays zero
//   OneHot             = Where(Unsqueeze(i < 0 ? i + depth : i) == positions, on, off)   (constant depth and values)
//   Hardmax            = Cast(ArgMax(x, keepdims) == positions)   (ArgMax takes the first maximum, as Hardmax does)
//   RNN, GRU, LSTM     = unrolled over their static sequence (rnn-unroll.ts)
//   Floor, Ceil, Round, Sign, QuantizeLinear, DequantizeLinear = casts and compares (rounding.ts)
//   Sinh, Cosh, Asinh, Acosh, Atanh = Exp, Log and Sqrt, with series where those cancel (hyperbolic.ts)
//   Sin, Cos, Tan, Atan, Asin, Acos = argument reduction and series (trig.ts)
//   RotaryEmbedding    = Gather of the caches, Slices, Mul/Add/Sub and Concat (rotary.ts)
//   Attention          = MatMul → scale → (+ mask) → Softmax → MatMul, for fuseAttention to find (attention-op.ts)
//   AffineGrid         = theta · a constant base grid, one GEMM (grid.ts)
//   CenterCropPad      = Slice and Pad of static sizes (crop.ts)
import { attrFloat, attrInt, attrInts, attrString } from '../ir/attrs.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { mvnAxes } from '../ir/rules-channel.js';
import { FUSED_DOMAIN, type Constant, type DataType, type Dim, type Node } from '../ir/types.js';
import { fromConstant, toNumbers } from '../reference/tensor.js';
import { eyeLike } from '../reference/ops-shape.js';
import { addConstant, constantOf, floatConstant, floatValues, toConstant } from './util.js';
import { axesInputSince, Builder, float, Unfit } from './rewrite-builder.js';
import { unrollRecurrent } from './rnn-unroll.js';
import { HYPERBOLIC_REWRITES } from './hyperbolic.js';
import { ATTENTION_REWRITES } from './attention-op.js';
import { CROP_REWRITES } from './crop.js';
import { GRID_REWRITES } from './grid.js';
import { ROTARY_REWRITES } from './rotary.js';
import { ROUNDING_REWRITES } from './rounding.js';
import { TRIG_REWRITES } from './trig.js';



/**
 * Rewrites the operators above into ones the builtin backend lowers, in place, for an engine of `precision`; a node
 * whose form it cannot rewrite (non-constant axes or k, a dynamic triangle) stays, and the backend names it as
 * unsupported.
 * @example
 * decomposeForBuiltin(g); // Mish(x) → x · Tanh(Relu(x) + Log(1 + Exp(−|x|)))
 */
export function decomposeForBuiltin(g: Graph, precision: 'fp16' | 'fp32' = 'fp32'): void {
  let changed = false;
  g.nodes = g.nodes.flatMap((n) => {
    const rewrite = n.domain === '' ? REWRITES[n.op] : undefined;
    if (!rewrite) return [n];
    try {
      // The largest finite value the engine will compute this node in.
      const finiteMax = precision === 'fp16' || g.typeOf(n.inputs[0]).dtype === 'float16' ? 65504 : 3.4028234663852886e38;
      const b = new Builder(g, n, finiteMax);
      rewrite(b, n);
      changed = true;
      return b.nodes;
    } catch (e) {
      if (e instanceof Unfit) return [n];
      throw e;
    }
  });
  if (changed) inferShapes(g);
}



function softplus(b: Builder, x: string): string {
  const e = b.op('Exp', [b.op('Neg', [b.op('Abs', [x])])]);
  return b.op('Add', [b.op('Relu', [x]), b.op('Log', [b.op('Add', [e, b.scalar(1)])])]);
}

/** α·(Exp(Min(x, 0) / divisor) − 1) + Relu(x): Elu (divisor 1) and Celu (divisor α). */
function expLinear(b: Builder, x: string, alpha: number, divisor: number): string {
  let m = b.op('Min', [x, b.scalar(0)]);
  if (divisor !== 1) m = b.op('Div', [m, b.scalar(divisor)]);
  const neg = b.op('Mul', [b.op('Sub', [b.op('Exp', [m]), b.scalar(1)]), b.scalar(alpha)]);
  return b.op('Add', [b.op('Relu', [x]), neg]);
}

/** A reduction's axes (undefined: all) and keepdims; Unfit for axes that are not constant or noop_with_empty_axes. */
function reduction(b: Builder, n: Node): { axes: number[] | undefined; keepdims: number } {
  let axes: number[] | undefined;
  if (b.g.opset >= axesInputSince(n.op)) {
    if (n.inputs[1]) {
      const c = b.g.initializers.get(n.inputs[1]);
      if (!c) throw new Unfit();
      axes = toNumbers(fromConstant(c));
    }
  } else {
    axes = attrInts(n, 'axes');
  }
  if (axes === undefined || axes.length === 0) {
    // No axes with noop_with_empty_axes (opset 18) reduces nothing: rare enough to leave to the backend to name.
    if (b.g.opset >= axesInputSince(n.op) && attrInt(n, 'noop_with_empty_axes', 0) !== 0) throw new Unfit();
    axes = undefined;
  }
  return { axes, keepdims: attrInt(n, 'keepdims', 1) };
}

/** The static dims of x after the batch (axis 0, which may be symbolic); Unfit when another is symbolic. */
function staticTail(b: Builder, x: string): number[] {
  const tail = b.g.typeOf(x).shape.slice(1);
  if (tail.some((d: Dim) => typeof d !== 'number')) throw new Unfit();
  return tail as number[];
}

/** A per-channel float constant, as [C, 1, …] for an input of rank `rank`; Unfit when it is not a constant. */
function perChannelConstant(b: Builder, name: string, values: (v: Float32Array) => Float32Array, c: number, rank: number): string {
  const k = constantOf(b.g, name);
  if (!k) throw new Unfit();
  const v = values(floatValues(k));
  if (v.length !== c) throw new Unfit();
  return b.floats('channel', [c, ...new Array(rank - 2).fill(1)], v);
}

/**
 * Normalizes x [N, C, …] over runs of (C/groups)·spatial elements with one LayerNormalization, then scales and
 * shifts per channel (`perChannel` maps the node's parameter values to C of them).
 */
function groupedNorm(b: Builder, n: Node, groups: number, perChannel: (v: Float32Array) => Float32Array): void {
  float(b);
  const x = n.inputs[0];
  const tail = staticTail(b, x);
  const c = tail[0];
  const len = tail.reduce((p, d) => p * d, 1) / groups;
  if (c % groups !== 0 || len > 1 << 22) throw new Unfit();
  const scale = perChannelConstant(b, n.inputs[1], perChannel, c, tail.length + 1);
  const bias = perChannelConstant(b, n.inputs[2], perChannel, c, tail.length + 1);
  const runs = b.op('Reshape', [x, b.int64s('runs', [0, groups, len])]);
  const ln = b.g.uniqueName(`${n.name}_ln`);
  b.nodes.push({
    name: b.g.uniqueName(`${n.name}_layernorm`),
    op: 'LayerNormalization',
    domain: b.g.opset >= 17 ? '' : FUSED_DOMAIN,
    inputs: [runs, b.floats('ones', [len], new Float32Array(len).fill(1)), b.floats('zeros', [len], new Float32Array(len))],
    outputs: [ln],
    attrs: { axis: -1, epsilon: attrFloat(n, 'epsilon', 1e-5) },
  });
  const back = b.op('Reshape', [ln, b.int64s('shape', [0, ...tail])]);
  b.done(b.op('Add', [b.op('Mul', [back, scale]), bias]));
}

/** Reshape → Transpose → Reshape of a rank-4 x with a static tail (DepthToSpace, SpaceToDepth). */
function rearrange(b: Builder, x: string, view: number[], perm: number[], out: number[]): void {
  b.done(b.op('Reshape', [b.op('Transpose', [b.op('Reshape', [x, b.int64s('view', [0, ...view])])], { perm }), b.int64s('shape', [0, ...out])]));
}

/** The longest position table (OneHot, Hardmax) and the most LRN channels (its band is C²) a rewrite builds. */
export const MAX_TABLE = 4096;
/** The largest EyeLike made a constant (16 MiB of float32). */
const MAX_EYE = 1 << 22;

/** 2⁻¹⁴, float16's smallest normal: the least scale ReduceL2 divides by. */
const MIN_SCALE = 2 ** -14;

/** Max(ReduceMax(|x|), 2⁻¹⁴) over `axes`, with the reduced axes kept. */
function maxMagnitude(b: Builder, x: string, axes: number[] | undefined): string {
  return b.op('Max', [b.reduce('ReduceMax', b.op('Abs', [x]), axes, 1), b.scalar(MIN_SCALE)]);
}

/** [scale s, Σ(x/s)²] over `axes`, both with the reduced axes kept. */
function scaledSquares(b: Builder, x: string, axes: number[] | undefined): [string, string] {
  const s = maxMagnitude(b, x, axes);
  const q = b.op('Div', [x, s]);
  return [s, b.reduce('ReduceSum', b.op('Mul', [q, q]), axes, 1)];
}

/** Squeezes the reduced axes away unless keepdims (a reduction over all axes becomes a scalar). */
function dropAxes(b: Builder, y: string, axes: number[] | undefined, keepdims: number): string {
  if (keepdims) return y;
  return axes === undefined ? b.op('Reshape', [y, b.int64s('scalar', [])]) : b.squeeze(y, axes);
}

/** 0, 1, …, len − 1 of `dtype` as [len, 1, …] with `trailing` ones: positions along an axis, for broadcasting. */
function positions(b: Builder, dtype: DataType, len: number, trailing: number): string {
  const dims = [len, ...new Array(trailing).fill(1)];
  const data = dtype === 'int32' ? Int32Array.from({ length: len }, (_, i) => i) : BigInt64Array.from({ length: len }, (_, i) => BigInt(i));
  return addConstant(b.g, `${b.n.name}_positions`, { dtype: dtype === 'int32' ? 'int32' : 'int64', dims, data });
}

/** A constant's numbers; Unfit when the value is not a constant. */
/** The spatial axes of an [N, C, spatial…] input. */
function spatialAxes(b: Builder, x: string): number[] {
  return Array.from({ length: b.g.typeOf(x).shape.length - 2 }, (_, i) => i + 2);
}

/** s·(sum((|x|/s)^p))^(1/p) for LpPool and GlobalLpPool, `sum` the node's window sums, s per (n, c) plane. */
function lpPooled(b: Builder, n: Node, sum: (t: string) => string): void {
  const x = n.inputs[0];
  const p = attrInt(n, 'p', 2);
  const s = b.op('Max', [b.reduce('ReduceMax', b.op('Abs', [x]), spatialAxes(b, x), 1), b.scalar(MIN_SCALE)]);
  const q = b.op('Div', [b.op('Abs', [x]), s]);
  const t = sum(p === 1 ? q : p === 2 ? b.op('Mul', [q, q]) : b.op('Pow', [q, b.scalar(p)]));
  const root = p === 1 ? t : p === 2 ? b.op('Sqrt', [t]) : b.op('Pow', [t, b.scalar(1 / p)]);
  b.done(b.op('Mul', [root, s]));
}

const REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  ...ROUNDING_REWRITES,
  ...HYPERBOLIC_REWRITES,
  ...TRIG_REWRITES,
  ...ROTARY_REWRITES,
  ...ATTENTION_REWRITES,
  ...GRID_REWRITES,
  ...CROP_REWRITES,
  RNN: unrollRecurrent,
  GRU: unrollRecurrent,
  LSTM: unrollRecurrent,
  OneHot: (b, n) => {
    const [idx, depthName, valuesName] = n.inputs;
    const it = b.g.typeOf(idx);
    if (it.dtype !== 'int64' && it.dtype !== 'int32') throw new Unfit();
    const depth = Math.trunc(b.constNumbers(depthName)[0]);
    if (!(depth >= 1 && depth <= MAX_TABLE)) throw new Unfit();
    const [off, on] = b.constNumbers(valuesName);
    const out = b.g.typeOf(valuesName).dtype;
    if (out !== 'float32' && out !== 'float16' && out !== 'int64' && out !== 'int32') throw new Unfit();
    const r = it.shape.length + 1;
    let axis = attrInt(n, 'axis', -1);
    if (axis < 0) axis += r;
    const d = addConstant(b.g, `${n.name}_depth`, it.dtype === 'int32' ? { dtype: 'int32', dims: [], data: Int32Array.from([depth]) } : { dtype: 'int64', dims: [], data: BigInt64Array.from([BigInt(depth)]) });
    const zero = addConstant(b.g, `${n.name}_zero`, zeroOf(it.dtype));
    const wrapped = b.op('Where', [b.op('Less', [idx, zero]), b.op('Add', [idx, d]), idx]);
    const hot = b.op('Equal', [b.unsqueeze(wrapped, [axis]), positions(b, it.dtype, depth, r - axis - 1)]);
    const value = (v: number) => addConstant(b.g, `${n.name}_value`, out === 'float32' || out === 'float16' ? floatConstant('', out, [], Float32Array.from([v])) : out === 'int32' ? { dtype: out, dims: [], data: Int32Array.from([v]) } : { dtype: out, dims: [], data: BigInt64Array.from([BigInt(v)]) });
    b.done(b.op('Where', [hot, value(on), value(off)]));
  },
  EyeLike: (b, n) => {
    // Its value depends on x's shape and the dtype alone: with both static it is a constant (the reference's).
    const t = b.g.typeOf(n.outputs[0]);
    const [r, c] = t.shape;
    if (typeof r !== 'number' || typeof c !== 'number' || r * c > MAX_EYE) throw new Unfit();
    const [eye] = eyeLike(n, [], [t], b.g.opset);
    b.finish(addConstant(b.g, `${n.name}_eye`, toConstant('', eye)));
  },
  Hardmax: (b, n) => {
    float(b);
    if (b.g.opset < 13) throw new Unfit();
    const x = n.inputs[0];
    const shape = b.g.typeOf(x).shape;
    let axis = attrInt(n, 'axis', -1);
    if (axis < 0) axis += shape.length;
    const len = shape[axis];
    if (typeof len !== 'number' || len > MAX_TABLE) throw new Unfit();
    const first = b.op('ArgMax', [x], { axis, keepdims: 1 });
    b.done(b.op('Cast', [b.op('Equal', [first, positions(b, 'int64', len, shape.length - axis - 1)])], { to: b.dtype === 'float16' ? 10 : 1 }));
  },
  ReduceL2: (b, n) => {
    float(b);
    const { axes, keepdims } = reduction(b, n);
    const [s, sum] = scaledSquares(b, n.inputs[0], axes);
    b.done(dropAxes(b, b.op('Mul', [b.op('Sqrt', [sum]), s]), axes, keepdims));
  },
  ReduceSumSquare: (b, n) => {
    float(b);
    const { axes, keepdims } = reduction(b, n);
    const [s, sum] = scaledSquares(b, n.inputs[0], axes);
    b.done(dropAxes(b, b.op('Mul', [b.op('Mul', [sum, s]), s]), axes, keepdims));
  },
  LpNormalization: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const axes = [attrInt(n, 'axis', -1)];
    // x/‖x‖ = q/‖q‖ with q = x/s, s the largest magnitude: every term of the norm is at most 1, so neither the norm
    // nor the squares can overflow float16.
    const q = b.op('Div', [x, maxMagnitude(b, x, axes)]);
    const norm = attrInt(n, 'p', 2) === 1 ? b.reduce('ReduceSum', b.op('Abs', [q]), axes, 1) : b.op('Sqrt', [b.reduce('ReduceSum', b.op('Mul', [q, q]), axes, 1)]);
    // A zero vector has norm 0: divide by 1 there instead (q is 0, so is the result).
    const zero = b.op('Equal', [norm, b.scalar(0)]);
    b.done(b.op('Div', [q, b.op('Where', [zero, b.scalar(1), norm])]));
  },
  Shrink: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const lambd = attrFloat(n, 'lambd', 0.5);
    const bias = attrFloat(n, 'bias', 0);
    const above = b.op('Where', [b.op('Greater', [x, b.scalar(lambd)]), b.op('Sub', [x, b.scalar(bias)]), b.scalar(0)]);
    b.done(b.op('Where', [b.op('Less', [x, b.scalar(-lambd)]), b.op('Add', [x, b.scalar(bias)]), above]));
  },
  RMSNormalization: (b, n) => {
    float(b);
    const [x, scale] = n.inputs;
    // Mixed types (float32 X, float16 scale) stay: builtin names the node.
    if (b.g.typeOf(x).dtype !== b.g.typeOf(scale).dtype) throw new Unfit();
    const r = b.g.typeOf(x).shape.length;
    let axis = attrInt(n, 'axis', -1);
    if (axis < 0) axis += r;
    const axes = Array.from({ length: r - axis }, (_, i) => axis + i);
    // x/√(mean(x²) + ε) = q/√(mean(q²) + (√ε/s)²) with q = x/s, s the row's largest magnitude: the squares never
    // pass 1 (x² overflows float16 from 256), and √ε/s (not ε/s², whose s² underflows) keeps tiny rows right.
    const s = maxMagnitude(b, x, axes);
    const q = b.op('Div', [x, s]);
    const e = b.op('Div', [b.scalar(Math.sqrt(attrFloat(n, 'epsilon', 1e-5))), s]);
    // Past 128, e² (≥ 16384 against mean(q²) ≤ 1) would overflow float16 for a large ε and a tiny row: the root is e
    // there (within 3e-5), so y = q/e = x/√ε.
    const ec = b.op('Min', [e, b.scalar(128)]);
    const ms = b.op('Add', [b.reduce('ReduceMean', b.op('Mul', [q, q]), axes, 1), b.op('Mul', [ec, ec])]);
    const root = b.op('Where', [b.op('Greater', [e, b.scalar(128)]), e, b.op('Sqrt', [ms])]);
    b.done(b.op('Mul', [b.op('Div', [q, root]), scale]));
  },
  MeanVarianceNormalization: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const axes = mvnAxes(n, b.g.typeOf(x).shape.length);
    if (!axes) throw new Unfit();
    // The mean squared deviation, not E[x²] − E[x]² (the ONNX function's form), which cancels badly in float16.
    const d = b.op('Sub', [x, b.reduce('ReduceMean', x, axes, 1)]);
    const std = b.op('Sqrt', [b.reduce('ReduceMean', b.op('Mul', [d, d]), axes, 1)]);
    // 1e-9 flushes to zero in float16, where a constant run would give 0/0: there it is float16's least subnormal.
    const eps = b.half ? 2 ** -24 : 1e-9;
    b.done(b.op('Div', [d, b.op('Add', [std, b.scalar(eps)])]));
  },
  LpPool: (b, n) => {
    float(b);
    const kernel = attrInts(n, 'kernel_shape');
    if (!kernel || attrInt(n, 'ceil_mode', 0) !== 0) throw new Unfit();  // ceil_mode windows are clipped: not k·avg
    const window: Node['attrs'] = { kernel_shape: kernel, count_include_pad: 1 };
    for (const a of ['strides', 'pads', 'dilations', 'auto_pad'] as const) if (n.attrs[a] !== undefined) window[a] = n.attrs[a];
    lpPooled(b, n, (t) => b.op('Mul', [b.op('AveragePool', [t], window), b.scalar(kernel.reduce((x, y) => x * y, 1))]));
  },
  GlobalLpPool: (b, n) => {
    float(b);
    lpPooled(b, n, (t) => b.reduce('ReduceSum', t, spatialAxes(b, n.inputs[0]), 1));
  },
  PRelu: (b, n) => {
    float(b);
    const x = n.inputs[0];
    b.done(b.op('Add', [b.op('Relu', [x]), b.op('Mul', [b.op('Min', [x, b.scalar(0)]), n.inputs[1]])]));
  },
  InstanceNormalization: (b, n) => groupedNorm(b, n, staticTail(b, n.inputs[0])[0], (v) => v),
  GroupNormalization: (b, n) => {
    const groups = attrInt(n, 'num_groups', 1);
    const c = staticTail(b, n.inputs[0])[0];
    // Before opset 21 the scale and bias are per group: each channel takes its group's.
    const perChannel = b.g.opset >= 21 ? (v: Float32Array) => v : (v: Float32Array) => Float32Array.from({ length: c }, (_, i) => v[Math.floor(i / (c / groups))]);
    groupedNorm(b, n, groups, perChannel);
  },
  LRN: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const tail = staticTail(b, x);
    if (tail.length !== 3) throw new Unfit();
    const c = tail[0];
    if (c > MAX_TABLE) throw new Unfit(); // its band is c × c
    const size = attrInt(n, 'size', 1);
    const lo = Math.floor((size - 1) / 2);
    const hi = Math.ceil((size - 1) / 2);
    // Output channel o sums the squares of input channels o − lo … o + hi.
    const band = new Float32Array(c * c);
    for (let o = 0; o < c; o++) for (let i = Math.max(0, o - lo); i <= Math.min(c - 1, o + hi); i++) band[o * c + i] = 1;
    const xs = b.op('Mul', [x, b.scalar(Math.sqrt(attrFloat(n, 'alpha', 1e-4) / size))]);
    const sum = b.op('Conv', [b.op('Mul', [xs, xs]), b.floats('band', [c, c, 1, 1], band)], { kernel_shape: [1, 1] });
    const d = b.op('Pow', [b.op('Add', [sum, b.scalar(attrFloat(n, 'bias', 1))]), b.scalar(attrFloat(n, 'beta', 0.75))]);
    b.done(b.op('Div', [x, d]));
  },
  DepthToSpace: (b, n) => {
    const [c, h, w] = staticTail(b, n.inputs[0]);
    const k = attrInt(n, 'blocksize', 1);
    const crd = attrString(n, 'mode', 'DCR') === 'CRD';
    const view = crd ? [c / (k * k), k, k, h, w] : [k, k, c / (k * k), h, w];
    rearrange(b, n.inputs[0], view, crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2], [c / (k * k), h * k, w * k]);
  },
  SpaceToDepth: (b, n) => {
    const [c, h, w] = staticTail(b, n.inputs[0]);
    const k = attrInt(n, 'blocksize', 1);
    rearrange(b, n.inputs[0], [c, h / k, k, w / k, k], [0, 3, 5, 1, 2, 4], [c * k * k, h / k, w / k]);
  },
  Softplus: (b, n) => (float(b), b.done(softplus(b, n.inputs[0]))),
  Mish: (b, n) => (float(b), b.done(b.op('Mul', [n.inputs[0], b.op('Tanh', [softplus(b, n.inputs[0])])]))),
  Softsign: (b, n) => (float(b), b.done(b.op('Div', [n.inputs[0], b.op('Add', [b.op('Abs', [n.inputs[0]]), b.scalar(1)])]))),
  Elu: (b, n) => (float(b), b.done(expLinear(b, n.inputs[0], attrFloat(n, 'alpha', 1), 1))),
  Celu: (b, n) => {
    float(b);
    const alpha = attrFloat(n, 'alpha', 1);
    if (alpha === 0) throw new Unfit();
    b.done(expLinear(b, n.inputs[0], alpha, alpha));
  },
  Selu: (b, n) => {
    float(b);
    const elu = expLinear(b, n.inputs[0], attrFloat(n, 'alpha', 1.6732632423543772), 1);
    b.done(b.op('Mul', [elu, b.scalar(attrFloat(n, 'gamma', 1.0507009873554805))]));
  },
  ThresholdedRelu: (b, n) => {
    float(b);
    const x = n.inputs[0];
    b.done(b.op('Where', [b.op('Greater', [x, b.scalar(attrFloat(n, 'alpha', 1))]), x, b.scalar(0)]));
  },
  Sum: (b, n) => {
    float(b);
    let acc = n.inputs[0];
    for (const x of n.inputs.slice(1)) acc = b.op('Add', [acc, x]);
    b.done(n.inputs.length === 1 ? b.op('Identity', [acc]) : acc);
  },
  Mean: (b, n) => {
    float(b);
    if (n.inputs.length === 1) return b.done(b.op('Identity', [n.inputs[0]]));
    // Each input scaled before the sum, so the sum of values within range stays within range.
    const k = b.scalar(1 / n.inputs.length);
    let acc = b.op('Mul', [n.inputs[0], k]);
    for (const x of n.inputs.slice(1)) acc = b.op('Add', [acc, b.op('Mul', [x, k])]);
    b.done(acc);
  },
  ReduceL1: (b, n) => {
    float(b);
    const { axes, keepdims } = reduction(b, n);
    b.done(b.reduceDropping('ReduceSum', b.op('Abs', [n.inputs[0]]), axes, keepdims));
  },
  ReduceLogSum: (b, n) => {
    float(b);
    const { axes, keepdims } = reduction(b, n);
    b.done(b.op('Log', [b.reduceDropping('ReduceSum', n.inputs[0], axes, keepdims)]));
  },
  ReduceLogSumExp: (b, n) => {
    float(b);
    const { axes, keepdims } = reduction(b, n);
    const x = n.inputs[0];
    // The maximum clamped to the engine's finite range: a row of −inf (or one holding +inf) then gives −inf (+inf)
    // as the reference does, not inf − inf = NaN.
    const m = b.op('Clip', [b.reduce('ReduceMax', x, axes, 1), b.scalar(-b.finiteMax), b.scalar(b.finiteMax)]);
    const s = b.reduce('ReduceSum', b.op('Exp', [b.op('Sub', [x, m])]), axes, 1);
    const y = b.op('Add', [b.op('Log', [s]), m]);
    b.done(dropAxes(b, y, axes, keepdims));
  },
  Trilu: (b, n) => {
    const shape = b.g.typeOf(n.inputs[0]).shape;
    const [rows, cols] = shape.slice(-2);
    if (shape.length < 2 || typeof rows !== 'number' || typeof cols !== 'number' || rows * cols > 1 << 22) throw new Unfit();
    let k = 0;
    if (n.inputs[1]) {
      const c = b.g.initializers.get(n.inputs[1]);
      if (!c) throw new Unfit();
      k = toNumbers(fromConstant(c))[0];
    }
    const upper = attrInt(n, 'upper', 1) !== 0;
    const keep = new Uint8Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) keep[i * cols + j] = (upper ? j - i >= k : j - i <= k) ? 1 : 0;
    const mask = addConstant(b.g, `${n.name}_mask`, { dtype: 'bool', dims: [rows, cols], data: keep });
    const zero = addConstant(b.g, `${n.name}_zero`, zeroOf(b.dtype));
    b.done(b.op('Where', [mask, n.inputs[0], zero]));
  },
};

/** The operators decomposeForBuiltin rewrites (when their form allows). */
export const DECOMPOSED_OPS: readonly string[] = Object.keys(REWRITES);

/** A scalar 0 of any dtype Trilu takes. */
function zeroOf(dtype: DataType): Omit<Constant, 'name'> {
  switch (dtype) {
    case 'float32':
      return { dtype, dims: [], data: new Float32Array(1) };
    case 'float16':
      return { dtype, dims: [], data: new Uint16Array(1) };
    case 'int64':
      return { dtype, dims: [], data: new BigInt64Array(1) };
    case 'int32':
      return { dtype, dims: [], data: new Int32Array(1) };
    default:
      throw new Unfit();
  }
}
