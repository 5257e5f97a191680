// One queue per context: run, infer, runImages, imagePixels and profileLayers never overlap on one context
// (reference backend, so it runs everywhere).
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { ErrorCode } from '../../lib/errors.js';
import { fillUniform } from '../../lib/util/random.js';
import { smallCnn } from '../../scripts/gen-models.js';

const code = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code;
  }
};
const ROW = 3 * 32 * 32;

describe('InferenceContext queue (reference backend)', () => {
  it('infer() during run() waits: the run computes on its own inputs, the infer on its feeds', async () => {
    const engine = await buildEngine(smallCnn({ seed: 5 }), { backend: 'reference' });
    const ctx = await engine.createContext({ maxBatch: 1 });
    const a = fillUniform(new Float32Array(ROW), 1);
    const b = fillUniform(new Float32Array(ROW), 2);
    const wantA = (await ctx.infer({ input: a })).logits as Float32Array;
    const wantB = (await ctx.infer({ input: b })).logits as Float32Array;
    expect(Array.from(wantA)).not.toEqual(Array.from(wantB));

    (ctx.inputs.input as Float32Array).set(a);
    const run = ctx.run({ batch: 1 });
    const inferred = ctx.infer({ input: b }); // must not touch the pinned inputs before the run has finished
    await run;
    const afterRun = Array.from((ctx.outputs.logits as Float32Array).subarray(0, 10));
    expect(afterRun).toEqual(Array.from(wantA));
    expect(Array.from((await inferred).logits as Float32Array)).toEqual(Array.from(wantB));
    ctx.dispose();
    engine.dispose();
  });

  it('run() and profileLayers() refuse with ERR_CONTEXT_BUSY while infers are queued; busy clears when they settle', async () => {
    const engine = await buildEngine(smallCnn({ seed: 5 }), { backend: 'reference' });
    const ctx = await engine.createContext({ maxBatch: 2 });
    const x = fillUniform(new Float32Array(ROW), 3);
    const first = ctx.infer({ input: x });
    const second = ctx.infer({ input: x });
    expect(ctx.busy).toBe(true);
    expect(await code(ctx.run({ batch: 1 }))).toBe(ErrorCode.CONTEXT_BUSY);
    expect(await code(ctx.profileLayers({ batch: 1, iterations: 1 }))).toBe(ErrorCode.CONTEXT_BUSY);
    await first;
    expect(ctx.busy).toBe(true); // the second is still queued
    await second;
    expect(ctx.busy).toBe(false); // already false when the awaiting code resumes
    await ctx.run({ batch: 1 });
    expect(ctx.busy).toBe(false);
    ctx.dispose();
    engine.dispose();
  });

  it('queued infers run in order, each on its own feeds, and a failed one does not stall the queue', async () => {
    const engine = await buildEngine(smallCnn({ seed: 6 }), { backend: 'reference' });
    const ctx = await engine.createContext({ maxBatch: 2 });
    const feeds = Array.from({ length: 6 }, (_, i) => fillUniform(new Float32Array(ROW * (1 + (i % 2))), 10 + i));
    const want: number[][] = [];
    for (const f of feeds) want.push(Array.from((await ctx.infer({ input: f })).logits as Float32Array));
    const got = await Promise.all(feeds.map((f) => ctx.infer({ input: f })));
    got.forEach((g, i) => expect(Array.from(g.logits as Float32Array)).toEqual(want[i]));
    expect(await code(ctx.infer({ input: new Float32Array(ROW * 3) }))).toBe(ErrorCode.BATCH_OUT_OF_RANGE);
    expect(Array.from((await ctx.infer({ input: feeds[0] })).logits as Float32Array)).toEqual(want[0]);
    ctx.dispose();
    engine.dispose();
  });

  it('a call queued behind a dispose() rejects with ERR_DISPOSED', async () => {
    const engine = await buildEngine(smallCnn({ seed: 7 }), { backend: 'reference' });
    const ctx = await engine.createContext({ maxBatch: 1 });
    const x = fillUniform(new Float32Array(ROW), 4);
    const first = ctx.infer({ input: x });
    const queued = ctx.infer({ input: x });
    ctx.dispose();
    expect(await code(queued)).toBe(ErrorCode.DISPOSED);
    await code(first);
    engine.dispose();
  });

  it('an infer() whose context is disposed while it runs rejects with ERR_DISPOSED, never an uncoded error', async () => {
    const engine = await buildEngine(smallCnn({ seed: 7 }), { backend: 'reference' });
    const ctx = await engine.createContext({ maxBatch: 1 });
    const running = ctx.infer({ input: fillUniform(new Float32Array(ROW), 4) });
    ctx.dispose();
    expect(await code(running)).toBe(ErrorCode.DISPOSED);
    engine.dispose();
  });

  it("a batch whose context is disposed from outside while it runs rejects its requests with ERR_DISPOSED, and the batcher goes on with its other contexts", async () => {
    const { createBatcher } = await import('../../lib/serve/batcher.js');
    const engine = await buildEngine(smallCnn({ seed: 7 }), { backend: 'reference' });
    const [a, b] = [await engine.createContext({ maxBatch: 2 }), await engine.createContext({ maxBatch: 2 })];
    const batcher = await createBatcher([a, b], { maxDelayMs: 0 });
    const x = fillUniform(new Float32Array(ROW), 5);
    const first = batcher.infer({ input: x });
    a.dispose();
    expect(await code(first)).toBe(ErrorCode.DISPOSED);
    const next = await batcher.infer({ input: x });
    expect((next.logits as Float32Array).length).toBe(10);
    await batcher.dispose();
    b.dispose();
    engine.dispose();
  });

  it('reports its completion mode and why CUDA graphs are off', async () => {
    const engine = await buildEngine(smallCnn({ seed: 8 }), { backend: 'reference' });
    const ctx = await engine.createContext();
    expect(ctx.info).toEqual({ sync: 'callback', cudaGraph: { active: false, reason: 'the reference backend runs on the CPU' } });
    expect(await code(() => engine.createContext({ sync: 'poll' as never }))).toBe(ErrorCode.INVALID_ARGUMENT);
    ctx.dispose();
    engine.dispose();
  });
});

describe('InferenceContext over a native context that fails', () => {
  // A stand-in for a GPU backend's native context: what it does on each run() is up to the test.
  async function contextWith(run: (batch: number) => Promise<void>) {
    const engine = await buildEngine(smallCnn({ seed: 9 }), { backend: 'reference' });
    const real = await engine.createContext({ maxBatch: 1 });
    const native = { buffers: engine.native.io().map(() => new ArrayBuffer(4 * ROW)), run, timings: () => [0, 0, 0], profile: async () => [], dispose() {} };
    const { InferenceContext } = await import('../../lib/context.js');
    const ctx = new InferenceContext(engine, native as never, 1, () => undefined, { sync: 'auto', cudaGraph: true });
    real.dispose();
    return { engine, ctx };
  }

  it('a native run that throws at once leaves the context idle and usable', async () => {
    let calls = 0;
    const { engine, ctx } = await contextWith((() => {
      if (calls++ === 0) throw Object.assign(new Error('enqueue failed'), { code: ErrorCode.CUDA });
      return Promise.resolve();
    }) as never);
    expect(await code(ctx.run({ batch: 1 }))).toBe(ErrorCode.CUDA);
    expect(ctx.busy).toBe(false);
    expect(await code(ctx.run({ batch: 1 }))).toBe('no error');
    ctx.dispose();
    engine.dispose();
  });

  it('after a GPU fault every call refuses with ERR_CUDA_FAULT and info names it', async () => {
    const { TensorRTError } = await import('../../lib/errors.js');
    const { engine, ctx } = await contextWith(() => Promise.reject(new TensorRTError(ErrorCode.CUDA_FAULT, 'cudaErrorIllegalAddress: an illegal memory access was encountered')));
    expect(await code(ctx.run({ batch: 1 }))).toBe(ErrorCode.CUDA_FAULT);
    for (const call of [() => ctx.run({ batch: 1 }), () => ctx.infer({ input: new Float32Array(ROW) }), () => ctx.profileLayers({ batch: 1 })]) {
      await expect(call()).rejects.toThrow(/^This context is unusable: an earlier run failed on the GPU\. cudaErrorIllegalAddress/);
    }
    expect(ctx.info.fault).toMatch(/^cudaErrorIllegalAddress/);
    ctx.dispose();
    engine.dispose();
  });
});
