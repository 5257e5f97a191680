// A pool of contexts over one or more GPUs: each device holds its own copy of the engine (weights live where
// they run), and every request goes to the least-loaded context.
import { capabilities } from './capabilities.js';
import { loadEngine } from './builder.js';
import type { InferenceContext } from './context.js';
import { resolveDevice } from './device.js';
import { Engine } from './engine.js';
import { ErrorCode, TensorRTError } from './errors.js';
import { readPlan } from './plan.js';
import type { TypedArray } from './tensor.js';
import { readInputFile } from './util/fs.js';
import { invalid, knownKeys, nonEmptyString, plainObject, positiveInteger } from './validate.js';

export interface PoolOptions {
  /** GPU indices, or 'all' (default). Ignored for the reference backend. */
  devices?: 'all' | number[];
  /** Contexts per device (default 2). */
  contextsPerDevice?: number;
  /** Largest batch per request (default: the engine profile's max). */
  maxBatch?: number;
}

interface Slot {
  ctx: InferenceContext;
  device: number;
  pending: number;
  served: number;
}

/**
 * Spreads concurrent requests over contexts on every listed GPU.
 * @example
 * const pool = await createPool(engine, { devices: 'all', contextsPerDevice: 2 });
 * const { logits } = await pool.infer({ input });
 * pool.dispose();
 */
export class Pool {
  readonly devices: readonly number[];
  readonly #engines: Engine[];
  readonly #slots: Slot[];
  #next = 0;
  #disposed = false;

  /** @internal Use createPool(). */
  constructor(devices: number[], engines: Engine[], slots: Slot[]) {
    this.devices = Object.freeze([...devices]);
    this.#engines = engines;
    this.#slots = slots;
  }

  /** Requests in flight or queued, per context. */
  get load(): { device: number; pending: number; served: number }[] {
    return this.#slots.map((s) => ({ device: s.device, pending: s.pending, served: s.served }));
  }

  /** Runs `feeds` on the least-loaded context (ties go round-robin) and returns fresh output arrays. */
  async infer(feeds: Record<string, TypedArray>): Promise<Record<string, TypedArray>> {
    if (this.#disposed) throw new TensorRTError(ErrorCode.DISPOSED, 'Pool has been disposed');
    let best = -1;
    for (let k = 0; k < this.#slots.length; k++) {
      const i = (this.#next + k) % this.#slots.length;
      if (best < 0 || this.#slots[i].pending < this.#slots[best].pending) best = i;
    }
    this.#next = (best + 1) % this.#slots.length;
    const slot = this.#slots[best];
    slot.pending++;
    try {
      return await slot.ctx.infer(feeds);
    } finally {
      slot.pending--;
      slot.served++;
    }
  }

  /** Frees every context, then every per-device engine the pool loaded. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const s of this.#slots) s.ctx.dispose();
    for (const e of this.#engines) e.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Creates a pool from an engine (its plan is loaded on each device) or a plan file / bytes.
 * @example const pool = await createPool('model.plan', { devices: [0, 1] });
 */
export async function createPool(source: Engine | string | Uint8Array, options: PoolOptions = {}): Promise<Pool> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'createPool options', ['devices', 'contextsPerDevice', 'maxBatch']);
  const perDevice = positiveInteger(o.contextsPerDevice ?? 2, 'contextsPerDevice');
  let plan: string | Uint8Array;
  let backend: string;
  if (source instanceof Engine) {
    plan = source.serialize();
    backend = source.backend;
  } else if (typeof source === 'string' || source instanceof Uint8Array) {
    // The header says where the plan runs: a reference plan needs no GPU.
    const bytes: Uint8Array = typeof source === 'string' ? new Uint8Array(await readInputFile(nonEmptyString(source, 'source'), 'plan')) : source;
    backend = readPlan(bytes).header.backend;
    plan = bytes;
  } else {
    return invalid('an Engine, a plan path or plan bytes', 'source', source);
  }
  const reference = backend === 'reference';
  let devices: number[];
  if (reference) {
    devices = [-1];
  } else if (o.devices === undefined || o.devices === 'all') {
    const n = capabilities().cuda.devices.length;
    if (n === 0) resolveDevice(0); // throws the coded "no CUDA device" error
    devices = Array.from({ length: n }, (_, i) => i);
  } else if (Array.isArray(o.devices) && o.devices.length > 0) {
    devices = o.devices.map((d, i) => resolveDevice(d, `devices[${i}]`));
    if (new Set(devices).size !== devices.length) invalid('distinct device indices', 'devices', o.devices);
  } else {
    return invalid("'all' or a non-empty array of device indices", 'devices', o.devices);
  }
  const engines: Engine[] = [];
  const slots: Slot[] = [];
  try {
    for (const device of devices) {
      const engine = reference && source instanceof Engine ? source : await loadEngine(plan, { device: Math.max(device, 0) });
      if (!(reference && source instanceof Engine)) engines.push(engine);
      const maxBatch = o.maxBatch === undefined ? engine.profile.max : positiveInteger(o.maxBatch, 'maxBatch');
      for (let k = 0; k < perDevice; k++) slots.push({ ctx: await engine.createContext({ maxBatch }), device, pending: 0, served: 0 });
    }
  } catch (e) {
    for (const s of slots) s.ctx.dispose();
    for (const e2 of engines) e2.dispose({ contexts: true });
    throw e;
  }
  return new Pool(devices, engines, slots);
}
