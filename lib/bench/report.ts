// The report's data (what --json writes) and the comparisons derived from results: FP16 vs FP32, ours vs peers,
// repeat agreement. Formatting lives in report-text.ts and report-html.ts.
import type { BackendName } from '../capabilities.js';
import type { Precision, ValidationReport } from '../types.js';
import type { AccuracyReport } from './accuracy.js';
import type { BenchNms } from './options.js';
import { column, type Trace } from './harness.js';
import type { PeerReport } from './peers/types.js';
import { agreement, histogram, summarize, type Agreement, type Histogram, type Summary } from './stats.js';
import { warningsFor, type BenchWarning } from './warnings.js';

/** The `schema` field of the JSON report; bumped when a field changes meaning or goes away. */
export const REPORT_SCHEMA = 'node-tensorrt-bench/1';

/** One measured configuration: precision × batch × streams (× repeat). Times in ms. */
export interface ConfigResult {
  /** e.g. "fp16 b32 s1" (unique per repeat). */
  id: string;
  precision: Precision;
  backend: BackendName;
  batch: number;
  streams: number;
  cudaGraph: boolean;
  transfers: boolean;
  /** 0-based index of the repeat (--repeat). */
  repeat: number;
  warmUp: { queries: number; ms: number };
  queries: number;
  walltimeMs: number;
  /** Queries per second over the host wall time, and images (batch rows) per second. */
  throughput: { qps: number; ips: number };
  latencyMs: Summary;
  e2eMs: Summary;
  enqueueMs: Summary;
  h2dMs: Summary;
  computeMs: Summary;
  d2hMs: Summary;
  /** Sum of GPU compute time over all queries. */
  totalComputeMs: number;
  warnings: BenchWarning[];
  /** End-to-end latency histogram, for plotting. */
  histogram: Histogram;
  capped: boolean;
}

export interface ConfigMeta {
  precision: Precision;
  backend: BackendName;
  cudaGraph: boolean;
  iterations: number;
  repeat: number;
  /** Device-event timings (false: the reference backend's host clocks). */
  gpu?: boolean;
}

/**
 * Summarizes a trace into a configuration result with its warnings.
 * @example const r = configResult(trace, { precision: 'fp16', backend: 'builtin', cudaGraph: true, iterations: 10, repeat: 0 }, [90, 95, 99]);
 */
export function configResult(trace: Trace, meta: ConfigMeta, percentiles: readonly number[]): ConfigResult {
  const s = (m: Parameters<typeof column>[1]): Summary => summarize(column(trace, m), percentiles);
  const computeMs = s('computeMs');
  const enqueueMs = s('enqueueMs');
  const h2dMs = s('h2dMs');
  const d2hMs = s('d2hMs');
  const e2e = column(trace, 'e2eMs');
  const qps = trace.walltimeMs > 0 ? (trace.queries.length / trace.walltimeMs) * 1000 : 0;
  return {
    id: `${meta.precision} b${trace.batch} s${trace.streams}${meta.repeat ? ` r${meta.repeat + 1}` : ''}`,
    precision: meta.precision,
    backend: meta.backend,
    batch: trace.batch,
    streams: trace.streams,
    cudaGraph: meta.cudaGraph,
    transfers: trace.transfers,
    repeat: meta.repeat,
    warmUp: { queries: trace.warmUpQueries, ms: trace.warmUpMs },
    queries: trace.queries.length,
    walltimeMs: trace.walltimeMs,
    throughput: { qps, ips: qps * trace.batch },
    latencyMs: s('latencyMs'),
    e2eMs: summarize(e2e, percentiles),
    enqueueMs,
    h2dMs,
    computeMs,
    d2hMs,
    totalComputeMs: column(trace, 'computeMs').reduce((a, b) => a + b, 0),
    warnings: warningsFor({
      enqueueMs,
      h2dMs,
      computeMs,
      d2hMs,
      transfers: trace.transfers,
      cudaGraph: meta.cudaGraph,
      gpu: meta.gpu !== false,
      ...(trace.capped ? { capped: { iterations: meta.iterations, queries: trace.queries.length } } : {}),
    }),
    histogram: histogram(e2e),
    capped: trace.capped,
  };
}

export interface EngineReport {
  precision: Precision;
  backend: BackendName;
  /** Loaded from a plan file rather than built in this run. */
  loaded: boolean;
  buildMs: number;
  planBytes: number;
  onnxBytes: number | null;
  /** planBytes / onnxBytes. */
  sizeRatio: number | null;
  profile: { min: number; opt: number; max: number };
  layers: number | null;
  activationBytes: number | null;
  workspaceBytes: number | null;
  weightBytes: number | null;
  tacticCacheHits: number | null;
  validation?: ValidationReport;
  validationSkipped?: string;
  /** Batches asked for that the engine's profile does not cover. */
  skippedBatches: number[];
}

/** FP16 against FP32 at one batch × streams: > 1 means FP16 is faster. */
export interface SpeedupRow {
  batch: number;
  streams: number;
  /** fp32 median GPU compute / fp16 median GPU compute. */
  compute: number;
  /** fp32 median end-to-end latency / fp16 median end-to-end latency. */
  e2e: number;
  /** fp16 throughput / fp32 throughput. */
  throughput: number;
}

/**
 * FP16-vs-FP32 speed-ups from the first repeat's results.
 * @example fp16VsFp32(results).find((r) => r.batch === 32)?.compute
 */
export function fp16VsFp32(results: readonly ConfigResult[]): SpeedupRow[] {
  const rows: SpeedupRow[] = [];
  for (const h of results.filter((r) => r.precision === 'fp16' && r.repeat === 0)) {
    const f = results.find((r) => r.precision === 'fp32' && r.repeat === 0 && r.batch === h.batch && r.streams === h.streams);
    if (!f) continue;
    rows.push({
      batch: h.batch,
      streams: h.streams,
      compute: f.computeMs.median / h.computeMs.median,
      e2e: f.e2eMs.median / h.e2eMs.median,
      throughput: h.throughput.ips / f.throughput.ips,
    });
  }
  return rows;
}

/** Ours against one peer run, as time ratios ours/peer (< 1: ours is faster) and a throughput ratio. */
export interface PeerRatioRow {
  peer: string;
  label: string;
  precision: Precision;
  peerPrecision: Precision;
  batch: number;
  /** Our median GPU compute / the peer's (GPU peers only). */
  compute: number | null;
  /** Our median end-to-end latency / the peer's. */
  e2e: number;
  /** Our images/s / the peer's (> 1: ours is faster). */
  throughput: number;
}

/**
 * Ratios of our single-stream results to every peer run at the same batch. GPU peers are matched by precision;
 * the CPU peer (FP32 only) is compared with every precision.
 * @example peerRatios(results, peers).filter((r) => r.peer === 'torch')
 */
export function peerRatios(results: readonly ConfigResult[], peers: readonly PeerReport[]): PeerRatioRow[] {
  const rows: PeerRatioRow[] = [];
  for (const ours of results.filter((r) => r.repeat === 0 && r.streams === 1)) {
    for (const p of peers) {
      for (const run of p.runs) {
        if (run.error || run.batch !== ours.batch) continue;
        if (run.mode !== 'cpu' && run.precision !== ours.precision) continue;
        rows.push({
          peer: p.name,
          label: run.label,
          precision: ours.precision,
          peerPrecision: run.precision,
          batch: ours.batch,
          compute: run.computeMs ? ours.computeMs.median / run.computeMs.median : null,
          e2e: ours.e2eMs.median / run.e2eMs.median,
          throughput: ours.throughput.ips / run.throughput.ips,
        });
      }
    }
  }
  return rows;
}

export interface RepeatRow {
  /** The configuration without its repeat suffix, e.g. "fp16 b32 s1". */
  config: string;
  metric: 'computeMs' | 'e2eMs';
  agreement: Agreement;
}

/**
 * For --repeat: per configuration and metric, whether the repeats' medians agree within their own spread.
 * @example repeatAgreement(results).every((r) => r.agreement.agree)
 */
export function repeatAgreement(results: readonly ConfigResult[]): RepeatRow[] {
  const groups = new Map<string, ConfigResult[]>();
  for (const r of results) {
    const key = `${r.precision} b${r.batch} s${r.streams}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: RepeatRow[] = [];
  for (const [config, rs] of groups) {
    if (rs.length < 2) continue;
    for (const metric of ['computeMs', 'e2eMs'] as const) rows.push({ config, metric, agreement: agreement(rs.map((r) => r[metric])) });
  }
  return rows;
}

export interface LayerShare {
  name: string;
  op: string;
  tactic: string;
  ms: number;
  /** Fraction of the summed layer time, 0..1. */
  share: number;
}

export interface ProfileReport {
  precision: Precision;
  batch: number;
  iterations: number;
  totalMs: number;
  layers: LayerShare[];
}

/** Per-layer times with each layer's share of the total. @example withShares(await ctx.profileLayers({ batch: 1 })) */
export function withShares(layers: readonly { name: string; op: string; tactic: string; ms: number }[]): { totalMs: number; layers: LayerShare[] } {
  const totalMs = layers.reduce((a, l) => a + l.ms, 0);
  return { totalMs, layers: layers.map((l) => ({ name: l.name, op: l.op, tactic: l.tactic, ms: l.ms, share: totalMs > 0 ? l.ms / totalMs : 0 })) };
}

export interface SystemInfo {
  node: string;
  platform: string;
  cpu: string;
  cpuCores: number;
  gpu: string | null;
  computeCapability: string | null;
  driver: string | null;
  cudaRuntime: string | null;
  tensorrt: string | null;
  library: string;
}

/** The whole run: what --json writes and what the text and HTML reports are made from. */
export interface BenchReport {
  schema: typeof REPORT_SCHEMA;
  createdAt: string;
  system: SystemInfo;
  /** 'gpu', or 'cpu-reference' on a machine without a CUDA device. */
  mode: 'gpu' | 'cpu-reference';
  /** Things the reader must know (e.g. "No CUDA device: …"). */
  notes: string[];
  options: {
    batches: number[];
    optBatch: number;
    streams: number[];
    precisions: Precision[];
    backend: string;
    warmUpMs: number;
    iterations: number;
    durationS: number;
    cudaGraph: boolean;
    transfers: boolean;
    percentiles: number[];
    repeat: number;
    seed: number;
    /** --nms: the NMS stage the engines end with (and the PyTorch peer's batched_nms settings). */
    nms?: BenchNms;
  };
  model: { path: string; description: string; kind: 'onnx' | 'plan'; onnxBytes: number | null; inputs: { name: string; dims: (number | string)[] }[] };
  engines: EngineReport[];
  results: ConfigResult[];
  fp16VsFp32: SpeedupRow[];
  peers: PeerReport[];
  peerRatios: PeerRatioRow[];
  profile: ProfileReport | { skipped: string };
  accuracy?: AccuracyReport;
  repeats: RepeatRow[];
}
