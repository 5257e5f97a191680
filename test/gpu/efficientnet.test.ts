// EfficientNet-B0 on the GPU: every SiLU (exported as x·Sigmoid(x)) runs in its convolution's epilogue, the
// squeeze-excitation poolings run in float16 with no casts around them, and the engine matches the reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { efficientnetB0 } from '../../scripts/gen-models.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';
import { buildPrecisionPair, expectReferenceAgreement, type PrecisionPair } from '../helpers/precision.js';

describe.skipIf(!hasGpu)(gpuSuite('EfficientNet-B0 (SiLU and squeeze-excitation) on the GPU'), () => {
  const model = efficientnetB0({ seed: 3, size: 64 });
  const dims = [3, 64, 64];
  const shapes = { input: { min: [1, ...dims], opt: [8, ...dims], max: [32, ...dims] } };
  let pair: PrecisionPair;

  beforeAll(async () => {
    pair = await buildPrecisionPair(model, shapes);
  }, 300_000);
  afterAll(() => {
    pair?.fp16.dispose({ contexts: true });
    pair?.fp32.dispose({ contexts: true });
  });

  it('runs no separate activation, and pools in float16 without casts', () => {
    for (const e of [pair.fp16, pair.fp32]) {
      const ops: Record<string, number> = {};
      for (const l of e.buildInfo!.layers) ops[l.op] = (ops[l.op] ?? 0) + 1;
      expect(ops.unary ?? 0).toBe(0);
      expect(ops.binary).toBe(16); // the squeeze-excitation scales
      expect(ops.reduce).toBe(17);
      expect(ops.conv).toBe(82); // 81 convolutions and the classifier's Gemm
    }
    // fp16: the input and output casts are the only copies.
    expect(pair.fp16.buildInfo!.layers.filter((l) => l.op === 'copy')).toHaveLength(2);
  });

  it('matches the reference: fp16 within 1e-2 and top-1 ≥ 99% (or what FP16 storage alone allows), fp32 within 1e-4', async () => {
    await expectReferenceAgreement(model, shapes, pair);
  }, 300_000);
});
