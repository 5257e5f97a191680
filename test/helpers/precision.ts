// FP16 and FP32 builtin engines of one CNN, and their agreement with the reference backend.
import { expect } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import type { BuildOptions } from '../../lib/types.js';
import { validateEngine } from '../../lib/validate-engine.js';

/** A model's builtin engines in both precisions, over one profile. */
export interface PrecisionPair {
  fp16: Engine;
  fp32: Engine;
}

/**
 * Builds the model on the builtin backend in FP16 and FP32.
 * @example
 * const { fp16, fp32 } = await buildPrecisionPair(model, { input: { min, opt, max } });
 */
export async function buildPrecisionPair(model: Uint8Array, shapes: BuildOptions['shapes']): Promise<PrecisionPair> {
  const fp16 = await buildEngine(model, { backend: 'builtin', shapes });
  const fp32 = await buildEngine(model, { backend: 'builtin', precision: 'fp32', shapes });
  return { fp16, fp32 };
}

/**
 * Checks both engines against the reference backend over the same samples. FP16 storage alone costs a small-input
 * network more than 1e-2 and near-tied classes, so FP16 is held to 1e-2 or 1.2× what the reference backend gives
 * emulating float16 storage, whichever is more, and to top-1 ≥ 99% or what that emulation keeps, whichever is less:
 * a kernel that added error of its own fails either way. FP32 is held to 1e-4 and full top-1 agreement.
 * @example
 * await expectReferenceAgreement(model, shapes, pair);
 */
export async function expectReferenceAgreement(model: Uint8Array, shapes: BuildOptions['shapes'], pair: PrecisionPair, samples = 64, batch = 32): Promise<void> {
  const emulated = await buildEngine(model, { backend: 'reference', precision: 'fp16', shapes });
  const e16 = await validateEngine(emulated, { samples, batch });
  emulated.dispose();
  const r16 = await validateEngine(pair.fp16, { samples, batch });
  const r32 = await validateEngine(pair.fp32, { samples, batch });
  console.log(
    `fp16 max rel ${r16.outputs[0].maxRel.toExponential(2)}, top-1 ${(100 * r16.top1Agreement).toFixed(1)}% ` +
      `(float16 storage alone ${e16.outputs[0].maxRel.toExponential(2)}, ${(100 * e16.top1Agreement).toFixed(1)}%), fp32 ${r32.outputs[0].maxRel.toExponential(2)}`,
  );
  expect(r16.outputs[0].maxRel).toBeLessThan(Math.max(1e-2, 1.2 * e16.outputs[0].maxRel));
  expect(r32.outputs[0].maxRel).toBeLessThan(1e-4);
  expect(r16.top1Agreement).toBeGreaterThanOrEqual(Math.min(0.99, e16.top1Agreement));
  expect(r32.top1Agreement).toBe(1);
}
