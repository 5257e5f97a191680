// Completion modes: 'auto' (the default) sleeps through most of a run and still wakes close to its end, so its CPU
// cost is far below a spinning wait's while its latency stays near it: near the end the JS thread polls the run's
// end event on each turn of its loop and settles the promise itself.
import { describe, expect, it, vi } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { fillUniform } from '../../lib/util/random.js';
import { mobilenetV2 } from '../../scripts/gen-models.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

describe.skipIf(!hasGpu)(gpuSuite('completion modes'), () => {
  it("'auto' costs a fraction of a core where 'spin' costs one, at about spin's latency", async () => {
    const engine = await buildEngine(mobilenetV2({ seed: 42 }), {
      backend: 'builtin',
      shapes: { input: { min: [1, 3, 224, 224], opt: [32, 3, 224, 224], max: [32, 3, 224, 224] } },
    });
    const rows: Record<string, { overheadUs: number; cpuPercent: number; gpuMs: number }> = {};
    for (const sync of ['spin', 'auto', 'blocking', 'callback'] as const) {
      const ctx = await engine.createContext({ maxBatch: 32, sync });
      fillUniform(ctx.inputs.input as Float32Array, 1);
      for (let i = 0; i < 100; i++) await ctx.run({ batch: 32 });
      const gap: number[] = [];
      const gpu: number[] = [];
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      for (let i = 0; i < 300; i++) {
        const t0 = performance.now();
        await ctx.run({ batch: 32 });
        const t = performance.now() - t0;
        const d = ctx.lastTimings;
        gpu.push(d.h2dMs + d.computeMs + d.d2hMs);
        gap.push(t - gpu[gpu.length - 1]);
      }
      const cpu = process.cpuUsage(cpu0);
      rows[sync] = { overheadUs: median(gap) * 1000, cpuPercent: (100 * (cpu.user + cpu.system)) / 1000 / (performance.now() - wall0), gpuMs: median(gpu) };
      if (sync === 'auto') {
        // Timed runs: the JS thread was woken before the end and settled most of them itself, by polling.
        const c = ctx.info.completion!;
        console.log('auto completion:', c);
        expect(c.runs).toBeGreaterThan(300);
        expect(c.polled / c.runs).toBeGreaterThan(0.5);
      } else expect(ctx.info.completion).toBeUndefined();
      ctx.dispose();
    }
    console.table(rows);
    expect(rows.spin.gpuMs).toBeGreaterThan(0.5); // long enough for sleeping to matter
    expect(rows.spin.cpuPercent).toBeGreaterThan(80);
    expect(rows.auto.cpuPercent).toBeLessThan(rows.spin.cpuPercent / 2);
    expect(rows.auto.overheadUs).toBeLessThan(rows.callback.overheadUs);
    engine.dispose();
  }, 300_000);

  it("'auto' settles every run while fake timers hold setImmediate, and polls again once they are gone", async () => {
    const engine = await buildEngine(mobilenetV2({ seed: 42 }), {
      backend: 'builtin',
      shapes: { input: { min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [8, 3, 224, 224] } },
    });
    const ctx = await engine.createContext({ maxBatch: 8 });
    fillUniform(ctx.inputs.input as Float32Array, 2);
    for (let i = 0; i < 50; i++) await ctx.run({ batch: 8 });
    vi.useFakeTimers({ toFake: ['setImmediate'] });
    try {
      // The JS thread's polling is scheduled with the fake setImmediate and never runs: the waiter's hand-over
      // settles each run instead.
      for (let i = 0; i < 30; i++) await ctx.run({ batch: 8 });
    } finally {
      vi.useRealTimers();
    }
    await new Promise((r) => setTimeout(r, 20));
    const before = ctx.info.completion!.polled;
    for (let i = 0; i < 100; i++) await ctx.run({ batch: 8 });
    const c = ctx.info.completion!;
    console.log('auto completion after fake timers:', c);
    expect(c.polled - before).toBeGreaterThan(50);
    engine.dispose({ contexts: true });
  }, 120_000);
});
