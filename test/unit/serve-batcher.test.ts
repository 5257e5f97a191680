import { afterEach, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { ErrorCode, TensorRTError } from '../../lib/errors.js';
import { createPool } from '../../lib/pool.js';
import { createBatcher, type BatchInfo, type Batcher } from '../../lib/serve/batcher.js';
import { fillUniform, uniformRandom } from '../../lib/util/random.js';
import { mlp } from '../helpers/onnx-writer.js';

const IN = 16;
const OUT = 4;
const code = (p: Promise<unknown>) => p.then(() => 'no error', (e) => (e as { code?: string }).code);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const row = (seed: number, rows = 1) => fillUniform(new Float32Array(rows * IN), seed);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engineOf(batch: number | string = 'batch', maxBatch = 32): Promise<Engine> {
  const { onnx } = mlp(IN, 32, OUT, uniformRandom(7), batch);
  const shapes = typeof batch === 'string' ? { x: { min: [1, IN], opt: [maxBatch, IN], max: [maxBatch, IN] } } : undefined;
  const engine = await buildEngine(onnx, { backend: 'reference', shapes });
  cleanups.push(() => engine.dispose({ contexts: true }));
  return engine;
}

async function batcherOf(engine: Engine, options: Parameters<typeof createBatcher>[1] = {}): Promise<{ batcher: Batcher; batches: BatchInfo[] }> {
  const batches: BatchInfo[] = [];
  const batcher = await createBatcher(engine, { ...options, onBatch: (b) => batches.push(b) });
  cleanups.push(() => batcher.dispose());
  return { batcher, batches };
}

/** Each request run alone on its own context: the answer a batched row must equal bit for bit. */
async function alone(engine: Engine, x: Float32Array): Promise<Float32Array> {
  const ctx = await engine.createContext({ maxBatch: engine.profile.max });
  try {
    if (engine.profile.min > 1) {
      // A static-batch engine: put the rows first, zeros after, and keep only the rows.
      (ctx.inputs.x as Float32Array).fill(0).set(x);
      await ctx.run({ batch: engine.profile.min });
      return (ctx.outputs.y as Float32Array).slice(0, (x.length / IN) * OUT);
    }
    return (await ctx.infer({ x })).y as Float32Array;
  } finally {
    ctx.dispose();
  }
}

describe('createBatcher: gathering', () => {
  it('gathers requests queued behind a busy context into one batch (maxDelayMs 0)', async () => {
    const engine = await engineOf();
    const { batcher, batches } = await batcherOf(engine, { contexts: 1 });
    const xs = Array.from({ length: 10 }, (_, i) => row(i));
    const outs = await Promise.all(xs.map((x) => batcher.infer({ x })));
    expect(batches.map((b) => b.rows)).toEqual([1, 9]);
    for (let i = 0; i < xs.length; i++) expect(Array.from(outs[i].y as Float32Array)).toEqual(Array.from(await alone(engine, xs[i])));
    const s = batcher.stats();
    expect(s).toMatchObject({ requests: 10, completed: 10, batches: 2, meanBatchSize: 5, queued: 0, running: 0, failed: 0 });
    expect(s.queueMs.count).toBe(10);
    expect(s.runMs.count).toBe(2);
    expect(s.runMs.p50).toBeGreaterThan(0);
  });

  it('keeps every context busy: two contexts take the first two requests at once', async () => {
    const engine = await engineOf();
    const { batcher, batches } = await batcherOf(engine, { contexts: 2 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => batcher.infer({ x: row(i) })));
    expect(batches.slice(0, 2).map((b) => [b.rows, b.context])).toEqual([[1, 0], [1, 1]]);
    expect(batches.reduce((n, b) => n + b.rows, 0)).toBe(6);
  });

  it('waits up to maxDelayMs for a fuller batch, and no longer once maxBatch rows are there', async () => {
    const engine = await engineOf();
    const { batcher, batches } = await batcherOf(engine, { contexts: 1, maxDelayMs: 80, maxBatch: 4 });
    const t0 = performance.now();
    await Promise.all([1, 2, 3].map((i) => batcher.infer({ x: row(i) })));
    const waited = performance.now() - t0;
    expect(batches.map((b) => b.rows)).toEqual([3]);
    expect(waited).toBeGreaterThanOrEqual(75);
    // A full batch goes at once: with a 5 s delay, finishing well before it proves there was no wait.
    const full = await batcherOf(engine, { contexts: 1, maxDelayMs: 5000, maxBatch: 4 });
    const t1 = performance.now();
    await Promise.all([1, 2, 3, 4].map((i) => full.batcher.infer({ x: row(i) })));
    expect(full.batches.map((b) => b.rows)).toEqual([4]);
    expect(performance.now() - t1).toBeLessThan(2500);
  });

  it('runs multi-row requests whole, never past maxBatch, and hands each its own rows', async () => {
    const engine = await engineOf();
    const { batcher, batches } = await batcherOf(engine, { contexts: 1, maxBatch: 5 });
    const xs = [row(1, 3), row(2, 2), row(3, 4), row(4, 1), row(5, 5)];
    const outs = await Promise.all(xs.map((x) => batcher.infer({ x })));
    expect(batches.every((b) => b.rows <= 5)).toBe(true);
    expect(batches.reduce((n, b) => n + b.rows, 0)).toBe(15);
    for (let i = 0; i < xs.length; i++) expect(Array.from(outs[i].y as Float32Array)).toEqual(Array.from(await alone(engine, xs[i])));
    await expect(batcher.infer({ x: row(1, 6) })).rejects.toThrow('The request has 6 rows; this batcher runs at most 5 per batch');
  });

  it('pads a batch below a static engine batch with zero rows and drops their outputs', async () => {
    const engine = await engineOf(4);
    expect(engine.profile).toEqual({ min: 4, opt: 4, max: 4 });
    const { batcher, batches } = await batcherOf(engine, { contexts: 1 });
    const x = row(9);
    const out = await batcher.infer({ x });
    expect(out.y.length).toBe(OUT);
    expect(Array.from(out.y as Float32Array)).toEqual(Array.from(await alone(engine, x)));
    expect(batches[0].rows).toBe(1);
  });

  it('works over a pool and over contexts it was given, and leaves those alive', async () => {
    const engine = await engineOf();
    const pool = await createPool(engine, { contextsPerDevice: 3 });
    cleanups.push(() => pool.dispose());
    const b1 = await createBatcher(pool, { maxBatch: 8 });
    expect(b1.contexts.length).toBe(3);
    const xs = Array.from({ length: 40 }, (_, i) => row(100 + i));
    const outs = await Promise.all(xs.map((x) => b1.infer({ x })));
    for (let i = 0; i < xs.length; i += 7) expect(Array.from(outs[i].y as Float32Array)).toEqual(Array.from(await alone(engine, xs[i])));
    await b1.dispose();
    expect(pool.contexts.every((c) => !c.disposed)).toBe(true);
    const ctx = await engine.createContext({ maxBatch: 4 });
    const b2 = await createBatcher(ctx);
    expect(b2.maxBatch).toBe(4);
    await b2.infer({ x: row(1) });
    await b2.dispose();
    expect(ctx.disposed).toBe(false);
    ctx.dispose();
  });
});

describe('createBatcher: queue limits, timeouts, cancellation, priority', () => {
  it('refuses past maxQueue at once with ERR_QUEUE_FULL', async () => {
    const engine = await engineOf();
    const { batcher } = await batcherOf(engine, { contexts: 1, maxQueue: 2, maxDelayMs: 10_000, maxBatch: 8 });
    const a = batcher.infer({ x: row(1) });
    const b = batcher.infer({ x: row(2) });
    const t0 = performance.now();
    const c = batcher.infer({ x: row(3) });
    await expect(c).rejects.toMatchObject({ code: ErrorCode.QUEUE_FULL, message: "The batcher's queue is full (2 requests waiting)" });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(batcher.stats()).toMatchObject({ queued: 2, rejected: 1, requests: 2 });
    await batcher.dispose();
    expect(await code(a)).toBe(ErrorCode.DISPOSED);
    expect(await code(b)).toBe(ErrorCode.DISPOSED);
  });

  it('drops a request past its timeoutMs from the queue: ERR_TIMEOUT, and it never runs', async () => {
    const engine = await engineOf();
    const { batcher, batches } = await batcherOf(engine, { contexts: 1, maxDelayMs: 150, maxBatch: 8 });
    const late = batcher.infer({ x: row(1) }, { timeoutMs: 20 });
    const others = [2, 3].map((i) => batcher.infer({ x: row(i) }));
    const err = await late.catch((e) => e);
    expect(err).toBeInstanceOf(TensorRTError);
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(err.message).toBe('The request waited 20 ms in the queue and was dropped before it ran');
    expect(batches.length).toBe(0);
    await Promise.all(others);
    expect(batches.map((b) => b.rows)).toEqual([2]);
    expect(batcher.stats()).toMatchObject({ requests: 3, completed: 2, timedOut: 1 });
  });

  it('uses the batcher-wide timeoutMs unless a request gives its own', async () => {
    const engine = await engineOf();
    const { batcher } = await batcherOf(engine, { contexts: 1, maxDelayMs: 100, maxBatch: 8, timeoutMs: 10 });
    const a = batcher.infer({ x: row(1) });
    const b = batcher.infer({ x: row(2) }, { timeoutMs: 10_000 });
    expect(await code(a)).toBe(ErrorCode.TIMEOUT);
    expect((await b).y.length).toBe(OUT);
  });

  it('cancels a queued request with its AbortSignal (never run), and refuses an already aborted one', async () => {
    const engine = await engineOf();
    const { batcher, batches } = await batcherOf(engine, { contexts: 1, maxDelayMs: 60, maxBatch: 8 });
    const ac = new AbortController();
    const p = batcher.infer({ x: row(1) }, { signal: ac.signal });
    const q = batcher.infer({ x: row(2) });
    ac.abort(new Error('user went away'));
    const err = await p.catch((e) => e);
    expect(err).toMatchObject({ code: ErrorCode.ABORTED, name: 'AbortError', message: 'The request was aborted' });
    expect(err.cause.message).toBe('user went away');
    await q;
    expect(batches.map((b) => b.rows)).toEqual([1]);
    expect(await code(batcher.infer({ x: row(3) }, { signal: AbortSignal.abort() }))).toBe(ErrorCode.ABORTED);
    expect(batcher.stats()).toMatchObject({ aborted: 2, completed: 1 });
  });

  it('rejects a running request at once when aborted, while the rest of its batch completes', async () => {
    const engine = await engineOf();
    const { batcher } = await batcherOf(engine, { contexts: 1 });
    const ac = new AbortController();
    const p = batcher.infer({ x: row(1) }, { signal: ac.signal });
    const q = batcher.infer({ x: row(2) });
    expect(batcher.stats().running).toBe(1);
    ac.abort();
    expect(await code(p)).toBe(ErrorCode.ABORTED);
    expect((await q).y.length).toBe(OUT);
  });

  it('batches higher priority levels first, oldest first within a level', async () => {
    const engine = await engineOf();
    const { batcher } = await batcherOf(engine, { contexts: 1, maxBatch: 1 });
    const order: string[] = [];
    const go = (id: string, priority?: number) => batcher.infer({ x: row(id.charCodeAt(0)) }, { priority }).then(() => order.push(id));
    await Promise.all([go('first'), go('a', 0), go('b', 2), go('c', -1), go('d', 2), go('e', 1), go('f', 0)]);
    expect(order).toEqual(['first', 'b', 'd', 'e', 'a', 'f', 'c']);
  });

  it('dispose() rejects what is queued with ERR_DISPOSED, waits for what runs, frees its own contexts', async () => {
    const engine = await engineOf();
    const batcher = await createBatcher(engine, { contexts: 1 });
    const running = batcher.infer({ x: row(1) });
    const queued = [2, 3].map((i) => batcher.infer({ x: row(i) }));
    const done = batcher.dispose();
    expect(batcher.disposed).toBe(true);
    for (const q of queued) await expect(q).rejects.toMatchObject({ code: ErrorCode.DISPOSED, message: 'The batcher was disposed before this request ran' });
    expect((await running).y.length).toBe(OUT);
    await done;
    expect(batcher.contexts[0].disposed).toBe(true);
    await batcher.dispose();
    await expect(batcher.infer({ x: row(1) })).rejects.toMatchObject({ code: ErrorCode.DISPOSED, message: 'Batcher has been disposed' });
    expect(engine.liveContexts).toBe(0);
  });

  it('stops using a context disposed behind its back, and refuses work once none is left', async () => {
    const engine = await engineOf();
    const [a, b] = [await engine.createContext({ maxBatch: 8 }), await engine.createContext({ maxBatch: 8 })];
    const batcher = await createBatcher([a, b]);
    cleanups.push(() => batcher.dispose());
    a.dispose();
    const outs = await Promise.all([1, 2, 3, 4].map((i) => batcher.infer({ x: row(i) })));
    expect(outs.every((o) => o.y.length === OUT)).toBe(true);
    b.dispose();
    await expect(batcher.infer({ x: row(5) })).rejects.toMatchObject({
      code: ErrorCode.DISPOSED,
      message: 'Every context of the batcher has been disposed; dispose() the batcher, not its contexts',
    });
  });

  it('drain() resolves once nothing is queued or running', async () => {
    const engine = await engineOf();
    const { batcher } = await batcherOf(engine, { contexts: 1, maxDelayMs: 30 });
    let settled = 0;
    for (let i = 0; i < 5; i++) void batcher.infer({ x: row(i) }).then(() => settled++);
    await batcher.drain();
    expect(settled).toBe(5);
    await batcher.drain();
  });
});

describe('createBatcher: correctness under 256-way concurrency', () => {
  it('gives every caller exactly its own rows, bit-identical to running alone, with cancellations and timeouts mixed in', async () => {
    const engine = await engineOf();
    const pool = await createPool(engine, { contextsPerDevice: 3, maxBatch: 16 });
    cleanups.push(() => pool.dispose());
    const batches: BatchInfo[] = [];
    const batcher = await createBatcher(pool, { maxDelayMs: 1, onBatch: (b) => batches.push(b) });
    const r01 = uniformRandom(2024);
    const rand = () => (r01() + 1) / 2; // [0, 1)
    const N = 256;
    const reqs = Array.from({ length: N }, (_, i) => {
      const rows = rand() < 0.8 ? 1 : 1 + Math.floor(rand() * 3);
      const kind = i % 8 === 3 ? 'abort' : i % 8 === 5 ? 'timeout' : 'plain';
      return { x: row(1000 + i, rows), rows, kind, priority: Math.floor(rand() * 3) };
    });
    const results = await Promise.allSettled(
      reqs.map(async (r) => {
        if (r.kind === 'abort') {
          const ac = new AbortController();
          setTimeout(() => ac.abort(), Math.floor(rand() * 4));
          return batcher.infer({ x: r.x }, { signal: ac.signal, priority: r.priority });
        }
        return batcher.infer({ x: r.x }, { timeoutMs: r.kind === 'timeout' ? rand() * 3 : undefined, priority: r.priority });
      }),
    );
    let ok = 0;
    for (let i = 0; i < N; i++) {
      const res = results[i];
      if (res.status === 'rejected') {
        expect(reqs[i].kind).not.toBe('plain');
        expect(res.reason.code).toBe(reqs[i].kind === 'abort' ? ErrorCode.ABORTED : ErrorCode.TIMEOUT);
        continue;
      }
      ok++;
      expect(res.value.y.length).toBe(reqs[i].rows * OUT);
      expect(Buffer.from((res.value.y as Float32Array).buffer).equals(Buffer.from((await alone(engine, reqs[i].x)).buffer))).toBe(true);
    }
    const s = batcher.stats();
    expect(ok).toBe(s.completed);
    expect(s.completed + s.failed + s.timedOut + s.aborted).toBe(N);
    expect(s.completed).toBeGreaterThanOrEqual(N * 0.75 - 1);
    expect(s.meanBatchSize).toBeGreaterThan(1);
    expect(batches.every((b) => b.rows <= 16)).toBe(true);
    // Timed-out requests never ran: the rows run are those that completed plus those aborted mid-run, at most.
    const ranRows = batches.reduce((n, b) => n + b.rows, 0);
    const completedRows = reqs.reduce((n, r, i) => n + (results[i].status === 'fulfilled' ? r.rows : 0), 0);
    const abortedRows = reqs.reduce((n, r, i) => n + (results[i].status === 'rejected' && r.kind === 'abort' ? r.rows : 0), 0);
    expect(ranRows).toBeGreaterThanOrEqual(completedRows);
    expect(ranRows).toBeLessThanOrEqual(completedRows + abortedRows);
    await batcher.dispose();
  });
});

describe('createBatcher: validation', () => {
  it('checks its options and each request with coded errors', async () => {
    const engine = await engineOf();
    const bad = async (o: object, msg: string) => expect(createBatcher(engine, o as never)).rejects.toMatchObject({ code: expect.any(String), message: msg });
    await bad({ maxBatch: 0 }, 'Expected a positive integer for maxBatch but received 0 of type number');
    await bad({ maxDelayMs: -1 }, 'Expected a non-negative number for maxDelayMs but received -1 of type number');
    await bad({ maxQueue: 1.5 }, 'Expected a positive integer for maxQueue but received 1.5 of type number');
    await bad({ bogus: 1 }, 'Unknown option \'bogus\' in createBatcher options; expected one of maxBatch, maxDelayMs, maxQueue, timeoutMs, contexts, onBatch');
    await bad({ onBatch: 3 }, 'Expected a function for onBatch but received 3 of type number');
    await expect(createBatcher(42 as never)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(createBatcher([])).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    const ctx = await engine.createContext({ maxBatch: 4 });
    await expect(createBatcher(ctx, { maxBatch: 8 })).rejects.toMatchObject({ code: ErrorCode.BATCH_OUT_OF_RANGE, message: 'maxBatch 8 exceeds the largest batch the contexts run (4)' });
    await expect(createBatcher(ctx, { contexts: 2 })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    ctx.dispose();
    await expect(createBatcher(ctx)).rejects.toMatchObject({ code: ErrorCode.DISPOSED });

    const { batcher } = await batcherOf(engine, { contexts: 1 });
    const req = (feeds: object, o?: object) => batcher.infer(feeds as never, o as never);
    await expect(req({})).rejects.toMatchObject({ code: ErrorCode.INVALID_INPUT, message: "Missing input 'x'; the model's inputs are 'x'" });
    await expect(req({ x: new Float64Array(IN) })).rejects.toMatchObject({ code: ErrorCode.INVALID_INPUT, message: "Expected a Float32Array for input 'x' (float32) but received a Float64Array of length 16" });
    await expect(req({ x: new Float32Array(IN + 1) })).rejects.toMatchObject({ message: "Input 'x' has 17 elements, which is not a whole number of rows of 16 (shape [batch, 16])" });
    await expect(req({ x: row(1), z: row(1) })).rejects.toMatchObject({ message: "Unknown input 'z'; the model's inputs are 'x'" });
    await expect(req({ x: row(1) }, { priority: 0.5 })).rejects.toMatchObject({ message: 'Expected an integer for priority but received 0.5 of type number' });
    await expect(req({ x: row(1) }, { timeoutMs: -2 })).rejects.toMatchObject({ message: 'Expected a non-negative number for timeoutMs but received -2 of type number' });
    await expect(req({ x: row(1) }, { signal: {} })).rejects.toMatchObject({ message: 'Expected an AbortSignal for signal but received an object of type Object' });
    expect(batcher.stats().requests).toBe(0);
    await sleep(0);
  });
});
