// BatchNorm folding into Conv and Gemm, and the standalone Mul+Add form.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import type { Constant, Node } from '../../lib/ir/types.js';
import { foldBatchNorm } from '../../lib/optimize/batchnorm.js';
import { mobileNetV2Graph } from '../../scripts/gen-models.js';
import { inferredGraph, node } from '../helpers/graphs.js';
import { compareGraphs, f32, opCounts, randn } from './reference-helpers.js';

const bnParams = (p: string, c: number): Constant[] => [
  f32(`${p}_s`, [c], randn(c, 1).map((v) => 1 + 0.3 * v)),
  f32(`${p}_b`, [c], randn(c, 2)),
  f32(`${p}_m`, [c], randn(c, 3)),
  f32(`${p}_v`, [c], randn(c, 4).map((v) => 0.5 + Math.abs(v))),
];
const bn = (x: string, y: string, p: string): Node => node('BatchNormalization', [x, `${p}_s`, `${p}_b`, `${p}_m`, `${p}_v`], [y], { epsilon: 1e-3 });

function folded(g: Graph): Graph {
  const c = g.clone();
  foldBatchNorm(c);
  return c;
}

describe('foldBatchNorm', () => {
  it('folds into a Conv with and without bias', () => {
    const g = inferredGraph(
      [node('Conv', ['x', 'w1'], ['c1'], { pads: [1, 1, 1, 1] }), bn('c1', 'y1', 'bn1'), node('Conv', ['y1', 'w2', 'b2'], ['c2']), bn('c2', 'y', 'bn2')],
      ['n', 3, 6, 6],
      ['y'],
      [f32('w1', [4, 3, 3, 3], randn(108, 5)), f32('w2', [5, 4, 1, 1], randn(20, 6)), f32('b2', [5], randn(5, 7)), ...bnParams('bn1', 4), ...bnParams('bn2', 5)],
    );
    const f = folded(g);
    expect(opCounts(f)).toEqual({ Conv: 2 });
    expect(f.nodes.every((n) => n.inputs.length === 3)).toBe(true);
    expect(f.initializers.size).toBe(4); // two weights, two biases: the BN parameters are gone
    expect(compareGraphs(g, f, { x: randn(2 * 3 * 36, 8) })).toBeLessThan(1e-5);
  });

  it('folds into a Gemm (transB and not, with and without C)', () => {
    for (const transB of [0, 1]) {
      for (const withC of [false, true]) {
        const b = f32('b', transB ? [6, 4] : [4, 6], randn(24, 9));
        const g = inferredGraph([node('Gemm', withC ? ['x', 'b', 'c'] : ['x', 'b'], ['z'], { transB, alpha: 0.7, beta: 1.5 }), bn('z', 'y', 'bn')], ['n', 4], ['y'], [b, f32('c', [1, 6], randn(6, 3)), ...bnParams('bn', 6)]);
        const f = folded(g);
        expect(opCounts(f)).toEqual({ Gemm: 1 });
        expect(compareGraphs(g, f, { x: randn(12, 10) })).toBeLessThan(1e-5);
      }
    }
  });

  it('turns a BN that follows no foldable producer into Mul + Add', () => {
    // The conv output is also a graph output, so its weights must not change.
    const g = inferredGraph(
      [node('Conv', ['x', 'w'], ['c']), bn('c', 'y', 'bn'), bn('x', 'y2', 'bn0')],
      ['n', 3, 4, 4],
      ['c', 'y', 'y2'],
      [f32('w', [4, 3, 1, 1], randn(12, 5)), ...bnParams('bn', 4), ...bnParams('bn0', 3)],
    );
    const f = folded(g);
    expect(opCounts(f)).toEqual({ Conv: 1, Mul: 2, Add: 2 });
    expect(f.initializers.get(f.nodes.find((n) => n.op === 'Mul')!.inputs[1])!.dims).toEqual([4, 1, 1]);
    expect(compareGraphs(g, f, { x: randn(2 * 48, 11) })).toBeLessThan(1e-5);
  });

  it('removes every BN of MobileNetV2 and keeps its outputs', () => {
    const g = mobileNetV2Graph({ seed: 4, size: 96 });
    expect(opCounts(g).BatchNormalization).toBe(52);
    const f = folded(g);
    expect(opCounts(f).BatchNormalization).toBeUndefined();
    expect(opCounts(f).Mul).toBeUndefined();
    expect(compareGraphs(g, f, { input: randn(3 * 96 * 96, 12) })).toBeLessThan(1e-5);
  });
});

describe('per-channel affine folding', () => {
  it('folds Conv → BN → Mul → Add(per-channel constants) into one Conv', () => {
    const g = inferredGraph(
      [
        node('Conv', ['x', 'w'], ['c'], { pads: [1, 1, 1, 1] }),
        bn('c', 'n', 'bn'),
        node('Mul', ['k', 'n'], ['m']),
        node('Add', ['m', 'sh'], ['y']),
      ],
      ['n', 3, 5, 5],
      ['y'],
      [f32('w', [4, 3, 3, 3], randn(108, 1)), ...bnParams('bn', 4), f32('k', [4, 1, 1], [0.5, -1, 2, 3]), f32('sh', [1, 4, 1, 1], [1, 2, 3, 4])],
    );
    const f = folded(g);
    expect(opCounts(f)).toEqual({ Conv: 1 });
    expect(f.nodes[0].outputs).toEqual(['y']);
    expect(compareGraphs(g, f, { x: randn(2 * 75, 2) })).toBeLessThan(1e-5);
  });

  it('leaves Muls that are not per-channel alone', () => {
    const g = inferredGraph([node('Conv', ['x', 'w'], ['c']), node('Mul', ['c', 'k'], ['y'])], ['n', 3, 5, 5], ['y'], [f32('w', [4, 3, 1, 1], randn(12, 1)), f32('k', [5], randn(5, 2))]);
    expect(opCounts(folded(g))).toEqual({ Conv: 1, Mul: 1 });
  });
});
