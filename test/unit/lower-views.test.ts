import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import type { Constant } from '../../lib/ir/types.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { overlappingTensors, simulate } from '../helpers/program-sim.js';
import { relL2 } from '../helpers/metrics.js';
import { graphOf, node } from '../helpers/graphs.js';

const f32 = (name: string, dims: number[], seed: number, scale = 1): Constant => ({
  name, dtype: 'float32', dims, data: fillUniform(new Float32Array(dims.reduce((a, b) => a * b, 1)), seed).map((v) => (v * 2 - 1) * scale),
});
const i64 = (name: string, values: number[], dims = [values.length]): Constant => ({ name, dtype: 'int64', dims, data: BigInt64Array.from(values, BigInt) });

/**
 * Self-attention over x [batch, 5, 24] with 2 heads of 12, its Q/K/V split out of one projection the way torch's
 * MultiheadAttention exports it (Reshape → Transpose → Gather, then a head split that merges batch and heads).
 * `viewable`: each operand is split as [5, batch·2, 12] and transposed (views all the way to the projection);
 * otherwise it is transposed to [batch, 5, 24] first and reshaped to [batch, 2, 5, 12], which cuts the 5 sequence
 * rows in two: no stride of the projection's layout expresses that, so the lowering copies.
 */
function attentionGraph(viewable: boolean) {
  const nodes = [
    node('Transpose', ['x'], ['xs'], { perm: [1, 0, 2] }), // [5, batch, 24]
    node('MatMul', ['xs', 'w'], ['p']), // [5, batch, 72]
    node('Reshape', ['p', 's5'], ['p5']), // [5, batch, 3, 24]
    node('Transpose', ['p5'], ['t'], { perm: [2, 0, 1, 3] }), // [3, 5, batch, 24]
    ...['q', 'k', 'v'].flatMap((name, i) => [
      node('Gather', ['t', `i${i}`], [`${name}0`], { axis: 0 }), // [5, batch, 24]
      viewable
        ? node('Reshape', [`${name}0`, 'heads'], [`${name}1`]) // [5, batch·2, 12]
        : node('Transpose', [`${name}0`], [`${name}1`], { perm: [1, 0, 2] }), // [batch, 5, 24], then heads below
      viewable
        ? node('Transpose', [`${name}1`], [`${name}2`], { perm: [1, 0, 2] }) // [batch·2, 5, 12]
        : node('Reshape', [`${name}1`, 'rows'], [`${name}2`]), // [batch, 2, 5, 12] (not a view)
      node('Reshape', [`${name}2`, 'bh'], [`${name}3`]), // [batch, 2, 5, 12]
    ]),
    node('Transpose', ['k3'], ['kt'], { perm: [0, 1, 3, 2] }),
    node('MatMul', ['q3', 'kt'], ['s']),
    node('Mul', ['s', 'scale'], ['ss']),
    node('Softmax', ['ss'], ['pr'], { axis: -1 }),
    node('MatMul', ['pr', 'v3'], ['y']),
  ];
  return graphOf(nodes, [['x', ['batch', 5, 24]]], ['y'], [
    f32('w', [24, 72], 3, 0.4), i64('s5', [5, -1, 3, 24]), i64('i0', [0], []), i64('i1', [1], []), i64('i2', [2], []),
    i64('heads', [5, -1, 12]), i64('rows', [-1, 2, 5, 12]), i64('bh', [-1, 2, 5, 12]), f32('scale', [], 1, 0),
  ].map((c) => (c.name === 'scale' ? { ...c, data: Float32Array.of(1 / Math.sqrt(12)) } : c)));
}

describe('attention operands read in place through data-movement views', () => {
  for (const viewable of [true, false]) {
    for (const precision of ['fp32', 'fp16'] as const) {
      it(`${viewable ? 'a head split that is a view' : 'a split no stride expresses'}, ${precision}: same result as the reference`, () => {
        const g = attentionGraph(viewable);
        const opt = optimize(g, { fuse: true, precision });
        expect(opt.nodes.filter((n) => n.op === 'FusedAttention')).toHaveLength(1);
        const { program, weights } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
        expect(overlappingTensors(program, 4)).toEqual([]);
        const attention = program.layers.find((l) => OP_NAMES[l.op] === 'attention')!;
        const gathers = program.layers.filter((l) => OP_NAMES[l.op] === 'gather');
        if (viewable) {
          // Q, K and V at element offsets 0, 24 and 48 of each projected row; nothing copied or gathered for them.
          expect([attention.params.qo ?? 0, attention.params.ko, attention.params.vo]).toEqual([0, 24, 48]);
          expect(gathers).toEqual([]);
          const projection = program.layers.find((l) => OP_NAMES[l.op] === 'conv')!;
          expect(attention.inputs.slice(0, 3)).toEqual([projection.outputs[0], projection.outputs[0], projection.outputs[0]]);
        } else {
          expect(attention.params.ko ?? 0).toBe(0);
          expect(program.layers.some((l) => OP_NAMES[l.op] === 'copy' || OP_NAMES[l.op] === 'gather')).toBe(true);
        }
        const batch = 3;
        const x = fillUniform(new Float32Array(batch * 5 * 24), 11).map((v) => v * 2 - 1);
        const want = runReference(g, { x: { data: x, dims: [batch, 5, 24] } }).y as Float32Array;
        const got = simulate(program, weights, { x }, batch).y;
        expect(got.length).toBe(want.length);
        expect(relL2(got, want)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
      });
    }
  }
});

// Two values that share one tensor through an aliased transpose must stay distinct downstream (review findings).
describe('values aliased through a transpose that moves no bytes', () => {
  const run = (g: ReturnType<typeof graphOf>, dims: number[], outs: string[]) => {
    const { program, weights } = lowerGraph(optimize(g, { fuse: false, precision: 'fp32' }), { min: 1, opt: 1, max: 1 });
    const x = fillUniform(new Float32Array(dims.reduce((a, b) => a * b, 1)), 4).map((v) => v * 2 - 1);
    const want = runReference(g, { x: { data: x, dims } });
    const got = simulate(program, weights, { x }, 1);
    for (const o of outs) expect(relL2(got[o], want[o] as Float32Array), o).toBeLessThan(1e-3);
  };

  it('an NHWC tensor and its row-major transpose of the same shape (C = H = W) convert separately', () => {
    // The conv writes NHWC; Transpose [0, 2, 3, 1] of it is its row-major bytes, aliased. Both are then cast: a
    // conversion cache keyed without the source layout would hand the second cast the first one's copy.
    const g = graphOf(
      [node('Conv', ['x', 'w'], ['c']), node('Transpose', ['c'], ['t'], { perm: [0, 2, 3, 1] }), node('Cast', ['c'], ['c16'], { to: 10 }), node('Cast', ['t'], ['t16'], { to: 10 }), node('Cast', ['c16'], ['a'], { to: 1 }), node('Cast', ['t16'], ['b'], { to: 1 })],
      [['x', [1, 8, 8, 8]]],
      ['a', 'b'],
      [f32('w', [8, 8, 1, 1], 7)],
    );
    run(g, [1, 8, 8, 8], ['a', 'b']);
  });

  it('a bias is not folded into a GEMM whose output another node reads through the alias', () => {
    const g = graphOf(
      [node('MatMul', ['x', 'w'], ['y']), node('Transpose', ['y'], ['t'], { perm: [0, 1, 2] }), node('Add', ['t', 'b'], ['z']), node('Relu', ['y'], ['r'])],
      [['x', [1, 4, 6]]],
      ['z', 'r'],
      [f32('w', [6, 5], 8), f32('b', [5], 9)],
    );
    run(g, [1, 4, 6], ['z', 'r']);
  });
});
