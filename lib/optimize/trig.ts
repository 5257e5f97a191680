// The trigonometric functions for the builtin backend, from its arithmetic, Where and Round:
//   Sin, Cos   y = x − q·π/2 with q = Round(x·2/π) (π/2 in three parts, so q·part is exact for the q that float16
//              and float32 inputs reach in practice), then the sine or cosine series of y ∈ [−π/4, π/4] picked and
//              signed by q mod 4
//   Tan        Sin / Cos of the same reduction
//   Atan       t = |x| or 1/|x| (≤ 1), then π/4 + atan((t − 1)/(t + 1)) above tan(π/8), so the series runs on
//              |u| ≤ tan(π/8); π/2 − that for |x| > 1; the sign of x
//   Asin       Atan(x / Sqrt((1 − x)(1 + x)))     (±1 → ±π/2 through ±inf; |x| > 1 is NaN)
//   Acos       2·Atan(Sqrt((1 − x) / (1 + x)))     (no cancellation near 1, where π/2 − asin(x) loses all digits)
// Every series is truncated below float32's rounding at the edge of its range. Like the input it reads, the
// reduction holds |x|·2⁻²⁴ absolute in float32 and |x|·2⁻¹¹ in float16: Sin(1e5) is as exact as 1e5 is.
import type { Node } from '../ir/types.js';
import { float, type Builder } from './rewrite-builder.js';
import { floorOf, roundOf } from './rounding.js';

// π/2 = P1 + P2 + P3: P1 and P2 have few significant bits, so q·P1 and q·P2 round only for very large q.
const P1 = 1.5703125; // 0b1.1001001
const P2 = 4.8351287841796875e-4; // 0b1.1111101100000000 · 2⁻¹², 9 bits
const P3 = Math.PI / 2 - P1 - P2;
const TAN_PI_8 = Math.SQRT2 - 1;

/** c[0] + x·(c[1] + x·(…)). */
function horner(b: Builder, x: string, c: number[]): string {
  let acc = b.scalar(c[c.length - 1]);
  for (let i = c.length - 2; i >= 0; i--) acc = b.op('Add', [b.op('Mul', [acc, x]), b.scalar(c[i])]);
  return acc;
}

/** sin(y) and cos(y) for |y| ≤ π/4 by their series (remainders below 2e-9). */
function sinCos(b: Builder, y: string): [string, string] {
  const y2 = b.op('Mul', [y, y]);
  const sin = b.op('Mul', [y, horner(b, y2, [1, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880])]);
  const cos = horner(b, y2, [1, -1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800]);
  return [sin, cos];
}

/** x = q·π/2 + y: [q mod 4 (0..3, as a float), y]. */
function reduce(b: Builder, x: string): [string, string] {
  const q = roundOf(b, b.op('Mul', [x, b.scalar(2 / Math.PI)]));
  let y = x;
  for (const part of [P1, P2, P3]) y = b.op('Sub', [y, b.op('Mul', [q, b.scalar(part)])]);
  const m = b.op('Sub', [q, b.op('Mul', [floorOf(b, b.op('Mul', [q, b.scalar(0.25)])), b.scalar(4)])]);
  return [m, y];
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
  const series = b.op('Mul', [u, horner(b, b.op('Mul', [u, u]), Array.from({ length: 11 }, (_, k) => (k % 2 ? -1 : 1) / (2 * k + 1)))]);
  const r = b.op('Where', [high, b.op('Add', [series, b.scalar(Math.PI / 4)]), series]);
  const magnitude = b.op('Where', [inverted, b.op('Sub', [b.scalar(Math.PI / 2), r]), r]);
  return b.op('Where', [b.op('Less', [x, b.scalar(0)]), b.op('Neg', [magnitude]), magnitude]);
}

export const TRIG_REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  Sin: (b, n) => {
    float(b);
    const [m, y] = reduce(b, n.inputs[0]);
    const [s, c] = sinCos(b, y);
    b.done(byQuadrant(b, m, [s, c, b.op('Neg', [s]), b.op('Neg', [c])]));
  },
  Cos: (b, n) => {
    float(b);
    const [m, y] = reduce(b, n.inputs[0]);
    const [s, c] = sinCos(b, y);
    b.done(byQuadrant(b, m, [c, b.op('Neg', [s]), b.op('Neg', [c]), s]));
  },
  Tan: (b, n) => {
    float(b);
    const [m, y] = reduce(b, n.inputs[0]);
    const [s, c] = sinCos(b, y);
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
