// Build → load → run through a GPU backend, end to end, against a CPU reference. Written over a small backend
// interface so the same suite runs for every GPU backend; each one skips itself, with the reason, where it can't run.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilities } from '../../lib/capabilities.js';
import { Engine } from '../../lib/engine.js';
import { ErrorCode } from '../../lib/errors.js';
import { readPlan, writePlan } from '../../lib/plan.js';
import { buildTrtPlan, loadTrtEngine, timingCacheFile, type TrtBuildOptions } from '../../lib/trt/index.js';
import type { NativeTrtEngine } from '../../lib/native.js';
import type { TensorInfo } from '../../lib/types.js';
import { fillUniform, uniformRandom } from '../../lib/util/random.js';
import { encodeOnnx, mlp } from '../helpers/onnx-writer.js';

interface GpuBackend {
  name: string;
  /** Why this backend can't run here; empty when it can. */
  skip: string;
  build(onnx: Uint8Array, options: TrtBuildOptions): Promise<Engine>;
  load(plan: Uint8Array, device?: number): Promise<Engine>;
}

const caps = capabilities();
const backends: GpuBackend[] = [
  {
    name: 'tensorrt',
    skip: !caps.tensorrt.available
      ? (caps.tensorrt.reason ?? '').includes('TensorRT SDK not found')
        ? caps.tensorrt.reason!
        : `TensorRT SDK not found: ${caps.tensorrt.reason ?? 'unavailable'}`
      : !caps.cuda.available
        ? `no CUDA device: ${caps.cuda.reason ?? ''}`
        : '',
    build: async (onnx, options) => new Engine(await buildTrtPlan(onnx, options)),
    load: async (plan, device) => new Engine(await loadTrtEngine(plan, device)),
  },
];

const IN = 16;
const OUT = 4;
const inputs: TensorInfo[] = [{ name: 'x', shape: ['batch', IN], dtype: 'float32' }];
const shapes = { x: { min: [1, IN], opt: [4, IN], max: [8, IN] } };

function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / Math.max(den, 1e-6);
}

for (const backend of backends) {
  describe.skipIf(backend.skip !== '')(`${backend.name} backend: build, load, run${backend.skip ? ` [skipped: ${backend.skip}]` : ''}`, () => {
    const model = mlp(IN, 32, OUT, uniformRandom(11));
    const dir = mkdtempSync(path.join(os.tmpdir(), `ntrt-${backend.name}-`));
    let engine: Engine;
    let progress = 0;
    let loopTurns = 0;

    beforeAll(async () => {
      let spinning = true;
      const spin = () => {
        loopTurns++;
        if (spinning) setImmediate(spin);
      };
      setImmediate(spin);
      engine = await backend.build(model.onnx, {
        inputs,
        shapes,
        precision: 'fp32',
        tacticCache: dir,
        workspace: 256 << 20,
        onProgress: () => progress++,
      });
      spinning = false;
    });
    afterAll(() => {
      engine?.dispose({ contexts: true });
      rmSync(dir, { recursive: true, force: true });
    });

    it('builds off the JS thread, reporting progress, with the engine’s own metadata in the header', () => {
      expect(loopTurns).toBeGreaterThan(10);
      expect(progress).toBeGreaterThan(0);
      expect(engine.backend).toBe(backend.name);
      expect(engine.profile).toEqual({ min: 1, opt: 4, max: 8 });
      expect(engine.inputs).toEqual([{ name: 'x', shape: ['batch', IN], dtype: 'float32' }]);
      expect(engine.outputs).toEqual([{ name: 'y', shape: ['batch', OUT], dtype: 'float32' }]);
      expect(engine.header.tensorrtVersion).toBe(caps.tensorrt.version);
      expect(engine.header.computeCapability).toBe(caps.cuda.devices[0].computeCapability);
      expect(engine.buildInfo?.layers.length).toBeGreaterThan(0);
    });

    it('writes the timing cache for this GPU and TensorRT version', () => {
      const file = timingCacheFile(dir, caps.cuda.devices[0], caps.tensorrt.version!);
      expect(existsSync(file)).toBe(true);
      expect(readdirSync(dir)).toEqual([path.basename(file)]);
    });

    it('runs every batch size in the profile, matching the CPU reference', async () => {
      const ctx = await engine.createContext({ maxBatch: 8 });
      try {
        for (const batch of [1, 3, 8, 3]) {
          const x = fillUniform(new Float32Array(batch * IN), 100 + batch);
          (ctx.inputs.x as Float32Array).set(x);
          await ctx.run({ batch });
          const y = (ctx.outputs.y as Float32Array).subarray(0, batch * OUT);
          expect(maxRelError(y, model.reference(x))).toBeLessThan(1e-2); // TF32 may be used for fp32 matmuls
          const t = ctx.lastTimings;
          expect(t.computeMs).toBeGreaterThan(0);
          expect(t.h2dMs).toBeGreaterThanOrEqual(0);
        }
      } finally {
        ctx.dispose();
      }
    });

    it('replays CUDA graphs with the same results as plain enqueues', async () => {
      const graph = await engine.createContext({ maxBatch: 4, cudaGraph: true });
      const plain = await engine.createContext({ maxBatch: 4, cudaGraph: false });
      try {
        const x = fillUniform(new Float32Array(4 * IN), 7);
        const a = await plain.infer({ x });
        for (let i = 0; i < 4; i++) {
          const b = await graph.infer({ x }); // run 1 enqueues, run 2 captures, later runs replay
          expect(Array.from(b.y as Float32Array)).toEqual(Array.from(a.y as Float32Array));
        }
      } finally {
        graph.dispose();
        plain.dispose();
      }
    });

    it('round-trips through the plan file', async () => {
      const loaded = await backend.load(engine.serialize(), 0);
      try {
        expect(loaded.header).toEqual(engine.header);
        const x = fillUniform(new Float32Array(2 * IN), 5);
        const ctx = await loaded.createContext({ maxBatch: 2 });
        const { y } = await ctx.infer({ x });
        expect(maxRelError(y as Float32Array, model.reference(x))).toBeLessThan(1e-2);
      } finally {
        loaded.dispose({ contexts: true });
      }
    });

    it('refuses a plan from another TensorRT version before deserializing it', async () => {
      const { header, payload } = readPlan(engine.serialize());
      const { payloadBytes: _, ...rest } = header;
      const other = writePlan({ ...rest, tensorrtVersion: '9.2.0' }, payload);
      await expect(backend.load(other)).rejects.toMatchObject({
        code: ErrorCode.PLAN_MISMATCH,
        message: expect.stringContaining(`built with TensorRT 9.2.0 but TensorRT ${header.tensorrtVersion}`),
      });
    });

    it('profiles layers', async () => {
      const ctx = await engine.createContext({ maxBatch: 4 });
      try {
        const layers = await ctx.profileLayers({ batch: 4, iterations: 10 });
        expect(layers.length).toBeGreaterThan(0);
        for (const l of layers) {
          expect(l.name).toMatch(/\S/);
          expect(l.ms).toBeGreaterThanOrEqual(0);
        }
        await ctx.run({ batch: 4 }); // the context still runs after profiling
      } finally {
        ctx.dispose();
      }
    });

    // On TensorRT 11 FP16 comes from the front end's autocast ONNX, which this suite does not produce.
    it.skipIf(backend.name === 'tensorrt' && Number(caps.tensorrt.version?.split('.')[0]) >= 11)('builds FP16 within FP16 accuracy', async () => {
      const fp16 = await backend.build(model.onnx, { inputs, shapes, precision: 'fp16' });
      try {
        expect(fp16.precision).toBe('fp16');
        const ctx = await fp16.createContext();
        const x = fillUniform(new Float32Array(8 * IN), 3);
        const { y } = await ctx.infer({ x });
        expect(maxRelError(y as Float32Array, model.reference(x))).toBeLessThan(3e-2);
      } finally {
        fp16.dispose({ contexts: true });
      }
    });

    it('names the node and op TensorRT does not support', async () => {
      const onnx = encodeOnnx({
        nodes: [{ op: 'NotARealOp', inputs: ['x'], outputs: ['y'], name: 'mystery_node' }],
        initializers: [],
        inputs: [{ name: 'x', shape: ['batch', IN] }],
        outputs: [{ name: 'y', shape: ['batch', IN] }],
      });
      const e = await backend.build(onnx, { inputs, shapes }).catch((err: unknown) => err as Error & { code: string });
      expect(e).toMatchObject({ code: ErrorCode.UNSUPPORTED_OP });
      expect((e as Error).message).toContain('NotARealOp');
      expect((e as Error).message).toContain('mystery_node');
    });

    it('reports a malformed model as ERR_INVALID_MODEL', async () => {
      const garbage = Uint8Array.from({ length: 512 }, (_, i) => (i * 97 + 13) & 255);
      await expect(backend.build(garbage, { inputs, shapes })).rejects.toMatchObject({ code: ErrorCode.INVALID_MODEL });
    });

    it('keeps an engine alive for its contexts whatever the dispose order (native level)', async () => {
      const native = engine.native as NativeTrtEngine;
      const loaded = await backend.load(engine.serialize());
      const n = loaded.native;
      const ctx = await n.createContext(2, true);
      n.dispose();
      n.dispose();
      expect(() => n.io()).toThrow(expect.objectContaining({ code: ErrorCode.DISPOSED }));
      new Float32Array(ctx.buffers[0]).fill(0.5);
      await ctx.run(2, true);
      await ctx.run(2, true);
      ctx.dispose();
      ctx.dispose();
      expect(() => ctx.buffers).toThrow(expect.objectContaining({ code: ErrorCode.DISPOSED }));
      await expect(async () => ctx.run(1, true)).rejects.toMatchObject({ code: ErrorCode.DISPOSED });
      expect(native.info().weightBytes).toBeGreaterThan(0);
    });
  });
}
