// The warnings trtexec prints after its performance summary, with its thresholds, plus two of ours.
import type { Summary } from './stats.js';

export type WarningCode = 'enqueue-bound' | 'h2d-bound' | 'd2h-bound' | 'transfer-bound' | 'unstable-compute' | 'iterations-capped';

export interface BenchWarning {
  code: WarningCode;
  message: string;
  /** What may help. */
  hint: string;
}

/** trtexec: enqueue time above 80% of GPU compute time means the host, not the GPU, sets the pace. */
export const ENQUEUE_BOUND_RATIO = 0.8;
/** trtexec: GPU compute time with a coefficient of variation above 1% is unstable. */
export const UNSTABLE_COV_PERCENT = 1.0;

export interface WarningInput {
  enqueueMs: Pick<Summary, 'median'>;
  h2dMs: Pick<Summary, 'median'>;
  computeMs: Pick<Summary, 'median' | 'covPercent'>;
  d2hMs: Pick<Summary, 'median'>;
  transfers: boolean;
  cudaGraph: boolean;
  /** Times come from a GPU (device events); false for the CPU reference backend (host clocks). */
  gpu?: boolean;
  /** Timing hit the hard cap before reaching the iterations asked for. */
  capped?: { iterations: number; queries: number };
}

const pct = (v: number): string => `${Number.isFinite(v) ? v.toFixed(2) : String(v)}%`;

/**
 * The warnings for one configuration, by trtexec's rules (samples/common/sampleReporting.cpp):
 * enqueue median > 0.8 × compute median; H2D (or D2H) median ≥ compute median; compute CoV > 1%.
 * Ours: H2D + D2H ≥ compute when neither alone is (the copies together dominate), and a capped run.
 * @example warningsFor({ enqueueMs, h2dMs, computeMs, d2hMs, transfers: true, cudaGraph: false })
 */
export function warningsFor(s: WarningInput): BenchWarning[] {
  const out: BenchWarning[] = [];
  const compute = s.computeMs.median;
  if (s.enqueueMs.median > ENQUEUE_BOUND_RATIO * compute) {
    out.push({
      code: 'enqueue-bound',
      message: `Throughput may be bound by enqueue time (median ${s.enqueueMs.median.toFixed(4)} ms) rather than GPU compute (median ${compute.toFixed(4)} ms); the GPU may be under-utilized.`,
      hint: s.cudaGraph ? 'Use more --streams to overlap host work with GPU work.' : 'If not already in use, --useCudaGraph may increase the throughput.',
    });
  }
  if (s.transfers) {
    const h2d = s.h2dMs.median >= compute;
    const d2h = s.d2hMs.median >= compute;
    if (h2d) {
      out.push({
        code: 'h2d-bound',
        message: 'Throughput may be bound by host-to-device transfers for the inputs rather than GPU compute; the GPU may be under-utilized.',
        hint: 'Add --noDataTransfers to measure without the copies.',
      });
    }
    if (d2h) {
      out.push({
        code: 'd2h-bound',
        message: 'Throughput may be bound by device-to-host transfers for the outputs rather than GPU compute; the GPU may be under-utilized.',
        hint: 'Add --noDataTransfers to measure without the copies.',
      });
    }
    if (!h2d && !d2h && s.h2dMs.median + s.d2hMs.median >= compute) {
      out.push({
        code: 'transfer-bound',
        message: 'Host-device transfers (H2D + D2H) take at least as long as GPU compute; the copies dominate the latency.',
        hint: 'Add --noDataTransfers to measure without the copies, or use --streams to overlap copies with compute.',
      });
    }
  }
  if (s.computeMs.covPercent > UNSTABLE_COV_PERCENT) {
    const gpu = s.gpu !== false;
    out.push({
      code: 'unstable-compute',
      message: `${gpu ? 'GPU compute' : 'Compute'} time is unstable, with a coefficient of variation of ${pct(s.computeMs.covPercent)}.`,
      hint: gpu ? 'Locking the GPU clocks (nvidia-smi -lgc) and keeping other work off the GPU may improve the stability.' : 'Other processes share this CPU; an idle machine gives steadier numbers.',
    });
  }
  if (s.capped) {
    out.push({
      code: 'iterations-capped',
      message: `Timing stopped at its time cap after ${s.capped.queries} of the ${s.capped.iterations} iterations asked for.`,
      hint: 'This backend is slow here; use a smaller --batch or fewer --iterations.',
    });
  }
  return out;
}
