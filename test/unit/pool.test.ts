import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { capabilities } from '../../lib/capabilities.js';
import { ErrorCode } from '../../lib/errors.js';
import { createPool } from '../../lib/pool.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { fillUniform } from '../../lib/util/random.js';
import { seeds } from '../../scripts/fuzz/seeds.js';

const code = async (p: Promise<unknown>) => p.then(() => 'no error', (e) => (e as { code?: string }).code);

describe('context pool (reference backend, runs everywhere)', () => {
  it('spreads concurrent requests over its contexts and returns what a single context returns', async () => {
    const engine = await buildEngine(smallCnn({ seed: 2 }), { backend: 'reference' });
    const pool = await createPool(engine, { contextsPerDevice: 3 });
    const single = await engine.createContext();
    const inputs = Array.from({ length: 9 }, (_, i) => fillUniform(new Float32Array(3 * 32 * 32), 50 + i));
    const got = await Promise.all(inputs.map((x) => pool.infer({ input: x })));
    for (let i = 0; i < inputs.length; i++) {
      const want = await single.infer({ input: inputs[i] });
      expect(Array.from(got[i].logits as Float32Array)).toEqual(Array.from(want.logits as Float32Array));
    }
    expect(pool.load.map((l) => l.served)).toEqual([3, 3, 3]);
    expect(pool.load.every((l) => l.pending === 0)).toBe(true);
    pool.dispose();
    pool.dispose();
    expect(await code(pool.infer({ input: inputs[0] }))).toBe(ErrorCode.DISPOSED);
    single.dispose();
    engine.dispose();
  });

  it('validates its options', async () => {
    const engine = await buildEngine(smallCnn({ seed: 2 }), { backend: 'reference' });
    expect(await code(createPool(engine, { contextsPerDevice: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await code(createPool(engine, { bogus: 1 } as never))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await code(createPool(42 as never))).toBe(ErrorCode.INVALID_ARGUMENT);
    engine.dispose();
  });

  it('validates device lists for GPU plans', async () => {
    const gpu = capabilities().cuda.available;
    const plan = seeds()[0].plan; // a builtin plan, made on the CPU
    expect(await code(createPool(plan, { devices: [] }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await code(createPool(plan, { devices: [0.5] }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await code(createPool(plan, { devices: [64] }))).toBe(gpu ? ErrorCode.DEVICE_OUT_OF_RANGE : ErrorCode.NO_CUDA_DEVICE);
    if (!gpu) expect(await code(createPool(plan, { devices: 'all' }))).toBe(ErrorCode.NO_CUDA_DEVICE);
    expect(await code(createPool(new Uint8Array(8)))).toBe(ErrorCode.PLAN_CORRUPT);
  });

  it('runs a reference plan given as a path or bytes, without a GPU', async () => {
    const engine = await buildEngine(smallCnn({ seed: 2 }), { backend: 'reference' });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ntrt-pool-')), 'ref.plan');
    writeFileSync(file, engine.serialize());
    const x = fillUniform(new Float32Array(3 * 32 * 32), 9);
    const ctx = await engine.createContext();
    const want = Array.from((await ctx.infer({ input: x })).logits as Float32Array);
    for (const source of [file, engine.serialize()]) {
      const pool = await createPool(source, { contextsPerDevice: 2 });
      expect(Array.from((await pool.infer({ input: x })).logits as Float32Array)).toEqual(want);
      pool.dispose();
    }
    engine.dispose({ contexts: true });
  });
});
