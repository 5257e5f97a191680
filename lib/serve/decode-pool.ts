// Decoding large JSON request bodies off the event loop. A KServe JSON body of one 224×224 image is 1–3 MB of
// text that JSON.parse reads in 5–20 ms: on the event loop's thread that caps a server near 70 requests/s and
// stalls every other request meanwhile. Bodies past `minBytes` go to a pool of worker threads (piscina), whose
// decoded tensors are moved back, not copied; binary-data requests and small bodies stay on the loop, where
// they cost microseconds.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { TensorRTError, type ErrorCodeValue } from '../errors.js';
import type { DecodeResult } from './decode-worker.js';
import { decodeInferRequest, type InferRequest, type ModelSpec } from './kserve.js';

/** The built worker module: beside this file, or, when running from the TypeScript sources, in dist/. */
function workerFile(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? path.resolve(path.dirname(here), '../../dist/lib/serve/decode-worker.js') : path.join(path.dirname(here), 'decode-worker.js');
  return existsSync(file) ? file : undefined;
}

export interface DecodePoolOptions {
  /** Worker threads (default: the cores less one, at most 8; 0 decodes everything on the event loop). */
  threads?: number;
  /** Bodies of at least this many bytes without binary tensors go to a thread (default 64 KiB). */
  minBytes?: number;
}

/**
 * Decodes POST …/infer bodies, large JSON ones on worker threads.
 * @example const pool = new DecodePool(spec); const req = await pool.decode(body, undefined); await pool.close();
 */
export class DecodePool {
  readonly threads: number;
  readonly #spec: ModelSpec;
  readonly #minBytes: number;
  readonly #pool: Piscina | undefined;
  #offloaded = 0;

  constructor(spec: ModelSpec, options: DecodePoolOptions = {}) {
    this.#spec = spec;
    this.#minBytes = options.minBytes ?? 64 * 1024;
    const file = workerFile();
    const threads = file ? (options.threads ?? Math.max(1, Math.min(8, availableParallelism() - 1))) : 0;
    this.threads = threads;
    // Threads start on the first large body and stop after a minute idle.
    this.#pool = threads > 0 ? new Piscina({ filename: file, workerData: spec, minThreads: 0, maxThreads: threads, idleTimeout: 60_000 }) : undefined;
  }

  /** The request a body carries; every problem is an ERR_INVALID_INPUT naming what is wrong, as on the loop. */
  async decode(body: Buffer, headerLength: number | undefined): Promise<InferRequest> {
    if (!this.#pool || headerLength !== undefined || body.length < this.#minBytes) return decodeInferRequest(body, headerLength, this.#spec);
    // A body that owns its memory is moved to the thread; one that shares a pool slab is copied first.
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : Buffer.from(body);
    this.#offloaded++;
    const r = (await this.#pool.run({ body: own }, { transferList: [own.buffer as ArrayBuffer] })) as DecodeResult;
    if ('error' in r) throw new TensorRTError(r.error.code as ErrorCodeValue, r.error.message);
    return r.request;
  }

  /** Bodies decoded on a thread so far. */
  get offloaded(): number {
    return this.#offloaded;
  }

  /** Stops the threads (after the tasks they run). */
  async close(): Promise<void> {
    await this.#pool?.close();
  }
}
