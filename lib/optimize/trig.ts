// The trigonometric functions for the builtin backend, from its arithmetic, Where and Round:
//   Sin, Cos   y = x − q·π/2 with q = Round(x·2/π), π/2 subtracted as its binary expansion (powers of two, so
//              every product q·2⁻ᵏ and every difference is exact in float16 too), then the sine or cosine series of
//              y ∈ [−π/4, π/4] picked and signed by q mod 4, clamped to [−1, 1]
//   Tan        Sin / Cos of the same reduction
//   Atan       t = |x| or 1/|x| (≤ 1), then π/4 + atan((t − 1)/(t + 1)) above tan(π/8), so the series runs on
//              |u| ≤ tan(π/8); π/2 − that for |x| > 1; the sign of x
//   Asin       Atan(x / Sqrt((1 − x)(1 + x)))     (±1 → ±π/2 through ±inf; |x| > 1 is NaN)
//   Acos       2·Atan(Sqrt((1 − x) / (1 + x)))     (no cancellation near 1, where π/2 − asin(x) loses all digits)
// Every series is truncated below float32's rounding at the edge of its range. The reduction is exact while q is
// an exact integer: |x| < 2¹⁶ in float32, |x| < 2048 in float16 engines. Past that, in float16, q itself rounds and
// Sin and Cos are only kept within [−1, 1] (the input's own spacing there is 2 or more, most of a period).
import type { Node } from '../ir/types.js';
import { float, type Builder } from './rewrite-builder.js';
import { floorOf, roundOf } from './rounding.js';

// π/2 as the powers of two of its binary expansion down to 2⁻²² (1.1001001000011111101101₂), then the rest: each
// q·2⁻ᵏ is exact, and each remainder stays within a factor of two of the next term, so each subtraction is exact.
const HALF_PI_BITS = [0, 1, 4, 7, 12, 13, 14, 15, 16, 17, 19, 20, 22];
const HALF_PI_PARTS = [...HALF_PI_BITS.map((k) => 2 ** -k), Math.PI / 2 - HALF_PI_BITS.reduce((a, k) => a + 2 ** -k, 0)];
const TAN_PI_8 = Math.SQRT2 - 1;

/** sin(y) and cos(y) for |y| ≤ π/4 by their series (remainders below 2e-9). */
function sinCos(b: Builder, y: string): [string, string] {
  const y2 = b.op('Mul', [y, y]);
  const sin = b.op('Mul', [y, b.horner(y2, [1, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880])]);
  const cos = b.horner(y2, [1, -1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800]);
  return [sin, cos];
}

/** x = q·π/2 + y: [q mod 4 (0..3, as a float), y]. */
function reduce(b: Builder, x: string): [string, string] {
  const q = roundOf(b, b.op('Mul', [x, b.scalar(2 / Math.PI)]));
  let y = x;
  for (const part of HALF_PI_PARTS) y = b.op('Sub', [y, b.op('Mul', [q, b.scalar(part)])]);
  const m = b.op('Sub', [q, b.op('Mul', [floorOf(b, b.op('Mul', [q, b.scalar(0.25)])), b.scalar(4)])]);
  return [m, y];
}

/** v clamped to [−1, 1] by compares (NaN, never greater or less, stays NaN; Min/Max kernels would drop it). */
function unit(b: Builder, v: string): string {
  const low = b.op('Where', [b.op('Less', [v, b.scalar(-1)]), b.scalar(-1), v]);
  return b.op('Where', [b.op('Greater', [low, b.scalar(1)]), b.scalar(1), low]);
}

/** Where(m = 0, v[0], Where(m = 1, v[1], Where(m = 2, v[2], v[3]))): NaN's m (never equal) takes v[3]. */
function byQuadrant(b: Builder, m: string, v: string[]): string {
  let out = v[3];
  for (let k = 2; k >= 0; k--) out = b.op('Where', [b.op('Equal', [m, b.scalar(k)]), v[k], out]);
  return out;
}

/** atan(x) for any x (see above). */
function atan(b: Builder, x: string): string {
  const a = b.op('Abs', [x]);
  const inverted = b.op('Greater', [a, b.scalar(1)]);
  const t = b.op('Where', [inverted, b.op('Reciprocal', [a]), a]);
  const high = b.op('Greater', [t, b.scalar(TAN_PI_8)]);
  const u = b.op('Where', [high, b.op('Div', [b.op('Sub', [t, b.scalar(1)]), b.op('Add', [t, b.scalar(1)])]), t]);
  // atan(u) = u − u³/3 + u⁵/5 − …, |u| ≤ tan(π/8): the u²¹ term is below 5e-10.
  const series = b.op('Mul', [u, b.horner(b.op('Mul', [u, u]), Array.from({ length: 11 }, (_, k) => (k % 2 ? -1 : 1) / (2 * k + 1)))]);
  const r = b.op('Where', [high, b.op('Add', [series, b.scalar(Math.PI / 4)]), series]);
  const magnitude = b.op('Where', [inverted, b.op('Sub', [b.scalar(Math.PI / 2), r]), r]);
  return b.op('Where', [b.op('Less', [x, b.scalar(0)]), b.op('Neg', [magnitude]), magnitude]);
}

export const TRIG_REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  Sin: (b, n) => {
    float(b);
    const [m, y] = reduce(b, n.inputs[0]);
    const [s, c] = sinCos(b, y);
    b.finish(unit(b, byQuadrant(b, m, [s, c, b.op('Neg', [s]), b.op('Neg', [c])])));
  },
  Cos: (b, n) => {
    float(b);
    const [m, y] = reduce(b, n.inputs[0]);
    const [s, c] = sinCos(b, y);
    b.finish(unit(b, byQuadrant(b, m, [c, b.op('Neg', [s]), b.op('Neg', [c]), s])));
  },
  Tan: (b, n) => {
    float(b);
    const [m, y] = reduce(b, n.inputs[0]);
    const [s, c] = sinCos(b, y).map((v) => unit(b, v));
    // tan(y + qπ/2) is tan(y) for even q and −cot(y) for odd q.
    const odd = b.op('Or', [b.op('Equal', [m, b.scalar(1)]), b.op('Equal', [m, b.scalar(3)])]);
    b.done(b.op('Where', [odd, b.op('Neg', [b.op('Div', [c, s])]), b.op('Div', [s, c])]));
  },
  Atan: (b, n) => {
    float(b);
    b.finish(atan(b, n.inputs[0]));
  },
  Asin: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const root = b.op('Sqrt', [b.op('Mul', [b.op('Sub', [b.scalar(1), x]), b.op('Add', [b.scalar(1), x])])]);
    b.finish(atan(b, b.op('Div', [x, root])));
  },
  Acos: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const ratio = b.op('Div', [b.op('Sub', [b.scalar(1), x]), b.op('Add', [b.scalar(1), x])]);
    b.done(b.op('Mul', [atan(b, b.op('Sqrt', [ratio])), b.scalar(2)]));
  },
};
