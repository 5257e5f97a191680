// The hyperbolic functions for the builtin backend, from Exp, Log and Sqrt, in forms that hold in float16:
//   Sinh(x)  = Exp(x − ln 2) − Exp(−x − ln 2)          (overflows only where sinh does), a series for |x| < 0.5
//   Cosh(x)  = Exp(x − ln 2) + Exp(−x − ln 2)
//   Asinh(x) = ±Log(|x| + Sqrt(x² + 1)), ±(Log(|x|) + ln 2) past 128 (x² would overflow), a series for |x| < 0.25
//   Acosh(x) = Log(x + Sqrt((x − 1)(x + 1))), Log(x) + ln 2 past 128, √(2t)·series(t) for t = x − 1 < 0.25
//   Atanh(x) = Log((1 + x) / (1 − x)) / 2, a series for |x| < 0.25
// Near zero (near one for Acosh) the closed forms cancel: 1 + x rounds to float16's 2⁻¹⁰ steps, so atanh(0.001)
// came out 2% off. The series there are exact to float32 (relative error under 1e-6 at the thresholds).
import type { Node } from '../ir/types.js';
import { float, type Builder } from './rewrite-builder.js';

const LN2 = Math.LN2;

/** x·P(x²): the odd series of the inverse and hyperbolic functions. */
function oddSeries(b: Builder, x: string, c: number[]): string {
  return b.op('Mul', [x, b.horner(b.op('Mul', [x, x]), c)]);
}

/** Exp(±x − ln 2): e^(±x)/2, which overflows only where the hyperbolic function itself does. */
function halfExp(b: Builder, x: string, sign: 1 | -1): string {
  return b.op('Exp', [b.op('Sub', [sign === 1 ? x : b.op('Neg', [x]), b.scalar(LN2)])]);
}

/** Where(a > 128, Log(a) + ln 2, closed): ln(2a) for large a, whose square (or a² − 1) would overflow float16. */
function largeLog(b: Builder, a: string, closed: string): string {
  return b.op('Where', [b.op('Greater', [a, b.scalar(128)]), b.op('Add', [b.op('Log', [a]), b.scalar(LN2)]), closed]);
}

export const HYPERBOLIC_REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  Sinh: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const series = oddSeries(b, x, [1, 1 / 6, 1 / 120, 1 / 5040]);
    const closed = b.op('Sub', [halfExp(b, x, 1), halfExp(b, x, -1)]);
    b.done(b.op('Where', [b.op('Less', [b.op('Abs', [x]), b.scalar(0.5)]), series, closed]));
  },
  Cosh: (b, n) => {
    float(b);
    const x = n.inputs[0];
    b.done(b.op('Add', [halfExp(b, x, 1), halfExp(b, x, -1)]));
  },
  Asinh: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const a = b.op('Abs', [x]);
    const magnitude = largeLog(b, a, b.op('Log', [b.op('Add', [a, b.op('Sqrt', [b.op('Add', [b.op('Mul', [a, a]), b.scalar(1)])])])]));
    const signed = b.op('Where', [b.op('Less', [x, b.scalar(0)]), b.op('Neg', [magnitude]), magnitude]);
    const series = oddSeries(b, x, [1, -1 / 6, 3 / 40, -5 / 112, 35 / 1152]);
    b.done(b.op('Where', [b.op('Less', [a, b.scalar(0.25)]), series, signed]));
  },
  Acosh: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const t = b.op('Sub', [x, b.scalar(1)]);
    // (x − 1)(x + 1), not x² − 1: exact near 1, where x² − 1 cancels.
    const closed = b.op('Log', [b.op('Add', [x, b.op('Sqrt', [b.op('Mul', [t, b.op('Add', [x, b.scalar(1)])])])])]);
    // acosh(1 + t) = √(2t)·(1 − t/12 + 3t²/160 − 5t³/896 + 35t⁴/18432 − …); t < 0 (x < 1) gives NaN through the root.
    const series = b.op('Mul', [b.op('Sqrt', [b.op('Mul', [t, b.scalar(2)])]), b.horner(t, [1, -1 / 12, 3 / 160, -5 / 896, 35 / 18432])]);
    b.done(b.op('Where', [b.op('Less', [t, b.scalar(0.25)]), series, largeLog(b, x, closed)]));
  },
  Atanh: (b, n) => {
    float(b);
    const x = n.inputs[0];
    const ratio = b.op('Div', [b.op('Add', [b.scalar(1), x]), b.op('Sub', [b.scalar(1), x])]);
    const closed = b.op('Mul', [b.op('Log', [ratio]), b.scalar(0.5)]);
    const series = oddSeries(b, x, [1, 1 / 3, 1 / 5, 1 / 7, 1 / 9]);
    b.done(b.op('Where', [b.op('Less', [b.op('Abs', [x]), b.scalar(0.25)]), series, closed]));
  },
};
