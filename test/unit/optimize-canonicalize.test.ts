// Window attributes made explicit, zero Pads folded into Convs.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Constant, Node } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { canonicalize } from '../../lib/optimize/canonicalize.js';
import { runReference } from '../../lib/reference/index.js';
import { inferredGraph, node } from '../helpers/graphs.js';
import { compareGraphs, f32, int64, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

const graph = (nodes: Node[], constants: Constant[], opset = 17): Graph => inferredGraph(nodes, ['n', 4, 11, 11], ['y'], constants, opset);

describe('canonicalize', () => {
  it('replaces auto_pad with explicit pads on Conv and pools', async () => {
    const g = graph(
      [
        node('Conv', ['x', 'w'], ['a'], { auto_pad: 'SAME_UPPER', strides: [2, 2] }),
        node('MaxPool', ['a'], ['b'], { auto_pad: 'SAME_LOWER', kernel_shape: [2, 2] }),
        node('AveragePool', ['b'], ['y'], { auto_pad: 'VALID', kernel_shape: [3, 3] }),
      ],
      [f32('w', [6, 4, 4, 4], randn(384, 2))],
    );
    const c = g.clone();
    canonicalize(c);
    expect(c.nodes.map((n) => n.attrs)).toEqual([
      { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 2, 2], dilations: [1, 1], group: 1 },
      { kernel_shape: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0], dilations: [1, 1] },
      { kernel_shape: [3, 3], strides: [1, 1], pads: [0, 0, 0, 0] },
    ]);
    const x = randn(2 * 4 * 121, 3);
    expect(compareGraphs(g, c, { x })).toBe(0);
    const ort = await runOrt(writeModel(c), { x: { data: x, dims: [2, 4, 11, 11] } });
    expect(relErr(ort.y as Float32Array, runReference(g, { x }).y as Float32Array)).toBeLessThan(1e-5);
  });

  it('folds a zero constant Pad (tf2onnx style) into the following Conv', () => {
    const pads = int64('p', [0, 0, 1, 2, 0, 0, 2, 1]);
    const g = graph([node('Pad', ['x', 'p'], ['xp']), node('Conv', ['xp', 'w'], ['y'], { pads: [1, 0, 0, 1] })], [pads, f32('w', [3, 4, 3, 3], randn(108, 4))]);
    const c = g.clone();
    canonicalize(c);
    expect(opCounts(c)).toEqual({ Conv: 1 });
    expect(c.nodes[0].attrs.pads).toEqual([2, 2, 2, 2]);
    expect(compareGraphs(g, c, { x: randn(2 * 4 * 121, 5) })).toBeLessThan(1e-6);
  });

  it('keeps Pads that are not plain zero padding', () => {
    for (const [mode, value] of [['reflect', 0], ['constant', 1]] as const) {
      const g = graph(
        [node('Pad', ['x', 'p', 'v'], ['xp'], { mode }), node('Conv', ['xp', 'w'], ['y'])],
        [int64('p', [0, 0, 1, 1, 0, 0, 1, 1]), f32('v', [], [value]), f32('w', [3, 4, 3, 3], randn(108, 4))],
      );
      const c = g.clone();
      canonicalize(c);
      expect(opCounts(c)).toEqual({ Pad: 1, Conv: 1 });
    }
  });
});

describe('dense layers', () => {
  it('turns MatMul + Add(bias) on 2-D inputs into Gemm', async () => {
    const g = new Graph({
      opset: 13,
      inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 6] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }, { name: 'z', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('MatMul', ['x', 'w'], ['m']), node('Add', ['b', 'm'], ['y']), node('MatMul', ['x', 'w'], ['z'])],
      initializers: new Map([f32('w', [6, 4], randn(24, 1)), f32('b', [1, 4], [1, 2, 3, 4])].map((c) => [c.name, c])),
    });
    inferShapes(g);
    const c = g.clone();
    canonicalize(c);
    expect(c.nodes.map((n) => [n.op, n.inputs, n.outputs])).toEqual([
      ['Gemm', ['x', 'w', 'b'], ['y']],
      ['Gemm', ['x', 'w'], ['z']],
    ]);
    const x = randn(18, 2);
    expect(compareGraphs(g, c, { x })).toBeLessThan(1e-6);
    const ort = await runOrt(writeModel(c), { x: { data: x, dims: [3, 6] } });
    expect(relErr(ort.y as Float32Array, runReference(g, { x }).y as Float32Array)).toBeLessThan(1e-6);
  });
});
