// Lifetimes and per-object waits: a pageable copy owns its stream and destination until it settles, finalizers give
// back the external memory they reported to V8, Event.synchronize() waits on its own event only, and one queue
// per context keeps a second graph capture off its stream.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { DeviceBuffer, Event, PinnedBuffer, Stream } from '../../lib/cuda.js';
import { ErrorCode } from '../../lib/errors.js';
import { loadAddon } from '../../lib/native.js';
import { fillUniform } from '../../lib/util/random.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const MiB = 2 ** 20;

async function collect(): Promise<number> {
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((r) => setImmediate(r)); // finalizers of wrapped objects run after the collection
  }
  return process.memoryUsage().external;
}

describe.skipIf(!hasGpu)(gpuSuite('lifetimes on the GPU'), () => {
  it('a pageable copy keeps its stream and destination alive until it settles', async () => {
    const n = 64 * MiB;
    const src = fillUniform(new Float32Array(n / 4), 3);
    // Stream disposed right after the copy is queued: the copy still lands.
    const dst = new DeviceBuffer(n);
    const s = new Stream();
    const p = s.copyFromHost(dst, src);
    s.dispose();
    await p;
    using check = new Stream();
    using back = new PinnedBuffer(n);
    check.copy(back, dst);
    await check.synchronize();
    expect(Buffer.from(back.arrayBuffer).equals(Buffer.from(src.buffer))).toBe(true);
    // Destination and stream both disposed mid-copy: it settles without touching freed memory.
    const s2 = new Stream();
    const p2 = s2.copyFromHost(dst, src);
    dst.dispose();
    s2.dispose();
    await expect(p2).resolves.toBeUndefined();
  });

  it('finalizers give back the external memory reported to V8', async () => {
    const base = await collect();
    (() => {
      for (let i = 0; i < 8; i++) new DeviceBuffer(16 * MiB);
      for (let i = 0; i < 4; i++) new PinnedBuffer(8 * MiB);
    })();
    // Pinned buffers are ArrayBuffers, counted by V8 as they are; device memory is reported to V8 for its GC
    // pressure but does not show in `external`.
    expect(process.memoryUsage().external - base).toBeGreaterThanOrEqual(32 * MiB);
    expect((await collect()) - base).toBeLessThan(8 * MiB);

    // An engine and its contexts dropped without dispose(): only their finalizers free them.
    const before = await collect();
    let alive = 0;
    await (async () => {
      const engine = await buildEngine(smallCnn({ seed: 3 }), {
        backend: 'builtin',
        shapes: { input: { min: [1, 3, 32, 32], opt: [64, 3, 32, 32], max: [256, 3, 32, 32] } },
      });
      for (let i = 0; i < 4; i++) await (await engine.createContext({ maxBatch: 256 })).run({ batch: 256 });
      alive = process.memoryUsage().external - before;
    })();
    expect(alive).toBeGreaterThan(4 * MiB);
    expect((await collect()) - before).toBeLessThan(Math.max(MiB, alive / 10));
  });

  it('Event.synchronize() waits for its own event only, not behind another event on the same device', async () => {
    const bytes = 1024 * MiB;
    using a = new DeviceBuffer(bytes);
    using b = new DeviceBuffer(bytes);
    using slow = new Stream();
    using fast = new Stream();
    using slowDone = new Event({ timing: false });
    using fastDone = new Event({ timing: false });
    for (let i = 0; i < 80; i++) slow.copy(i % 2 ? a : b, i % 2 ? b : a); // ~100 ms of copies
    slowDone.record(slow);
    fast.copy(a, b, { bytes: 4096, dstOffset: bytes - 4096 });
    fastDone.record(fast);
    const order: string[] = [];
    const pSlow = slowDone.synchronize().then(() => order.push('slow'));
    const pFast = fastDone.synchronize().then(() => order.push('fast'));
    await Promise.all([pSlow, pFast]);
    expect(order).toEqual(['fast', 'slow']);
  });

  it('infer() during run() neither overwrites the run nor starts a second graph capture on the stream; imagePixels() is guarded', async () => {
    const engine = await buildEngine(smallCnn({ seed: 4 }), {
      backend: 'builtin',
      shapes: { input: { min: [1, 3, 32, 32], opt: [2, 3, 32, 32], max: [2, 3, 32, 32] } },
    });
    const row = 3 * 32 * 32;
    const a = fillUniform(new Float32Array(2 * row), 1);
    const b = fillUniform(new Float32Array(row), 2);
    const serial = await engine.createContext({ maxBatch: 2 });
    const wantA = Array.from((await serial.infer({ input: a })).logits as Float32Array);
    const wantB = Array.from((await serial.infer({ input: b })).logits as Float32Array);
    // Feeds in shared memory (worker_threads), and a feed that is a view of the context's own pinned input.
    const shared = new Float32Array(new SharedArrayBuffer(b.byteLength));
    shared.set(b);
    expect(Array.from((await serial.infer({ input: shared })).logits as Float32Array)).toEqual(wantB);
    (serial.inputs.input as Float32Array).set(b);
    expect(Array.from((await serial.infer({ input: (serial.inputs.input as Float32Array).subarray(0, row) })).logits as Float32Array)).toEqual(wantB);
    serial.dispose();
    for (let round = 0; round < 5; round++) {
      const ctx = await engine.createContext({ maxBatch: 2 }); // no graphs yet: both calls need a capture
      (ctx.inputs.input as Float32Array).set(a);
      const run = ctx.run({ batch: 2 });
      const inferred = ctx.infer({ input: b });
      expect(() => ctx.imagePixels()).toThrow(expect.objectContaining({ code: ErrorCode.CONTEXT_BUSY }));
      await expect(ctx.runImages({ batch: 1, mean: [0, 0, 0], std: [1, 1, 1] })).rejects.toMatchObject({ code: ErrorCode.CONTEXT_BUSY });
      await run;
      expect(Array.from((ctx.outputs.logits as Float32Array).subarray(0, wantA.length))).toEqual(wantA);
      expect(Array.from((await inferred).logits as Float32Array)).toEqual(wantB);
      expect(ctx.info.cudaGraph).toEqual({ active: true });
      ctx.dispose();
    }
    // A capture that fails (here: its first launch, failed by the fault-injection switch) turns graphs off for the
    // context, and says so: in ctx.info and as a process warning.
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const broken = await engine.createContext({ maxBatch: 2 });
    loadAddon().faultInjection('launch:1');
    try {
      await broken.infer({ input: b });
    } finally {
      loadAddon().faultInjection('');
    }
    expect(Array.from((await broken.infer({ input: b })).logits as Float32Array)).toEqual(wantB);
    expect(broken.info.cudaGraph.active).toBe(false);
    expect(broken.info.cudaGraph.reason).toMatch(/injected by NODE_TENSORRT_FAULT/);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toContain('NODE_TENSORRT_GRAPH_FALLBACK');
    broken.dispose();
    const off = await engine.createContext({ cudaGraph: false });
    expect(off.info).toEqual({
      sync: 'auto',
      cudaGraph: { active: false, reason: 'cudaGraph: false was asked for' },
      completion: { runs: 0, lateWakes: 0, polled: 0, notPolled: 0, pollUs: 0 },
    });
    off.dispose();
    engine.dispose();
  });
});
