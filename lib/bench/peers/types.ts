// What every peer reports: timed runs in the harness's own terms, or the reason it was skipped.
import type { Precision } from '../../types.js';
import type { OnnxGraphIO } from '../onnx-io.js';
import type { BenchNms, PeerName } from '../options.js';
import { summarize, type Summary } from '../stats.js';

export interface PeerRun {
  peer: PeerName;
  /** e.g. "PyTorch eager", "PyTorch CUDA graph", "onnxruntime-node (CPU)", "trtexec". */
  label: string;
  mode: 'eager' | 'cudagraph' | 'compile' | 'cpu' | 'trtexec';
  precision: Precision;
  batch: number;
  queries: number;
  walltimeMs: number;
  throughput: { qps: number; ips: number };
  /** Host time per query, copies included where the peer makes them. */
  e2eMs: Summary;
  /** Device time of the model alone (GPU peers). */
  computeMs?: Summary;
  h2dMs?: Summary;
  d2hMs?: Summary;
  /** trtexec's "Latency" (H2D + compute + D2H). */
  latencyMs?: Summary;
  /** torch.compile: wall time of compiling (and autotuning) the model for this configuration. */
  compileMs?: number;
  /** Set when this one configuration failed (e.g. out of memory); the statistics are then empty. */
  error?: string;
}

export interface PeerReport {
  name: PeerName;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  /** Versions, device, the output check against onnxruntime, … */
  info: Record<string, unknown>;
  runs: PeerRun[];
}

/** What a peer is asked to measure: the same model, batches and timing rules as the engines. */
export interface PeerRequest {
  onnxPath: string;
  io: OnnxGraphIO;
  batches: number[];
  /** The opt batch of the engines' build profile, for peers that build too (trtexec). */
  optBatch: number;
  precisions: Precision[];
  warmUpMs: number;
  iterations: number;
  durationS: number;
  transfers: boolean;
  cudaGraph: boolean;
  percentiles: number[];
  seed: number;
  device: number;
  python: string;
  hasGpu: boolean;
  /** --nms: the engines end with an NMS stage; the PyTorch peer then runs batched_nms after the network. */
  nms?: BenchNms;
  /** Why GPU peers are skipped when `hasGpu` is false, e.g. "no CUDA device (…)". */
  noGpuReason?: string;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

/** A peer that did not run, and why. @example skipped('trtexec', 'trtexec was not found on PATH') */
export const skipped = (name: PeerName, reason: string, info: Record<string, unknown> = {}): PeerReport => ({ name, status: 'skipped', reason, info, runs: [] });
/** A peer that ran and failed, and how. @example failed('torch', 'the script printed no JSON') */
export const failed = (name: PeerName, reason: string, info: Record<string, unknown> = {}): PeerReport => ({ name, status: 'failed', reason, info, runs: [] });

/** A run from raw per-query samples (ms), summarized with the harness's definitions. @example runFromSamples(base, { walltimeMs: 3000, e2eMs }, [90, 99]) */
export function runFromSamples(
  base: Pick<PeerRun, 'peer' | 'label' | 'mode' | 'precision' | 'batch'>,
  samples: { walltimeMs: number; e2eMs: number[]; computeMs?: number[]; h2dMs?: number[]; d2hMs?: number[] },
  percentiles: readonly number[],
): PeerRun {
  const queries = samples.e2eMs.length;
  const qps = samples.walltimeMs > 0 ? (queries / samples.walltimeMs) * 1000 : 0;
  const run: PeerRun = {
    ...base,
    queries,
    walltimeMs: samples.walltimeMs,
    throughput: { qps, ips: qps * base.batch },
    e2eMs: summarize(samples.e2eMs, percentiles),
  };
  if (samples.computeMs) run.computeMs = summarize(samples.computeMs, percentiles);
  if (samples.h2dMs) run.h2dMs = summarize(samples.h2dMs, percentiles);
  if (samples.d2hMs) run.d2hMs = summarize(samples.d2hMs, percentiles);
  return run;
}
