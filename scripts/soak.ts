// JS overhead of run()/infer() over the GPU time per completion mode, with the process CPU time each mode costs,
// and leak checks: context create/dispose cycles and many runs must leave GPU memory (cudaMemGetInfo) and RSS flat.
// Usage: node dist/scripts/soak.js [--cycles 1000] [--runs 100000] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildEngine } from '../lib/builder.js';
import { capabilities } from '../lib/capabilities.js';
import { memoryInfo } from '../lib/memory.js';
import { mobilenetV2 } from './gen-models.js';

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '1000' }, runs: { type: 'string', default: '100000' }, json: { type: 'string' } } });
if (!capabilities().cuda.available) {
  console.log('No CUDA device: nothing to measure.');
  process.exit(0);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const engine = await buildEngine(mobilenetV2({ seed: 42 }), {
  backend: 'builtin',
  shapes: { input: { min: [1, 3, 224, 224], opt: [1, 3, 224, 224], max: [8, 3, 224, 224] } },
});
const out: Record<string, unknown> = {};
const fill = (a: Float32Array) => {
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i) * 0.5;
  return a;
};

// 1. Overhead: host latency of `await run()` (and `infer()`) minus the device time of the same run, per completion
// mode, with the CPU time the whole process used meanwhile (process.cpuUsage(): user + system), so the cost of
// spinning shows: 100% means one core busy for the whole measurement. `call` is the part spent before run()/infer()
// returns its promise (checks, input copy, enqueue); the rest of the overhead is waking up after the GPU is done.
const RUNS = 3000;
for (const sync of ['auto', 'callback', 'spin', 'blocking'] as const) {
  const c = await engine.createContext({ maxBatch: 1, sync });
  fill(c.inputs.input as Float32Array);
  const row: Record<string, unknown> = {};
  for (const mode of ['run', 'runNoTransfers', 'infer'] as const) {
    const feed = { input: fill(new Float32Array(3 * 224 * 224)) };
    const once = () => (mode === 'infer' ? c.infer(feed) : c.run({ batch: 1, transfers: mode === 'run' }));
    for (let i = 0; i < 300; i++) await once();
    const host: number[] = [];
    const call: number[] = [];
    const gap: number[] = [];
    const dev: number[] = [];
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const pending = once();
      call.push(performance.now() - t0);
      await pending;
      const t = performance.now() - t0;
      const d = c.lastTimings;
      const gpu = d.h2dMs + d.computeMs + d.d2hMs;
      host.push(t);
      dev.push(gpu);
      gap.push(t - gpu);
    }
    const wallMs = performance.now() - wall0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    row[mode] = {
      hostMs: median(host),
      deviceMs: median(dev),
      computeMs: c.lastTimings.computeMs,
      overheadMs: median(gap),
      callMs: median(call),
      runs: RUNS,
      wallMs,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      cpuPercentOfCore: (100 * cpuMs) / wallMs,
    };
    console.log(
      `${sync.padEnd(9)} ${mode.padEnd(15)} host ${us(median(host))}  device (H2D+compute+D2H) ${us(median(dev))}  overhead ${us(median(gap))} (call ${us(median(call))})` +
        `  CPU ${(cpuMs / 1000).toFixed(2)} s in ${(wallMs / 1000).toFixed(2)} s (${((100 * cpuMs) / wallMs).toFixed(0)}% of a core) for ${RUNS} runs`,
    );
  }
  out[sync] = row;
  if (c.info.completion) {
    const k = c.info.completion;
    console.log(`${sync.padEnd(9)} timed runs ${k.runs}: late wakes ${k.lateWakes}, settled by the JS thread's poll ${k.polled} (polling ${k.pollUs.toFixed(1)} µs each), ended before it polled ${k.notPolled}`);
    row.completion = k;
  }
  c.dispose();
}
const ctx = await engine.createContext({ maxBatch: 1 });
fill(ctx.inputs.input as Float32Array);

// 2. Leaks: context create/dispose cycles, then many runs.
const snapshot = () => {
  globalThis.gc?.();
  return { gpuUsed: memoryInfo(0).total - memoryInfo(0).free, rss: process.memoryUsage().rss };
};
const cycles = Number(values.cycles);
for (let i = 0; i < 20; i++) (await engine.createContext({ maxBatch: 8 })).dispose();
const c0 = snapshot();
for (let i = 0; i < cycles; i++) {
  const c = await engine.createContext({ maxBatch: 8 });
  if (i % 10 === 0) await c.run({ batch: 8 });
  c.dispose();
}
const c1 = snapshot();
out.contextCycles = { cycles, gpuDelta: c1.gpuUsed - c0.gpuUsed, rssDelta: c1.rss - c0.rss, before: c0, after: c1 };
console.log(`${cycles} context create/dispose: GPU used ${mib(c0.gpuUsed)} → ${mib(c1.gpuUsed)} (Δ ${mib(c1.gpuUsed - c0.gpuUsed)}), RSS ${mib(c0.rss)} → ${mib(c1.rss)} (Δ ${mib(c1.rss - c0.rss)})`);
const runs = Number(values.runs);
const r0 = snapshot();
const t0 = performance.now();
for (let i = 0; i < runs; i++) await ctx.run({ batch: 1 });
const seconds = (performance.now() - t0) / 1000;
const r1 = snapshot();
out.runs = { runs, seconds, gpuDelta: r1.gpuUsed - r0.gpuUsed, rssDelta: r1.rss - r0.rss, before: r0, after: r1 };
console.log(`${runs} runs in ${seconds.toFixed(1)} s: GPU used ${mib(r0.gpuUsed)} → ${mib(r1.gpuUsed)} (Δ ${mib(r1.gpuUsed - r0.gpuUsed)}), RSS ${mib(r0.rss)} → ${mib(r1.rss)} (Δ ${mib(r1.rss - r0.rss)})`);
ctx.dispose();
engine.dispose();
if (values.json) writeFileSync(values.json, JSON.stringify(out, null, 2));
