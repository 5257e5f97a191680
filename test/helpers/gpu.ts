import { capabilities } from '../../lib/capabilities.js';

const caps = capabilities();
/** True when a CUDA device is present; GPU suites skip themselves otherwise. */
export const hasGpu = caps.cuda.available;
/** A suite title that carries the reason it was skipped. */
export function gpuSuite(title: string): string {
  return hasGpu ? title : `${title} [skipped: ${caps.cuda.reason ?? 'no CUDA device'}]`;
}

/** Seeded xorshift PRNG, uniform in [-1, 1): tests never run on zeros. */
export function random(seed: number): () => number {
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

export function fillRandom(a: Float32Array, seed: number): Float32Array {
  const r = random(seed);
  for (let i = 0; i < a.length; i++) a[i] = r();
  return a;
}
