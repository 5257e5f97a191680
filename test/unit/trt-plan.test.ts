import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lib/errors.js';
import { readPlan, writePlan } from '../../lib/plan.js';
import { readTimingCache, timingCacheFile, writeTimingCache } from '../../lib/trt/cache.js';
import { checkTrtIo, checkTrtPlan, TRT_FORMAT_VERSION, trtPlanHeader, trtTensorInfo } from '../../lib/trt/plan.js';
import type { NativeIOInfo } from '../../lib/native.js';
import { thrownError } from '../helpers/errors.js';

const io: NativeIOInfo[] = [
  { name: 'input', isInput: true, dtype: 0, shape: [-1, 3, 224, 224] },
  { name: 'logits', isInput: false, dtype: 1, shape: [-1, 1000] },
];
const h100 = { name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0' };
const tensors = trtTensorInfo(io, { input: ['N', 3, 224, 224] });
const header = trtPlanHeader({
  tensorrtVersion: '10.16.0',
  device: h100,
  precision: 'fp16',
  ...tensors,
  profile: { min: 1, opt: 8, max: 32 },
  extra: { versionCompatible: false, fp16: 'flag' },
  createdAt: '2026-01-01T00:00:00.000Z',
});
// A stand-in for a serialized engine: the container is what is under test here.
const payload = Uint8Array.from({ length: 4099 }, (_, i) => (i * 131 + 7) & 255);
const runtime = { tensorrtVersion: '10.16.0', computeCapability: '9.0', deviceName: h100.name };


describe('tensorrt plan container', () => {
  it('describes engine I/O with the model’s batch name and dtype names', () => {
    expect(tensors.inputs).toEqual([{ name: 'input', shape: ['N', 3, 224, 224], dtype: 'float32' }]);
    expect(tensors.outputs).toEqual([{ name: 'logits', shape: ['batch', 1000], dtype: 'float16' }]);
  });

  it('names open dimensions besides the batch after the model, and keeps the dims a profile lets vary', () => {
    const bert: NativeIOInfo[] = [
      { name: 'input_ids', isInput: true, dtype: 3, shape: [-1, -1] },
      { name: 'last_hidden_state', isInput: false, dtype: 0, shape: [-1, -1, 768] },
      { name: 'extra', isInput: false, dtype: 0, shape: [-1, -1] },
    ];
    const t = trtTensorInfo(bert, { input_ids: ['batch', 'sequence'], last_hidden_state: ['batch', 'sequence', 768] });
    expect(t.inputs[0].shape).toEqual(['batch', 'sequence']);
    expect(t.outputs.map((o) => o.shape)).toEqual([['batch', 'sequence', 768], ['batch', 'dim1']]);
    const dims = { sequence: { min: 1, opt: 64, max: 128 } };
    const h = readPlan(writePlan(trtPlanHeader({ ...t, tensorrtVersion: '11.1.0', device: h100, precision: 'fp16', profile: { min: 1, opt: 8, max: 32 }, dims, extra: { versionCompatible: false, fp16: 'onnx' } }), payload)).header;
    expect(h.dims).toEqual(dims);
    expect(() => checkTrtIo(h, bert)).not.toThrow();
  });

  it('round-trips a tensorrt header and payload', () => {
    const plan = readPlan(writePlan(header, payload));
    expect(plan.header).toEqual({ ...header, payloadBytes: payload.byteLength });
    expect(plan.header.backend).toBe('tensorrt');
    expect(plan.header.tensorrtVersion).toBe('10.16.0');
    expect(plan.header.formatVersion).toBe(TRT_FORMAT_VERSION);
    expect(plan.header.extra).toEqual({ tensorrt: { versionCompatible: false, fp16: 'flag' } });
    expect(Buffer.from(plan.payload).equals(Buffer.from(payload))).toBe(true);
  });

  it('accepts the plan on the runtime that built it', () => {
    expect(() => checkTrtPlan(readPlan(writePlan(header, payload)).header, runtime)).not.toThrow();
    expect(() => checkTrtPlan(readPlan(writePlan(header, payload)).header, { ...runtime, tensorrtVersion: '10.16.0.72' })).not.toThrow();
  });

  it('refuses another TensorRT version before deserializing, naming both', () => {
    const e = thrownError(() => checkTrtPlan(readPlan(writePlan(header, payload)).header, { ...runtime, tensorrtVersion: '11.1.0' }));
    expect(e.code).toBe(ErrorCode.PLAN_MISMATCH);
    expect(e.message).toMatch(/built with TensorRT 10\.16\.0 but TensorRT 11\.1\.0 is loaded/);
  });

  it('lets a version-compatible plan run on a later 10.x', () => {
    const vc = readPlan(writePlan({ ...header, extra: { tensorrt: { versionCompatible: true, fp16: 'flag' } } }, payload)).header;
    expect(() => checkTrtPlan(vc, { ...runtime, tensorrtVersion: '10.17.1' })).not.toThrow();
  });

  it('refuses another GPU, another payload format, another backend, or no recorded version', () => {
    const h = readPlan(writePlan(header, payload)).header;
    const gpu = thrownError(() => checkTrtPlan(h, { tensorrtVersion: '10.16.0', computeCapability: '8.0', deviceName: 'NVIDIA A100' }));
    expect(gpu.code).toBe(ErrorCode.PLAN_MISMATCH);
    expect(gpu.message).toContain('compute capability 9.0');
    expect(thrownError(() => checkTrtPlan({ ...h, formatVersion: 99 }, runtime)).code).toBe(ErrorCode.PLAN_MISMATCH);
    const builtin = thrownError(() => checkTrtPlan({ ...h, backend: 'builtin' }, runtime));
    expect(builtin.code).toBe(ErrorCode.PLAN_MISMATCH);
    expect(builtin.message).toContain('for the builtin backend');
    expect(thrownError(() => checkTrtPlan({ ...h, tensorrtVersion: null }, runtime)).code).toBe(ErrorCode.PLAN_CORRUPT);
  });

  it('checks the engine’s I/O against the header', () => {
    const h = readPlan(writePlan(header, payload)).header;
    expect(() => checkTrtIo(h, io)).not.toThrow();
    for (const changed of [
      [io[0], { ...io[1], dtype: 0 }],
      [io[0], { ...io[1], shape: [-1, 10] }],
      [io[0], { ...io[1], name: 'probs' }],
      [io[0]],
      [{ ...io[0], shape: [1, 3, 224, 224] }, io[1]],
    ]) {
      const e = thrownError(() => checkTrtIo(h, changed));
      expect(e.code).toBe(ErrorCode.PLAN_CORRUPT);
      expect(e.message).toContain('does not match the engine');
    }
  });

  it('detects a damaged engine payload through the container checksum', () => {
    const bytes = writePlan(header, payload);
    bytes[bytes.byteLength - 10] ^= 1;
    expect(thrownError(() => readPlan(bytes)).code).toBe(ErrorCode.PLAN_CORRUPT);
  });
});

describe('timing cache files', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ntrt-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are named by GPU, compute capability and TensorRT version', () => {
    expect(path.basename(timingCacheFile(dir, h100, '10.16.0'))).toBe('tensorrt-nvidia-h100-80gb-hbm3-sm90-trt10.16.0.timing-cache');
    expect(timingCacheFile(dir, h100, '10.16.0')).not.toBe(timingCacheFile(dir, h100, '11.1.0'));
    expect(timingCacheFile(dir, h100, '10.16.0')).not.toBe(timingCacheFile(dir, { name: 'NVIDIA A100-SXM4-80GB', computeCapability: '8.0' }, '10.16.0'));
    expect(path.dirname(timingCacheFile(dir, { name: '../../etc', computeCapability: '9.0' }, '10.16.0'))).toBe(dir);
  });

  it('read as null when absent and round-trip atomically', async () => {
    const file = timingCacheFile(path.join(dir, 'nested'), h100, '10.16.0');
    expect(await readTimingCache(file)).toBeNull();
    await writeTimingCache(file, Uint8Array.of(1, 2, 3, 250));
    expect(Array.from((await readTimingCache(file))!)).toEqual([1, 2, 3, 250]);
    expect(readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
  });

  it('report unreadable caches as ERR_IO', async () => {
    const notDir = path.join(dir, 'file');
    writeFileSync(notDir, 'x');
    await expect(readTimingCache(path.join(notDir, 'c'))).rejects.toMatchObject({ code: ErrorCode.IO });
    await expect(writeTimingCache(path.join(notDir, 'c'), Uint8Array.of(1))).rejects.toMatchObject({ code: ErrorCode.IO });
  });
});
