// The onnxruntime-node peer on the CPU: what a Node user runs today. Timed by the same loop as the engines,
// with a time cap per batch because the CPU is slow.
import type * as Ort from 'onnxruntime-node';
import type { TypedArray } from '../../tensor.js';
import type { RunOptions, RunTimings } from '../../types.js';
import { fillInputs, measure, type Runnable } from '../harness.js';
import type { OnnxValueInfo } from '../onnx-io.js';
import { failed, runFromSamples, skipped, type PeerReport, type PeerRequest, type PeerRun } from './types.js';

type OrtModule = typeof Ort;

/** The longest single query the peer will attempt (estimated from the previous batch). */
export const ORT_MAX_QUERY_MS = 15_000;
/** The timed phase per batch never exceeds this. */
export const ORT_CAP_MS = 3_000;

/** Loads onnxruntime-node, or says why it cannot. @example const ort = await loadOrt(); if (typeof ort === 'string') console.log(ort); */
export async function loadOrt(): Promise<OrtModule | string> {
  try {
    const m = (await import('onnxruntime-node')) as OrtModule & { default?: OrtModule };
    return (m.InferenceSession ? m : m.default) as OrtModule;
  } catch (e) {
    return `onnxruntime-node is not installed (${(e as Error).message.split('\n')[0]})`;
  }
}

const ORT_TYPES: Record<number, { type: Ort.Tensor.Type; make: (n: number) => TypedArray }> = {
  1: { type: 'float32', make: (n) => new Float32Array(n) },
  10: { type: 'float16', make: (n) => new Uint16Array(n) },
  6: { type: 'int32', make: (n) => new Int32Array(n) },
  7: { type: 'int64', make: (n) => new BigInt64Array(n) },
  2: { type: 'uint8', make: (n) => new Uint8Array(n) },
  3: { type: 'int8', make: (n) => new Int8Array(n) },
};

/** Seeded input tensors for a batch. Throws for an element type the peer does not feed. @example await session.run(ortFeeds(ort, io.inputs, 8, 42)) */
export function ortFeeds(ort: OrtModule, inputs: readonly OnnxValueInfo[], batch: number, seed: number): Record<string, Ort.Tensor> {
  const arrays: Record<string, TypedArray> = {};
  const dims: Record<string, number[]> = {};
  for (const i of inputs) {
    const t = ORT_TYPES[i.elemType];
    if (!t) throw new Error(`input '${i.name}' has ONNX element type ${i.elemType}, which the onnxruntime peer does not feed`);
    const d = i.dims.map((x, k) => (k === 0 && typeof x !== 'number' ? batch : x));
    if (d.some((x) => typeof x !== 'number')) throw new Error(`input '${i.name}' has dynamic dimensions besides the batch`);
    dims[i.name] = d as number[];
    arrays[i.name] = t.make((d as number[]).reduce((a, b) => a * b, 1));
  }
  fillInputs(arrays, seed);
  const feeds: Record<string, Ort.Tensor> = {};
  for (const i of inputs) feeds[i.name] = new ort.Tensor(ORT_TYPES[i.elemType].type, arrays[i.name] as never, dims[i.name]);
  return feeds;
}

/** An InferenceSession in the harness's terms: compute time is the host time of session.run. */
export class OrtRunnable implements Runnable {
  readonly inputs: Readonly<Record<string, TypedArray>> = {};
  lastTimings: RunTimings = { h2dMs: 0, computeMs: 0, d2hMs: 0 };
  constructor(
    private readonly session: Ort.InferenceSession,
    private readonly feeds: Record<string, Ort.Tensor>,
  ) {}
  async run(_options: RunOptions): Promise<void> {
    const t0 = process.hrtime.bigint();
    await this.session.run(this.feeds);
    this.lastTimings = { h2dMs: 0, computeMs: Number(process.hrtime.bigint() - t0) / 1e6, d2hMs: 0 };
  }
}

/**
 * Times onnxruntime-node's CPU execution provider on the FP32 model at each batch (capped per batch).
 * @example const report = await ortPeer(request);
 */
export async function ortPeer(req: PeerRequest): Promise<PeerReport> {
  const ort = await loadOrt();
  if (typeof ort === 'string') return skipped('ort', ort);
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(req.onnxPath, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  } catch (e) {
    return failed('ort', `onnxruntime could not load the model: ${(e as Error).message.split('\n')[0]}`);
  }
  const info: Record<string, unknown> = { version: (ort as unknown as { env?: { versions?: { common?: string } } }).env?.versions?.common ?? null, executionProvider: 'cpu' };
  const runs: PeerRun[] = [];
  let perImageMs = 0;
  try {
    for (const batch of [...req.batches].sort((a, b) => a - b)) {
      const base = { peer: 'ort' as const, label: 'onnxruntime-node (CPU)', mode: 'cpu' as const, precision: 'fp32' as const, batch };
      if (perImageMs * batch > ORT_MAX_QUERY_MS) {
        runs.push({ ...runFromSamples(base, { walltimeMs: 0, e2eMs: [] }, req.percentiles), error: `skipped: about ${((perImageMs * batch) / 1000).toFixed(0)} s per query on this CPU` });
        continue;
      }
      const feeds = ortFeeds(ort, req.io.inputs, batch, req.seed + batch);
      const r = new OrtRunnable(session, feeds);
      req.log(`[ort peer] batch ${batch}`);
      const cap = Math.min(req.durationS * 1000, ORT_CAP_MS);
      const trace = await measure([r], { batch, warmUpMs: Math.min(req.warmUpMs, cap), iterations: req.iterations, durationMs: cap, transfers: false, capMs: cap });
      const e2e = trace.queries.map((q) => q.e2eMs);
      perImageMs = Math.max(perImageMs, Math.min(...e2e) / batch);
      runs.push(runFromSamples(base, { walltimeMs: trace.walltimeMs, e2eMs: e2e }, req.percentiles));
    }
  } catch (e) {
    return failed('ort', (e as Error).message.split('\n')[0], info);
  } finally {
    await session.release();
  }
  return { name: 'ort', status: 'ok', info, runs };
}
