// The batcher and the HTTP server over builtin GPU contexts (and a pool over every GPU).
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { createPool } from '../../lib/pool.js';
import { createBatcher, type BatchInfo } from '../../lib/serve/batcher.js';
import { startServer } from '../../lib/serve/http.js';
import { fillUniform, uniformRandom } from '../../lib/util/random.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const ROW = 3 * 32 * 32;
const shapes = { input: { min: [1, 3, 32, 32], opt: [16, 3, 32, 32], max: [16, 3, 32, 32] } };

/** max |a − b| / max |b|: FP16 tactics may differ by batch size, but another caller's row would differ wholly. */
function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    n = Math.max(n, Math.abs(b[i]));
  }
  return d / n;
}

describe.skipIf(!hasGpu)(gpuSuite('dynamic batcher on the GPU'), () => {
  it('gives 256 concurrent callers their own rows, with cancellations and timeouts mixed in', async () => {
    const engine = await buildEngine(smallCnn({ seed: 3 }), { backend: 'builtin', shapes });
    const pool = await createPool(engine, { devices: 'all', contextsPerDevice: 2 });
    const batches: BatchInfo[] = [];
    const batcher = await createBatcher(pool, { maxDelayMs: 0.5, onBatch: (b) => batches.push(b) });
    const alone = await engine.createContext({ maxBatch: 1 });
    const r = uniformRandom(77);
    const reqs = Array.from({ length: 256 }, (_, i) => ({ x: fillUniform(new Float32Array(ROW), 5000 + i), kind: i % 8 === 3 ? 'abort' : i % 8 === 5 ? 'timeout' : 'plain' }));
    const results = await Promise.allSettled(
      reqs.map((q) => {
        if (q.kind === 'abort') {
          const ac = new AbortController();
          setTimeout(() => ac.abort(), Math.floor(((r() + 1) / 2) * 2));
          return batcher.infer({ input: q.x }, { signal: ac.signal });
        }
        return batcher.infer({ input: q.x }, q.kind === 'timeout' ? { timeoutMs: ((r() + 1) / 2) * 1 } : {});
      }),
    );
    let identical = 0;
    let worst = 0;
    for (let i = 0; i < reqs.length; i++) {
      const res = results[i];
      if (res.status === 'rejected') {
        expect(reqs[i].kind).not.toBe('plain');
        continue;
      }
      const got = res.value.logits as Float32Array;
      const want = (await alone.infer({ input: reqs[i].x })).logits as Float32Array;
      expect(got.length).toBe(want.length);
      worst = Math.max(worst, maxRelDiff(got, want));
      if (Buffer.from(got.buffer).equals(Buffer.from(want.buffer))) identical++;
    }
    const s = batcher.stats();
    console.log(`batcher on ${pool.devices.length} GPU(s): ${s.completed} completed in ${s.batches} batches (mean ${s.meanBatchSize.toFixed(1)}), ` +
      `${identical} bit-identical to batch 1, worst relative difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(2e-2);
    expect(s.completed + s.timedOut + s.aborted).toBe(256);
    expect(s.meanBatchSize).toBeGreaterThan(1);
    await batcher.dispose();
    alone.dispose();
    pool.dispose();
    engine.dispose();
  });

  it('gathers a batch off the JS thread (runRows): same outputs as rows set by hand, bounds checked natively, dispose mid-copy settles', async () => {
    const engine = await buildEngine(smallCnn({ seed: 5 }), { backend: 'builtin', shapes });
    const ctx = await engine.createContext({ maxBatch: 16 });
    const rows = [fillUniform(new Float32Array(ROW * 2), 11), fillUniform(new Float32Array(ROW), 12), fillUniform(new Float32Array(ROW * 3), 13)];
    await ctx.runRows(6, [
      { name: 'input', offset: 0, data: rows[0] },
      { name: 'input', offset: 2 * ROW, data: rows[1] },
      { name: 'input', offset: 3 * ROW, data: rows[2] },
    ]);
    const gathered = (ctx.outputs.logits as Float32Array).slice(0, 6 * 10);
    (ctx.inputs.input as Float32Array).fill(0);
    (ctx.inputs.input as Float32Array).set(rows[0], 0);
    (ctx.inputs.input as Float32Array).set(rows[1], 2 * ROW);
    (ctx.inputs.input as Float32Array).set(rows[2], 3 * ROW);
    await ctx.run({ batch: 6 });
    expect(Buffer.from(gathered.buffer).equals(Buffer.from((ctx.outputs.logits as Float32Array).slice(0, 60).buffer))).toBe(true);
    // Past the pinned buffer: refused in JS, and by the native layer itself when called around the JS checks.
    await expect(ctx.runRows(1, [{ name: 'input', offset: 16 * ROW - 10, data: rows[1] }])).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    type RawContext = { runRows(b: number, p: unknown[]): Promise<void>; dispose(): void };
    const nctx = await (engine.native as unknown as { createContext(b: number, g: boolean, s: number): Promise<RawContext> }).createContext(2, true, 3);
    for (const bad of [[[0, 2 * ROW * 4 - 8, rows[1]]], [[0, -4, rows[1]]], [[7, 0, rows[1]]], [[0, 0.5, rows[1]]], [[0, 0, 'x']]]) {
      expect(() => nctx.runRows(1, bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    }
    const pending = nctx.runRows(2, [[0, 0, rows[0]]]);
    nctx.dispose(); // the copy holds the context's pinned memory until it is done; the run itself is refused
    await expect(pending).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
    ctx.dispose();
    engine.dispose();
  });

  it('serves KServe v2 binary requests over builtin contexts', async () => {
    const engine = await buildEngine(smallCnn({ seed: 4 }), { backend: 'builtin', shapes });
    const server = await startServer(engine, { name: 'cnn', port: 0, contexts: 2 });
    const x = fillUniform(new Float32Array(ROW), 42);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3, 32, 32], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }], outputs: [{ name: 'logits', parameters: { binary_data: true } }] }));
    const replies = await Promise.all(
      Array.from({ length: 32 }, () =>
        fetch(`${server.url}/v2/models/cnn/infer`, { method: 'POST', body: Buffer.concat([header, Buffer.from(x.buffer)]), headers: { 'inference-header-content-length': String(header.length) } }),
      ),
    );
    const ctx = await engine.createContext({ maxBatch: 1 });
    const want = (await ctx.infer({ input: x })).logits as Float32Array;
    for (const rep of replies) {
      expect(rep.status).toBe(200);
      const bytes = Buffer.from(await rep.arrayBuffer());
      const n = Number(rep.headers.get('inference-header-content-length'));
      const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset + n, bytes.byteOffset + bytes.length));
      expect(maxRelDiff(got, want)).toBeLessThan(2e-2);
    }
    ctx.dispose();
    await server.close();
    engine.dispose();
  });
});
