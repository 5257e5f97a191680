// CumSum on the builtin backend: a float CumSum is a MatMul with a triangle of ones, an integer one whose values are
// provably small runs that way in float between Casts, and the lowered programs (CPU simulation) compute the
// reference's values; an unbounded integer CumSum is refused by name.
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Constant, DataType, Dim, Node } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { optimize } from '../../lib/optimize/index.js';
import { cumsumAsMatMul, integerRanges } from '../../lib/optimize/cumsum.js';
import { runReference } from '../../lib/reference/index.js';
import { node } from '../helpers/graphs.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';
import { int64, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

function graph(inputs: [string, DataType, Dim[]][], nodes: Node[], outputs: [string, DataType][], constants: Constant[]): Graph {
  const g = new Graph({
    opset: 17,
    inputs: inputs.map(([name, dtype, shape]) => ({ name, type: { dtype, shape } })),
    outputs: outputs.map(([name, dtype]) => ({ name, type: { dtype, shape: [] } })),
    nodes,
    initializers: new Map(constants.map((c) => [c.name, c])),
  });
  inferShapes(g);
  return g;
}

// RoBERTa's position ids as transformers exports them: mask = ids != pad; cumsum(mask) · mask + pad, then the
// position-embedding lookup. The table rows are their own index (in steps float16 holds exactly), so a wrong id
// shows as a wrong value.
const SEQ = 10;
const PAD = 1;
function robertaPositions(cumsumType: DataType = 'int32'): Graph {
  const to = cumsumType === 'int32' ? 6 : 7;
  const table: Constant = { name: 'table', dtype: 'float32', dims: [SEQ + 2, 3], data: Float32Array.from({ length: (SEQ + 2) * 3 }, (_, i) => Math.floor(i / 3) + (i % 3) / 4) };
  return graph(
    [['ids', 'int64', ['batch', SEQ]]],
    [
      node('Equal', ['ids', 'pad'], ['eq']),
      node('Not', ['eq'], ['mask']),
      node('Cast', ['mask'], ['mask_i'], { to }),
      node('CumSum', ['mask_i', 'axis'], ['cs']),
      node('Mul', ['cs', 'mask_i'], ['inc']),
      node('Cast', ['inc'], ['inc64'], { to: 7 }),
      node('Add', ['inc64', 'pad'], ['pos']),
      node('Gather', ['table', 'pos'], ['y']),
    ],
    [['y', 'float32']],
    [int64('pad', [PAD], []), int64('axis', [1], []), table],
  );
}

// Two sequences, the second padded after 6 tokens.
const IDS = BigInt64Array.from([5, 9, 7, 3, 8, 2, 4, 6, 11, 13, 5, 9, 7, 3, 8, 2, PAD, PAD, PAD, PAD].map(BigInt));

describe('CumSum as a MatMul for builtin', () => {
  it('bounds RoBERTa position ids: a bool is 0..1, its cumsum 0..seq, and the ids pad..seq+pad', () => {
    const r = integerRanges(robertaPositions());
    expect([r.get('mask_i'), r.get('cs'), r.get('inc'), r.get('pos')]).toEqual([[0, 1], [0, SEQ], [0, SEQ], [PAD, SEQ + PAD]]);
    expect(r.has('ids')).toBe(false); // token ids are data: unbounded
  });

  for (const t of ['int32', 'int64'] as const) {
    it(`runs RoBERTa position ids (${t} cumsum) on builtin: the program gives the reference's rows exactly`, () => {
      const g = robertaPositions(t);
      const f = g.clone();
      cumsumAsMatMul(f);
      // The cumsum is a float MatMul between two Casts; the integer Mul and Add stay integers.
      expect(opCounts(f)).toEqual({ Equal: 1, Not: 1, Cast: 4, MatMul: 1, Mul: 1, Add: 1, Gather: 1 });
      expect(f.typeOf(f.nodes.find((x) => x.op === 'MatMul')!.outputs[0]).dtype).toBe('float32');
      expect(f.typeOf('cs').dtype).toBe(t);
      const want = runReference(g, { ids: IDS }).y as Float32Array;
      expect(runReference(f, { ids: IDS }).y).toEqual(want);
      for (const precision of ['fp32', 'fp16'] as const) {
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 2, max: 4 });
        const got = simulate(program, weights, { ids: IDS }, 2).y;
        expect(Array.from(got)).toEqual(Array.from(want));
      }
    });
  }

  it('leaves a cumsum of token ids alone (unbounded), and builtin names it as unsupported', () => {
    const g = graph([['ids', 'int64', ['batch', 4]]], [node('CumSum', ['ids', 'axis'], ['y'])], [['y', 'int64']], [int64('axis', [1], [])]);
    const f = g.clone();
    cumsumAsMatMul(f);
    expect(opCounts(f)).toEqual({ CumSum: 1 });
    expect(() => lowerGraph(optimize(g, { fuse: true, precision: 'fp16' }), { min: 1, opt: 1, max: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_OP', message: expect.stringMatching(/'CumSum' \(node 'CumSum_y'\)/) }),
    );
  });

  it('keeps an integer cumsum whose bound passes 2048 (ones over 3000 positions) as it is', () => {
    const g = graph(
      [['m', 'bool', ['batch', 3000]]],
      [node('Cast', ['m'], ['mi'], { to: 6 }), node('CumSum', ['mi', 'axis'], ['y'])],
      [['y', 'int32']],
      [int64('axis', [1], [])],
    );
    expect(integerRanges(g).get('y')).toEqual([0, 3000]);
    cumsumAsMatMul(g);
    expect(opCounts(g)).toEqual({ Cast: 1, CumSum: 1 });
  });

  // axis, exclusive, reverse
  const forms: [number, number, number][] = [[2, 0, 0], [2, 1, 0], [2, 0, 1], [2, 1, 1], [1, 0, 0], [-2, 1, 1]];
  for (const [axis, exclusive, reverse] of forms) {
    it(`float CumSum axis ${axis}${exclusive ? ' exclusive' : ''}${reverse ? ' reverse' : ''} is a MatMul with a triangle of ones, as onnxruntime computes it`, async () => {
      const g = graph(
        [['x', 'float32', ['batch', 5, 6]]],
        [node('CumSum', ['x', 'axis'], ['y'], { exclusive, reverse })],
        [['y', 'float32']],
        [int64('axis', [axis], [])],
      );
      const f = g.clone();
      cumsumAsMatMul(f);
      expect(opCounts(f)).toEqual(axis === 2 ? { MatMul: 1 } : { Transpose: 2, MatMul: 1 });
      const x = randn(2 * 5 * 6, 4);
      const want = (await runOrt(writeModel(g), { x: { data: x, dims: [2, 5, 6] } })).y as Float32Array;
      expect(relErr(runReference(f, { x }).y as Float32Array, want)).toBeLessThan(1e-5);
      for (const precision of ['fp32', 'fp16'] as const) {
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 2, max: 4 });
        expect(relL2(simulate(program, weights, { x }, 2).y, want)).toBeLessThan(precision === 'fp32' ? 1e-6 : 2e-3);
      }
    });
  }
});
