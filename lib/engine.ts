// Engine: a deserialized plan of any backend, with its I/O metadata; parent of its contexts.
import { writeFile } from 'node:fs/promises';
import { Resource } from './disposable.js';
import { ErrorCode, TensorRTError } from './errors.js';
import type { NativeEngine } from './native.js';
import type { PlanHeader } from './plan.js';
import type { BackendName } from './capabilities.js';
import { InferenceContext } from './context.js';
import type { BatchProfile, BuildInfo, ContextOptions, DimRange, Precision, TensorInfo } from './types.js';
import { boolean, knownKeys, nonEmptyString, oneOf, plainObject, positiveInteger } from './validate.js';
import { withStack } from './util/stack.js';

/** @internal What a backend hands to the Engine constructor. */
export interface EngineParts {
  native: NativeEngine;
  header: PlanHeader;
  /** The serialized plan (container bytes). */
  plan: Uint8Array;
  device: number;
  buildInfo?: BuildInfo;
}

/**
 * An optimized, loaded engine. Create contexts to run it; save() writes its plan file.
 * @example
 * const engine = await buildEngine('mobilenetv2.onnx');
 * await engine.save('mobilenetv2.plan');
 * const ctx = await engine.createContext();
 */
export class Engine extends Resource {
  protected readonly resourceName = 'Engine';
  readonly backend: BackendName;
  readonly precision: Precision;
  /** GPU index; -1 for the reference backend. */
  readonly device: number;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** The batch range the engine was built for. */
  readonly profile: BatchProfile;
  /** Ranges of the other dynamic dims, by name (e.g. { sequence: { min: 1, opt: 128, max: 512 } }); {} when only the batch varies. */
  readonly dims: Readonly<Record<string, Readonly<DimRange>>>;
  /** Present when this process built the engine. */
  readonly buildInfo?: BuildInfo;
  /** @internal */ readonly native: NativeEngine;
  readonly #header: PlanHeader;
  readonly #plan: Uint8Array;
  readonly #contexts = new Set<InferenceContext>();

  /** @internal Use buildEngine() or loadEngine(). */
  constructor(parts: EngineParts) {
    super();
    this.native = parts.native;
    this.#header = parts.header;
    this.#plan = parts.plan;
    this.backend = parts.header.backend;
    this.precision = parts.header.precision;
    this.device = parts.device;
    this.inputs = Object.freeze(parts.header.inputs.map((t) => Object.freeze({ ...t, shape: [...t.shape] })));
    this.outputs = Object.freeze(parts.header.outputs.map((t) => Object.freeze({ ...t, shape: [...t.shape] })));
    this.profile = Object.freeze({ ...parts.header.profile });
    this.dims = Object.freeze(Object.fromEntries(Object.entries(parts.header.dims ?? {}).map(([k, r]) => [k, Object.freeze({ ...r })])));
    this.buildInfo = parts.buildInfo;
  }

  /** The plan header (backend, versions, compute capability, I/O). */
  get header(): PlanHeader {
    return this.#header;
  }

  /** Size of the serialized plan in bytes. */
  get planBytes(): number {
    return this.#plan.byteLength;
  }

  /** Number of contexts that are alive. */
  get liveContexts(): number {
    return this.#contexts.size;
  }

  /** The plan file's bytes. @example fs.writeFileSync('m.plan', engine.serialize()) */
  serialize(): Uint8Array {
    this.live();
    return this.#plan;
  }

  /** Writes the plan file. @example await engine.save('model.plan'); */
  async save(path: string): Promise<void> {
    this.live();
    nonEmptyString(path, 'path');
    try {
      await writeFile(path, this.#plan);
    } catch (e) {
      throw new TensorRTError(ErrorCode.IO, `Could not write the plan to ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Creates an execution context: its own stream, device buffers and pinned I/O buffers.
   * @example const ctx = await engine.createContext({ maxBatch: 8 });
   */
  async createContext(options: ContextOptions = {}): Promise<InferenceContext> {
    this.live();
    const o = plainObject(options, 'options');
    knownKeys(o, 'createContext options', ['maxBatch', 'cudaGraph', 'sync']);
    const maxBatch = o.maxBatch === undefined ? this.profile.max : positiveInteger(o.maxBatch, 'maxBatch');
    if (maxBatch > this.profile.max) {
      throw new TensorRTError(
        ErrorCode.BATCH_OUT_OF_RANGE,
        `maxBatch ${maxBatch} exceeds the engine's profile (batch ${this.profile.min}..${this.profile.max})`,
      );
    }
    const cudaGraph = o.cudaGraph === undefined ? true : boolean(o.cudaGraph, 'cudaGraph');
    const sync = oneOf(o.sync ?? 'callback', 'sync', ['callback', 'spin', 'blocking'] as const);
    const native = await withStack(this.native.createContext(maxBatch, cudaGraph, { callback: 0, spin: 1, blocking: 2 }[sync]));
    if (this.disposed) {
      native.dispose();
      throw new TensorRTError(ErrorCode.DISPOSED, 'Engine has been disposed');
    }
    const ctx = new InferenceContext(this, native, maxBatch, () => this.#contexts.delete(ctx));
    this.#contexts.add(ctx);
    return ctx;
  }

  /**
   * Frees the engine. Refuses with ERR_ENGINE_IN_USE while contexts are alive, unless
   * `{ contexts: true }` asks to dispose them first.
   */
  override dispose(options: { contexts?: boolean } = {}): void {
    if (this.disposed) return;
    if (this.#contexts.size > 0) {
      if (!options.contexts) {
        throw new TensorRTError(
          ErrorCode.ENGINE_IN_USE,
          `Engine has ${this.#contexts.size} live context${this.#contexts.size === 1 ? '' : 's'}; dispose them first, or call engine.dispose({ contexts: true })`,
        );
      }
      for (const c of [...this.#contexts]) c.dispose();
    }
    super.dispose();
  }

  protected release(): void {
    this.native.dispose();
  }
}
