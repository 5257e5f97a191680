// Large JSON request bodies are decoded on worker threads, with the same result and the same coded errors as
// on the event loop; binary-data and small bodies stay on the loop.
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { DecodePool } from '../../lib/serve/decode-pool.js';
import { startServer } from '../../lib/serve/http.js';
import { decodeInferRequest, type ModelSpec } from '../../lib/serve/kserve.js';
import { fillUniform } from '../../lib/util/random.js';
import { MIXED_IN, MIXED_OUT, mixedModel } from '../helpers/serve-models.js';

const WIDE = 20_000;
const spec: ModelSpec = {
  name: 'wide',
  version: '1',
  platform: 'test',
  inputs: [
    { name: 'x', dtype: 'float32', shape: ['batch', WIDE] },
    { name: 'ids', dtype: 'int64', shape: ['batch', 4] },
  ],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
  maxBatch: 4,
};
const x = fillUniform(new Float32Array(2 * WIDE), 9);
const body = (over: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [2, WIDE], datatype: 'FP32', data: Array.from(x) }, { name: 'ids', shape: [2, 4], datatype: 'INT64', data: [1, 2, 3, 4, 5, 6, 7, 8] }], ...over }));

describe('DecodePool', () => {
  const pool = new DecodePool(spec, { threads: 2 });
  afterAll(() => pool.close());

  it('decodes a large JSON body on a thread exactly as on the loop', async () => {
    const b = body({ id: 'r1', parameters: { priority: 2 } });
    expect(b.length).toBeGreaterThan(64 * 1024);
    const want = decodeInferRequest(b, undefined, spec);
    expect(pool.threads).toBe(2);
    const before = pool.offloaded;
    const got = await pool.decode(Buffer.from(b), undefined);
    expect(pool.offloaded).toBe(before + 1);
    expect(got.feeds.x).toBeInstanceOf(Float32Array);
    expect(got.feeds.ids).toBeInstanceOf(BigInt64Array);
    expect(Buffer.from((got.feeds.x as Float32Array).buffer).equals(Buffer.from((want.feeds.x as Float32Array).buffer))).toBe(true);
    expect(Array.from(got.feeds.ids as BigInt64Array)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect({ ...got, feeds: undefined }).toEqual({ ...want, feeds: undefined });
  });

  it('refuses a bad large body with the coded error and message the loop gives', async () => {
    const cases = [
      Buffer.concat([body(), Buffer.from('}')]),
      Buffer.from(body().toString().replace('"FP32"', '"FP16"')),
      Buffer.from(body().toString().replace(`[2,${WIDE}]`, `[3,${WIDE}]`)),
    ];
    for (const b of cases) {
      let want: unknown;
      try {
        decodeInferRequest(b, undefined, spec);
      } catch (e) {
        want = e;
      }
      expect(want).toMatchObject({ code: 'ERR_INVALID_INPUT' });
      await expect(pool.decode(b, undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT', message: (want as Error).message });
    }
  });

  it('keeps small and binary-data bodies on the loop', async () => {
    const before = pool.offloaded;
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [2, WIDE], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }, { name: 'ids', shape: [2, 4], datatype: 'INT64', data: [1, 2, 3, 4, 5, 6, 7, 8] }] }));
    const got = await pool.decode(Buffer.concat([header, Buffer.from(x.buffer)]), header.length);
    expect((got.feeds.x as Float32Array)[5]).toBe(x[5]);
    await expect(pool.decode(Buffer.from('{"inputs": 3}'), undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(pool.offloaded).toBe(before);
  });

  it('decodes everything on the loop with threads: 0', async () => {
    const loop = new DecodePool(spec, { threads: 0 });
    const got = await loop.decode(body(), undefined);
    expect(loop.threads).toBe(0);
    expect(loop.offloaded).toBe(0);
    expect((got.feeds.x as Float32Array)[7]).toBe(x[7]);
    await loop.close();
  });
});

describe('server with decode threads', () => {
  it('answers large JSON requests decoded off the loop, and a malformed one with 400', async () => {
    const engine = await buildEngine(mixedModel(), { backend: 'reference', shapes: { x: { min: [1, MIXED_IN], opt: [8, MIXED_IN], max: [64, MIXED_IN] }, k: { min: [1, MIXED_OUT], opt: [8, MIXED_OUT], max: [64, MIXED_OUT] } } });
    const server = await startServer(engine, { name: 'mixed', port: 0, contexts: 1, decodeThreads: 2 });
    try {
      const rows = 64;
      const xs = fillUniform(new Float32Array(rows * MIXED_IN), 3);
      const ks = Array.from({ length: rows * MIXED_OUT }, (_, i) => (i % 7) - 3);
      // Padded with whitespace (still JSON) past the size that goes to a thread.
      const req = JSON.stringify({ inputs: [{ name: 'x', shape: [rows, MIXED_IN], datatype: 'FP32', data: Array.from(xs) }, { name: 'k', shape: [rows, MIXED_OUT], datatype: 'INT64', data: ks }] }) + ' '.repeat(70_000);
      expect(req.length).toBeGreaterThan(64 * 1024);
      const r = await fetch(`${server.url}/v2/models/mixed/infer`, { method: 'POST', body: req });
      expect(r.status).toBe(200);
      const out = (await r.json()) as { outputs: { name: string; shape: number[] }[] };
      expect(out.outputs.map((o) => o.shape[0])).toEqual(out.outputs.map(() => rows));
      const bad = await fetch(`${server.url}/v2/models/mixed/infer`, { method: 'POST', body: req.trimEnd().slice(0, -2) + ' '.repeat(70_000) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/Malformed JSON/);
    } finally {
      await server.close();
      engine.dispose({ contexts: true });
    }
  });
});
