// A client speaking the KServe v2 protocol to the server over real HTTP on 127.0.0.1 (reference backend).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { startServer as startFromIndex } from '../../lib/index.js';
import { startServer, type InferenceServer } from '../../lib/serve/http.js';
import { fillUniform } from '../../lib/util/random.js';
import { MIXED_IN, MIXED_OUT, mixedModel } from '../helpers/serve-models.js';

const LIMIT = 64 * 1024;
let engine: Engine;
let server: InferenceServer;
let url: string;

const shapes = (max: number) => ({ x: { min: [1, MIXED_IN], opt: [max, MIXED_IN], max: [max, MIXED_IN] }, k: { min: [1, MIXED_OUT], opt: [max, MIXED_OUT], max: [max, MIXED_OUT] } });

beforeAll(async () => {
  engine = await buildEngine(mixedModel(), { backend: 'reference', shapes: shapes(8) });
  server = await startServer(engine, { name: 'mixed', port: 0, bodyLimit: LIMIT, contexts: 2, maxDelayMs: 20 });
  url = server.url;
});
afterAll(async () => {
  await server?.close();
  engine?.dispose({ contexts: true });
});

interface Reply {
  status: number;
  text: string;
  json: () => any;
  headers: Headers;
  bytes: Buffer;
}
async function call(path: string, init: RequestInit = {}): Promise<Reply> {
  const r = await fetch(`${url}${path}`, init);
  const bytes = Buffer.from(await r.arrayBuffer());
  const text = bytes.toString('utf8');
  return { status: r.status, text, json: () => JSON.parse(text), headers: r.headers, bytes };
}
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, { method: 'POST', body: typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body), headers });
const INFER = '/v2/models/mixed/infer';

const xOf = (seed: number, rows = 1) => fillUniform(new Float32Array(rows * MIXED_IN), seed);
const kOf = (seed: number, rows = 1) => BigInt64Array.from({ length: rows * MIXED_OUT }, (_, i) => BigInt(((seed * 7 + i * 3) % 11) - 5));
const jsonInputs = (x: Float32Array, k: BigInt64Array, rows = 1) => [
  { name: 'x', shape: [rows, MIXED_IN], datatype: 'FP32', data: Array.from(x) },
  { name: 'k', shape: [rows, MIXED_OUT], datatype: 'INT64', data: Array.from(k, Number) },
];

/** What one request gives when run alone on its own context. */
async function direct(x: Float32Array, k: BigInt64Array) {
  const ctx = await engine.createContext({ maxBatch: 8 });
  try {
    const out = await ctx.infer({ x, k });
    return { s: out.s as Float32Array, k32: out.k32 as Int32Array };
  } finally {
    ctx.dispose();
  }
}

/** Splits a binary-data response into its JSON header and the bytes after it. */
function splitBinary(r: Reply): { header: any; rest: Buffer } {
  const n = Number(r.headers.get('inference-header-content-length'));
  expect(Number.isInteger(n)).toBe(true);
  return { header: JSON.parse(r.bytes.subarray(0, n).toString('utf8')), rest: r.bytes.subarray(n) };
}

/** A binary-data request body: the JSON header, then each binary tensor. */
function binaryBody(header: object, tensors: ArrayBufferView[], pad = 0): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header) + ' '.repeat(pad));
  const body = Buffer.concat([json, ...tensors.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength))]);
  return { body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.length) } };
}

describe('KServe v2 over HTTP: health and metadata', () => {
  it('answers liveness and readiness with 200 and an empty body', async () => {
    for (const p of ['/v2/health/live', '/v2/health/ready', '/v2/models/mixed/ready', '/v2/models/mixed/versions/1/ready']) {
      const r = await call(p);
      expect([p, r.status, r.text]).toEqual([p, 200, '']);
    }
  });

  it('answers 404 with a message for an unknown model or version', async () => {
    for (const p of ['/v2/models/nope/ready', '/v2/models/nope']) {
      const r = await call(p);
      expect(r.status).toBe(404);
      expect(r.json()).toEqual({ error: "Unknown model 'nope'; this server serves 'mixed'" });
    }
    const v = await call('/v2/models/mixed/versions/7');
    expect([v.status, v.json().error]).toEqual([404, "Unknown version '7' of model 'mixed'; it has version '1'"]);
    const u = await call('/v3/whatever');
    expect([u.status, u.json().error]).toEqual([404, 'Not found: GET /v3/whatever']);
  });

  it('describes the server and the model: datatypes and -1 for the dynamic batch', async () => {
    const s = await call('/v2');
    expect(s.status).toBe(200);
    expect(s.json()).toMatchObject({ name: 'node-tensorrt', extensions: ['binary_tensor_data'] });
    expect(typeof s.json().version).toBe('string');
    const m = await call('/v2/models/mixed');
    expect(m.json()).toEqual({
      name: 'mixed',
      versions: ['1'],
      platform: 'node-tensorrt_reference',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [-1, MIXED_IN] },
        { name: 'k', datatype: 'INT64', shape: [-1, MIXED_OUT] },
      ],
      outputs: [
        { name: 's', datatype: 'FP32', shape: [-1, MIXED_OUT] },
        { name: 'k32', datatype: 'INT32', shape: [-1, MIXED_OUT] },
      ],
    });
    expect((await call('/v2/models/mixed/versions/1')).json().name).toBe('mixed');
    expect((await call('/v2/models/mixed/config')).json()).toEqual({
      name: 'mixed',
      platform: 'node-tensorrt_reference',
      max_batch_size: 8,
      input: [
        { name: 'x', data_type: 'TYPE_FP32', dims: [MIXED_IN] },
        { name: 'k', data_type: 'TYPE_INT64', dims: [MIXED_OUT] },
      ],
      output: [
        { name: 's', data_type: 'TYPE_FP32', dims: [MIXED_OUT] },
        { name: 'k32', data_type: 'TYPE_INT32', dims: [MIXED_OUT] },
      ],
      dynamic_batching: { max_queue_delay_microseconds: 20000 },
    });
  });
});

describe('KServe v2 over HTTP: inference', () => {
  it('runs a JSON request (flat data) and echoes its id', async () => {
    const x = xOf(1);
    const k = kOf(1);
    const r = await post(INFER, { id: 'req-1', inputs: jsonInputs(x, k) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const body = r.json();
    const want = await direct(x, k);
    expect(body).toEqual({
      model_name: 'mixed',
      model_version: '1',
      id: 'req-1',
      outputs: [
        { name: 's', datatype: 'FP32', shape: [1, MIXED_OUT], data: Array.from(want.s) },
        { name: 'k32', datatype: 'INT32', shape: [1, MIXED_OUT], data: Array.from(want.k32) },
      ],
    });
    expect(Array.from(Float32Array.from(body.outputs[0].data))).toEqual(Array.from(want.s));
  });

  it('takes nested data and several rows, and returns only the outputs asked for', async () => {
    const x = xOf(2, 3);
    const k = kOf(2, 3);
    const nested = (a: number[], cols: number) => Array.from({ length: a.length / cols }, (_, r) => a.slice(r * cols, (r + 1) * cols));
    const r = await post(INFER, {
      inputs: [
        { name: 'x', shape: [3, MIXED_IN], datatype: 'FP32', data: nested(Array.from(x), MIXED_IN) },
        { name: 'k', shape: [3, MIXED_OUT], datatype: 'INT64', data: nested(Array.from(k, Number), MIXED_OUT) },
      ],
      outputs: [{ name: 'k32' }],
    });
    expect(r.status).toBe(200);
    expect(r.json().outputs).toEqual([{ name: 'k32', datatype: 'INT32', shape: [3, MIXED_OUT], data: Array.from(k, Number) }]);
    expect(r.json().id).toBeUndefined();
  });

  it("speaks Triton's binary-data extension both ways, aligned or not", async () => {
    const x = xOf(3, 2);
    const k = kOf(3, 2);
    const want = await direct(x, k);
    for (const pad of [0, 1]) {
      const header = {
        inputs: [
          { name: 'x', shape: [2, MIXED_IN], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } },
          { name: 'k', shape: [2, MIXED_OUT], datatype: 'INT64', parameters: { binary_data_size: k.byteLength } },
        ],
        parameters: { binary_data_output: true },
      };
      const { body, headers } = binaryBody(header, [x, k], pad);
      const r = await post(INFER, body, headers);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/octet-stream');
      const { header: h, rest } = splitBinary(r);
      expect(h.outputs).toEqual([
        { name: 's', datatype: 'FP32', shape: [2, MIXED_OUT], parameters: { binary_data_size: 32 } },
        { name: 'k32', datatype: 'INT32', shape: [2, MIXED_OUT], parameters: { binary_data_size: 32 } },
      ]);
      expect(rest.length).toBe(64);
      expect(rest.subarray(0, 32).equals(Buffer.from(want.s.buffer))).toBe(true);
      expect(rest.subarray(32).equals(Buffer.from(want.k32.buffer))).toBe(true);
    }
    // One input binary, one JSON; one output binary, the other JSON.
    const { body, headers } = binaryBody(
      { inputs: [{ name: 'x', shape: [2, MIXED_IN], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }, jsonInputs(x, k, 2)[1]], outputs: [{ name: 'k32' }, { name: 's', parameters: { binary_data: true } }] },
      [x],
    );
    const r = await post(INFER, body, headers);
    const { header: h, rest } = splitBinary(r);
    expect(h.outputs[0]).toEqual({ name: 'k32', datatype: 'INT32', shape: [2, MIXED_OUT], data: Array.from(want.k32) });
    expect(h.outputs[1].parameters).toEqual({ binary_data_size: 32 });
    expect(rest.equals(Buffer.from(want.s.buffer))).toBe(true);
  });

  it('gives 64 concurrent clients each their own rows, through batches', async () => {
    const before = server.batcher.stats();
    const reqs = Array.from({ length: 64 }, (_, i) => ({ x: xOf(100 + i), k: kOf(100 + i) }));
    const replies = await Promise.all(reqs.map((q, i) => post(INFER, { id: `c${i}`, inputs: jsonInputs(q.x, q.k), outputs: [{ name: 's', parameters: { binary_data: true } }] })));
    for (let i = 0; i < reqs.length; i++) {
      const { header, rest } = splitBinary(replies[i]);
      expect(header.id).toBe(`c${i}`);
      expect(rest.equals(Buffer.from((await direct(reqs[i].x, reqs[i].k)).s.buffer))).toBe(true);
    }
    const after = server.batcher.stats();
    expect(after.completed - before.completed).toBe(64);
    expect(after.batches - before.batches).toBeLessThan(64);
  });
});

describe('KServe v2 over HTTP: bad requests get a status and a message, and the server goes on', () => {
  const x = xOf(9);
  const k = kOf(9);
  const cases: [string, () => Promise<Reply>, number, string | RegExp][] = [
    ['malformed JSON', () => post(INFER, '{"inputs": [', { 'content-type': 'application/json' }), 400, /^Malformed JSON in the request body: /],
    ['not an object', () => post(INFER, '[1, 2]'), 400, "The request body must be a JSON object but is an array of length 2"],
    ['no inputs', () => post(INFER, { inputs: [] }), 400, "The request needs a non-empty 'inputs' array but has an array of length 0"],
    ['wrong datatype', () => post(INFER, { inputs: [{ ...jsonInputs(x, k)[0], datatype: 'FP16' }, jsonInputs(x, k)[1]] }), 400, "Input 'x' has datatype FP16 but model 'mixed' expects FP32"],
    ['wrong shape', () => post(INFER, { inputs: [{ ...jsonInputs(x, k)[0], shape: [1, 15] }, jsonInputs(x, k)[1]] }), 400, "Input 'x' has shape [1, 15] but model 'mixed' expects [-1, 16]"],
    ['wrong rank', () => post(INFER, { inputs: [{ ...jsonInputs(x, k)[0], shape: [16] }, jsonInputs(x, k)[1]] }), 400, "Input 'x' has shape [16] but model 'mixed' expects [-1, 16]"],
    ['batch past the maximum', () => post(INFER, { inputs: jsonInputs(xOf(1, 9), kOf(1, 9), 9) }), 400, "Input 'x' has a batch of 9; this server takes 1 to 8 rows per request"],
    ['wrong data length', () => post(INFER, { inputs: [{ ...jsonInputs(x, k)[0], data: Array.from(x).slice(1) }, jsonInputs(x, k)[1]] }), 400, "Input 'x' has 15 values but shape [1, 16] needs 16"],
    ['wrong value type', () => post(INFER, { inputs: [{ ...jsonInputs(x, k)[0], data: ['a', ...Array.from(x).slice(1)] }, jsonInputs(x, k)[1]] }), 400, "Input 'x' value 0 is 'a' of type string; FP32 needs numbers"],
    ['non-integer INT64', () => post(INFER, { inputs: [jsonInputs(x, k)[0], { ...jsonInputs(x, k)[1], data: [1, 2, 3, 4.5] }] }), 400, "Input 'k' value 3 is 4.5 of type number; INT64 needs integers in -9007199254740991..9007199254740991"],
    ['missing input', () => post(INFER, { inputs: [jsonInputs(x, k)[0]] }), 400, "Missing input 'k' for model 'mixed'"],
    ['unknown input', () => post(INFER, { inputs: [...jsonInputs(x, k), { name: 'z', shape: [1], datatype: 'FP32', data: [1] }] }), 400, "Unknown input 'z'; model 'mixed' has inputs 'x', 'k'"],
    ['batch disagreement', () => post(INFER, { inputs: [jsonInputs(x, k)[0], jsonInputs(xOf(1, 2), kOf(1, 2), 2)[1]] }), 400, "Inputs disagree on the batch: 1 rows vs 2 in 'k'"],
    ['unknown output', () => post(INFER, { inputs: jsonInputs(x, k), outputs: [{ name: 'nope' }] }), 400, "Unknown output 'nope'; model 'mixed' has outputs 's', 'k32'"],
    ['non-string id', () => post(INFER, { id: 5, inputs: jsonInputs(x, k) }), 400, "'id' must be a string but is 5 of type number"],
    [
      'wrong binary size',
      () => {
        const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, MIXED_IN], datatype: 'FP32', parameters: { binary_data_size: 60 } }, jsonInputs(x, k)[1]] }, [x.subarray(0, 15)]);
        return post(INFER, body, headers);
      },
      400,
      "Input 'x' has 60 bytes of binary data but shape [1, 16] of FP32 needs 64",
    ],
    [
      'binary data cut short',
      () => {
        const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [1, MIXED_IN], datatype: 'FP32', parameters: { binary_data_size: 64 } }, jsonInputs(x, k)[1]] }, [x.subarray(0, 8)]);
        return post(INFER, body, headers);
      },
      400,
      /^The body ends before the binary data of input 'x' \(64 bytes at offset \d+, body of \d+\)$/,
    ],
    ['header length past the body', () => post(INFER, '{}', { 'inference-header-content-length': '99' }), 400, 'Inference-Header-Content-Length is 99 but the body has 2 bytes'],
    ['binary size without the header', () => post(INFER, { inputs: [{ name: 'x', shape: [1, 16], datatype: 'FP32', parameters: { binary_data_size: 64 } }] }), 400, "Input 'x' has binary_data_size but the request has no Inference-Header-Content-Length header"],
    ['body past the limit', () => post(INFER, Buffer.alloc(LIMIT + 1, 32)), 413, `The request body is larger than the limit of ${LIMIT} bytes`],
    ['unknown model', () => post('/v2/models/nope/infer', { inputs: jsonInputs(x, k) }), 404, "Unknown model 'nope'; this server serves 'mixed'"],
  ];
  for (const [what, send, status, message] of cases) {
    it(`${what}: ${status}`, async () => {
      const r = await send();
      expect(r.status).toBe(status);
      const err = r.json().error;
      if (typeof message === 'string') expect(err).toBe(message);
      else expect(err).toMatch(message);
      expect(Object.keys(r.json())).toEqual(['error']);
    });
  }

  it('refuses a chunked body past the limit with 413 while it streams, without reading it all', async () => {
    const u = new URL(url);
    const { status, body, sent } = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0;
      const req = http.request({ host: u.hostname, port: u.port, path: INFER, method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, sent }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(16 * 1024, 32);
      const pump = () => {
        // Keep offering data: the server must answer long before the 4 MiB are all sent.
        while (sent < 4 * 1024 * 1024 && req.write(chunk)) sent += chunk.length;
        if (sent < 4 * 1024 * 1024) req.once('drain', pump);
        else req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).error).toBe(`The request body is larger than the limit of ${LIMIT} bytes`);
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it('still serves after all of that, and counts it all in /metrics', async () => {
    const x = xOf(4);
    const k = kOf(4);
    const r = await post(INFER, { inputs: jsonInputs(x, k) });
    expect(r.status).toBe(200);
    const m = await call('/metrics');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const value = (line: string) => Number(m.text.split('\n').find((l) => l.startsWith(line + ' '))?.slice(line.length + 1));
    expect(value('node_tensorrt_inference_requests_total{model="mixed"}')).toBeGreaterThan(60);
    expect(value('node_tensorrt_inference_failures_total{model="mixed",reason="bad_request"}')).toBeGreaterThanOrEqual(19);
    expect(value('node_tensorrt_inference_failures_total{model="mixed",reason="too_large"}')).toBeGreaterThanOrEqual(1);
    expect(value('node_tensorrt_inference_failures_total{model="mixed",reason="unknown_model"}')).toBe(1);
    const success = value('node_tensorrt_inference_success_total{model="mixed"}');
    expect(success).toBe(server.batcher.stats().completed);
    expect(value('node_tensorrt_request_duration_seconds_count{model="mixed"}')).toBe(value('node_tensorrt_inference_requests_total{model="mixed"}'));
    expect(value('node_tensorrt_batch_size_count{model="mixed"}')).toBe(server.batcher.stats().batches);
    expect(value('node_tensorrt_batch_size_bucket{model="mixed",le="+Inf"}')).toBe(server.batcher.stats().batches);
    expect(m.text).toContain('# TYPE node_tensorrt_compute_duration_seconds histogram');
    expect(value('node_tensorrt_queue_duration_seconds_count{model="mixed"}')).toBe(success);
  });
});

describe('KServe v2 over HTTP: overload and shutting down', () => {
  it('stops taking requests (503, not ready), finishes what is queued, then closes', async () => {
    const s = await startServer(engine, { name: 'mixed', port: 0, contexts: 1, maxDelayMs: 1500 });
    const x = xOf(5);
    const k = kOf(5);
    const queued = fetch(`${s.url}${INFER}`, { method: 'POST', body: JSON.stringify({ inputs: jsonInputs(x, k) }) });
    while (s.batcher.stats().queued === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = s.close();
    expect(s.closing).toBe(true);
    const late = await fetch(`${s.url}${INFER}`, { method: 'POST', body: JSON.stringify({ inputs: jsonInputs(x, k) }) });
    expect(late.status).toBe(503);
    expect(await late.json()).toEqual({ error: 'The server is shutting down' });
    for (const p of ['/v2/health/ready', '/v2/models/mixed/ready']) {
      const r = await fetch(`${s.url}${p}`);
      expect([p, r.status, await r.text()]).toEqual([p, 400, '']);
    }
    expect((await fetch(`${s.url}/v2/health/live`)).status).toBe(200);
    const done = await queued;
    expect(done.status).toBe(200);
    expect(((await done.json()) as any).outputs[0].data).toEqual(Array.from((await direct(x, k)).s));
    await closed;
    await expect(fetch(`${s.url}/v2/health/live`)).rejects.toThrow();
    expect(s.batcher.disposed).toBe(true);
    expect(s.metrics.failures).toEqual({ shutting_down: 1 });
  });

  it('answers 503 when the queue is full or a request times out in it (Triton timeout parameter, µs)', async () => {
    const s = await startFromIndex(engine, { name: 'mixed', port: 0, contexts: 1, maxDelayMs: 2000, maxQueue: 2 });
    const send = (extra: object = {}) => fetch(`${s.url}${INFER}`, { method: 'POST', body: JSON.stringify({ inputs: jsonInputs(xOf(7), kOf(7)), ...extra }) });
    const t0 = performance.now();
    const timedOut = await send({ parameters: { timeout: 20_000 } });
    expect([timedOut.status, await timedOut.json()]).toEqual([503, { error: 'The request waited 20 ms in the queue and was dropped before it ran' }]);
    expect(performance.now() - t0).toBeLessThan(1500);
    const a = send();
    const b = send({ parameters: { priority: 1 } });
    while (s.batcher.stats().queued < 2) await new Promise((r) => setTimeout(r, 5));
    const full = await send();
    expect([full.status, await full.json()]).toEqual([503, { error: "The batcher's queue is full (2 requests waiting)" }]);
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    expect(s.metrics.failures).toEqual({ timeout: 1, queue_full: 1 });
    await s.close();
  });

  it('drops a queued request whose client went away', async () => {
    const s = await startServer(engine, { name: 'mixed', port: 0, contexts: 1, maxDelayMs: 2000 });
    const ac = new AbortController();
    const gone = fetch(`${s.url}${INFER}`, { method: 'POST', body: JSON.stringify({ inputs: jsonInputs(xOf(6), kOf(6)) }), signal: ac.signal });
    while (s.batcher.stats().queued === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await expect(gone).rejects.toThrow();
    while (s.batcher.stats().aborted === 0) await new Promise((r) => setTimeout(r, 5));
    expect(s.batcher.stats()).toMatchObject({ queued: 0, aborted: 1, batches: 0 });
    await s.close();
  });
});
