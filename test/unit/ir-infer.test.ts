// Shape/dtype inference: symbolic batch propagation through shape computations, and coded errors.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import { inferNode, inferShapes } from '../../lib/ir/infer.js';
import type { Dim, Node } from '../../lib/ir/types.js';
import { thrownError } from '../helpers/errors.js';
import { graphOf, node } from '../helpers/graphs.js';
import { f32, int64 } from './reference-helpers.js';

/** Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])), torch.flatten as exported. */
function flattenChain(opset: number): Graph {
  const unsq = opset >= 13 ? node('Unsqueeze', ['n', 'axes'], ['n1']) : node('Unsqueeze', ['n'], ['n1'], { axes: [0] });
  return graphOf(
    [node('Shape', ['x'], ['s']), node('Gather', ['s', 'zero'], ['n'], { axis: 0 }), unsq, node('Concat', ['n1', 'minus1'], ['t'], { axis: 0 }), node('Reshape', ['x', 't'], ['y'])],
    [['x', ['batch', 32, 4, 4]]],
    ['y'],
    [int64('zero', [0], []), int64('axes', [0]), int64('minus1', [-1])],
    opset,
  );
}

describe('symbolic shape values', () => {
  for (const opset of [11, 13, 17]) {
    it(`resolve torch's flatten chain with a dynamic batch (opset ${opset})`, () => {
      const g = flattenChain(opset);
      const values = inferShapes(g);
      expect(values.get('s')).toEqual(['batch', 32, 4, 4]);
      expect(values.get('n')).toEqual(['batch']);
      expect(values.get('t')).toEqual(['batch', -1]);
      expect(g.typeOf('y')).toEqual({ dtype: 'float32', shape: ['batch', 512] });
      expect(g.outputs[0].type.shape).toEqual(['batch', 512]);
    });
  }

  it('slice, concat and arithmetic on shape values', () => {
    const g = graphOf(
      [
        node('Shape', ['x'], ['s']),
        node('Slice', ['s', 'one', 'big'], ['hw']),
        node('Gather', ['s', 'zero'], ['n']),
        node('Unsqueeze', ['n', 'axes'], ['n1']),
        node('Mul', ['hw', 'two'], ['hw2']),
        node('Concat', ['hw2', 'n1'], ['t'], { axis: 0 }),
        node('Reshape', ['x', 't'], ['y']),
      ],
      [['x', ['batch', 3, 4]]],
      ['y'],
      [int64('one', [1]), int64('big', [2 ** 53 - 1]), int64('zero', [0], []), int64('axes', [0]), int64('two', [1, 1])],
    );
    const values = inferShapes(g);
    expect(values.get('hw')).toEqual([3, 4]);
    expect(values.get('t')).toEqual([3, 4, 'batch']);
    expect(g.typeOf('y').shape).toEqual([3, 4, 'batch']);
  });

  it('a Reshape or Flatten that merges the batch with other dims yields a composite symbol', () => {
    const g = graphOf([node('Reshape', ['x', 't'], ['y'], {}, 'merge')], [['x', ['batch', 3, 4]]], ['y'], [int64('t', [-1])]);
    inferShapes(g);
    expect(g.typeOf('y').shape).toEqual(['12*batch']);
    const f = graphOf([node('Flatten', ['x'], ['y'], { axis: 0 })], [['x', ['batch', 3]]], ['y']);
    inferShapes(f);
    expect(f.typeOf('y').shape).toEqual([1, '3*batch']);
    const back = graphOf([node('Reshape', ['x', 't'], ['y']), node('Reshape', ['y', 's'], ['z'])], [['x', ['batch', 'sequence', 4]]], ['z'], [int64('t', [-1, 4]), int64('s', [0, -1])]);
    // [batch*sequence, 4] back to [batch*sequence, 4] keeps the product symbolic.
    inferShapes(back);
    expect(back.typeOf('y').shape).toEqual(['batch*sequence', 4]);
  });

  it('Reshape copies with 0 and infers -1 around a symbol', () => {
    const g = graphOf([node('Reshape', ['x', 't'], ['y'])], [['x', ['batch', 6, 4]]], ['y'], [int64('t', [0, 3, -1])]);
    inferShapes(g);
    expect(g.typeOf('y').shape).toEqual(['batch', 3, 8]);
    const bad = graphOf([node('Reshape', ['x', 't'], ['y'])], [['x', [2, 6, 4]]], ['y'], [int64('t', [5, -1])]);
    expect(thrownError(() => inferShapes(bad)).code).toBe('ERR_SHAPE_MISMATCH');
  });
});

describe('operator shapes', () => {
  // Inputs that come with values (or are Reshape's target) are int64 tensors.
  const infer = (n: Node, inputs: Dim[][], values: (Dim[] | undefined)[] = [], opset = 17) =>
    inferNode(
      n,
      opset,
      inputs.map((shape, i) => ({ dtype: values[i] !== undefined || (n.op === 'Reshape' && i === 1) ? ('int64' as const) : ('float32' as const), shape })),
      values,
    ).types.map((x) => x.shape);

  it('conv and pool geometry', () => {
    expect(infer(node('Conv', ['x', 'w'], ['y'], { strides: [2, 2], pads: [3, 3, 3, 3] }), [['b', 3, 224, 224], [64, 3, 7, 7]])).toEqual([['b', 64, 112, 112]]);
    expect(infer(node('Conv', ['x', 'w'], ['y'], { auto_pad: 'SAME_UPPER', strides: [2, 2], group: 8 }), [['b', 8, 15, 15], [8, 1, 3, 3]])).toEqual([['b', 8, 8, 8]]);
    expect(infer(node('Conv', ['x', 'w'], ['y'], { dilations: [2], pads: [2, 2] }), [['b', 2, 10], [4, 2, 3]])).toEqual([['b', 4, 10]]);
    expect(infer(node('MaxPool', ['x'], ['y'], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }), [[1, 2, 10, 10]])).toEqual([[1, 2, 5, 5]]);
    expect(infer(node('MaxPool', ['x'], ['y'], { kernel_shape: [3, 3], strides: [2, 2] }), [[1, 2, 10, 10]])).toEqual([[1, 2, 4, 4]]);
    expect(infer(node('GlobalAveragePool', ['x'], ['y']), [['b', 7, 5, 5]])).toEqual([['b', 7, 1, 1]]);
  });

  it('gemm, matmul, softmax, reductions and layout', () => {
    expect(infer(node('Gemm', ['a', 'b', 'c'], ['y'], { transB: 1 }), [['b', 1280], [1000, 1280], [1000]])).toEqual([['b', 1000]]);
    expect(infer(node('MatMul', ['a', 'b'], ['y']), [[2, 1, 3, 4], [5, 4, 6]])).toEqual([[2, 5, 3, 6]]);
    expect(infer(node('ReduceMean', ['x'], ['y'], { axes: [2, 3], keepdims: 0 }), [['b', 8, 7, 7]], [], 13)).toEqual([['b', 8]]);
    expect(infer(node('ReduceMean', ['x', 'a'], ['y'], { keepdims: 1 }), [['b', 8, 7, 7], [2]], [undefined, [-1, -2]], 18)).toEqual([['b', 8, 1, 1]]);
    expect(infer(node('Transpose', ['x'], ['y'], { perm: [0, 2, 3, 1] }), [['b', 3, 4, 5]])).toEqual([['b', 4, 5, 3]]);
    expect(infer(node('Squeeze', ['x'], ['y']), [['b', 1, 4, 1]], [], 11)).toEqual([['b', 4]]);
    expect(infer(node('Pad', ['x', 'p'], ['y'], { mode: 'reflect' }), [['b', 3, 4, 4], [8]], [undefined, [0, 0, 1, 2, 0, 0, 2, 1]])).toEqual([['b', 3, 7, 7]]);
    expect(infer(node('Concat', ['a', 'b'], ['y'], { axis: 1 }), [['b', 3, 4], ['b', 5, 4]])).toEqual([['b', 8, 4]]);
    expect(infer(node('Softmax', ['x'], ['y'], { axis: 3 }), [[2, 3, 4]], [], 11)).toEqual([[2, 3, 4]]);
  });

  it('errors name the node and say why', () => {
    const cases: [Node, Dim[][], (Dim[] | undefined)[], string, RegExp][] = [
      [node('Gemm', ['a', 'b'], ['y'], {}, 'fc'), [[2, 5], [6, 3]], [], 'ERR_SHAPE_MISMATCH', /node 'fc' \(Gemm\): inner dimensions differ/],
      [node('Conv', ['x', 'w'], ['y'], {}, 'c'), [['b', 3, 'h', 'w'], [4, 3, 3, 3]], [], 'ERR_UNSUPPORTED_OP', /dynamic spatial dimensions/],
      [node('Conv', ['x', 'w'], ['y'], {}, 'c3'), [[1, 3, 4, 4, 4], [4, 3, 3, 3, 3]], [], 'ERR_UNSUPPORTED_OP', /3-D convolution/],
      [node('Conv', ['x', 'w'], ['y'], { pads: [0, 0, 0, 0] }, 'c4'), [[1, 3, 2, 2], [4, 3, 3, 3]], [], 'ERR_SHAPE_MISMATCH', /does not fit/],
      [node('Gather', ['x', 'i'], ['y'], { axis: 1 }, 'g'), [[2, 3], [1]], [undefined, [3]], 'ERR_SHAPE_MISMATCH', /index 3 out of range/],
      [node('Add', ['a', 'b'], ['y'], {}, 'add'), [['batch', 3], [4, 3]], [], 'ERR_SHAPE_MISMATCH', /cannot broadcast/],
      [node('Squeeze', ['x'], ['y'], { axes: [1] }, 'sq'), [[2, 3]], [], 'ERR_SHAPE_MISMATCH', /cannot squeeze axis 1/],
      [node('Pad', ['x', 'p'], ['y'], { mode: 'reflect' }, 'pd'), [[1, 2]], [undefined, [0, 2, 0, 2]], 'ERR_SHAPE_MISMATCH', /must be smaller/],
      [node('Pad', ['x', 'p'], ['y'], { mode: 'wrap' }, 'pw'), [[1, 2]], [undefined, [0, 1, 0, 1]], 'ERR_UNSUPPORTED_OP', /mode 'wrap'/],
      [node('Reshape', ['x', 's'], ['y'], {}, 'r'), [[2, 3], [2]], [undefined, undefined], 'ERR_UNSUPPORTED_OP', /must be a constant or computable/],
      [node('Softmax', ['x'], ['y'], { axis: 5 }, 'sm'), [[2, 3]], [], 'ERR_INVALID_MODEL', /axis 5 out of range/],
      [node('Relu', ['x', 'z'], ['y'], {}, 'relu'), [[2], [2]], [], 'ERR_INVALID_MODEL', /has 2 inputs; expected 1/],
      [node('Conv', ['x', 'w'], ['y'], { strides: 2 }, 'cs'), [[1, 3, 8, 8], [4, 3, 3, 3]], [], 'ERR_INVALID_MODEL', /'strides' of node 'cs' \(Conv\) must be a list of integers/],
    ];
    for (const [n, ins, vals, code, msg] of cases) {
      const e = thrownError(() => infer(n, ins, vals));
      expect(e.code, n.name).toBe(code);
      expect(e.message, n.name).toMatch(msg);
    }
    const mixed = graphOf([node('Add', ['x', 'i'], ['y'], {}, 'mix')], [['x', [2]]], ['y'], [int64('i', [1, 2])]);
    expect(thrownError(() => inferShapes(mixed)).message).toMatch(/node 'mix' \(Add\): input 1 \('i'\) is int64 but input 0 is float32/);
  });
});

describe('Graph', () => {
  it('clones deeply enough that edits do not leak', () => {
    const g = flattenChain(17);
    inferShapes(g);
    const c = g.clone();
    c.nodes[0].inputs[0] = 'other';
    c.nodes.pop();
    c.initializers.delete('zero');
    c.types.get('y')!.shape[0] = 7;
    expect(g.nodes[0].inputs[0]).toBe('x');
    expect(g.nodes).toHaveLength(5);
    expect(g.initializers.has('zero')).toBe(true);
    expect(g.typeOf('y').shape[0]).toBe('batch');
  });

  it('sorts topologically and maps producers/consumers', () => {
    const g = flattenChain(17);
    g.nodes.reverse();
    g.topoSort();
    expect(g.nodes.map((n) => n.op)).toEqual(['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']);
    expect(g.producers().get('t')?.op).toBe('Concat');
    expect(g.consumers().get('x')?.map((n) => n.op)).toEqual(['Shape', 'Reshape']);
    expect(g.uniqueName('x')).toBe('x_1');
    expect(g.uniqueName('fresh')).toBe('fresh');
  });

  it('keeps a float constant input typed by its constant', () => {
    const g = graphOf([node('Add', ['x', 'b'], ['y'])], [['x', ['n', 2]]], ['y'], [f32('b', [2], [1, 2])]);
    inferShapes(g);
    expect(g.typeOf('b')).toEqual({ dtype: 'float32', shape: [2] });
  });
});
