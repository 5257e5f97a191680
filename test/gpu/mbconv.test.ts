// Fused inverted-residual blocks on the GPU: each MobileNetV2 block is one layer whose fused kernel and chain of
// convolution tactics are both timed, the faster one runs, and the engine still matches the reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { mobilenetV2 } from '../../scripts/gen-models.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';
import { buildPrecisionPair, expectReferenceAgreement } from '../helpers/precision.js';

const FUSED = /^mbconv_\dx\d$/;
const CHAIN = /^chain:[^+]+\+[^+]+\+[^+]+$/;

describe.skipIf(!hasGpu)(gpuSuite('fused inverted-residual blocks on the GPU'), () => {
  const model = mobilenetV2({ seed: 5, size: 64 });
  const dims = [3, 64, 64];
  const shapes = { input: { min: [1, ...dims], opt: [8, ...dims], max: [32, ...dims] } };
  let fp16: Engine;
  let fp32: Engine;

  beforeAll(async () => {
    ({ fp16, fp32 } = await buildPrecisionPair(model, shapes));
  }, 300_000);
  afterAll(() => {
    fp16?.dispose({ contexts: true });
    fp32?.dispose({ contexts: true });
  });

  it('times the fused kernels beside the chain for all 17 blocks and keeps the fastest', () => {
    const blocks = fp16.buildInfo!.layers.filter((l) => l.op === 'mbconv');
    expect(blocks.map((b) => b.name)).toContain('MBConv features.2.conv');
    expect(blocks).toHaveLength(17);
    // The first block has no expansion: its chain skips the identity expand.
    expect(blocks[0].name).toBe('MBConv features.1.conv');
    expect(blocks[0].candidates.filter((c) => CHAIN.test(c.tactic)).every((c) => c.tactic.startsWith('chain:skip+'))).toBe(true);
    for (const b of blocks) {
      expect(b.tactic).toMatch(new RegExp(`${FUSED.source}|${CHAIN.source}`));
      expect(b.candidates.some((c) => CHAIN.test(c.tactic))).toBe(true);
      expect(b.ms).toBe(Math.min(...b.candidates.map((c) => c.ms)));
      for (const c of b.byBatch ?? []) expect(c.tactic).toMatch(new RegExp(`${FUSED.source}|${CHAIN.source}`));
    }
    // A fused kernel is a candidate only where its output agreed with the chain's on the device (the builder's gate,
    // against our own stage kernels): a correct kernel is never turned away, and what was left out says why.
    for (const b of blocks) {
      expect((b.rejected ?? []).filter((r) => /^mbconv_\dx\d: disagrees/.test(r))).toEqual([]);
      for (const r of b.rejected ?? []) expect(r).toMatch(/^(stage \d )?[\w:+-]+: \S/);
    }
    console.log(`fused kernels agreeing with their chain in ${blocks.filter((b) => b.candidates.some((c) => FUSED.test(c.tactic))).length} of ${blocks.length} blocks; chosen in ${blocks.filter((b) => FUSED.test(b.tactic)).length}`);
    // FP32 has no fused kernel: every block runs its chain.
    for (const b of fp32.buildInfo!.layers.filter((l) => l.op === 'mbconv')) expect(b.tactic).toMatch(CHAIN);
  });

  // expectReferenceAgreement: on this small-input network FP16 storage alone gives 1.33e-2 at worst over these 64
  // inputs and top-1 agreement 96.9% (62 of 64), which sets the bounds.
  it('matches the reference: fp16 within 1e-2 and top-1 ≥ 99% (or what FP16 storage alone allows), fp32 within 1e-4', async () => {
    await expectReferenceAgreement(model, shapes, { fp16, fp32 });
  }, 180_000);

  it('profiles the fused blocks by name', async () => {
    const ctx = await fp16.createContext();
    const layers = await ctx.profileLayers({ batch: 8, iterations: 5 });
    const blocks = layers.filter((l) => l.op === 'mbconv');
    expect(blocks).toHaveLength(17);
    expect(blocks[1]).toMatchObject({ name: 'MBConv features.2.conv' });
    for (const b of blocks) expect(b.ms).toBeGreaterThan(0);
    ctx.dispose();
  });

  it('builds every block within a zero workspace', async () => {
    const e = await buildEngine(model, { backend: 'builtin', precision: 'fp32', workspace: 0, shapes: { input: { min: [1, ...dims], opt: [1, ...dims], max: [1, ...dims] } } });
    expect(e.buildInfo!.layers.filter((l) => l.op === 'mbconv')).toHaveLength(17);
    e.dispose();
  }, 120_000);
});
