// EfficientNet-B0 on the GPU: every SiLU (exported as x·Sigmoid(x)) runs in its convolution's epilogue, the
// squeeze-excitation poolings run in float16 with no casts around them, and the engine matches the reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { validateEngine } from '../../lib/validate-engine.js';
import { efficientnetB0 } from '../../scripts/gen-models.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

describe.skipIf(!hasGpu)(gpuSuite('EfficientNet-B0 (SiLU and squeeze-excitation) on the GPU'), () => {
  const model = efficientnetB0({ seed: 3, size: 64 });
  const dims = [3, 64, 64];
  const shapes = { input: { min: [1, ...dims], opt: [8, ...dims], max: [32, ...dims] } };
  let fp16: Engine;
  let fp32: Engine;

  beforeAll(async () => {
    fp16 = await buildEngine(model, { backend: 'builtin', shapes });
    fp32 = await buildEngine(model, { backend: 'builtin', precision: 'fp32', shapes });
  }, 300_000);
  afterAll(() => {
    fp16?.dispose({ contexts: true });
    fp32?.dispose({ contexts: true });
  });

  it('runs no separate activation, and pools in float16 without casts', () => {
    for (const e of [fp16, fp32]) {
      const ops: Record<string, number> = {};
      for (const l of e.buildInfo!.layers) ops[l.op] = (ops[l.op] ?? 0) + 1;
      expect(ops.unary ?? 0).toBe(0);
      expect(ops.binary).toBe(16); // the squeeze-excitation scales
      expect(ops.reduce).toBe(17);
      expect(ops.conv).toBe(82); // 81 convolutions and the classifier's Gemm
    }
    // fp16: the input and output casts are the only copies.
    expect(fp16.buildInfo!.layers.filter((l) => l.op === 'copy')).toHaveLength(2);
  });

  // As in mbconv.test.ts: FP16 is held to 1e-2, or 1.2× what float16 storage alone gives where that is more.
  it('matches the reference: fp16 within 1e-2 and top-1 ≥ 99% (or what FP16 storage alone allows), fp32 within 1e-4', async () => {
    const emulated = await buildEngine(model, { backend: 'reference', precision: 'fp16', shapes });
    const e16 = await validateEngine(emulated, { samples: 64, batch: 32 });
    emulated.dispose();
    const r16 = await validateEngine(fp16, { samples: 64, batch: 32 });
    const r32 = await validateEngine(fp32, { samples: 64, batch: 32 });
    console.log(
      `fp16 max rel ${r16.outputs[0].maxRel.toExponential(2)}, top-1 ${(100 * r16.top1Agreement).toFixed(1)}% ` +
        `(float16 storage alone ${e16.outputs[0].maxRel.toExponential(2)}, ${(100 * e16.top1Agreement).toFixed(1)}%), fp32 ${r32.outputs[0].maxRel.toExponential(2)}`,
    );
    expect(r16.outputs[0].maxRel).toBeLessThan(Math.max(1e-2, 1.2 * e16.outputs[0].maxRel));
    expect(r32.outputs[0].maxRel).toBeLessThan(1e-4);
    expect(r16.top1Agreement).toBeGreaterThanOrEqual(Math.min(0.99, e16.top1Agreement));
    expect(r32.top1Agreement).toBe(1);
  }, 300_000);
});
