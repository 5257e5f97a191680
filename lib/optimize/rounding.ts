// Rounding and quantization for the builtin backend, which has no rounding kernel, from casts and compares:
//   Floor, Ceil        = trunc(x) ∓ (trunc(x) past x), trunc through an int32 Cast, where |x| < T; x elsewhere
//   Round              = Floor(x + ½), less 1 on a tie (r − x = ½) whose result is odd (halves to even)
//   Sign               = (x > 0) − (x < 0), NaN kept
//   QuantizeLinear     = Cast(Clip(Round(x / scale) + zero point, type range)) with constant scale and zero point
//   DequantizeLinear   = (Cast(x) − zero point) · scale
// T is the magnitude from which every value of the engine's float type is an integer (2¹⁰ in float16, 2²³ in
// float32): below it x + ½ and r − x are exact and trunc fits an int32; from it (and for ±inf and NaN) x is its own
// rounding. Zero results are +0 where onnxruntime may give −0 (Ceil(−0.5), Sign(−0)). In float16 engines the
// quantization division runs in float16, so scales outside its normal range, and int32 dequantization, stay
// unrewritten.
import { attrInt } from '../ir/attrs.js';
import { ONNX_DTYPE_NUMBER } from '../ir/rules-tensor.js';
import type { DataType, Node } from '../ir/types.js';
import { fromConstant, toNumbers } from '../reference/tensor.js';
import type { Builder } from './rewrite-builder.js';
import { float, Unfit } from './rewrite-builder.js';
import { constantOf } from './util.js';

/** The magnitude from which every value of the engine's float type is an integer. */
const integral = (b: Builder) => (b.half ? 2 ** 10 : 2 ** 23);

const castTo = (b: Builder, x: string, to: keyof typeof ONNX_DTYPE_NUMBER) => b.op('Cast', [x], { to: ONNX_DTYPE_NUMBER[to] });
/** A bool as 0 or 1 of the node's float type. */
const asFloat = (b: Builder, bool: string) => castTo(b, bool, b.dtype as 'float32');

/** trunc(x) for |x| < T (through int32; meaningless elsewhere, where callers take x). */
const trunc = (b: Builder, x: string) => asFloat(b, castTo(b, x, 'int32'));
/** Where(|x| < T, v, x). */
const belowIntegral = (b: Builder, x: string, v: string) => b.op('Where', [b.op('Less', [b.op('Abs', [x]), b.scalar(integral(b))]), v, x]);

/** floor(x) for |x| < T: trunc(x), less 1 where trunc went up (negative non-integers). */
function floorBelow(b: Builder, x: string): string {
  const t = trunc(b, x);
  return b.op('Sub', [t, asFloat(b, b.op('Greater', [t, x]))]);
}

/** Floor(x) from casts and compares (exact for every float, inf and NaN included). */
export const floorOf = (b: Builder, x: string) => belowIntegral(b, x, floorBelow(b, x));

/** Round(x), halves to even, from casts and compares. */
export function roundOf(b: Builder, x: string): string {
  const h = b.op('Add', [x, b.scalar(0.5)]);
  const r = floorBelow(b, h); // floor(x + ½)
  // A tie is x exactly halfway, r − x = ½ (exact below T). r == h would call x + ½ rounded up to r a tie too
  // (0.5 + 1 ulp, whose x + ½ is inexact).
  const tie = b.op('Equal', [b.op('Sub', [r, x]), b.scalar(0.5)]);
  const half = b.op('Mul', [r, b.scalar(0.5)]);
  const odd = b.op('Greater', [b.op('Sub', [half, floorBelow(b, half)]), b.scalar(0)]); // r/2 not whole
  return belowIntegral(b, x, b.op('Sub', [r, asFloat(b, b.op('And', [tie, odd]))]));
}

/** A constant's numbers broadcast along `axis` of a rank-`rank` input: a scalar, or [C, 1, …] after the axis. */
function quantParam(b: Builder, name: string | undefined, rank: number, axis: number, fallback: number, dtype: DataType = b.dtype): string {
  if (!name) return b.scalar(fallback, dtype);
  const c = constantOf(b.g, name);
  if (!c) throw new Unfit();
  const v = Float32Array.from(toNumbers(fromConstant(c)));
  if (v.length === 1 || c.dims.length === 0) return b.scalar(v[0], dtype);
  return b.floats('q', [v.length, ...new Array(rank - axis - 1).fill(1)], v, dtype);
}

/** The quantization axis; Unfit when per-axis parameters would run along a dynamic dim (the batch). */
function axisOf(b: Builder, n: Node): number {
  const shape = b.g.typeOf(n.inputs[0]).shape;
  let axis = attrInt(n, 'axis', 1);
  if (axis < 0) axis += shape.length;
  const scale = n.inputs[1] ? b.g.typeOf(n.inputs[1]).shape : [];
  if (scale.length === 1 && scale[0] !== 1 && typeof shape[axis] !== 'number') throw new Unfit();
  return axis;
}

/** float16's smallest normal and largest finite value. */
const HALF_MIN = 2 ** -14;
const HALF_MAX = 65504;

export const ROUNDING_REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  Floor: (b, n) => (float(b), b.done(floorOf(b, n.inputs[0]))),
  Ceil: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const t = trunc(b, x);
    b.done(belowIntegral(b, x, b.op('Add', [t, asFloat(b, b.op('Less', [t, x]))])));
  },
  Round: (b, n) => (float(b), b.done(roundOf(b, n.inputs[0]))),
  Sign: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const s = b.op('Sub', [asFloat(b, b.op('Greater', [x, b.scalar(0)])), asFloat(b, b.op('Less', [x, b.scalar(0)]))]);
    b.done(b.op('Where', [b.op('IsNaN', [x]), x, s]));
  },
  QuantizeLinear: (b, n) => {
    float(b);
    const [x, s, z] = n.inputs;
    const to = z ? b.g.typeOf(z).dtype : 'uint8';
    if (to !== 'int8' && to !== 'uint8') throw new Unfit();
    const rank = b.g.typeOf(x).shape.length;
    const axis = axisOf(b, n);
    // A float16 engine divides by the scale in float16: one past its normal range (or whose inverse is) would
    // flush or saturate, so such a model stays unrewritten.
    if (b.half) {
      const sc = s ? constantOf(b.g, s) : undefined;
      if (sc && toNumbers(fromConstant(sc)).some((v) => !(Math.abs(v) >= HALF_MIN && Math.abs(v) <= HALF_MAX && 1 / Math.abs(v) <= HALF_MAX))) throw new Unfit();
    }
    const q = b.op('Add', [roundOf(b, b.op('Div', [x, quantParam(b, s, rank, axis, 1)])), quantParam(b, z, rank, axis, 0)]);
    const [lo, hi] = to === 'int8' ? [-128, 127] : [0, 255];
    b.done(castTo(b, b.op('Clip', [q, b.scalar(lo), b.scalar(hi)]), to));
  },
  DequantizeLinear: (b, n) => {
    const [x, s, z] = n.inputs;
    const out = b.g.typeOf(n.outputs[0]).dtype;
    if (out !== 'float32' && out !== 'float16') throw new Unfit();
    // int32 values (a quantized bias) pass float16's range: a float16 engine cannot hold them before the scale.
    if (b.g.typeOf(x).dtype === 'int32' && b.half) throw new Unfit();
    const rank = b.g.typeOf(x).shape.length;
    const axis = axisOf(b, n);
    // Parameters in the output's float type (the Builder's own type is the quantized input's).
    const v = castTo(b, x, out);
    const shifted = z ? b.op('Sub', [v, quantParam(b, z, rank, axis, 0, out)]) : v;
    b.done(b.op('Mul', [shifted, quantParam(b, s, rank, axis, 1, out)]));
  },
};
