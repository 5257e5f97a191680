// The dynamic batcher: concurrent small requests gathered into one batch run per free context, each request's
// rows copied once, straight into the context's pinned inputs, and its own output rows handed back.
import { summarize } from '../bench/stats.js';
import type { InferenceContext } from '../context.js';
import { Engine } from '../engine.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import { Pool } from '../pool.js';
import { arrayTypeFor, rowElements, type TypedArray } from '../tensor.js';
import type { TensorInfo } from '../types.js';
import { describe, finiteNumber, func, invalid, isInteger, knownKeys, plainObject, positiveInteger } from '../validate.js';
import { RequestQueue, type QueueItem } from './queue.js';

export interface BatcherOptions {
  /** Most rows per batch run (default: the largest batch every context runs). */
  maxBatch?: number;
  /**
   * How long the oldest queued request may wait for a fuller batch while a context is free, in ms (Triton's
   * max_queue_delay). 0 (the default) takes whatever is queued the moment a context is free.
   */
  maxDelayMs?: number;
  /** Most requests waiting; beyond it infer() rejects at once with ERR_QUEUE_FULL (default: unbounded). */
  maxQueue?: number;
  /** Default per-request queue timeout in ms (see InferOptions.timeoutMs; default: none). */
  timeoutMs?: number;
  /** With an Engine: contexts to create and keep busy (default 4: on an H200, MobileNetV2 batch-1 requests reach 15,329 images/s over 2 contexts, 18,624 over 3 and 22,423–23,968 over 4). */
  contexts?: number;
  /** Called after every batch run, e.g. to feed metrics. */
  onBatch?: (batch: BatchInfo) => void;
}

export interface InferOptions {
  /** Cancels the request: a queued one is dropped and never runs; a running one rejects at once. */
  signal?: AbortSignal;
  /** Longest time in the queue, in ms: past it the request is dropped (never run) and rejects with ERR_TIMEOUT. */
  timeoutMs?: number;
  /** Higher levels are batched first (default 0; any integer). */
  priority?: number;
}

/** One batch run, as onBatch sees it. */
export interface BatchInfo {
  rows: number;
  requests: number;
  /** Index of the context (in the batcher's list) that ran it. */
  context: number;
  /** Wall time of the run (copies in, compute, copies out), ms. */
  runMs: number;
  /** Time each request waited in the queue, ms. */
  queueMs: number[];
  /** The error, when the run failed. */
  error?: unknown;
}

/** Percentiles of one timing, ms. */
export interface TimingSummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface BatcherStats {
  /** Requests accepted into the queue. */
  requests: number;
  completed: number;
  /** Requests whose batch run failed. */
  failed: number;
  timedOut: number;
  aborted: number;
  /** Refused because the queue was full. */
  rejected: number;
  batches: number;
  /** Rows per batch run. */
  meanBatchSize: number;
  /** Requests waiting now. */
  queued: number;
  /** Batch runs in flight now. */
  running: number;
  /** Time in the queue per request, over the last 65,536 requests. */
  queueMs: TimingSummary;
  /** Wall time per batch run, over the last 65,536 runs. */
  runMs: TimingSummary;
}

/** What a context can be fed: one typed array per input, a whole number of rows each. */
export type Feeds = Record<string, TypedArray>;
type Outputs = Record<string, TypedArray>;

interface Pending extends QueueItem {
  feeds: Feeds;
  enqueuedAt: number;
  settled: boolean;
  resolve(out: Outputs): void;
  reject(e: unknown): void;
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Slot {
  ctx: InferenceContext;
  index: number;
  busy: boolean;
  /** Its context was disposed from outside: no more batches go there. */
  dead: boolean;
}

const SAMPLES = 65536;
/** infer()'s default options: recognised by identity, so a call without options parses nothing. */
const NO_OPTIONS: InferOptions = Object.freeze({});

/** A fixed-size ring of the latest samples. */
class Samples {
  readonly #v = new Float64Array(SAMPLES);
  #n = 0;
  add(x: number): void {
    this.#v[this.#n++ % SAMPLES] = x;
  }
  summary(): TimingSummary {
    const s = summarize(Array.from(this.#v.subarray(0, Math.min(this.#n, SAMPLES))), [50, 90, 99]);
    if (s.count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    return { count: s.count, mean: s.mean, p50: s.percentiles['50'], p90: s.percentiles['90'], p99: s.percentiles['99'], max: s.max };
  }
}

function abortError(signal: AbortSignal): TensorRTError {
  const e = new TensorRTError(ErrorCode.ABORTED, 'The request was aborted', { cause: signal.reason });
  e.name = 'AbortError'; // what fetch() and node:events callers check for
  return e;
}

/**
 * Gathers concurrent requests into batch runs over one or more contexts (use createBatcher()).
 * A batcher needs its contexts to itself: do not run() them elsewhere while it lives.
 * @example
 * const batcher = await createBatcher(engine, { maxBatch: 32, maxDelayMs: 2 });
 * const { logits } = await batcher.infer({ input: oneImage });
 * await batcher.dispose();
 */
export class Batcher implements AsyncDisposable {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly #slots: Slot[];
  readonly #owned: InferenceContext[];
  readonly #minBatch: number;
  readonly #rowOf = new Map<string, number>();
  /** What infer() checks of each input, worked out once. */
  readonly #checks: { name: string; dtype: string; shape: readonly unknown[]; row: number; Ctor: new (n: number) => TypedArray }[];
  readonly #inputNames: Set<string>;
  readonly #maxQueue: number;
  readonly #timeoutMs: number | undefined;
  readonly #onBatch: BatcherOptions['onBatch'];
  readonly #queue = new RequestQueue<Pending>();
  readonly #running = new Set<Promise<void>>();
  #idleWaiters: (() => void)[] = [];
  #delayTimer: NodeJS.Timeout | undefined;
  #delayAt = Infinity;
  #nextSlot = 0;
  #disposed = false;
  #disposing: Promise<void> | undefined;
  readonly #counts = { requests: 0, completed: 0, failed: 0, timedOut: 0, aborted: 0, rejected: 0, batches: 0, rows: 0 };
  readonly #queueMs = new Samples();
  readonly #runMs = new Samples();

  /** @internal Use createBatcher(). */
  constructor(contexts: InferenceContext[], owned: InferenceContext[], o: { maxBatch: number; maxDelayMs: number; maxQueue: number; timeoutMs?: number; onBatch?: BatcherOptions['onBatch'] }) {
    const engine = contexts[0].engine;
    this.inputs = engine.inputs;
    this.outputs = engine.outputs;
    for (const t of [...engine.inputs, ...engine.outputs]) this.#rowOf.set(t.name, rowElements(t.shape));
    this.#checks = engine.inputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, row: rowElements(t.shape), Ctor: arrayTypeFor(t.dtype) as unknown as new (n: number) => TypedArray }));
    this.#inputNames = new Set(engine.inputs.map((t) => t.name));
    this.#slots = contexts.map((ctx, index) => ({ ctx, index, busy: false, dead: false }));
    this.#owned = owned;
    this.#minBatch = engine.profile.min;
    this.maxBatch = o.maxBatch;
    this.maxDelayMs = o.maxDelayMs;
    this.#maxQueue = o.maxQueue;
    this.#timeoutMs = o.timeoutMs;
    this.#onBatch = o.onBatch;
  }

  /** The contexts it keeps busy. */
  get contexts(): readonly InferenceContext[] {
    return this.#slots.map((s) => s.ctx);
  }

  /** True once dispose() has been called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Queues one request (one or more rows per input) for the next batch of its shape and resolves with its own
   * output rows, as fresh arrays. Do not modify `feeds` until it settles: rows are copied when the batch starts.
   * @example const { logits } = await batcher.infer({ input }, { timeoutMs: 50, priority: 1, signal });
   */
  infer(feeds: Feeds, options: InferOptions = NO_OPTIONS): Promise<Outputs> {
    // A plain method, not async: its promise is the request's own, with no wrapper to resolve through. Checks
    // that fail still reject rather than throw.
    let request: { rows: number; priority: number; timeoutMs?: number; signal?: AbortSignal };
    try {
      request = this.#admit(feeds, options);
    } catch (e) {
      return Promise.reject(e);
    }
    const { rows, priority, timeoutMs, signal } = request;
    return new Promise<Outputs>((resolve, reject) => {
      // One shape per engine today; requests of other non-batch shapes would get their own key.
      const req: Pending = { rows, key: '', priority, seq: 0, queued: false, feeds, enqueuedAt: performance.now(), settled: false, resolve, reject };
      if (timeoutMs !== undefined) {
        req.timer = setTimeout(() => {
          if (!this.#queue.remove(req)) return;
          this.#counts.timedOut++;
          this.#settle(req, new TensorRTError(ErrorCode.TIMEOUT, `The request waited ${timeoutMs} ms in the queue and was dropped before it ran`));
          this.#pump();
        }, timeoutMs);
      }
      if (signal) {
        req.signal = signal;
        req.onAbort = () => {
          if (req.settled) return;
          this.#counts.aborted++;
          const wasQueued = this.#queue.remove(req);
          this.#settle(req, abortError(signal));
          if (wasQueued) this.#pump();
        };
        signal.addEventListener('abort', req.onAbort, { once: true });
      }
      // Nothing waiting and a context free, with no delay asked for: the request would be taken at once, so it
      // skips the queue (the lone caller's path, kept short).
      if (this.maxDelayMs === 0 && this.#queue.size === 0) {
        const slot = this.#freeSlot();
        if (slot) {
          this.#launch(slot, [req], req.enqueuedAt);
          return;
        }
      }
      this.#queue.push(req);
      this.#pump();
    });
  }

  /** Counters and timing percentiles since creation. @example batcher.stats().meanBatchSize */
  stats(): BatcherStats {
    const c = this.#counts;
    return {
      requests: c.requests,
      completed: c.completed,
      failed: c.failed,
      timedOut: c.timedOut,
      aborted: c.aborted,
      rejected: c.rejected,
      batches: c.batches,
      meanBatchSize: c.batches ? c.rows / c.batches : 0,
      queued: this.#queue.size,
      running: this.#running.size,
      queueMs: this.#queueMs.summary(),
      runMs: this.#runMs.summary(),
    };
  }

  /** Resolves once nothing is queued or running. @example await batcher.drain(); */
  drain(): Promise<void> {
    if (this.#queue.size === 0 && this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Rejects every queued request with ERR_DISPOSED, waits for the batches that are running, then frees the
   * contexts the batcher created itself (never those it was given). Idempotent.
   * @example await batcher.dispose();
   */
  dispose(): Promise<void> {
    if (this.#disposing) return this.#disposing;
    this.#disposed = true;
    clearTimeout(this.#delayTimer);
    for (const req of this.#queue.drain()) this.#settle(req, new TensorRTError(ErrorCode.DISPOSED, 'The batcher was disposed before this request ran'));
    this.#disposing = Promise.allSettled([...this.#running]).then(() => {
      for (const ctx of this.#owned) ctx.dispose();
      this.#notifyIdle();
    });
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** infer()'s checks and counters before a request is queued; throws its coded errors. */
  #admit(feeds: Feeds, options: InferOptions): { rows: number; priority: number; timeoutMs?: number; signal?: AbortSignal } {
    if (this.#disposed) throw new TensorRTError(ErrorCode.DISPOSED, 'Batcher has been disposed');
    let priority = 0;
    let timeoutMs = this.#timeoutMs;
    let signal: AbortSignal | undefined;
    if (options !== NO_OPTIONS) {
      const o = plainObject(options, 'options');
      knownKeys(o, 'infer options', ['signal', 'timeoutMs', 'priority']);
      if (o.priority !== undefined) priority = isInteger(o.priority) && Number.isSafeInteger(o.priority) ? o.priority : invalid('an integer', 'priority', o.priority);
      if (o.timeoutMs !== undefined) timeoutMs = nonNegativeNumber(o.timeoutMs, 'timeoutMs');
      if (o.signal !== undefined) signal = o.signal instanceof AbortSignal ? o.signal : invalid('an AbortSignal', 'signal', o.signal);
    }
    const rows = this.#checkFeeds(feeds);
    if (signal?.aborted) {
      this.#counts.aborted++;
      throw abortError(signal);
    }
    if (this.#queue.size >= this.#maxQueue) {
      this.#counts.rejected++;
      throw new TensorRTError(ErrorCode.QUEUE_FULL, `The batcher's queue is full (${this.#maxQueue} requests waiting)`);
    }
    this.#counts.requests++;
    return { rows, priority, timeoutMs, signal };
  }

  #checkFeeds(feeds: Feeds): number {
    const f = plainObject(feeds, 'feeds');
    const names = () => this.inputs.map((t) => `'${t.name}'`).join(', ');
    let rows = -1;
    for (const c of this.#checks) {
      const data = f[c.name];
      if (data === undefined) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Missing input '${c.name}'; the model's inputs are ${names()}`);
      if (!(data instanceof c.Ctor)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Expected a ${c.Ctor.name} for input '${c.name}' (${c.dtype}) but received ${describe(data)}`);
      const len = (data as TypedArray).length;
      if (len === 0 || len % c.row !== 0) {
        throw new TensorRTError(ErrorCode.INVALID_INPUT, `Input '${c.name}' has ${len} elements, which is not a whole number of rows of ${c.row} (shape [${c.shape.join(', ')}])`);
      }
      if (rows !== -1 && len / c.row !== rows) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Inputs disagree on the batch: ${rows} vs ${len / c.row} ('${c.name}')`);
      rows = len / c.row;
    }
    for (const k in f) if (!this.#inputNames.has(k)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Unknown input '${k}'; the model's inputs are ${names()}`);
    if (rows > this.maxBatch) throw new TensorRTError(ErrorCode.BATCH_OUT_OF_RANGE, `The request has ${rows} rows; this batcher runs at most ${this.maxBatch} per batch`);
    return rows;
  }

  #settle(req: Pending, result: Outputs | unknown, ok = false): void {
    if (req.settled) return;
    req.settled = true;
    clearTimeout(req.timer);
    if (req.onAbort) req.signal!.removeEventListener('abort', req.onAbort);
    if (ok) req.resolve(result as Outputs);
    else req.reject(result);
  }

  #freeSlot(): Slot | undefined {
    const n = this.#slots.length;
    for (let k = 0; k < n; k++) {
      const s = this.#slots[(this.#nextSlot + k) % n];
      if (!s.busy && s.ctx.disposed) s.dead = true; // never write into the pinned memory of a freed context
      if (!s.busy && !s.dead) {
        this.#nextSlot = (s.index + 1) % n;
        return s;
      }
    }
    return undefined;
  }

  /** Starts batches on free contexts while there is work; arms the delay timer when the head may still wait. */
  #pump(): void {
    while (this.#queue.size > 0 && !this.#disposed) {
      const slot = this.#freeSlot();
      if (this.#slots.every((s) => s.dead)) {
        for (const req of this.#queue.drain()) this.#settle(req, new TensorRTError(ErrorCode.DISPOSED, "Every context of the batcher has been disposed; dispose() the batcher, not its contexts"));
        break;
      }
      if (!slot) return;
      const head = this.#queue.head()!;
      const now = performance.now();
      const deadline = head.enqueuedAt + this.maxDelayMs;
      if (this.maxDelayMs > 0 && this.#queue.rows(head.key) < this.maxBatch && now < deadline) {
        this.#arm(deadline, now);
        return;
      }
      this.#launch(slot, this.#queue.take(head.key, this.maxBatch), now);
    }
    if (this.#queue.size === 0 && this.#running.size === 0) this.#notifyIdle();
  }

  #arm(deadline: number, now: number): void {
    if (this.#delayTimer !== undefined && this.#delayAt <= deadline) return;
    clearTimeout(this.#delayTimer);
    this.#delayAt = deadline;
    this.#delayTimer = setTimeout(() => {
      this.#delayTimer = undefined;
      this.#delayAt = Infinity;
      this.#pump();
    }, Math.max(0, deadline - now));
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #launch(slot: Slot, batch: Pending[], now: number): void {
    slot.busy = true;
    const run = this.#run(slot, batch, now).finally(() => {
      slot.busy = false;
      this.#running.delete(run);
      this.#pump();
    });
    this.#running.add(run);
  }

  async #run(slot: Slot, batch: Pending[], started: number): Promise<void> {
    const { ctx } = slot;
    const queueMs = batch.map((r) => started - r.enqueuedAt);
    let rows = 0;
    const parts: { name: string; offset: number; data: TypedArray }[] = [];
    for (const req of batch) {
      clearTimeout(req.timer); // the timeout bounds the wait in the queue only
      req.timer = undefined;
      for (const info of this.inputs) parts.push({ name: info.name, offset: rows * this.#rowOf.get(info.name)!, data: req.feeds[info.name] });
      rows += req.rows;
    }
    // A batch below the engine's minimum runs padded with zero rows whose outputs are dropped.
    const runBatch = Math.max(rows, this.#minBatch);
    if (runBatch > rows) for (const info of this.inputs) zero(ctx.inputs[info.name], rows * this.#rowOf.get(info.name)!, runBatch * this.#rowOf.get(info.name)!);
    const t0 = performance.now();
    let error: unknown;
    try {
      if (batch.length === 1) {
        // One request: copied here, as run() callers do (a hop to the thread pool would only add latency).
        for (const p of parts) (ctx.inputs[p.name] as Uint8Array).set(p.data as unknown as Uint8Array, p.offset);
        await ctx.run({ batch: runBatch });
      } else {
        // Many: gathered off the JS thread, where the backend can, so the loop keeps taking requests meanwhile.
        await ctx.runRows(runBatch, parts);
      }
      // Disposed from outside while the batch ran: its pinned outputs are detached and cannot be read.
      if (ctx.disposed) throw new TensorRTError(ErrorCode.DISPOSED, 'A context of the batcher was disposed while a batch ran on it; dispose() the batcher, not its contexts');
    } catch (e) {
      error = e;
      if (ctx.disposed) slot.dead = true;
    }
    const runMs = performance.now() - t0;
    this.#counts.batches++;
    this.#counts.rows += rows;
    this.#runMs.add(runMs);
    for (const q of queueMs) this.#queueMs.add(q);
    let offset = 0;
    for (const req of batch) {
      if (error !== undefined) {
        if (!req.settled) this.#counts.failed++;
        this.#settle(req, error);
        continue;
      }
      if (!req.settled) {
        const out: Outputs = {};
        for (const info of this.outputs) {
          const row = this.#rowOf.get(info.name)!;
          out[info.name] = ctx.outputs[info.name].slice(offset * row, (offset + req.rows) * row);
        }
        this.#counts.completed++;
        this.#settle(req, out, true);
      }
      offset += req.rows;
    }
    if (this.#onBatch) {
      const info: BatchInfo = { rows, requests: batch.length, context: slot.index, runMs, queueMs, ...(error === undefined ? {} : { error }) };
      try {
        this.#onBatch(info);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}

function zero(view: TypedArray, from: number, to: number): void {
  if (view instanceof BigInt64Array) view.fill(0n, from, to);
  else view.fill(0, from, to);
}

function nonNegativeNumber(v: unknown, name: string): number {
  if (finiteNumber(v, name) < 0) invalid('a non-negative number', name, v);
  return v as number;
}

/** The I/O signature that every context of one batcher must share. */
function signature(engine: Engine): string {
  return JSON.stringify([engine.inputs, engine.outputs]);
}

/**
 * Creates a batcher over an engine (it creates `contexts` contexts and owns them), a pool (its contexts, on every
 * GPU), one context, or several contexts of engines with the same inputs and outputs.
 * @example
 * const batcher = await createBatcher(engine, { maxBatch: 32, maxDelayMs: 1, contexts: 4 });
 * const out = await Promise.all(images.map((input) => batcher.infer({ input })));
 */
export async function createBatcher(source: Engine | Pool | InferenceContext | readonly InferenceContext[], options: BatcherOptions = {}): Promise<Batcher> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'createBatcher options', ['maxBatch', 'maxDelayMs', 'maxQueue', 'timeoutMs', 'contexts', 'onBatch']);
  const maxBatch = o.maxBatch === undefined ? undefined : positiveInteger(o.maxBatch, 'maxBatch');
  const maxDelayMs = o.maxDelayMs === undefined ? 0 : nonNegativeNumber(o.maxDelayMs, 'maxDelayMs');
  const maxQueue = o.maxQueue === undefined ? Infinity : positiveInteger(o.maxQueue, 'maxQueue');
  const timeoutMs = o.timeoutMs === undefined ? undefined : nonNegativeNumber(o.timeoutMs, 'timeoutMs');
  const onBatch = o.onBatch === undefined ? undefined : func<NonNullable<BatcherOptions['onBatch']>>(o.onBatch, 'onBatch');
  if (o.contexts !== undefined && !(source instanceof Engine)) invalid('no contexts option unless the source is an Engine', 'contexts', o.contexts);
  let contexts: InferenceContext[];
  const owned: InferenceContext[] = [];
  if (source instanceof Engine) {
    const n = positiveInteger(o.contexts ?? 4, 'contexts');
    const ctxBatch = Math.min(maxBatch ?? source.profile.max, source.profile.max);
    try {
      for (let i = 0; i < n; i++) owned.push(await source.createContext({ maxBatch: ctxBatch }));
    } catch (e) {
      for (const c of owned) c.dispose();
      throw e;
    }
    contexts = owned;
  } else if (source instanceof Pool) {
    contexts = [...source.contexts];
  } else if (Array.isArray(source)) {
    contexts = [...(source as InferenceContext[])];
  } else if (source && typeof source === 'object' && 'run' in source && 'engine' in source) {
    contexts = [source as InferenceContext];
  } else {
    return invalid('an Engine, a Pool, an InferenceContext or an array of them', 'source', source);
  }
  if (contexts.length === 0) return invalid('at least one context', 'source', source);
  if (contexts.some((c) => c.disposed)) throw new TensorRTError(ErrorCode.DISPOSED, 'A context given to createBatcher has been disposed');
  const sig = signature(contexts[0].engine);
  if (contexts.some((c) => signature(c.engine) !== sig)) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, 'The contexts given to createBatcher belong to engines with different inputs or outputs');
  const capacity = Math.min(...contexts.map((c) => Math.min(c.maxBatch, c.engine.profile.max)));
  if (maxBatch !== undefined && maxBatch > capacity) {
    for (const c of owned) c.dispose();
    throw new TensorRTError(ErrorCode.BATCH_OUT_OF_RANGE, `maxBatch ${maxBatch} exceeds the largest batch the contexts run (${capacity})`);
  }
  return new Batcher(contexts, owned, { maxBatch: maxBatch ?? capacity, maxDelayMs, maxQueue, timeoutMs, onBatch });
}
