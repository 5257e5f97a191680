import { describe, expect, it } from 'vitest';
import { mergeParallelGemms } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { inferredGraph, node } from '../helpers/graphs.js';

const constant = (name: string, dims: number[], seed: number) => ({ name, dtype: 'float32' as const, dims, data: fillUniform(new Float32Array(dims.reduce((a, b) => a * b, 1)), seed) });

// x [batch, 5, 8] read by three biased projections (merged), one without a bias and one whose bias is an activation
// (both left alone); every output must be exactly what the source computes.
function projections(opset: number) {
  return inferredGraph(
    [
      node('MatMul', ['x', 'wq'], ['q0']), node('Add', ['q0', 'bq'], ['q']),
      node('MatMul', ['x', 'wk'], ['k0']), node('Add', ['bk', 'k0'], ['k']),
      node('MatMul', ['x', 'wv'], ['v0']), node('Add', ['v0', 'bv'], ['v']),
      node('MatMul', ['x', 'wn'], ['n']),
      node('MatMul', ['x', 'wa'], ['a0']), node('Add', ['a0', 'x'], ['a']),
    ],
    ['batch', 5, 8],
    ['q', 'k', 'v', 'n', 'a'],
    [constant('wq', [8, 6], 1), constant('bq', [6], 2), constant('wk', [8, 4], 3), constant('bk', [4], 4), constant('wv', [8, 6], 5), constant('bv', [6], 6), constant('wn', [8, 3], 7), constant('wa', [8, 8], 8)],
    opset,
  );
}

describe('mergeParallelGemms', () => {
  for (const opset of [9, 17]) {
    it(`merges the biased projections of one input into one GEMM and slices them back (opset ${opset})`, () => {
      const source = projections(opset);
      const g = source.clone();
      expect(mergeParallelGemms(g)).toBe(1);
      const matmuls = g.nodes.filter((n) => n.op === 'MatMul');
      expect(matmuls).toHaveLength(3); // merged q/k/v, the unbiased one, the one with an activation "bias"
      const merged = matmuls.find((n) => n.name.includes(':merged'))!;
      expect(g.initializers.get(merged.inputs[1])!.dims).toEqual([8, 16]);
      expect(g.nodes.filter((n) => n.op === 'Slice').map((n) => n.outputs[0])).toEqual(['q', 'k', 'v']);
      const x = fillUniform(new Float32Array(2 * 5 * 8), 9);
      const want = runReference(source, { x: { data: x, dims: [2, 5, 8] } });
      const got = runReference(g, { x: { data: x, dims: [2, 5, 8] } });
      for (const name of ['q', 'k', 'v', 'n', 'a']) expect(Array.from(got[name] as Float32Array)).toEqual(Array.from(want[name] as Float32Array));
    });
  }

  it('leaves a lone projection, and one whose output is also read elsewhere, alone', () => {
    const g = inferredGraph(
      [node('MatMul', ['x', 'wq'], ['q0']), node('Add', ['q0', 'bq'], ['q']), node('MatMul', ['x', 'wk'], ['k0']), node('Add', ['k0', 'bk'], ['k']), node('Relu', ['k0'], ['r'])],
      [2, 8],
      ['q', 'k', 'r'],
      [constant('wq', [8, 6], 1), constant('bq', [6], 2), constant('wk', [8, 4], 3), constant('bk', [4], 4)],
    );
    expect(mergeParallelGemms(g)).toBe(0);
    expect(g.nodes.map((n) => n.op)).toEqual(['MatMul', 'Add', 'MatMul', 'Add', 'Relu']);
  });
});
