// Shape tensors in inference: symbolic dims flow through Shape/Gather/Concat/Slice/Range/
// ConstantOfShape/Equal/Where/Expand/Mod/Mul, and unsupported operators stay coded errors.
import { describe, expect, it } from 'vitest';
import { inferNode, inferShapes } from '../../lib/ir/infer.js';
import { multiplyDims, divideDims, dimProduct, evalDim } from '../../lib/ir/dims.js';
import { thrownError } from '../helpers/errors.js';
import { graphOf, node } from '../helpers/graphs.js';
import { int64 } from './reference-helpers.js';

describe('symbolic dims', () => {
  it('multiply into canonical composites and divide back', () => {
    expect(multiplyDims(['sequence', 'batch'])).toBe('batch*sequence');
    expect(multiplyDims([4, 'batch', 2])).toBe('8*batch');
    expect(multiplyDims([3, 4])).toBe(12);
    expect(divideDims(dimProduct(['batch*sequence', 64]), dimProduct(['sequence', 64]))).toBe('batch');
    expect(divideDims(dimProduct(['batch']), dimProduct(['sequence']))).toBeUndefined();
    expect(evalDim('2*batch*sequence', new Map([['batch', 3], ['sequence', 5]]))).toBe(30);
    expect(evalDim('batch*sequence', new Map([['batch', 3]]))).toBeUndefined();
  });
});

/** graphOf with int64 inputs and outputs whose dtypes inference decides. */
function intGraph(...args: Parameters<typeof graphOf>) {
  const g = graphOf(...args);
  for (const i of g.inputs) i.type.dtype = 'int64';
  g.outputs = [];
  for (const o of args[2]) g.outputs.push({ name: o, type: { dtype: o === 'eq' ? 'bool' : 'int64', shape: [] } });
  return g;
}

describe('shape subgraphs with a dynamic batch and sequence', () => {
  // The pattern transformers export for positions and masks (BERT's embeddings and extended mask).
  const g = intGraph(
    [
      node('Shape', ['ids'], ['s']),
      node('Gather', ['s', 'one'], ['seq']),
      node('Gather', ['s', 'zero'], ['b']),
      node('Unsqueeze', ['seq', 'ax0'], ['seq1']),
      node('Slice', ['positions', 'zero1', 'seq1', 'one1'], ['pos']),
      node('Range', ['zero', 'seq', 'one'], ['r']),
      node('Unsqueeze', ['b', 'ax0'], ['b1']),
      node('Concat', ['b1', 'seq1'], ['bs'], { axis: 0 }),
      node('ConstantOfShape', ['bs'], ['ones'], { value: int64('v', [1], [1]) }),
      node('Mul', ['b', 'seq'], ['n']),
      node('Equal', ['bs', 'minus1'], ['eq']),
      node('Where', ['eq', 'one1x2', 'bs'], ['target']),
      node('Expand', ['tt', 'target'], ['types']),
      node('Mod', ['seq', 'four'], ['rem'], { fmod: 0 }),
      node('Sub', ['seq', 'seq'], ['zero_again']),
    ],
    [['ids', ['batch', 'sequence']]],
    ['pos', 'r', 'ones', 'n', 'types', 'rem', 'zero_again', 'eq'],
    [int64('one', [1], []), int64('zero', [0], []), int64('ax0', [0]), int64('zero1', [0]), int64('one1', [1]), int64('positions', Array.from({ length: 64 }, (_, i) => i), [1, 64]), int64('minus1', [-1, -1]), int64('one1x2', [1, 1]), int64('tt', [0], [1, 1]), int64('four', [4], [])],
  );

  it('keeps the symbols in types and values', () => {
    const values = inferShapes(g);
    expect(values.get('s')).toEqual(['batch', 'sequence']);
    expect(values.get('bs')).toEqual(['batch', 'sequence']);
    expect(g.typeOf('pos').shape).toEqual([1, 'sequence']);
    expect(g.typeOf('r').shape).toEqual(['sequence']);
    expect(g.typeOf('ones')).toEqual({ dtype: 'int64', shape: ['batch', 'sequence'] });
    expect(values.get('n')).toEqual(['batch*sequence']);
    // A symbolic dim is a positive size: it never equals -1.
    expect(values.get('eq')).toEqual([0, 0]);
    expect(values.get('target')).toEqual(['batch', 'sequence']);
    expect(g.typeOf('types').shape).toEqual(['batch', 'sequence']);
    expect(values.get('zero_again')).toEqual([0]);
    expect(values.get('rem')).toBeUndefined(); // sequence mod 4 depends on the sequence
  });

  it('an unsupported operator names the node and the op', () => {
    const bad = graphOf([node('TfIdfVectorizer', ['x'], ['y'], {}, 'nz')], [['x', [2, 3]]], ['y']);
    const e = thrownError(() => inferShapes(bad));
    expect(e.code).toBe('ERR_UNSUPPORTED_OP');
    expect(e.message).toBe("Unsupported operator 'TfIdfVectorizer' (node 'nz') at opset 17");
    // Gelu exists from opset 20 only; below it, only the optimizer's own domain has it.
    const gelu = thrownError(() => inferNode(node('Gelu', ['x'], ['y'], {}, 'g'), 17, [{ dtype: 'float32', shape: [2] }], []));
    expect(gelu.message).toBe("Unsupported operator 'Gelu' (node 'g') at opset 17");
    const ln = thrownError(() => inferNode(node('LayerNormalization', ['x', 's'], ['y'], {}, 'ln'), 16, [{ dtype: 'float32', shape: [2, 4] }, { dtype: 'float32', shape: [4] }], []));
    expect(ln.code).toBe('ERR_UNSUPPORTED_OP');
  });

  it('checks operands: bool arithmetic, mismatched Where branches, Einsum labels', () => {
    const f = (n: ReturnType<typeof node>, shapes: [string, (number | string)[], string?][]) =>
      thrownError(() => inferNode(n, 17, shapes.map(([, s, d]) => ({ dtype: (d ?? 'float32') as 'float32', shape: s })), []));
    expect(f(node('Where', ['c', 'a', 'b'], ['y'], {}, 'w'), [['c', [2], 'bool'], ['a', [2]], ['b', [2], 'int64']]).message).toMatch(/input 2 \('b'\) is int64 but input 1 is float32/);
    expect(f(node('And', ['a', 'b'], ['y'], {}, 'and'), [['a', [2]], ['b', [2]]]).message).toMatch(/And takes bool tensors/);
    expect(f(node('Einsum', ['a', 'b'], ['y'], { equation: 'ij,jk->ik' }, 'e'), [['a', [2, 3]], ['b', [4, 5]]]).message).toMatch(/label 'j' is 3 in one operand and 4 in another/);
    expect(f(node('Expand', ['a', 's'], ['y'], {}, 'x'), [['a', [3]], ['s', [1], 'int64']]).code).toBe('ERR_UNSUPPORTED_OP');
  });
});

describe('dims only the run-time shapes decide', () => {
  it('Concat along a dynamic axis and Pad of a dynamic axis get a symbol of their own, and run', async () => {
    const { Graph } = await import('../../lib/ir/graph.js');
    const { runReference } = await import('../../lib/reference/index.js');
    const { writeModel } = await import('../../lib/onnx/writer.js');
    const { f32, randn, relErr, runOrt } = await import('./reference-helpers.js');
    const g = new Graph({
      opset: 17,
      inputs: [{ name: 'a', type: { dtype: 'float32', shape: ['batch', 'sequence', 4] } }, { name: 'b', type: { dtype: 'float32', shape: ['batch', 'prefix', 4] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('Concat', ['b', 'a'], ['c'], { axis: 1 }, 'cat'), node('Pad', ['c', 'p', 'v'], ['y'], {}, 'pad')],
      initializers: new Map([int64('p', [0, 2, 0, 0, 1, 0]), f32('v', [], [0.5])].map((c) => [c.name, c])),
    });
    inferShapes(g);
    expect(g.typeOf('c').shape).toEqual(['batch', 'c:1', 4]);
    expect(g.typeOf('y').shape).toEqual(['batch', 'y:1', 4]);
    const a = randn(2 * 5 * 4, 1), b = randn(2 * 3 * 4, 2);
    const mine = runReference(g, { a: { data: a, dims: [2, 5, 4] }, b: { data: b, dims: [2, 3, 4] } }).y as Float32Array;
    expect(mine.length).toBe(2 * 11 * 4);
    const ort = (await runOrt(writeModel(g), { a: { data: a, dims: [2, 5, 4] }, b: { data: b, dims: [2, 3, 4] } })).y as Float32Array;
    expect(relErr(mine, ort)).toBe(0);
  });
});
