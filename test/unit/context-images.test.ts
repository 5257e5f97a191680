// runImages writes batch × 3 × H × W floats into the input on the device: the context checks, before any native
// call, that the input is a float tensor whose buffer holds maxBatch such images (the native side checks again).
import { describe, expect, it, vi } from 'vitest';
import { InferenceContext } from '../../lib/context.js';
import type { Engine } from '../../lib/engine.js';
import type { TensorDType } from '../../lib/types.js';

function context(dtype: TensorDType, bufferImages: number, maxBatch = 2) {
  const image = 3 * 4 * 5;
  const bytes = dtype === 'float16' ? 2 : 4;
  const engine = {
    native: { io: () => [{ name: 'x', isInput: true, dtype: 0, shape: [-1, 3, 4, 5] }] },
    inputs: [{ name: 'x', shape: ['b', 3, 4, 5], dtype }],
    outputs: [],
    profile: { min: 1, opt: 1, max: maxBatch },
    backend: 'builtin',
  } as unknown as Engine;
  const native = {
    buffers: [new ArrayBuffer(bufferImages * image * bytes)],
    imageBuffer: vi.fn(() => new ArrayBuffer(maxBatch * 4 * 5 * 4)),
    runImages: vi.fn(async () => {}),
    timings: () => [0, 0, 0],
    dispose: () => {},
  };
  return { ctx: new InferenceContext(engine, native as never, maxBatch, () => {}), native };
}

const opts = { batch: 2, mean: [0, 0, 0], std: [1, 1, 1] };

describe('runImages input checks', () => {
  it('runs when the float input holds maxBatch images', async () => {
    const { ctx, native } = context('float32', 2);
    await ctx.runImages(opts);
    expect(native.runImages).toHaveBeenCalledWith(2, 0, [0, 0, 0], [1, 1, 1]);
  });

  it('refuses an input buffer smaller than maxBatch images, before the native call', async () => {
    const { ctx, native } = context('float32', 1);
    await expect(ctx.runImages(opts)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT', message: expect.stringContaining('cannot hold 2 float images of [3, 4, 5]') });
    expect(native.runImages).not.toHaveBeenCalled();
    expect(() => ctx.imagePixels()).toThrow(/cannot hold/);
  });

  it('refuses a non-float input', async () => {
    const { ctx, native } = context('int32', 2);
    await expect(ctx.runImages(opts)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT', message: expect.stringContaining("Input 'x' (int32") });
    expect(native.runImages).not.toHaveBeenCalled();
  });
});
