// The runtime side of the benchmark (trtexec's sampleInference): warm-up, then timed queries on one or more
// contexts running concurrently, recording device-event and host-clock timings per query.
import type { TypedArray } from '../tensor.js';
import { toHalfBits } from '../util/half.js';
import { uniformRandom } from '../util/random.js';
import type { RunOptions, RunTimings } from '../types.js';

/** What the harness needs from a context; InferenceContext has it, on every backend. */
export interface Runnable {
  readonly inputs: Readonly<Record<string, TypedArray>>;
  readonly lastTimings: RunTimings;
  run(options: RunOptions): Promise<void>;
}

export interface MeasureOptions {
  batch: number;
  /** Warm-up time in ms, excluded from the results (0: none). */
  warmUpMs: number;
  /** Least number of timed queries (over all streams). */
  iterations: number;
  /** Least timed wall time in ms. Timing stops once both this and `iterations` are met. */
  durationMs: number;
  /** Copy inputs in and outputs out on each query (false: trtexec's --noDataTransfers). */
  transfers: boolean;
  /**
   * A hard stop for slow (CPU) backends: timing ends after this many ms even when `iterations` is not met,
   * once every stream has finished at least one query.
   */
  capMs?: number;
}

/** One timed query; all values in ms. */
export interface QueryTiming {
  stream: number;
  /** Host time for run() to return its promise: the cost of enqueueing the work. */
  enqueueMs: number;
  /** Device-event times of the copies in, the compute, the copies out. */
  h2dMs: number;
  computeMs: number;
  d2hMs: number;
  /** trtexec's "Latency": h2d + compute + d2h. */
  latencyMs: number;
  /** Host time from calling run() to its promise resolving. */
  e2eMs: number;
  /** Start of the query relative to the start of the timed phase. */
  startMs: number;
}

export interface Trace {
  batch: number;
  streams: number;
  transfers: boolean;
  warmUpQueries: number;
  warmUpMs: number;
  queries: QueryTiming[];
  /** Host wall time from the first timed enqueue to the last completion. */
  walltimeMs: number;
  /** True when `capMs` ended timing before `iterations` were reached. */
  capped: boolean;
}

/** The host clock the benchmark reads, in ms. @example const t0 = nowMs(); await work(); const ms = nowMs() - t0; */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * Fills every input buffer with seeded random data (never zeros: zeros make some kernels and caches look
 * faster than real inputs). Floats are uniform in [-1, 1), integers small and non-negative.
 * @example fillInputs(ctx.inputs, 42);
 */
export function fillInputs(inputs: Readonly<Record<string, TypedArray>>, seed: number): void {
  let k = 0;
  for (const name of Object.keys(inputs).sort()) {
    const a = inputs[name];
    const r = uniformRandom(seed + 7919 * k++);
    if (a instanceof Float32Array) for (let i = 0; i < a.length; i++) a[i] = r();
    else if (a instanceof Uint16Array) for (let i = 0; i < a.length; i++) a[i] = toHalfBits(r());
    else if (a instanceof BigInt64Array) for (let i = 0; i < a.length; i++) a[i] = BigInt(Math.floor((r() + 1) * 4));
    else for (let i = 0; i < a.length; i++) (a as Int32Array)[i] = Math.floor((r() + 1) * 4);
  }
}

/**
 * Runs warm-up and then timed queries on all contexts at once, one query in flight per context (a context is a
 * stream), and returns every timed query. Timing continues until both `iterations` and `durationMs` are met.
 * @example const trace = await measure([ctx], { batch: 32, warmUpMs: 200, iterations: 10, durationMs: 3000, transfers: true });
 */
export async function measure(contexts: readonly Runnable[], options: MeasureOptions): Promise<Trace> {
  const { batch, transfers } = options;
  const run: RunOptions = { batch, transfers };

  // Setup: one untimed query per context, where CUDA-graph capture and lazy allocations happen (trtexec does
  // these before it starts its clocks too), so that --warmUp 0 still times only steady-state queries.
  await Promise.all(contexts.map((ctx) => ctx.run(run)));

  // Warm-up: every stream runs until the warm-up time is over, at least once when warm-up is asked for.
  let warmUpQueries = 0;
  const w0 = nowMs();
  if (options.warmUpMs > 0) {
    await Promise.all(
      contexts.map(async (ctx) => {
        do {
          await ctx.run(run);
          warmUpQueries++;
        } while (nowMs() - w0 < options.warmUpMs);
      }),
    );
  }
  const warmUpMs = nowMs() - w0;

  const queries: QueryTiming[] = [];
  let capped = false;
  const t0 = nowMs();
  // Judged at a query's completion, so the wall time (to the last completion) covers the duration asked for.
  const done = (at: number): boolean => {
    const elapsed = at - t0;
    if (options.capMs !== undefined && elapsed >= options.capMs) {
      if (queries.length < options.iterations) capped = true;
      return true;
    }
    return elapsed >= options.durationMs && queries.length >= options.iterations;
  };
  let last = t0;
  await Promise.all(
    contexts.map(async (ctx, stream) => {
      let first = true;
      let completed = t0;
      while (first || !done(completed)) {
        first = false;
        const a = nowMs();
        const p = ctx.run(run);
        const b = nowMs();
        await p;
        const c = nowMs();
        const { h2dMs, computeMs, d2hMs } = ctx.lastTimings;
        queries.push({
          stream,
          enqueueMs: b - a,
          h2dMs,
          computeMs,
          d2hMs,
          latencyMs: h2dMs + computeMs + d2hMs,
          e2eMs: c - a,
          startMs: a - t0,
        });
        completed = c;
        if (c > last) last = c;
      }
    }),
  );
  return { batch, streams: contexts.length, transfers, warmUpQueries, warmUpMs, queries, walltimeMs: last - t0, capped };
}

/** The per-query columns a Trace can be summarized by. */
export type Metric = 'latencyMs' | 'e2eMs' | 'enqueueMs' | 'h2dMs' | 'computeMs' | 'd2hMs';
export const METRICS: readonly Metric[] = ['latencyMs', 'e2eMs', 'enqueueMs', 'h2dMs', 'computeMs', 'd2hMs'];

/** One column of a trace. @example column(trace, 'computeMs') */
export function column(trace: Pick<Trace, 'queries'>, metric: Metric): number[] {
  return trace.queries.map((q) => q[metric]);
}
