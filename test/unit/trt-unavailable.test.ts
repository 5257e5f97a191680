import { describe, expect, it } from 'vitest';
import { capabilities } from '../../lib/capabilities.js';
import { ErrorCode } from '../../lib/errors.js';
import { tryLoadAddon } from '../../lib/native.js';
import { readPlan, writePlan } from '../../lib/plan.js';
import { buildTrtPlan, loadTrtEngine, requireTensorRT } from '../../lib/trt/index.js';
import { trtPlanHeader } from '../../lib/trt/plan.js';

const caps = capabilities();
const inputs = [{ name: 'x', shape: ['batch', 4], dtype: 'float32' as const }];
const shapes = { x: { min: [1, 4], opt: [2, 4], max: [4, 4] } };
const plan = writePlan(
  trtPlanHeader({
    tensorrtVersion: '10.16.0',
    device: { name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0' },
    precision: 'fp16',
    inputs: [{ name: 'x', shape: ['batch', 4], dtype: 'float32' }],
    outputs: [{ name: 'y', shape: ['batch', 2], dtype: 'float32' }],
    profile: { min: 1, opt: 2, max: 4 },
    extra: { versionCompatible: false, fp16: 'flag' },
  }),
  new Uint8Array(64),
);

describe.skipIf(caps.tensorrt.available)('without TensorRT', () => {
  it('capabilities() says TensorRT is absent and why', () => {
    expect(caps.tensorrt.available).toBe(false);
    expect(caps.backends.tensorrt.available).toBe(false);
    expect(caps.tensorrt.reason).toMatch(/\S/);
    expect(caps.backends.tensorrt.reason).toBe(caps.tensorrt.reason);
    if (caps.addon.loaded && !caps.tensorrt.compiled) {
      expect(caps.tensorrt.reason).toContain('TensorRT SDK not found');
      expect(caps.tensorrt.version).toBeNull();
      expect(tryLoadAddon()?.trtBuild).toBeUndefined();
      expect(tryLoadAddon()?.trtLoadEngine).toBeUndefined();
    }
  });

  it('buildTrtPlan and loadTrtEngine throw ERR_TENSORRT_UNAVAILABLE with that reason', async () => {
    const unavailable = { code: ErrorCode.TENSORRT_UNAVAILABLE, message: `The tensorrt backend is not available: ${caps.tensorrt.reason}` };
    expect(() => requireTensorRT()).toThrow(expect.objectContaining(unavailable));
    await expect(buildTrtPlan(Uint8Array.of(8, 1), { inputs, shapes })).rejects.toMatchObject(unavailable);
    await expect(loadTrtEngine(plan, 0)).rejects.toMatchObject(unavailable);
  });

  it('still validates arguments first', async () => {
    await expect(buildTrtPlan(Uint8Array.of(8, 1), { inputs })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(buildTrtPlan(new Uint8Array(0), { inputs, shapes })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(buildTrtPlan(Uint8Array.of(8, 1), { inputs, shapes, optimizationLevel: 7 })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
      message: 'Expected an integer from 0 to 5 for optimizationLevel but received 7 of type number',
    });
    await expect(loadTrtEngine(plan.subarray(0, 100))).rejects.toMatchObject({ code: ErrorCode.PLAN_CORRUPT });
    const builtin = writePlan({ ...readPlan(plan).header, backend: 'builtin', tensorrtVersion: null }, new Uint8Array(8));
    await expect(loadTrtEngine(builtin)).rejects.toMatchObject({ code: ErrorCode.PLAN_MISMATCH, message: expect.stringContaining('builtin backend') });
  });
});
