// Shared by the serving benchmarks: the model (MobileNetV2 FP16 on a GPU, the small CNN on the CPU reference
// backend), a closed-loop load driver, and number formatting.
import { buildEngine } from '../../lib/builder.js';
import { capabilities } from '../../lib/capabilities.js';
import type { Engine } from '../../lib/engine.js';
import { summarize } from '../../lib/bench/stats.js';
import { rowElements } from '../../lib/tensor.js';
import { mobilenetV2, smallCnn } from '../gen-models.js';

export interface BenchModel {
  engine: Engine;
  label: string;
  input: string;
  /** Distinct sample rows to send (requests cycle through them). */
  samples: Float32Array[];
  onnx: Uint8Array;
}

/**
 * Builds the benchmark engine: MobileNetV2 FP16 (builtin) where a GPU is, else the small CNN on the reference
 * backend so the scripts run anywhere. Profile: batch 1..maxBatch, tuned at maxBatch.
 * @example const m = await benchModel({ backend: 'auto', model: 'auto', maxBatch: 32 });
 */
export async function benchModel(o: { backend: string; model: string; maxBatch: number; samples?: number }): Promise<BenchModel> {
  const gpu = capabilities().cuda.available;
  const backend = o.backend === 'auto' ? (gpu ? 'builtin' : 'reference') : o.backend;
  const model = o.model === 'auto' ? (backend === 'reference' ? 'smallcnn' : 'mobilenetv2') : o.model;
  const size = model === 'mobilenetv2' ? 224 : 32;
  const onnx = model === 'mobilenetv2' ? mobilenetV2({ seed: 42 }) : smallCnn({ seed: 42 });
  const shape = (b: number) => [b, 3, size, size];
  const engine = await buildEngine(onnx, { backend: backend as 'builtin', shapes: { input: { min: shape(1), opt: shape(o.maxBatch), max: shape(o.maxBatch) } } });
  const row = rowElements(engine.inputs[0].shape);
  const samples = Array.from({ length: o.samples ?? 16 }, (_, s) => Float32Array.from({ length: row }, (_, i) => Math.sin(i * 0.37 + s) * 0.5));
  const where = engine.device >= 0 ? `GPU ${engine.device} (${capabilities().cuda.devices[engine.device]?.name ?? '?'})` : 'CPU';
  return { engine, label: `${model} ${engine.precision.toUpperCase()}, ${backend} backend on ${where}`, input: engine.inputs[0].name, samples, onnx };
}

export interface LoadResult {
  /** Completed calls per second. */
  rate: number;
  p50: number;
  p99: number;
  /** Calls measured. */
  n: number;
}

/**
 * Runs `callers` concurrent loops of `call(caller, i)` for `seconds` (after `warmup` seconds not measured) and
 * reports the rate and latency percentiles of the measured calls.
 * @example const r = await closedLoop(256, 3, 0.5, (c) => batcher.infer({ input: x }));
 */
export async function closedLoop(callers: number, seconds: number, warmup: number, call: (caller: number, i: number) => Promise<unknown>): Promise<LoadResult> {
  const t0 = performance.now();
  const measureFrom = t0 + warmup * 1000;
  const end = measureFrom + seconds * 1000;
  const latencies: number[] = [];
  let firstMeasured = Infinity;
  let lastDone = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        const s = performance.now();
        await call(c, i);
        const e = performance.now();
        if (s >= measureFrom) {
          latencies.push(e - s);
          firstMeasured = Math.min(firstMeasured, s);
          lastDone = Math.max(lastDone, e);
        }
      }
    }),
  );
  if (latencies.length === 0) return { rate: 0, p50: NaN, p99: NaN, n: 0 };
  const s = summarize(latencies, [50, 99]);
  return { rate: latencies.length / ((lastDone - Math.max(firstMeasured, measureFrom)) / 1000), p50: s.percentiles['50'], p99: s.percentiles['99'], n: latencies.length };
}

/** '12,345' */
export const int = (v: number): string => Math.round(v).toLocaleString('en-US');
/** '1.23 ms' or '45.6 µs' */
export const ms = (v: number): string => (!Number.isFinite(v) ? '—' : Math.abs(v) >= 1 ? `${v.toFixed(2)} ms` : `${(v * 1000).toFixed(1)} µs`);
/** Comma list of positive numbers. */
export const numbers = (s: string): number[] => s.split(',').map((x) => Number(x.trim()));
