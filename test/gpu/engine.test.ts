import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine, loadEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { ErrorCode } from '../../lib/errors.js';
import { readPlan, writePlan } from '../../lib/plan.js';
import { validateEngine } from '../../lib/validate-engine.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { fillUniform } from '../../lib/util/random.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const code = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'no error';
};

describe.skipIf(!hasGpu)(gpuSuite('builtin engine on the GPU'), () => {
  const model = smallCnn({ seed: 7 });
  const shapes = (min: number, opt: number, max: number) => {
    const dims = [3, 32, 32];
    return { input: { min: [min, ...dims], opt: [opt, ...dims], max: [max, ...dims] } };
  };
  let fp16: Engine;
  let fp32: Engine;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ntrt-gpu-'));

  beforeAll(async () => {
    fp16 = await buildEngine(model, { backend: 'builtin', shapes: shapes(1, 4, 16), tacticBatches: [8, 2] });
    fp32 = await buildEngine(model, { backend: 'builtin', precision: 'fp32', shapes: shapes(1, 4, 16) });
  });
  afterAll(() => {
    fp16?.dispose({ contexts: true });
    fp32?.dispose({ contexts: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a tactic and a time for every layer', () => {
    const info = fp16.buildInfo!;
    expect(info.layers.length).toBeGreaterThan(3);
    for (const l of info.layers) {
      expect(l.tactic).toBeTruthy();
      expect(l.ms).toBeGreaterThan(0);
      expect(l.candidates.length).toBeGreaterThan(0);
      // Chosen at the profile's min, opt and max and at the tacticBatches asked for (8 and 2), in order.
      expect(l.byBatch?.map((c) => c.batch)).toEqual([1, 2, 4, 8, 16]);
    }
    expect(info.activationBytes).toBeGreaterThan(0);
  });

  it('matches the reference: fp16 within 1e-2, fp32 within 1e-4, top-1 ≥ 99%', async () => {
    const r16 = await validateEngine(fp16, { samples: 64, batch: 16 });
    const r32 = await validateEngine(fp32, { samples: 64, batch: 16 });
    expect(r16.outputs[0].maxRel).toBeLessThan(1e-2);
    expect(r32.outputs[0].maxRel).toBeLessThan(1e-4);
    expect(r16.top1Agreement).toBeGreaterThanOrEqual(0.99);
    expect(r32.top1Agreement).toBe(1);
  });

  it('writes every output element (poisoned before each run) at every batch in the profile', async () => {
    const ctx = await fp16.createContext();
    for (const batch of [1, 2, 3, 7, 16]) {
      fillUniform(ctx.inputs.input as Float32Array, batch);
      (ctx.outputs.logits as Float32Array).fill(NaN);
      await ctx.run({ batch });
      const out = (ctx.outputs.logits as Float32Array).subarray(0, batch * 10);
      expect(out.every(Number.isFinite)).toBe(true);
      if (batch < 16) expect(Number.isNaN((ctx.outputs.logits as Float32Array)[batch * 10])).toBe(true); // rows past the batch untouched
    }
    ctx.dispose();
  });

  it('gives each row the same answer whatever the batch', async () => {
    const ctx = await fp32.createContext();
    const x = ctx.inputs.input as Float32Array;
    fillUniform(x, 99);
    await ctx.run({ batch: 8 });
    const all = (ctx.outputs.logits as Float32Array).slice(0, 80);
    const row = 3 * 32 * 32;
    x.copyWithin(0, 5 * row, 6 * row);
    await ctx.run({ batch: 1 });
    const one = (ctx.outputs.logits as Float32Array).slice(0, 10);
    for (let i = 0; i < 10; i++) expect(one[i]).toBeCloseTo(all[50 + i], 4);
    ctx.dispose();
  });

  it('saves and loads a plan that computes the same bits', async () => {
    const file = path.join(dir, 'small.plan');
    await fp16.save(file);
    const loaded = await loadEngine(file);
    expect(loaded.inputs).toEqual(fp16.inputs);
    const a = await fp16.createContext();
    const b = await loaded.createContext();
    fillUniform(a.inputs.input as Float32Array, 5);
    (b.inputs.input as Float32Array).set(a.inputs.input as Float32Array);
    await a.run({ batch: 4 });
    await b.run({ batch: 4 });
    const bits = (c: typeof a) => Buffer.from((c.outputs.logits as Float32Array).buffer, 0, 4 * 10 * 4);
    expect(bits(b).equals(bits(a))).toBe(true);
    a.dispose();
    b.dispose();
    loaded.dispose();
  });

  it('refuses plans from another GPU, truncated plans and flipped bytes, and lives', async () => {
    const bytes = fp16.serialize();
    const { header, payload } = readPlan(bytes);
    const other = writePlan({ ...header, computeCapability: '7.5', deviceName: 'Tesla T4' }, payload);
    expect(await code(loadEngine(other))).toBe(ErrorCode.PLAN_MISMATCH);
    expect(await code(loadEngine(bytes.subarray(0, bytes.length - 100)))).toBe(ErrorCode.PLAN_CORRUPT);
    const flipped = bytes.slice();
    flipped[Math.floor(bytes.length * 0.7)] ^= 0x40;
    expect(await code(loadEngine(flipped))).toBe(ErrorCode.PLAN_CORRUPT);
    const e = await loadEngine(bytes);
    e.dispose();
  });

  it('rejects a batch outside the profile', async () => {
    const ctx = await fp16.createContext();
    expect(await code(() => ctx.run({ batch: 17 }))).toBe(ErrorCode.BATCH_OUT_OF_RANGE);
    expect(await code(() => ctx.run({ batch: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await code(ctx.infer({ input: new Float32Array(3 * 32 * 32 * 17) }))).toBe(ErrorCode.BATCH_OUT_OF_RANGE);
    expect(await code(() => fp16.createContext({ maxBatch: 64 }))).toBe(ErrorCode.BATCH_OUT_OF_RANGE);
    ctx.dispose();
  });

  it('4 contexts with 8 concurrent callers give bit-identical outputs to serial runs', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => fillUniform(new Float32Array(3 * 32 * 32 * 2), 1000 + i));
    const serial = await fp16.createContext();
    const want: Float32Array[] = [];
    for (const x of inputs) want.push((await serial.infer({ input: x })).logits as Float32Array);
    serial.dispose();
    const ctxs = await Promise.all([0, 1, 2, 3].map(() => fp16.createContext({ maxBatch: 2 })));
    for (let round = 0; round < 5; round++) {
      const got = await Promise.all(inputs.map((x, i) => ctxs[i % 4].infer({ input: x })));
      got.forEach((g, i) => expect(Buffer.from((g.logits as Float32Array).buffer).equals(Buffer.from(want[i].buffer))).toBe(true));
    }
    for (const c of ctxs) c.dispose();
  });

  it('settles runs through every completion mode with the same outputs', async () => {
    const x = fillUniform(new Float32Array(3 * 32 * 32 * 4), 21);
    const outs = [];
    for (const sync of ['auto', 'callback', 'spin', 'blocking'] as const) {
      const ctx = await fp16.createContext({ sync });
      for (let i = 0; i < 20; i++) await ctx.infer({ input: x });
      outs.push((await ctx.infer({ input: x })).logits as Float32Array);
      expect(ctx.lastTimings.computeMs).toBeGreaterThan(0);
      ctx.dispose();
    }
    for (const o of outs.slice(1)) expect(Buffer.from(o.buffer).equals(Buffer.from(outs[0].buffer))).toBe(true);
    expect(await code(() => fp16.createContext({ sync: 'poll' as never }))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('throws ERR_CONTEXT_BUSY for a second run() in flight, and infer() queues', async () => {
    const ctx = await fp16.createContext();
    const p = ctx.run({ batch: 1 });
    expect(await code(() => ctx.run({ batch: 1 }))).toBe(ErrorCode.CONTEXT_BUSY);
    await p;
    const x = fillUniform(new Float32Array(3 * 32 * 32), 3);
    const [a, b] = await Promise.all([ctx.infer({ input: x }), ctx.infer({ input: x })]);
    expect(Array.from(a.logits as Float32Array)).toEqual(Array.from(b.logits as Float32Array));
    ctx.dispose();
  });

  it('keeps the event loop turning while building and running', async () => {
    let turns = 0;
    let spinning = true;
    const spin = () => {
      if (!spinning) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const e = await buildEngine(model, { backend: 'builtin', shapes: shapes(1, 8, 8) });
    const duringBuild = turns;
    const ctx = await e.createContext();
    for (let i = 0; i < 50; i++) await ctx.run({ batch: 8 });
    spinning = false;
    expect(duringBuild).toBeGreaterThan(10);
    expect(turns).toBeGreaterThan(duringBuild + 50);
    ctx.dispose();
    e.dispose();
  });

  it('orders disposal: an engine refuses to go under live contexts; use after dispose is ERR_DISPOSED', async () => {
    const e = await loadEngine(fp16.serialize());
    const ctx = await e.createContext();
    const view = ctx.inputs.input;
    expect(await code(() => e.dispose())).toBe(ErrorCode.ENGINE_IN_USE);
    ctx.dispose();
    ctx.dispose();
    expect(view.length).toBe(0);
    expect(await code(() => ctx.run({ batch: 1 }))).toBe(ErrorCode.DISPOSED);
    e.dispose();
    e.dispose();
    expect(await code(() => e.createContext())).toBe(ErrorCode.DISPOSED);
    expect(await code(() => e.serialize())).toBe(ErrorCode.DISPOSED);
  });

  it('reports OOM as a coded error when contexts exhaust GPU memory, and goes on working', async () => {
    const big = await buildEngine(model, { backend: 'builtin', shapes: shapes(1, 1, 65536) });
    const held = [];
    let failure = 'none';
    for (let i = 0; i < 200; i++) {
      try {
        held.push(await big.createContext());
      } catch (e) {
        failure = (e as { code: string }).code;
        break;
      }
    }
    expect(failure).toBe(ErrorCode.CUDA_OUT_OF_MEMORY);
    for (const c of held) c.dispose();
    const ctx = await fp16.createContext();
    fillUniform(ctx.inputs.input as Float32Array, 1);
    await ctx.run({ batch: 1 });
    expect((ctx.outputs.logits as Float32Array).slice(0, 10).every(Number.isFinite)).toBe(true);
    ctx.dispose();
    big.dispose();
  });

  it('reuses the tactic cache on a rebuild', async () => {
    const cache = path.join(dir, 'tactics');
    const cold = await buildEngine(model, { backend: 'builtin', tacticCache: cache, shapes: shapes(1, 2, 4) });
    const warm = await buildEngine(model, { backend: 'builtin', tacticCache: cache, shapes: shapes(1, 2, 4) });
    expect(cold.buildInfo!.tacticCacheHits).toBe(0);
    expect(warm.buildInfo!.tacticCacheHits).toBe(warm.buildInfo!.layers.length);
    expect(warm.buildInfo!.layers.map((l) => l.tactic)).toEqual(cold.buildInfo!.layers.map((l) => l.tactic));
    cold.dispose();
    warm.dispose();
  });

  it('builds within a zero workspace using tactics that need none', async () => {
    const e = await buildEngine(model, { backend: 'builtin', workspace: 0, shapes: shapes(1, 1, 1) });
    expect(e.buildInfo!.workspaceBytes).toBe(0);
    e.dispose();
  });
});
