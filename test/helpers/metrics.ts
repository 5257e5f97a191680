// Error measures the tests share.

/** ‖a − b‖₂ / ‖b‖₂, or Infinity as soon as `a` holds a non-finite value (a NaN must never pass a tolerance). */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    if (!Number.isFinite(a[i])) return Infinity;
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / (den || 1));
}
