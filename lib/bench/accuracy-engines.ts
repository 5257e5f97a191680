// The engines every accuracy check scores, in order: the reference backend on the CPU, then the GPU engines in
// FP32 and FP16, which are listed as skipped (with why) on a machine without a GPU or when the reference is asked for.
import type { BackendName } from '../capabilities.js';
import type { Precision } from '../types.js';

/**
 * Calls `score` for each engine to build, and records a skipped run for each that cannot be built here.
 * @example await forEachAccuracyEngine(o, (r) => runs.push(r), withEngine);
 */
export async function forEachAccuracyEngine(
  o: { backend: 'auto' | BackendName; hasGpu: boolean },
  skip: (run: { name: string; precision: Precision; skipped: string }) => void,
  score: (name: string, backend: 'auto' | BackendName, precision: Precision) => Promise<void>,
): Promise<void> {
  await score('reference (CPU FP32)', 'reference', 'fp32');
  for (const precision of ['fp32', 'fp16'] as const) {
    const name = `${o.backend === 'auto' || o.backend === 'reference' ? 'GPU engine' : o.backend} ${precision.toUpperCase()}`;
    if (!o.hasGpu || o.backend === 'reference') skip({ name, precision, skipped: o.hasGpu ? 'the reference backend was asked for' : 'no CUDA device' });
    else await score(name, o.backend, precision);
  }
}
