import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { capabilities } from '../../lib/capabilities.js';
import { ErrorCode } from '../../lib/errors.js';
import { createPool } from '../../lib/pool.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { fillUniform } from '../../lib/util/random.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const devices = capabilities().cuda.devices.length;
const code = async (p: Promise<unknown>) => p.then(() => 'no error', (e) => (e as { code?: string }).code);

describe.skipIf(!hasGpu)(gpuSuite('context pool on the GPU'), () => {
  const model = smallCnn({ seed: 9 });
  const shapes = { input: { min: [1, 3, 32, 32], opt: [8, 3, 32, 32], max: [8, 3, 32, 32] } };

  it('loads the plan on every device, routes to the least-loaded context, and matches a single context', async () => {
    const engine = await buildEngine(model, { backend: 'builtin', shapes });
    const pool = await createPool(engine, { devices: 'all', contextsPerDevice: 2 });
    expect(pool.devices).toEqual(Array.from({ length: devices }, (_, i) => i));
    const single = await engine.createContext();
    const inputs = Array.from({ length: 32 }, (_, i) => fillUniform(new Float32Array(8 * 3 * 32 * 32), 300 + i));
    const got = await Promise.all(inputs.map((x) => pool.infer({ input: x })));
    for (let i = 0; i < inputs.length; i += 5) {
      const want = await single.infer({ input: inputs[i] });
      expect(Buffer.from((got[i].logits as Float32Array).buffer).equals(Buffer.from((want.logits as Float32Array).buffer))).toBe(true);
    }
    const served = pool.load.map((l) => l.served);
    expect(served.reduce((a, b) => a + b, 0)).toBe(32);
    expect(Math.min(...served)).toBeGreaterThan(0);
    pool.dispose();
    single.dispose();
    engine.dispose();
  });

  it('rejects a device index out of range with a coded error', async () => {
    const engine = await buildEngine(model, { backend: 'builtin', shapes });
    expect(await code(createPool(engine, { devices: [devices] }))).toBe(ErrorCode.DEVICE_OUT_OF_RANGE);
    expect(await code(createPool(engine, { devices: [0, 0] }))).toBe(ErrorCode.INVALID_ARGUMENT);
    engine.dispose();
  });

  it.skipIf(devices < 2)(`gives identical outputs on every device${devices < 2 ? ' [skipped: needs 2 GPUs]' : ''}`, async () => {
    const engine = await buildEngine(model, { backend: 'builtin', shapes });
    const x = fillUniform(new Float32Array(8 * 3 * 32 * 32), 77);
    const outs = [];
    for (let d = 0; d < devices; d++) {
      const pool = await createPool(engine, { devices: [d], contextsPerDevice: 1 });
      outs.push((await pool.infer({ input: x })).logits as Float32Array);
      pool.dispose();
    }
    for (const o of outs.slice(1)) expect(Buffer.from(o.buffer).equals(Buffer.from(outs[0].buffer))).toBe(true);
    engine.dispose();
  });
});
