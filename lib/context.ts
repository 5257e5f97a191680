// InferenceContext: one stream, its device buffers and pinned I/O buffers that JS fills and reads in place.
import { Resource } from './disposable.js';
import type { Engine } from './engine.js';
import { ErrorCode, TensorRTError, hasCode } from './errors.js';
import type { NativeContext } from './native.js';
import { bindInputDims, checkDimsInProfile, type ResolvedProfile } from './shapes.js';
import { evalDim } from './ir/dims.js';
import { arrayTypeFor, type TypedArray } from './tensor.js';
import type { ContextInfo, Dim, LayerProfile, RunOptions, RunTimings, SyncMode, TensorInfo } from './types.js';
import { describe, knownKeys, plainObject, positiveInteger, boolean } from './validate.js';
import { withStack } from './util/stack.js';

/**
 * Runs an engine. Inputs and outputs are typed arrays over pinned host memory, sized for `maxBatch`:
 * fill `ctx.inputs[name]` in place, `await ctx.run({ batch })`, then read `ctx.outputs[name]`. No copies.
 *
 * Concurrency: one queue per context orders run, infer, runImages, imagePixels and profileLayers. `run()`,
 * `runImages()`, `profileLayers()` and `imagePixels()` on a busy context (a call in flight or queued) throw
 * ERR_CONTEXT_BUSY, because its buffers are in use; `infer()` queues instead, since it copies its feeds in only
 * when its turn comes. Use several contexts to run concurrently.
 * @example
 * const ctx = await engine.createContext();
 * ctx.inputs.input.set(pixels);
 * await ctx.run({ batch: 1 });
 * console.log(ctx.outputs.logits[0]);
 */
export class InferenceContext extends Resource {
  protected readonly resourceName = 'InferenceContext';
  readonly engine: Engine;
  readonly maxBatch: number;
  /** Pinned input views, by name. */
  readonly inputs: Readonly<Record<string, TypedArray>>;
  /** Pinned output views, by name. */
  readonly outputs: Readonly<Record<string, TypedArray>>;
  readonly #native: NativeContext;
  readonly #onDispose: () => void;
  readonly #shapes = new Map<string, Dim[]>();
  readonly #feeds: { name: string; view: TypedArray; info: TensorInfo }[] = [];
  readonly #outs: { name: string; view: TypedArray }[] = [];
  /** Each input's index among the native I/O buffers. */
  readonly #inputIndex = new Map<string, number>();
  readonly #options: { sync: SyncMode; cudaGraph: boolean };
  /** The symbol of the inputs' dynamic batch, if any (worked out once: runs read it). */
  readonly #batchSymbol: string | undefined;
  /**
   * For the common layout (no named dims besides the batch; every I/O shape is the batch symbol, then numbers):
   * elements per batch row of each input and output by name, so that infer() needs no shape binding. Undefined for
   * other engines, which take the general path.
   */
  readonly #rows: ReadonlyMap<string, number> | undefined;
  static readonly #noDims: Record<string, number> = Object.freeze({}) as Record<string, number>;
  /** Calls in flight or queued. */
  #pending = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #fault: string | undefined;
  #timings: RunTimings = { h2dMs: 0, computeMs: 0, d2hMs: 0 };
  #timingsStale = false;

  /** @internal Use engine.createContext(). */
  constructor(
    engine: Engine,
    native: NativeContext,
    maxBatch: number,
    onDispose: () => void,
    options: { sync: SyncMode; cudaGraph: boolean } = { sync: 'auto', cudaGraph: true },
  ) {
    super();
    this.engine = engine;
    this.maxBatch = maxBatch;
    this.#native = native;
    this.#onDispose = onDispose;
    this.#options = options;
    this.#batchSymbol = engine.inputs.map((t) => t.shape[0]).find((d): d is string => typeof d === 'string');
    const io = engine.native.io();
    const inputs: Record<string, TypedArray> = {};
    const outputs: Record<string, TypedArray> = {};
    const infos = new Map<string, TensorInfo>([...engine.inputs, ...engine.outputs].map((t) => [t.name, t]));
    io.forEach((t, i) => {
      const info = infos.get(t.name);
      if (!info) throw new TensorRTError(ErrorCode.PLAN_CORRUPT, `Engine tensor '${t.name}' is missing from the plan header`);
      const Ctor = arrayTypeFor(info.dtype);
      const view = new Ctor(native.buffers[i]);
      (t.isInput ? inputs : outputs)[t.name] = view;
      this.#shapes.set(t.name, info.shape);
      if (t.isInput) {
        this.#feeds.push({ name: t.name, view, info });
        this.#inputIndex.set(t.name, i);
      } else this.#outs.push({ name: t.name, view });
    });
    this.inputs = Object.freeze(inputs);
    this.outputs = Object.freeze(outputs);
    this.#rows = this.#rowLayout();
  }

  #rowLayout(): ReadonlyMap<string, number> | undefined {
    const sym = this.#batchSymbol;
    if (sym === undefined || Object.keys(this.engine.dims ?? {}).length > 0) return undefined;
    const rows = new Map<string, number>();
    for (const [name, shape] of this.#shapes) {
      if (shape.length === 0 || shape[0] !== sym) return undefined;
      let n = 1;
      for (let k = 1; k < shape.length; k++) {
        const d = shape[k];
        if (typeof d !== 'number') return undefined;
        n *= d;
      }
      if (n === 0) return undefined;
      rows.set(name, n);
    }
    return rows;
  }

  /** True while a call is in flight or queued. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  /**
   * What the context does now: its completion mode, whether runs replay CUDA graphs (and if not, why), and the
   * GPU fault that made it unusable, if one did.
   * @example if (!ctx.info.cudaGraph.active) console.warn(ctx.info.cudaGraph.reason);
   */
  get info(): ContextInfo {
    this.live();
    const n = this.#native.info?.() ?? {};
    const backend = this.engine.backend;
    let cudaGraph: ContextInfo['cudaGraph'];
    if (backend === 'reference') cudaGraph = { active: false, reason: 'the reference backend runs on the CPU' };
    else if (!this.#options.cudaGraph) cudaGraph = { active: false, reason: 'cudaGraph: false was asked for' };
    else if (n.cudaGraph === undefined) cudaGraph = { active: true };
    else cudaGraph = n.cudaGraph ? { active: true } : { active: false, reason: n.graphFallback ?? 'graph capture failed' };
    const fault = n.fault ?? this.#fault;
    const completion = n.completion;
    return { sync: backend === 'builtin' ? this.#options.sync : 'callback', cudaGraph, ...(fault ? { fault } : {}), ...(completion ? { completion } : {}) };
  }

  /** Device-event timings (H2D, compute, D2H) of the last completed run, read from its events on first access. */
  get lastTimings(): RunTimings {
    if (this.#timingsStale && !this.disposed) {
      const [h2dMs, computeMs, d2hMs] = this.#native.timings();
      this.#timings = { h2dMs, computeMs, d2hMs };
      this.#timingsStale = false;
    }
    return this.#timings;
  }

  #batch(options: RunOptions): number {
    const b = options.batch === undefined ? this.#defaultBatch() : positiveInteger(options.batch, 'batch');
    const { min, max } = this.engine.profile;
    if (b < min || b > max || b > this.maxBatch) {
      throw new TensorRTError(
        ErrorCode.BATCH_OUT_OF_RANGE,
        `Batch ${b} is outside this context's range ${min}..${Math.min(max, this.maxBatch)} (engine profile ${min}..${max}, context maxBatch ${this.maxBatch})`,
      );
    }
    return b;
  }

  #defaultBatch(): number {
    return this.engine.profile.min === this.engine.profile.max ? this.engine.profile.max : 1;
  }

  /** The engine's profile in the form shapes.ts checks against. */
  #profile(): ResolvedProfile {
    return { batch: this.engine.profile, batchSymbol: this.#batchSymbol, dims: this.engine.dims as ResolvedProfile['dims'] };
  }

  /** Values of the engine's named dims for a run: given ones checked, fixed ones (min = max) filled in. */
  #dims(given: unknown): Record<string, number> {
    if (given === undefined && this.#rows) return InferenceContext.#noDims;
    const ranges = this.engine.dims;
    const g = given === undefined ? {} : plainObject(given, 'dims');
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(g)) {
      if (!Object.hasOwn(ranges, k)) {
        throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `dims names '${k}', which is no dynamic dimension of this engine (${Object.keys(ranges).join(', ') || 'it has none besides the batch'})`);
      }
      out[k] = positiveInteger(v, `dims.${k}`);
    }
    for (const [k, r] of Object.entries(ranges)) {
      if (out[k] !== undefined) continue;
      if (r.min !== r.max) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `run() needs dims.${k}: the engine's profile lets it vary (${r.min}..${r.max})`);
      out[k] = r.min;
    }
    checkDimsInProfile(this.engine.inputs, new Map(Object.entries(out)), this.#profile(), this.maxBatch);
    return out;
  }

  /** Elements of a tensor at a batch and dims. */
  #elements(name: string, batch: number, dims: Record<string, number>): number {
    const perRow = dims === InferenceContext.#noDims ? this.#rows?.get(name) : undefined;
    if (perRow !== undefined) return perRow * batch;
    return this.#shapeAt(this.#shapes.get(name)!, batch, dims).reduce((n, d) => n * d, 1);
  }

  /**
   * A declared shape at a batch and dims. Symbolic sizes are evaluated over the batch symbol and the dims, so an
   * exporter's composite sizes ('batch*sequence', '4*sequence') resolve; a symbol neither names is the batch.
   */
  #shapeAt(shape: readonly Dim[], batch: number, dims: Record<string, number>): number[] {
    const bound = new Map(Object.entries(dims));
    const sym = this.#batchSymbol;
    if (sym !== undefined && !bound.has(sym)) bound.set(sym, batch);
    return shape.map((d, i) => (typeof d === 'number' ? d : (evalDim(d, bound) ?? (i === 0 && !(d in dims) ? batch : (dims[d] ?? batch)))));
  }

  /**
   * Runs one batch on the GPU: copies the first `batch` rows of every input in, runs, copies outputs back.
   * Resolves when the outputs are ready; throws ERR_CONTEXT_BUSY if a call is in flight or queued.
   * @example ctx.inputs.input.set(x); await ctx.run({ batch: 4 });
   */
  async run(options: RunOptions = {}): Promise<void> {
    this.#usable();
    const o = plainObject(options, 'options');
    knownKeys(o, 'run options', ['batch', 'transfers', 'dims']);
    const batch = this.#batch(o as RunOptions);
    const dims = this.#dims(o.dims);
    const transfers = o.transfers === undefined ? true : boolean(o.transfers, 'transfers');
    this.#idle();
    return this.#schedule(() => this.#gpu(() => this.#nativeRun(batch, transfers, dims)));
  }

  /**
   * @internal The batcher's run: each part (one request's rows of one input, `offset` in elements) is copied into
   * the pinned inputs, off the JS thread where the backend can (builtin: on the thread pool, so that gathering a
   * batch of many requests does not hold the event loop), then the batch runs with transfers. Parts must not change
   * until it settles.
   */
  async runRows(batch: number, parts: readonly { name: string; offset: number; data: TypedArray }[]): Promise<void> {
    this.#usable();
    const b = this.#batch({ batch });
    this.#idle();
    const triples = parts.map((p): [number, number, ArrayBufferView] => {
      const index = this.#inputIndex.get(p.name);
      if (index === undefined) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Unknown input '${p.name}'`);
      const view = this.inputs[p.name];
      if (!(p.data instanceof (view.constructor as new () => TypedArray))) {
        throw new TensorRTError(ErrorCode.INVALID_INPUT, `Expected a ${view.constructor.name} for input '${p.name}' but received ${describe(p.data)}`);
      }
      if (!Number.isSafeInteger(p.offset) || p.offset < 0 || p.offset + p.data.length > view.length) {
        throw new TensorRTError(ErrorCode.INVALID_INPUT, `Rows of input '${p.name}' at element ${p.offset} (${p.data.length} elements) do not fit its ${view.length}-element buffer`);
      }
      return [index, p.offset * view.BYTES_PER_ELEMENT, p.data];
    });
    const native = this.#native.runRows?.bind(this.#native);
    if (!native || Object.keys(this.engine.dims).length > 0) {
      for (const p of parts) (this.inputs[p.name] as unknown as { set(a: ArrayLike<number | bigint>, at: number): void }).set(p.data as never, p.offset);
      return this.#schedule(() => this.#gpu(() => this.#nativeRun(b, true, {})));
    }
    return this.#schedule(() => this.#gpu(() => native(b, triples)));
  }

  /**
   * Engines without named dims keep the two-argument call their native contexts expect; others get the dims and
   * every input's full shape at this run (the tensorrt backend sets those shapes on its execution context).
   */
  #nativeRun(batch: number, transfers: boolean, dims: Record<string, number>): Promise<void> {
    return Object.keys(dims).length ? this.#native.run(batch, transfers, dims, this.#inputShapes(batch, dims)) : this.#native.run(batch, transfers);
  }

  /** Each input's shape at a batch and dims, in the native I/O order. */
  #inputShapes(batch: number, dims: Record<string, number>): number[][] {
    return this.#feeds.map((f) => this.#shapeAt(f.info.shape, batch, dims));
  }

  /** After an await: ERR_DISPOSED when the context was disposed while `what` ran (its outputs went with it). */
  #notDisposedDuring(what: string): void {
    if (this.disposed) throw new TensorRTError(ErrorCode.DISPOSED, `InferenceContext was disposed while ${what}() ran; its outputs are gone`);
  }

  /** Throws ERR_DISPOSED, or ERR_CUDA_FAULT once a run failed on the GPU. */
  #usable(): void {
    this.live();
    if (this.#fault) throw new TensorRTError(ErrorCode.CUDA_FAULT, `This context is unusable: an earlier run failed on the GPU. ${this.#fault}`);
  }

  #idle(): void {
    if (this.#pending > 0) {
      throw new TensorRTError(ErrorCode.CONTEXT_BUSY, 'This context is already running; await the previous call or use another context');
    }
  }

  /**
   * The context's one queue: `job` starts at once when nothing is pending, else after everything queued before it.
   * `busy` is false again by the time the caller's await resumes.
   */
  #schedule<T>(job: () => Promise<T>): Promise<T> {
    const first = this.#pending === 0;
    this.#pending++;
    let started: Promise<T>;
    try {
      started = first
        ? job()
        : this.#tail.then(() => {
            this.#usable();
            return job();
          });
    } catch (e) {
      started = Promise.reject(e);
    }
    const done = started.finally(() => {
      this.#pending--;
    });
    this.#tail = done.catch(() => undefined);
    return done;
  }

  /**
   * Starts native work (synchronously: its enqueue happens inside the caller's call) and settles with it; a
   * failure carries the caller's stack (withStack) and marks the context faulted when the GPU faulted.
   */
  #gpu<T>(work: () => Promise<T>): Promise<T> {
    let started: Promise<T>;
    try {
      started = work();
    } catch (e) {
      started = Promise.reject(e); // a synchronous throw (a faulted context, a failed launch) takes the same path
    }
    return withStack(started).then(
      (r) => {
        this.#timingsStale = true;
        return r;
      },
      (e: unknown) => {
        if (hasCode(e, ErrorCode.CUDA_FAULT)) this.#fault = e.message;
        throw e;
      },
    );
  }

  /**
   * Convenience form: copies `feeds` in, runs, and returns fresh output arrays (batch rows only).
   * The batch and other dynamic dims come from the feeds' lengths and `options.dims` (e.g. { sequence: 12 }:
   * with a flat [batch, sequence] input one of the two must be given). Calls on a busy context queue.
   * @example const { logits } = await ctx.infer({ input: new Float32Array(3 * 224 * 224) });
   * @example const { last_hidden_state } = await ctx.infer({ input_ids: ids, attention_mask: mask }, { dims: { sequence: 12 } });
   */
  async infer(feeds: Record<string, TypedArray>, options: { dims?: Record<string, number> } = {}): Promise<Record<string, TypedArray>> {
    this.#usable();
    const o = plainObject(options, 'options');
    knownKeys(o, 'infer options', ['dims']);
    const { batch, dims } = this.#checkFeeds(feeds, o.dims);
    return this.#schedule(async () => {
      // Straight into the pinned inputs, batch rows only: the one copy a caller's array needs (natively where the
      // backend can, with streaming stores for large feeds: the GPU reads them next, not the CPU).
      const copyIn = this.#native.copyIn;
      for (const f of this.#feeds) {
        const data = feeds[f.name];
        if (copyIn) copyIn.call(this.#native, this.#inputIndex.get(f.name)!, data);
        else (f.view as unknown as { set(a: ArrayLike<number | bigint>): void }).set(data as never);
      }
      await this.#gpu(() => this.#nativeRun(batch, true, dims));
      // Disposed while it ran: the pinned views are detached, the outputs gone with them.
      this.#notDisposedDuring('infer');
      const out: Record<string, TypedArray> = {};
      for (const o of this.#outs) out[o.name] = o.view.slice(0, this.#elements(o.name, batch, dims));
      return out;
    });
  }

  #checkFeeds(feeds: Record<string, TypedArray>, given: unknown): { batch: number; dims: Record<string, number> } {
    const fast = given === undefined ? this.#simpleBatch(feeds) : undefined;
    if (fast !== undefined) return { batch: fast, dims: InferenceContext.#noDims };
    const f = plainObject(feeds, 'feeds');
    const names = this.engine.inputs.map((t) => t.name);
    for (const n of names) {
      if (!(n in f)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Missing input '${n}'; the engine's inputs are ${names.map((x) => `'${x}'`).join(', ')}`);
    }
    for (const [name, data] of Object.entries(f)) {
      const info = this.engine.inputs.find((t) => t.name === name);
      if (!info) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Unknown input '${name}'; the engine's inputs are ${names.map((x) => `'${x}'`).join(', ')}`);
      const Ctor = arrayTypeFor(info.dtype);
      if (!(data instanceof Ctor)) {
        throw new TensorRTError(ErrorCode.INVALID_INPUT, `Expected a ${Ctor.name} for input '${name}' (${info.dtype}) but received ${describe(data)}`);
      }
      if ((data as TypedArray).length === 0) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Input '${name}' is empty`);
    }
    const g = given === undefined ? {} : plainObject(given, 'dims');
    // Dims the profile fixes need not be given.
    const known: Record<string, number> = {};
    for (const [k, r] of Object.entries(this.engine.dims)) if (r.min === r.max && g[k] === undefined) known[k] = r.min;
    const bound = bindInputDims(this.engine.inputs, Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { length: (v as TypedArray).length }])), { ...known, ...(g as Record<string, number>) });
    const profile = this.#profile();
    checkDimsInProfile(this.engine.inputs, bound, profile, this.maxBatch);
    const batch = profile.batchSymbol ? (bound.get(profile.batchSymbol) ?? this.#defaultBatch()) : this.#defaultBatch();
    const dims: Record<string, number> = {};
    for (const k of Object.keys(this.engine.dims)) if (bound.has(k)) dims[k] = bound.get(k)!;
    return { batch: this.#batch({ batch }), dims };
  }

  /**
   * infer()'s batch for the common layout (#rows) when the feeds are exactly the engine's inputs, of the right
   * array types, whole rows, one batch for all, within range. Undefined otherwise: the general path then finds
   * the batch or says what is wrong.
   */
  #simpleBatch(feeds: Record<string, TypedArray>): number | undefined {
    const rows = this.#rows;
    if (!rows || feeds === null || typeof feeds !== 'object' || Object.getPrototypeOf(feeds) !== Object.prototype) return undefined;
    let batch = 0;
    let seen = 0;
    for (const f of this.#feeds) {
      const data = feeds[f.name];
      if (data === undefined || !(data instanceof (f.view.constructor as new () => TypedArray))) return undefined;
      const n = data.length / rows.get(f.name)!;
      if (!Number.isInteger(n) || n < 1 || (batch !== 0 && n !== batch)) return undefined;
      batch = n;
      seen++;
    }
    let keys = 0;
    for (const k in feeds) if (Object.hasOwn(feeds, k)) keys++;
    if (keys !== seen) return undefined;
    const { min, max } = this.engine.profile;
    return batch >= min && batch <= Math.min(max, this.maxBatch) ? batch : undefined;
  }

  /**
   * Pinned RGBA8 pixels for device-side preprocessing: `maxBatch` images of the input's height × width, 4 bytes
   * per pixel (jimp's bitmap layout). Fill it, then `runImages()`. Uploads 4× fewer bytes than float32.
   * @example ctx.imagePixels().set(image.bitmap.data); await ctx.runImages({ batch: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
   */
  imagePixels(input?: string): Uint8Array {
    this.#usable();
    const info = this.#imageInput(input);
    if (!this.#native.imageBuffer) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `The ${this.engine.backend} backend has no device-side image preprocessing`);
    this.#idle(); // a new size reallocates the staging memory a queued or running call may be reading
    return new Uint8Array(this.#native.imageBuffer(info.shape[2] as number, info.shape[3] as number));
  }

  /**
   * Runs a batch whose image input is normalized on the GPU from `imagePixels()`: (px/255 − mean) / std per channel.
   * @example await ctx.runImages({ batch: 4, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
   */
  async runImages(options: { batch?: number; input?: string; mean: number[]; std: number[] }): Promise<void> {
    this.#usable();
    const o = plainObject(options, 'options');
    knownKeys(o, 'runImages options', ['batch', 'input', 'mean', 'std']);
    const info = this.#imageInput(o.input as string | undefined);
    const batch = this.#batch({ batch: o.batch as number | undefined });
    const triple = (v: unknown, name: string) => {
      if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected 3 finite numbers for ${name} but received ${describe(v)}`);
      }
      return v as number[];
    };
    const mean = triple(o.mean, 'mean');
    const std = triple(o.std, 'std');
    if (std.some((x) => x === 0)) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, 'std must not contain 0');
    const runImages = this.#native.runImages?.bind(this.#native);
    if (!runImages) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `The ${this.engine.backend} backend has no device-side image preprocessing`);
    this.#idle();
    const index = this.#inputIndex.get(info.name)!;
    return this.#schedule(() => this.#gpu(() => runImages(batch, index, mean, std)));
  }

  #imageInput(name?: string): TensorInfo {
    const candidates = this.engine.inputs.filter((t) => t.shape.length === 4 && t.shape[1] === 3 && typeof t.shape[2] === 'number');
    const info = name === undefined ? candidates[0] : candidates.find((t) => t.name === name);
    if (!info) {
      throw new TensorRTError(ErrorCode.INVALID_INPUT, `${name === undefined ? 'The engine has no' : `'${name}' is not an`} NCHW image input with 3 channels`);
    }
    // The device kernel writes batch × 3 × H × W floats: the input must be a float tensor whose buffer holds them.
    const image = 3 * (info.shape[2] as number) * Number(info.shape[3]);
    const view = this.inputs[info.name];
    if ((info.dtype !== 'float32' && info.dtype !== 'float16') || !Number.isSafeInteger(image) || !view || view.length < this.maxBatch * image) {
      throw new TensorRTError(
        ErrorCode.INVALID_INPUT,
        `Input '${info.name}' (${info.dtype}, ${view?.length ?? 0} elements) cannot hold ${this.maxBatch} float images of [${info.shape.slice(1).join(', ')}]`,
      );
    }
    return info;
  }

  /**
   * Per-layer GPU time (median over `iterations`), like trtexec's --exportProfile.
   * @example const layers = await ctx.profileLayers({ batch: 1, iterations: 50 });
   * @example const layers = await ctx.profileLayers({ batch: 8, dims: { sequence: 128 } });
   */
  async profileLayers(options: { batch?: number; iterations?: number; dims?: Record<string, number> } = {}): Promise<LayerProfile[]> {
    this.#usable();
    const o = plainObject(options, 'options');
    knownKeys(o, 'profileLayers options', ['batch', 'iterations', 'dims']);
    const batch = this.#batch({ batch: options.batch });
    const iterations = positiveInteger(options.iterations ?? 20, 'iterations');
    // Dims the engine lets vary default to their opt here: a profile is of one shape.
    const dims = this.#dims({ ...Object.fromEntries(Object.entries(this.engine.dims).map(([k, r]) => [k, r.opt])), ...(o.dims === undefined ? {} : plainObject(o.dims, 'dims')) });
    this.#idle();
    return this.#schedule(() =>
      this.#gpu(() => (Object.keys(dims).length ? this.#native.profile(batch, iterations, dims, this.#inputShapes(batch, dims)) : this.#native.profile(batch, iterations))),
    );
  }

  protected release(): void {
    this.#native.dispose();
    this.#onDispose();
  }
}
