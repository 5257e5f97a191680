// The engines every accuracy check scores, in order: the reference backend on the CPU, then the GPU engines in
// FP32 and FP16, which are listed as skipped (with why) on a machine without a GPU or when the reference is asked for.
// Each is built from the set's ONNX file, scored, and disposed; a failure is recorded as a skipped run.
import type { BackendName } from '../capabilities.js';
import type { Engine } from '../engine.js';
import type { BuildOptions, Precision } from '../types.js';

/** A scored engine, or one that could not be built or scored here, with why. */
export type EngineRun<R> = ({ name: string; backend: BackendName; precision: Precision } & R) | { name: string; precision: Precision; skipped: string };

/**
 * Builds, scores and disposes each engine in turn; `score` gives what the run records besides its name.
 * @example runs.push(...(await scoreAccuracyEngines(o, onnxPath, { shapes }, async (e) => ({ metrics: await evaluate(e) }))));
 */
export async function scoreAccuracyEngines<R extends object>(
  o: { backend: 'auto' | BackendName; hasGpu: boolean; device: number; log: (l: string) => void },
  onnxPath: string,
  build: Pick<BuildOptions, 'shapes' | 'postprocess'>,
  score: (engine: Engine) => Promise<R>,
): Promise<EngineRun<R>[]> {
  const runs: EngineRun<R>[] = [];
  const one = async (name: string, backend: 'auto' | BackendName, precision: Precision): Promise<void> => {
    o.log(`[accuracy] ${name}`);
    let engine: Engine | undefined;
    try {
      // Imported on first use: `node-tensorrt bench --help` must not pay for the compiler.
      const { buildEngine } = await import('../builder.js');
      engine = await buildEngine(onnxPath, { backend, precision, ...build, ...(backend === 'reference' ? {} : { device: o.device }) });
      const scored = await score(engine);
      runs.push({ name: backend === 'reference' ? name : `${engine.backend} ${precision.toUpperCase()}`, backend: engine.backend, precision, ...scored });
    } catch (e) {
      runs.push({ name, precision, skipped: `failed: ${(e as Error).message.split('\n')[0]}` });
    } finally {
      engine?.dispose({ contexts: true });
    }
  };
  await one('reference (CPU FP32)', 'reference', 'fp32');
  for (const precision of ['fp32', 'fp16'] as const) {
    const name = `${o.backend === 'auto' || o.backend === 'reference' ? 'GPU engine' : o.backend} ${precision.toUpperCase()}`;
    if (!o.hasGpu || o.backend === 'reference') runs.push({ name, precision, skipped: o.hasGpu ? 'the reference backend was asked for' : 'no CUDA device' });
    else await one(name, o.backend, precision);
  }
  return runs;
}
