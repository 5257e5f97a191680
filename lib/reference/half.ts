// Fast in-place rounding of float32 values to the nearest float16 (round-to-nearest-even), used to
// emulate float16 storage. Agrees with lib/util/half.ts bit for bit (tested).
const F = new Float32Array(1);

const SUBNORMAL_SCALE = 2 ** 24;

/** Rounds every element of `a` to the nearest float16 value, in place. */
export function roundToHalfInPlace(a: Float32Array): Float32Array {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    const abs = x & 0x7fffffff;
    if (abs >= 0x38800000) {
      // Normal in float16 (|x| ≥ 2^-14), or inf/nan.
      if (abs >= 0x477ff000) {
        // ≥ 65520 rounds to infinity; keep NaN a NaN.
        if (abs <= 0x7f800000) u[i] = (x & 0x80000000) | 0x7f800000;
        continue;
      }
      u[i] = (x + 0x0fff + ((x >>> 13) & 1)) & 0xffffe000;
    } else if (abs !== 0) {
      // float16 subnormals are multiples of 2^-24: round the scaled value to even.
      const v = a[i] * SUBNORMAL_SCALE;
      const r = Math.round(v);
      const even = Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
      a[i] = even / SUBNORMAL_SCALE;
    }
  }
  return a;
}

/** One value rounded to float16. */
export function roundHalf(v: number): number {
  F[0] = v;
  roundToHalfInPlace(F);
  return F[0];
}

