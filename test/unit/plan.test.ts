import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lib/errors.js';
import { checkPlanCompatibility, readPlan, writePlan, type PlanHeader } from '../../lib/plan.js';

const header: Omit<PlanHeader, 'payloadBytes'> = {
  backend: 'builtin',
  formatVersion: 1,
  libraryVersion: '0.1.0',
  computeCapability: '9.0',
  deviceName: 'NVIDIA H100 80GB HBM3',
  tensorrtVersion: null,
  precision: 'fp16',
  inputs: [{ name: 'input', shape: ['batch', 3, 224, 224], dtype: 'float32' }],
  outputs: [{ name: 'logits', shape: ['batch', 1000], dtype: 'float32' }],
  profile: { min: 1, opt: 8, max: 32 },
  createdAt: '2026-11-25T00:00:00.000Z',
};
const payload = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 255);

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
};

describe('plan container', () => {
  it('round-trips header and payload', () => {
    const bytes = writePlan(header, payload);
    expect(bytes.byteLength % 256).toBe(1000 % 256);
    const plan = readPlan(bytes);
    expect(plan.header).toEqual({ ...header, payloadBytes: 1000 });
    expect(Array.from(plan.payload)).toEqual(Array.from(payload));
  });

  it('refuses bytes that are not a plan', () => {
    expect(code(() => readPlan(new Uint8Array(3)))).toBe(ErrorCode.PLAN_CORRUPT);
    expect(code(() => readPlan(new TextEncoder().encode('{"hello": "world"} and more bytes')))).toBe(ErrorCode.PLAN_CORRUPT);
  });

  it('refuses a truncated plan at every length', () => {
    const bytes = writePlan(header, payload);
    for (let n = 0; n < bytes.byteLength; n += 37) expect(code(() => readPlan(bytes.subarray(0, n)))).toBe(ErrorCode.PLAN_CORRUPT);
  });

  it('refuses a plan with any one byte flipped', () => {
    const bytes = writePlan(header, payload);
    for (let i = 0; i < bytes.byteLength; i += 7) {
      const copy = bytes.slice();
      copy[i] ^= 0x10;
      const c = code(() => readPlan(copy));
      // the container version field is the only place a flip reads as "another version"
      expect(i >= 8 && i < 12 ? [ErrorCode.PLAN_MISMATCH] : [ErrorCode.PLAN_CORRUPT]).toContain(c);
    }
  });

  it('refuses another container version as a mismatch', () => {
    const bytes = writePlan(header, payload);
    new DataView(bytes.buffer).setUint32(8, 99, true);
    expect(code(() => readPlan(bytes))).toBe(ErrorCode.PLAN_MISMATCH);
  });

  it('refuses a plan for another compute capability or format version', () => {
    const plan = readPlan(writePlan({ ...header, computeCapability: '8.6' }, payload));
    expect(code(() => checkPlanCompatibility(plan.header, { computeCapability: '9.0', formatVersion: 1 }))).toBe(ErrorCode.PLAN_MISMATCH);
    expect(() => checkPlanCompatibility(plan.header, { computeCapability: '9.0', formatVersion: 1, deviceName: 'H100' })).toThrow(
      /built for compute capability 8\.6 .* but this device is 9\.0/,
    );
    expect(code(() => checkPlanCompatibility(plan.header, { computeCapability: '8.6', formatVersion: 2 }))).toBe(ErrorCode.PLAN_MISMATCH);
    expect(code(() => checkPlanCompatibility(plan.header, { computeCapability: '8.6', formatVersion: 1 }))).toBe('no error');
  });
});
