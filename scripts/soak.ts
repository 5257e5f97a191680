// JS overhead of run()/infer() over the GPU time, and leak checks: context create/dispose cycles and many runs
// must leave GPU memory (cudaMemGetInfo) and RSS flat.
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
const ctx = await engine.createContext({ maxBatch: 1 });
const x = ctx.inputs.input as Float32Array;
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i) * 0.5;
const out: Record<string, unknown> = {};

// 1. Overhead: host latency of `await run()` minus the device time of the same run.
for (const transfers of [true, false]) {
  for (let i = 0; i < 200; i++) await ctx.run({ batch: 1, transfers });
  const host: number[] = [];
  const device: number[] = [];
  const gap: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await ctx.run({ batch: 1, transfers });
    const t = performance.now() - t0;
    const d = ctx.lastTimings;
    const gpu = d.h2dMs + d.computeMs + d.d2hMs;
    host.push(t);
    device.push(gpu);
    gap.push(t - gpu);
  }
  const key = transfers ? 'run' : 'runNoTransfers';
  out[key] = { hostMs: median(host), deviceMs: median(device), overheadMs: median(gap) };
  console.log(`${key.padEnd(16)} host ${us(median(host))}  device (H2D+compute+D2H) ${us(median(device))}  overhead ${us(median(gap))}`);
}
{
  const feed = { input: new Float32Array(x) };
  const host: number[] = [];
  const device: number[] = [];
  for (let i = 0; i < 200; i++) await ctx.infer(feed);
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await ctx.infer(feed);
    host.push(performance.now() - t0);
    const d = ctx.lastTimings;
    device.push(d.h2dMs + d.computeMs + d.d2hMs);
  }
  out.infer = { hostMs: median(host), deviceMs: median(device), overheadMs: median(host) - median(device) };
  console.log(`${'infer'.padEnd(16)} host ${us(median(host))}  device ${us(median(device))}  overhead ${us(median(host) - median(device))}`);
}

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
