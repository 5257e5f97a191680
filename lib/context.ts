// InferenceContext: one stream, its device buffers and pinned I/O buffers that JS fills and reads in place.
import { Resource } from './disposable.js';
import type { Engine } from './engine.js';
import { ErrorCode, TensorRTError } from './errors.js';
import type { NativeContext } from './native.js';
import { bindInputDims, checkDimsInProfile, type ResolvedProfile } from './shapes.js';
import { arrayTypeFor, type TypedArray } from './tensor.js';
import type { Dim, LayerProfile, RunOptions, RunTimings, TensorInfo } from './types.js';
import { describe, knownKeys, plainObject, positiveInteger, boolean } from './validate.js';
import { withStack } from './util/stack.js';

/**
 * Runs an engine. Inputs and outputs are typed arrays over pinned host memory, sized for `maxBatch`:
 * fill `ctx.inputs[name]` in place, `await ctx.run({ batch })`, then read `ctx.outputs[name]`. No copies.
 *
 * Concurrency: `run()` on a context whose previous run has not finished throws ERR_CONTEXT_BUSY (its buffers
 * are in use); `infer()` queues instead, since it copies its feeds in only when the context is free.
 * Use several contexts to run concurrently.
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
  #busy = false;
  #queue: Promise<unknown> = Promise.resolve();
  #timings: RunTimings = { h2dMs: 0, computeMs: 0, d2hMs: 0 };
  #timingsStale = false;

  /** @internal Use engine.createContext(). */
  constructor(engine: Engine, native: NativeContext, maxBatch: number, onDispose: () => void) {
    super();
    this.engine = engine;
    this.maxBatch = maxBatch;
    this.#native = native;
    this.#onDispose = onDispose;
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
    });
    this.inputs = Object.freeze(inputs);
    this.outputs = Object.freeze(outputs);
  }

  /** True while a run is in flight. */
  get busy(): boolean {
    return this.#busy;
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

  /** The engine's profile in the form shapes.ts checks against. */
  #profile(): ResolvedProfile {
    const sym = this.engine.inputs.map((t) => t.shape[0]).find((d): d is string => typeof d === 'string');
    return { batch: this.engine.profile, batchSymbol: sym, dims: this.engine.dims as ResolvedProfile['dims'] };
  }

  /** Values of the engine's named dims for a run: given ones checked, fixed ones (min = max) filled in. */
  #dims(given: unknown): Record<string, number> {
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
    const shape = this.#shapes.get(name)!;
    return shape.reduce<number>((n, d, i) => n * (typeof d === 'number' ? d : i === 0 && !(d in dims) ? batch : (dims[d] ?? batch)), 1);
  }

  #defaultBatch(): number {
    return this.engine.profile.min === this.engine.profile.max ? this.engine.profile.max : 1;
  }

  /**
   * Runs one batch on the GPU: copies the first `batch` rows of every input in, runs, copies outputs back.
   * Resolves when the outputs are ready; throws ERR_CONTEXT_BUSY if a run is already in flight.
   * @example ctx.inputs.input.set(x); await ctx.run({ batch: 4 });
   */
  async run(options: RunOptions = {}): Promise<void> {
    this.live();
    const o = plainObject(options, 'options');
    knownKeys(o, 'run options', ['batch', 'transfers', 'dims']);
    const batch = this.#batch(o as RunOptions);
    const dims = this.#dims(o.dims);
    const transfers = o.transfers === undefined ? true : boolean(o.transfers, 'transfers');
    if (this.#busy) {
      throw new TensorRTError(ErrorCode.CONTEXT_BUSY, 'This context is already running; await the previous run() or use another context');
    }
    return this.#start(batch, transfers, dims);
  }

  async #start(batch: number, transfers: boolean, dims: Record<string, number>): Promise<void> {
    this.#busy = true;
    try {
      // Engines without named dims keep the two-argument call their native contexts expect.
      await withStack(Object.keys(dims).length ? this.#native.run(batch, transfers, dims) : this.#native.run(batch, transfers));
      this.#timingsStale = true;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Convenience form: copies `feeds` in, runs, and returns fresh output arrays (batch rows only).
   * The batch and other dynamic dims come from the feeds' lengths and `options.dims` (e.g. { sequence: 12 }:
   * with a flat [batch, sequence] input one of the two must be given). Calls on a busy context queue.
   * @example const { logits } = await ctx.infer({ input: new Float32Array(3 * 224 * 224) });
   * @example const { last_hidden_state } = await ctx.infer({ input_ids: ids, attention_mask: mask }, { dims: { sequence: 12 } });
   */
  async infer(feeds: Record<string, TypedArray>, options: { dims?: Record<string, number> } = {}): Promise<Record<string, TypedArray>> {
    this.live();
    const o = plainObject(options, 'options');
    knownKeys(o, 'infer options', ['dims']);
    const { batch, dims } = this.#checkFeeds(feeds, o.dims);
    const next = this.#queue.then(async () => {
      this.live();
      for (const [name, data] of Object.entries(feeds)) (this.inputs[name] as TypedArray & { set(a: ArrayLike<unknown>): void }).set(data as never);
      await this.#start(batch, true, dims);
      const out: Record<string, TypedArray> = {};
      for (const [name, view] of Object.entries(this.outputs)) out[name] = view.slice(0, this.#elements(name, batch, dims));
      return out;
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #checkFeeds(feeds: Record<string, TypedArray>, given: unknown): { batch: number; dims: Record<string, number> } {
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
   * Pinned RGBA8 pixels for device-side preprocessing: `maxBatch` images of the input's height × width, 4 bytes
   * per pixel (jimp's bitmap layout). Fill it, then `runImages()`. Uploads 4× fewer bytes than float32.
   * @example ctx.imagePixels().set(image.bitmap.data); await ctx.runImages({ batch: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
   */
  imagePixels(input?: string): Uint8Array {
    this.live();
    const info = this.#imageInput(input);
    if (!this.#native.imageBuffer) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `The ${this.engine.backend} backend has no device-side image preprocessing`);
    return new Uint8Array(this.#native.imageBuffer(info.shape[2] as number, info.shape[3] as number));
  }

  /**
   * Runs a batch whose image input is normalized on the GPU from `imagePixels()`: (px/255 − mean) / std per channel.
   * @example await ctx.runImages({ batch: 4, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
   */
  async runImages(options: { batch?: number; input?: string; mean: number[]; std: number[] }): Promise<void> {
    this.live();
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
    if (!this.#native.runImages) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `The ${this.engine.backend} backend has no device-side image preprocessing`);
    if (this.#busy) throw new TensorRTError(ErrorCode.CONTEXT_BUSY, 'This context is already running; await the previous run() or use another context');
    const index = this.engine.native.io().findIndex((t) => t.name === info.name);
    this.#busy = true;
    try {
      await withStack(this.#native.runImages(batch, index, mean, std));
      this.#timingsStale = true;
    } finally {
      this.#busy = false;
    }
  }

  #imageInput(name?: string): TensorInfo {
    const candidates = this.engine.inputs.filter((t) => t.shape.length === 4 && t.shape[1] === 3 && typeof t.shape[2] === 'number');
    const info = name === undefined ? candidates[0] : candidates.find((t) => t.name === name);
    if (!info) {
      throw new TensorRTError(ErrorCode.INVALID_INPUT, `${name === undefined ? 'The engine has no' : `'${name}' is not an`} NCHW image input with 3 channels`);
    }
    return info;
  }

  /**
   * Per-layer GPU time (median over `iterations`), like trtexec's --exportProfile.
   * @example const layers = await ctx.profileLayers({ batch: 1, iterations: 50 });
   */
  async profileLayers(options: { batch?: number; iterations?: number } = {}): Promise<LayerProfile[]> {
    this.live();
    const batch = this.#batch({ batch: options.batch });
    const iterations = positiveInteger(options.iterations ?? 20, 'iterations');
    if (this.#busy) throw new TensorRTError(ErrorCode.CONTEXT_BUSY, 'This context is already running');
    this.#busy = true;
    try {
      return await withStack(this.#native.profile(batch, iterations));
    } finally {
      this.#busy = false;
    }
  }

  protected release(): void {
    this.#native.dispose();
    this.#onDispose();
  }
}
