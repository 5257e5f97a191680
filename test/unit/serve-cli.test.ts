// `node-tensorrt serve` in-process: flags, the listening line, requests, and the stop on a signal.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { serveCommand } from '../../lib/cli/commands/serve.js';
import { runCli } from '../../lib/cli/program.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { MIXED_IN, MIXED_OUT, mixedModel } from '../helpers/serve-models.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-serve-'));
const model = path.join(dir, 'mixed.onnx');
writeFileSync(model, mixedModel());

/** Runs `serve` with captured output; `stop()` plays the part of SIGTERM. */
function serve(...argv: string[]) {
  let out = '';
  let err = '';
  let stop!: (sig: string) => void;
  const signal = () => new Promise<string>((resolve) => (stop = resolve));
  const io = { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } };
  const program = new Command().exitOverride().addCommand(serveCommand(io, signal).exitOverride());
  const done = program.parseAsync(['serve', ...argv], { from: 'user' });
  const listening = async (): Promise<string> => {
    for (;;) {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) return m[1];
      await Promise.race([done, new Promise((r) => setTimeout(r, 10))]);
    }
  };
  return { done, listening, stop: (sig = 'SIGTERM') => stop(sig), out: () => out, err: () => err };
}

const body = (rows: number) =>
  JSON.stringify({
    inputs: [
      { name: 'x', shape: [rows, MIXED_IN], datatype: 'FP32', data: Array.from({ length: rows * MIXED_IN }, (_, i) => (i % 7) / 7) },
      { name: 'k', shape: [rows, MIXED_OUT], datatype: 'INT64', data: Array.from({ length: rows * MIXED_OUT }, (_, i) => i) },
    ],
  });

describe('node-tensorrt serve', () => {
  it('builds an ONNX model with a profile up to --max-batch, serves it, and stops cleanly on SIGTERM', async () => {
    const s = serve(model, '--backend', 'reference', '--port', '0', '--max-batch', '4', '--max-delay-ms', '0.5', '--contexts', '3', '--no-cache');
    const url = await s.listening();
    expect(s.out()).toContain("serving 'mixed' (reference FP16 on CPU, 3 contexts, max batch 4, max delay 0.5 ms)");
    const meta = (await (await fetch(`${url}/v2/models/mixed`)).json()) as any;
    expect(meta.inputs[0]).toEqual({ name: 'x', datatype: 'FP32', shape: [-1, MIXED_IN] });
    const ok = await fetch(`${url}/v2/models/mixed/infer`, { method: 'POST', body: body(4) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).outputs[1]).toEqual({ name: 'k32', datatype: 'INT32', shape: [4, MIXED_OUT], data: Array.from({ length: 16 }, (_, i) => i) });
    const tooMany = await fetch(`${url}/v2/models/mixed/infer`, { method: 'POST', body: body(5) });
    expect([tooMany.status, ((await tooMany.json()) as any).error]).toEqual([400, "Input 'x' has a batch of 5; this server takes 1 to 4 rows per request"]);
    s.stop();
    await s.done;
    expect(s.out()).toContain('SIGTERM: not taking new requests; finishing 0 queued or running');
    expect(s.out()).toContain('stopped after 1 requests in 1 batches (mean batch 4.00)');
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
  });

  it('takes --name and serves a plan file too', async () => {
    const engine = await buildEngine(mixedModel(), { backend: 'reference', shapes: { x: { min: [1, MIXED_IN], opt: [2, MIXED_IN], max: [2, MIXED_IN] }, k: { min: [1, MIXED_OUT], opt: [2, MIXED_OUT], max: [2, MIXED_OUT] } } });
    const plan = path.join(dir, 'mixed.plan');
    await engine.save(plan);
    engine.dispose();
    const built = serve(plan, '--port', '0', '--name', 'm2');
    const url = await built.listening();
    expect(built.out()).toContain("serving 'm2' (reference FP16 on CPU, 4 contexts, max batch 2, max delay 0 ms)");
    expect((await fetch(`${url}/v2/models/m2/ready`)).status).toBe(200);
    expect((await fetch(`${url}/v2/models/mixed/ready`)).status).toBe(404);
    built.stop('SIGINT');
    await built.done;
    expect(built.out()).toContain('SIGINT: not taking new requests');
  });

  it('warns when the engine runs batch 1 only', async () => {
    const fixed = path.join(dir, 'fixed.onnx');
    writeFileSync(fixed, smallCnn({ seed: 1, dynamicBatch: false }));
    const s = serve(fixed, '--backend', 'reference', '--port', '0', '--no-cache', '-q');
    const url = await s.listening();
    expect(s.err()).toContain('warning: the engine runs batch 1 only, so requests run one at a time');
    expect(((await (await fetch(`${url}/v2/models/fixed`)).json()) as any).inputs[0].shape).toEqual([1, 3, 32, 32]);
    s.stop();
    await s.done;
  });

  it('refuses bad flags with coded errors', async () => {
    const cli = async (...argv: string[]) => {
      let err = '';
      const code = await runCli(argv, { out: { write: () => true }, err: { write: (s: string) => (err += s) } });
      return { code, err };
    };
    expect(await cli('serve', model, '--port', 'x')).toEqual({ code: 1, err: "error [ERR_INVALID_ARGUMENT]: Expected a non-negative integer for --port but received 'x' of type string\n" });
    expect(await cli('serve', model, '--max-delay-ms', '-1')).toEqual({ code: 1, err: "error [ERR_INVALID_ARGUMENT]: Expected a non-negative number of milliseconds for --max-delay-ms but received '-1' of type string\n" });
    expect(await cli('serve', model, '--device', 'some')).toEqual({ code: 1, err: "error [ERR_INVALID_ARGUMENT]: Expected a non-negative integer for --device but received 'some' of type string\n" });
    expect(await cli('serve', model, '--max-batch', '0')).toEqual({ code: 1, err: "error [ERR_INVALID_ARGUMENT]: Expected a positive integer for --max-batch but received '0' of type string\n" });
    expect((await cli('serve', path.join(dir, 'missing.onnx'))).err).toMatch(/^error \[ERR_IO\]: /);
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    const taken = await cli('serve', model, '--backend', 'reference', '--no-cache', '-q', '--port', String(port));
    busy.close();
    expect(taken.code).toBe(1);
    expect(taken.err).toMatch(new RegExp(`^error \\[ERR_IO\\]: Could not listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });
});

// The real signal, in a real process: needs the compiled CLI (npm install builds dist/ with `prepare`), and one
// no older than the serving sources.
const main = path.resolve('dist/lib/cli/main.js');
const sources = ['lib/cli/commands/serve.ts', ...readdirSync('lib/serve').map((f) => `lib/serve/${f}`)];
const compiled = sources.every((src) => {
  const js = path.resolve('dist', src.replace(/\.ts$/, '.js'));
  return existsSync(js) && statSync(js).mtimeMs >= statSync(src).mtimeMs;
});
describe.skipIf(!compiled)('node-tensorrt serve as a process (dist/lib/cli/main.js; skipped when dist/ is missing or older than lib/serve)', () => {
  it('on SIGTERM answers 503 to new requests, finishes the queued one, and exits 0', async () => {
    const child = spawn(process.execPath, [main, 'serve', model, '--backend', 'reference', '--port', '0', '--no-cache', '-q', '--max-delay-ms', '3000', '--contexts', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    try {
      while (!/listening on (\S+)/.test(out)) {
        if (child.exitCode !== null) throw new Error(`serve exited early:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = /listening on (\S+)/.exec(out)![1];
      const queued = fetch(`${url}/v2/models/mixed/infer`, { method: 'POST', body: body(1) });
      // Wait until the server holds it in its queue (max delay 3 s), then signal.
      while (!(await (await fetch(`${url}/metrics`)).text()).includes('node_tensorrt_queue_depth{model="mixed"} 1')) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGTERM');
      while (!out.includes('SIGTERM: not taking new requests')) await new Promise((r) => setTimeout(r, 10));
      const late = await fetch(`${url}/v2/models/mixed/infer`, { method: 'POST', body: body(1) });
      expect([late.status, await late.json()]).toEqual([503, { error: 'The server is shutting down' }]);
      const r = await queued;
      expect(r.status).toBe(200);
      expect(((await r.json()) as any).outputs[1].data).toEqual([0, 1, 2, 3]);
      expect(await exited).toEqual([0, null]);
      expect(out).toContain('stopped after 1 requests in 1 batches');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
