// The token-transpose pass (lib/builtin/row-order.ts) on hand-made programs: what it removes, and the regions it must
// leave alone because some layer there depends on the order of the rows. vit_tiny's whole program, simulated against
// the reference with the pass applied, is in lower-transformers.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { Op, paramsAt, type ProgramLayer, type ProgramTensor } from '../../lib/builtin/program.js';
import { rowOrderKept } from '../../lib/builtin/row-order.js';
import { parseModel } from '../../lib/onnx/index.js';
import { optimize } from '../../lib/optimize/index.js';
import { foldStaticDims } from '../../lib/optimize/shape-fold.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';

const S = 5, E = 8, H = 2;
const op = (name: keyof typeof Op) => Op[name];
const tensor = (loc: 0 | 1 = 0): ProgramTensor => ({ name: 't', dtype: 1, loc, batched: true, offset: 0, bytes: 0, shape: [], layout: 'rowmajor' });

// x [B,S,E] → transpose → [S,B,E] → QKV GEMM → attention → out GEMM → transpose back → y, as torch's MHA exports it.
function block(extra: (layers: ProgramLayer[]) => void = () => {}) {
  const tensors = Array.from({ length: 12 }, (_, i) => tensor(i >= 8 ? 1 : 0));
  const conv = (name: string, x: number, w: number, b: number, y: number, c: number, k: number): ProgramLayer => ({
    name, op: op('conv'), inputs: [x, w, b, -1], outputs: [y], batched: false, perBatch: { n: S },
    params: { n: S, h: 1, w: 1, c, k, r: 1, s: 1, p: 1, q: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, g: 1, act: 0, alpha: 0, beta: 0 },
  });
  const layers: ProgramLayer[] = [
    { name: 'Transpose', op: op('copy'), inputs: [0], outputs: [1], batched: false, params: { dims: [S, 1, E], xs: [E, S * E, 1], ys: [E, E, 1], xoff: 0, yoff: 0 }, perBatch: { dims: [0, 1, 0], ys: [E, 0, 0] } },
    conv('qkv', 1, 8, 9, 2, E, 3 * E),
    { name: 'attention', op: op('attention'), inputs: [2, 2, 2, -1], outputs: [3], batched: false,
      params: { b: 1, h: H, sq: S, sk: S, d: E / H, dv: E / H, qs: [3 * E, E / H, 3 * E, 1], ks: [3 * E, E / H, 3 * E, 1], vs: [3 * E, E / H, 3 * E, 1], os: [E, E / H, E, 1], ms: [0, 0, 0, 0], scale: 0.5, ko: E, vo: 2 * E },
      perBatch: { b: 1, qs: [0, 0, 3 * E, 0], ks: [0, 0, 3 * E, 0], vs: [0, 0, 3 * E, 0], os: [0, 0, E, 0] } },
    conv('out', 3, 10, 11, 4, E, E),
    { name: 'Transpose_7', op: op('copy'), inputs: [4], outputs: [5], batched: false, params: { dims: [1, S, E], xs: [E, E, 1], ys: [S * E, E, 1], xoff: 0, yoff: 0 }, perBatch: { dims: [1, 0, 0], xs: [0, E, 0] } },
    conv('next', 5, 8, 9, 6, E, 3 * E),
  ];
  extra(layers);
  return { layers, tensors };
}

describe('row-order pass', () => {
  it('drops both transposes, re-points the GEMMs and gives attention strides for [B, S] rows', () => {
    const { layers, tensors } = block();
    const out = rowOrderKept(layers, tensors, new Set([0, 6]));
    expect(out.map((l) => l.name)).toEqual(['qkv', 'attention', 'out', 'next']);
    expect(out[0].inputs[0]).toBe(0);
    expect(out[3].inputs[0]).toBe(4);
    expect(out[1].params).toMatchObject({ qs: [S * 3 * E, E / H, 3 * E, 1], os: [S * E, E / H, E, 1] });
    expect(out[1].perBatch).toMatchObject({ b: 1, qs: [0, 0, 0, 0], os: [0, 0, 0, 0] });
    // Layers it did not need to change are the same objects.
    expect(out[2]).toBe(layers[3]);
  });

  it('does the same in a fixed-batch program (no per-batch increments), at its one batch', () => {
    const { layers, tensors } = block();
    const fixed = layers.map(({ perBatch: _, ...l }, i) => ({ ...l, params: paramsAt(layers[i], 3) }));
    const out = rowOrderKept(fixed, tensors, new Set([0, 6]));
    expect(out.map((l) => l.name)).toEqual(['qkv', 'attention', 'out', 'next']);
    expect(out[1].params).toMatchObject({ b: 3, qs: [S * 3 * E, E / H, 3 * E, 1], os: [S * E, E / H, E, 1] });
    expect(out[1].perBatch).toBeUndefined();
    // A fixed-batch program whose copy is not the token transpose at that batch is left alone.
    const other = fixed.map((l) => (l.name === 'Transpose' ? { ...l, params: { ...l.params, ys: [E, E, 1] } } : l));
    expect(rowOrderKept(other, tensors, new Set([0, 6]))).toBe(other);
  });

  it('vit_tiny exported with a fixed batch of 2: no token transposes, and the program still matches the reference', () => {
    const source = parseModel(new Uint8Array(readFileSync('test/fixtures/models/vit_tiny.onnx')));
    const fixed = foldStaticDims(source, { [source.inputs[0].type.shape[0] as string]: { min: 2, opt: 2, max: 2 } });
    const { program, weights } = lowerGraph(optimize(fixed, { fuse: true, precision: 'fp32' }), { min: 2, opt: 2, max: 2 });
    expect(program.layers.filter((l) => /self_attention\/Transpose(_7)?$/.test(l.name))).toEqual([]);
    const x = fillUniform(new Float32Array(2 * 3 * 64 * 64), 23);
    const name = source.inputs[0].name, out = source.outputs[0].name;
    const want = runReference(source, { [name]: x })[out] as Float32Array;
    expect(relL2(simulate(program, weights, { [name]: x }, 2)[out], want)).toBeLessThan(1e-4);
  }, 60_000);

  const unchanged: [string, (l: ProgramLayer[]) => void][] = [
    // A layer that depends on the order of the rows reads a transposed tensor.
    ['an outside reader of the transposed rows', (l) => l.push({ name: 'reader', op: op('binary'), inputs: [1, 1], outputs: [7], batched: false, params: { op: 0, act: 0, alpha: 0, beta: 0, dims: [S, 1, E], sa: [E, E, 1], sb: [E, E, 1] }, perBatch: { dims: [0, 1, 0], sa: [E, 0, 0], sb: [E, 0, 0] } })],
    // A GEMM in the region whose result is a model output (pinned): it would come out in the other order.
    ['a model output made in the region', (l) => l.push({ ...l[1], name: 'to-output', outputs: [7] })],
    // A GEMM that is not row by row (a 3×3 convolution) between the transposes.
    ['a convolution that mixes rows', (l) => { l[3] = { ...l[3], params: { ...l[3].params, r: 3, s: 3 } }; }],
    // Attention whose rows are not of the transposed form (its batch stride is not one row).
    ['attention over other strides', (l) => { l[2] = { ...l[2], params: { ...l[2].params, qs: [S * 3 * E, E / H, 3 * E, 1] }, perBatch: { ...l[2].perBatch, qs: [0, 0, 0, 0] } }; }],
    // The copy back is missing: the rows would leave the region in the wrong order.
    ['no transpose back', (l) => l.splice(4, 2, { ...l[5], name: 'next', inputs: [4, 8, 9, -1] })],
  ];
  for (const [what, change] of unchanged) {
    it(`leaves the program alone with ${what}`, () => {
      const { layers, tensors } = block(change);
      expect(rowOrderKept(layers, tensors, new Set([0, 6, 7]))).toBe(layers);
    });
  }
});
