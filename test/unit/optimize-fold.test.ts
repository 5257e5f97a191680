// Constant folding and cleanup preserve outputs and remove what they should.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { foldConstants } from '../../lib/optimize/fold.js';
import { smallCnnGraph } from '../../scripts/gen-models.js';
import { inferredGraph, node } from '../helpers/graphs.js';
import { compareGraphs, f32, int64, opCounts, randn, relErr, runOrt } from './reference-helpers.js';
import { runReference } from '../../lib/reference/index.js';

function folded(g: Graph): Graph {
  const c = g.clone();
  foldConstants(c);
  return c;
}

describe('foldConstants', () => {
  it("turns torch's Shape→Gather→Unsqueeze→Concat→Reshape into Flatten(axis=1) with a dynamic batch", () => {
    const g = smallCnnGraph({ seed: 2 });
    expect(opCounts(g)).toMatchObject({ Shape: 1, Gather: 1, Unsqueeze: 1, Concat: 1, Reshape: 1 });
    const f = folded(g);
    const ops = opCounts(f);
    for (const op of ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']) expect(ops[op]).toBeUndefined();
    const flat = f.nodes.find((n) => n.op === 'Flatten')!;
    expect(flat.attrs).toEqual({ axis: 1 });
    expect(f.typeOf(flat.outputs[0]).shape).toEqual(['batch', 512]);
    expect(compareGraphs(g, f, { input: randn(2 * 3 * 32 * 32, 5) })).toBeLessThan(1e-5);
  });

  it('does the same with a static batch', () => {
    const g = smallCnnGraph({ seed: 2, dynamicBatch: false });
    const f = folded(g);
    expect(opCounts(f).Reshape).toBeUndefined();
    expect(opCounts(f).Flatten).toBe(1);
    expect(compareGraphs(g, f, { input: randn(3 * 32 * 32, 5) })).toBeLessThan(1e-5);
  });

  it('gives a symbolic Reshape target a constant form (0 copies the batch, -1 takes the rest)', async () => {
    // y = Reshape(x, [3, 4, batch]) built from Shape(x): the batch moves to the back.
    const g = inferredGraph(
      [
        node('Shape', ['x'], ['s']),
        node('Slice', ['s', 'one', 'big'], ['hw']),
        node('Gather', ['s', 'zero'], ['n']),
        node('Unsqueeze', ['n', 'axes'], ['n1']),
        node('Concat', ['n1', 'hw'], ['t1'], { axis: 0 }),
        node('Reshape', ['x', 't1'], ['keep']),
        node('Concat', ['hw', 'n1'], ['t2'], { axis: 0 }),
        node('Reshape', ['x', 't2'], ['moved']),
      ],
      ['batch', 3, 4],
      ['keep', 'moved'],
      [int64('one', [1]), int64('big', [1000]), int64('zero', [0], []), int64('axes', [0])],
    );
    const f = folded(g);
    expect(opCounts(f)).toEqual({ Reshape: 2 });
    const targets = f.nodes.map((n) => Array.from(f.initializers.get(n.inputs[1])!.data as BigInt64Array, Number));
    expect(targets).toEqual([
      [0, 3, 4],
      [3, 4, -1],
    ]);
    expect(f.typeOf('moved').shape).toEqual([3, 4, 'batch']);
    const x = randn(2 * 12, 3);
    expect(compareGraphs(g, f, { x })).toBeLessThan(1e-7);
    const ort = await runOrt(writeModel(f), { x: { data: x, dims: [2, 3, 4] } });
    expect(relErr(ort.moved as Float32Array, runReference(g, { x }).moved as Float32Array)).toBe(0);
  });

  it('evaluates constant subgraphs and Constant nodes', () => {
    const w = f32('w', [4, 3], randn(12, 9));
    const g = inferredGraph(
      [
        { name: 'k', op: 'Constant', domain: '', inputs: [], outputs: ['k'], attrs: { value: f32('', [], [2]) } },
        node('Transpose', ['w'], ['wt'], { perm: [1, 0] }),
        node('Mul', ['wt', 'k'], ['w2']),
        node('MatMul', ['x', 'w2'], ['y']),
      ],
      ['n', 3],
      ['y'],
      [w],
    );
    const f = folded(g);
    expect(opCounts(f)).toEqual({ MatMul: 1 });
    expect(f.initializers.get(f.nodes[0].inputs[1])!.dims).toEqual([3, 4]);
    expect([...f.initializers.keys()]).toEqual([f.nodes[0].inputs[1]]); // w and k are gone
    expect(compareGraphs(g, f, { x: randn(6, 1) })).toBeLessThan(1e-7);
  });

  it('removes Identity, Dropout and no-op Casts, also in front of a graph output, and dead branches', () => {
    const g = inferredGraph(
      [
        node('Identity', ['x'], ['a']),
        node('Relu', ['a'], ['b']),
        node('Dropout', ['b'], ['c']),
        node('Cast', ['c'], ['d'], { to: 1 }),
        node('Sigmoid', ['d'], ['e']),
        node('Identity', ['e'], ['y']),
        node('Tanh', ['x'], ['unused']),
      ],
      ['n', 5],
      ['y'],
    );
    const f = folded(g);
    expect(f.nodes.map((n) => n.op)).toEqual(['Relu', 'Sigmoid']);
    expect(f.nodes[1].outputs).toEqual(['y']);
    expect(compareGraphs(g, f, { x: randn(10, 1) })).toBe(0);
    // An Identity straight from the input to the output has to stay.
    const passthrough = folded(inferredGraph([node('Identity', ['x'], ['y'])], [2], ['y']));
    expect(passthrough.nodes.map((n) => n.op)).toEqual(['Identity']);
  });
});

describe('constant folding size limit', () => {
  it('refuses a tiny Pad that would fold to 256 M elements, before allocating them', () => {
    // One float and a pads tensor: under 200 bytes of model asking for 1 GiB of float32.
    const g = inferredGraph(
      [node('Pad', ['c', 'pads'], ['p']), node('Add', ['x', 'p'], ['y'])],
      [1],
      ['y'],
      [f32('c', [1], [1]), int64('pads', [0, 2 ** 28 - 1])],
    );
    const before = process.memoryUsage().arrayBuffers;
    let err: unknown;
    try {
      folded(g);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_INVALID_MODEL', message: expect.stringMatching(/would produce 268435456 elements, more than the limit of 16777216/) });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
  });

  it('still folds what does not grow the data, and growth up to MAX_FOLDED_ELEMENTS', () => {
    const g = inferredGraph([node('Pad', ['c', 'pads'], ['p']), node('Add', ['x', 'p'], ['y'])], [1000], ['y'], [f32('c', [1], [1]), int64('pads', [0, 999])]);
    const f = folded(g);
    expect(f.initializers.get('p')!.data.length).toBe(1000);
  });
});
