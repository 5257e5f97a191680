import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { ErrorCode } from '../../lib/errors.js';
import { normalize } from '../../lib/image/normalize.js';
import { fillUniform, uniformRandom } from '../../lib/util/random.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

describe.skipIf(!hasGpu)(gpuSuite('device-side image preprocessing'), () => {
  it('normalizes RGBA8 pixels on the GPU exactly as the CPU path does, then infers', async () => {
    const model = new Uint8Array(readFileSync('test/fixtures/torchvision_mobilenet_v2.onnx'));
    const engine = await buildEngine(model, { backend: 'builtin', precision: 'fp32', shapes: { input: { min: [1, 3, 224, 224], opt: [2, 3, 224, 224], max: [2, 3, 224, 224] } } });
    const gpuCtx = await engine.createContext();
    const cpuCtx = await engine.createContext();
    const r = uniformRandom(5);
    const images = [0, 1].map(() => ({ width: 224, height: 224, data: Uint8Array.from({ length: 224 * 224 * 4 }, () => Math.floor((r() + 1) * 127.99)) }));
    const pixels = gpuCtx.imagePixels();
    expect(pixels.length).toBe(2 * 224 * 224 * 4);
    images.forEach((img, i) => pixels.set(img.data, i * img.data.length));
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    (gpuCtx.outputs.logits as Float32Array).fill(NaN);
    await gpuCtx.runImages({ batch: 2, mean, std });
    images.forEach((img, row) => normalize(img, { preset: 'imagenet', out: cpuCtx.inputs.input as Float32Array, row }));
    await cpuCtx.run({ batch: 2 });
    const a = (gpuCtx.outputs.logits as Float32Array).slice(0, 2000);
    const b = (cpuCtx.outputs.logits as Float32Array).slice(0, 2000);
    expect(a.every(Number.isFinite)).toBe(true);
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i] - b[i]) ** 2;
      den += b[i] ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
    await expect(gpuCtx.runImages({ batch: 1, mean, std: [1, 0, 1] })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    gpuCtx.dispose();
    cpuCtx.dispose();
    engine.dispose();
  });

  it('refuses an engine without an RGB image input', async () => {
    const { smallCnn } = await import('../../scripts/gen-models.js');
    const engine = await buildEngine(smallCnn({ seed: 1 }), { backend: 'builtin' });
    const ctx = await engine.createContext();
    expect(() => ctx.imagePixels('nope')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_INPUT }));
    fillUniform(ctx.inputs.input as Float32Array, 1);
    ctx.dispose();
    engine.dispose();
  });
});
