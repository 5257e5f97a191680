// `node-tensorrt serve` under load: autocannon drives the server (a child process running the CLI on a plan
// file) with batch-1 requests in JSON and in Triton's binary format, with batching on (--max-batch N) and off
// (--max-batch 1), at each connection count, and prints requests/s with p50/p99 latency.
// Usage: node dist/scripts/serve-bench.js [--seconds 10] [--connections 64,256] [--max-batch 32] [--contexts 4]
//        [--max-delay-ms 0] [--workers 4] [--backend auto|builtin|reference] [--model auto|mobilenetv2|smallcnn]
//        [--bodies json,binary] [--json out.json]
// Without a GPU it serves the small CNN on the CPU reference backend (short and small, to check the script).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { capabilities } from '../lib/capabilities.js';
import { table } from '../lib/cli/format.js';
import { benchModel, int, ms, numbers } from './serving/setup.js';

const cpu = !capabilities().cuda.available;
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: cpu ? '2' : '10' },
    connections: { type: 'string', default: cpu ? '8,32' : '64,256' },
    'max-batch': { type: 'string', default: '32' },
    contexts: { type: 'string', default: cpu ? '1' : '4' },
    'max-delay-ms': { type: 'string', default: '0' },
    workers: { type: 'string', default: cpu ? '0' : '4' },
    backend: { type: 'string', default: 'auto' },
    model: { type: 'string', default: 'auto' },
    bodies: { type: 'string', default: 'json,binary' },
    json: { type: 'string' },
  },
});
const maxBatch = Number(values['max-batch']);
const m = await benchModel({ backend: values.backend!, model: values.model!, maxBatch, samples: 1 });
const dir = mkdtempSync(path.join(tmpdir(), 'serve-bench-'));
const plan = path.join(dir, 'model.plan');
await m.engine.save(plan);
const [info] = m.engine.inputs;
const shape = [1, ...info.shape.slice(1)] as number[];
m.engine.dispose();
const main = fileURLToPath(new URL('../lib/cli/main.js', import.meta.url));

// One image per request. JSON carries 4 significant digits (what a client would send, and a smaller body).
const x = m.samples[0];
const bodies: Record<string, { body: Buffer; headers: Record<string, string> }> = {
  json: {
    body: Buffer.from(JSON.stringify({ inputs: [{ name: info.name, shape, datatype: 'FP32', data: Array.from(x, (v) => +v.toPrecision(4)) }] })),
    headers: { 'content-type': 'application/json' },
  },
  binary: (() => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: info.name, shape, datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }], parameters: { binary_data_output: true } }));
    return { body: Buffer.concat([header, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) } };
  })(),
};

/** A CommonJS module (autocannon require()s it in each worker) that gives every client the body of `kind`. */
function setupModule(kind: string, body: Buffer): string {
  const file = path.join(dir, `${kind}.body`);
  writeFileSync(file, body);
  const setup = path.join(dir, `${kind}-setup.cjs`);
  writeFileSync(setup, `const body = require('node:fs').readFileSync(${JSON.stringify(file)});\nmodule.exports = (client) => client.setBody(body);\n`);
  return setup;
}

async function startServer(batch: number): Promise<{ child: ChildProcess; url: string }> {
  const args = [main, 'serve', plan, '--name', 'bench', '--port', '0', '--max-batch', String(batch), '--contexts', values.contexts!, '--max-delay-ms', values['max-delay-ms']!];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  for (;;) {
    const hit = /listening on (\S+)/.exec(out);
    if (hit) return { child, url: hit[1] };
    if (child.exitCode !== null) throw new Error(`the server exited: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Rows and batch runs so far, from the server's Prometheus text. */
async function batchTotals(url: string): Promise<{ rows: number; batches: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const v = (name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name}{`))?.split(' ')[1] ?? NaN);
  return { rows: v('node_tensorrt_batch_size_sum'), batches: v('node_tensorrt_batch_size_count') };
}

console.log(`${m.label}; server: ${values.contexts} context(s), max delay ${values['max-delay-ms']} ms; ${values.seconds} s per row, autocannon${Number(values.workers) ? ` with ${values.workers} workers` : ''}${cpu ? ' — CPU reference run: a check of the script, not a GPU figure' : ''}`);
const rows: (string | number)[][] = [['body', 'batching', 'connections', 'req/s', 'p50', 'p99', 'mean batch', 'non-2xx', 'errors']];
const results: Record<string, unknown>[] = [];
try {
  for (const batch of [maxBatch, 1]) {
    const { child, url } = await startServer(batch);
    try {
      for (const kind of values.bodies!.split(',')) {
        const { body, headers } = bodies[kind];
        // Warm the server (contexts, JIT) before measuring.
        await autocannon({ url: `${url}/v2/models/bench/infer`, method: 'POST', headers, body, connections: 8, duration: 1 });
        for (const connections of numbers(values.connections!)) {
          const workers = Number(values.workers);
          const before = await batchTotals(url);
          // Worker threads receive options by structured clone, which turns a Buffer body into a plain Uint8Array
          // that autocannon refuses: there, each client reads the body from a file in a small setup module.
          const load = workers ? { workers, setupClient: setupModule(kind, body) } : { body };
          const r = await autocannon({ url: `${url}/v2/models/bench/infer`, method: 'POST', headers, connections, duration: Number(values.seconds), ...load });
          const after = await batchTotals(url);
          const mb = (after.rows - before.rows) / (after.batches - before.batches);
          const rate = r['2xx'] / r.duration;
          const label = batch === 1 ? 'off' : `on (≤${batch})`;
          rows.push([kind, label, connections, int(rate), ms(r.latency.p50), ms(r.latency.p99), mb.toFixed(1), r.non2xx, r.errors]);
          results.push({ body: kind, maxBatch: batch, connections, requestsPerSecond: rate, p50Ms: r.latency.p50, p99Ms: r.latency.p99, meanBatch: mb, non2xx: r.non2xx, errors: r.errors });
        }
      }
    } finally {
      await stop(child);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(table(rows, '  ').join('\n'));
console.log(`  body sizes: JSON ${int(bodies.json.body.length)} B, binary ${int(bodies.binary.body.length)} B`);
if (values.json) writeFileSync(values.json, JSON.stringify({ model: m.label, results }, null, 2));
