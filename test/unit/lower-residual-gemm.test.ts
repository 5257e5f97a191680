// The residual-into-GEMM pass (lib/builtin/residual-gemm.ts) on hand-made programs: a pre-norm block's sum moves
// into the GEMM before its LayerNorm, and the forms it must leave alone stay as they are. vit_tiny's whole program,
// simulated against the reference with the pass applied, is in lower-transformers.test.ts.
import { describe, expect, it } from 'vitest';
import { Op, type ProgramLayer, type ProgramTensor } from '../../lib/builtin/program.js';
import { residualIntoGemm } from '../../lib/builtin/residual-gemm.js';

const tensor = (loc: 0 | 1 = 0): ProgramTensor => ({ name: 't', dtype: 1, loc, batched: true, offset: 0, bytes: 4096, shape: [], layout: 'rowmajor' });
const gemmParams = { n: 16, h: 1, w: 1, c: 64, k: 64, r: 1, s: 1, p: 1, q: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, g: 1, act: 0, alpha: 0, beta: 0 };

// t0 residual stream (written by 'stream'), gemm: t1 → t2, layernorm+residual(t2, t0) → y t3, sum t4; t4 read next.
function block(change: (l: ProgramLayer[]) => void = () => {}) {
  const tensors = Array.from({ length: 10 }, (_, i) => tensor(i >= 7 ? 1 : 0));
  const layers: ProgramLayer[] = [
    { name: 'stream', op: Op.binary, inputs: [5, 6], outputs: [0], batched: true, params: {} },
    { name: 'gemm', op: Op.conv, inputs: [1, 7, 8, -1], outputs: [2], batched: true, params: { ...gemmParams } },
    { name: 'ln+residual', op: Op.layernorm, inputs: [2, 9, -1, 0], outputs: [3, 4], batched: true, params: { rows: 16, cols: 64, eps: 1e-6 } },
    { name: 'next', op: Op.binary, inputs: [4, 3], outputs: [6], batched: true, params: {} },
  ];
  change(layers);
  return { layers, tensors };
}

describe('residual into the GEMM', () => {
  it('moves the residual into the GEMM, which then writes the sum, and leaves the LayerNorm one input', () => {
    const { layers, tensors } = block();
    const out = residualIntoGemm(layers, tensors, new Set([5]));
    expect(out[1]).toMatchObject({ name: 'gemm+residual', inputs: [1, 7, 8, 0], outputs: [4] });
    expect(out[2]).toMatchObject({ name: 'ln', inputs: [4, 9, -1, -1], outputs: [3] });
    expect(out[3]).toBe(layers[3]);
  });

  const unchanged: [string, (l: ProgramLayer[]) => void][] = [
    ['a GEMM with an activation in its epilogue', (l) => { l[1] = { ...l[1], params: { ...l[1].params, act: 1 } }; }],
    ['a GEMM output read by another layer too', (l) => l.push({ name: 'other', op: Op.binary, inputs: [2, 3], outputs: [5], batched: true, params: {} })],
    ['a residual written after the GEMM', (l) => { [l[0], l[1]] = [l[1], l[0]]; }],
    ['a LayerNorm that writes no sum (post-norm)', (l) => { l[2] = { ...l[2], outputs: [3] }; l[3] = { ...l[3], inputs: [3, 3] }; }],
    ['a 3×3 convolution before the LayerNorm', (l) => { l[1] = { ...l[1], params: { ...l[1].params, r: 3, s: 3 } }; }],
  ];
  for (const [what, change] of unchanged) {
    it(`leaves the program alone with ${what}`, () => {
      const { layers, tensors } = block(change);
      expect(residualIntoGemm(layers, tensors, new Set([5]))).toBe(layers);
    });
  }

  it('leaves the program alone when the sum is a model output or the tensors differ in size', () => {
    const { layers, tensors } = block();
    expect(residualIntoGemm(layers, tensors, new Set([5, 4]))).toBe(layers);
    tensors[0] = { ...tensors[0], bytes: 2048 };
    expect(residualIntoGemm(layers, tensors, new Set([5]))).toBe(layers);
  });
});
