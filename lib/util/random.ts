// The project's one seeded generator (xorshift32): benchmark inputs, validation samples and tests draw from it,
// so that a seed names the same data everywhere.

/**
 * A seeded generator of values uniform in [-1, 1) (never a run of zeros: zeros make kernels look faster and
 * hide wrong results). Seeds are taken modulo 2^32; 0 behaves as 1.
 * @example const r = uniformRandom(42); const x = Float32Array.from({ length: 8 }, r);
 */
export function uniformRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/**
 * Fills `a` with uniformRandom(seed) values and returns it.
 * @example const x = fillUniform(new Float32Array(3 * 224 * 224), 7);
 */
export function fillUniform<T extends Float32Array>(a: T, seed: number): T {
  const r = uniformRandom(seed);
  for (let i = 0; i < a.length; i++) a[i] = r();
  return a;
}
