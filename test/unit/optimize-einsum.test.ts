// Einsum rewritten as MatMul, Transpose, Reshape and ReduceSum for the builtin backend: the rewritten graph must
// compute what onnxruntime computes on the original Einsum, and attention written as einsum must reach the
// attention fusion and the lowered program.
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Dim } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { decomposeEinsum } from '../../lib/optimize/einsum.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { graphOf, node } from '../helpers/graphs.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';
import { f32, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

const concrete = (shape: Dim[], batch: number) => shape.map((d) => (typeof d === 'number' ? d : batch));
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function einsumGraph(equation: string, shapes: Dim[][], opset = 17): Graph {
  const names = ['a', 'b', 'c'].slice(0, shapes.length);
  const g = graphOf([node('Einsum', names, ['y'], { equation }, 'einsum')], names.map((n, i) => [n, shapes[i]] as [string, Dim[]]), ['y'], [], opset);
  inferShapes(g);
  return g;
}

describe('decomposeEinsum', () => {
  // equation, operand shapes ('n' a dynamic batch, run at 2), the ops it becomes
  const cases: [string, Dim[][], Record<string, number>, number?][] = [
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]], { MatMul: 1 }],
    ['bhqd,bhkd->bhqk', [['n', 2, 3, 4], ['n', 2, 5, 4]], { Transpose: 1, MatMul: 1 }],
    ['bhqk,bhkd->bhqd', [['n', 2, 3, 5], ['n', 2, 5, 4]], { MatMul: 1 }],
    ['...ij,jk->...ik', [[2, 3, 4], [4, 2]], { Reshape: 2, MatMul: 1 }],
    ['ij,jk', [[3, 4], [4, 2]], { MatMul: 1 }],
    ['i,j->ij', [[3], [4]], { Reshape: 2, MatMul: 1 }],
    ['bid,de->bie', [['n', 3, 4], [4, 5]], { Reshape: 2, MatMul: 1 }],
    ['bij,bkj->bki', [[2, 3, 4], [2, 5, 4]], { Transpose: 2, MatMul: 1 }],
    ['ij,jk->i', [[3, 4], [4, 5]], { ReduceSum: 1, Reshape: 2, MatMul: 1 }],
    ['ij,jk->i', [[3, 4], [4, 5]], { ReduceSum: 1, Reshape: 2, MatMul: 1 }, 12],
    ['...ij,...jk->...ik', [[2, 1, 3, 4], [1, 5, 4, 6]], { MatMul: 1 }],
    ['ij->ji', [[3, 4]], { Transpose: 1 }],
    ['ij->i', [[3, 4]], { ReduceSum: 1 }],
    ['ij->i', [[3, 4]], { ReduceSum: 1 }, 12],
    ['ij->ij', [[3, 4]], { Identity: 1 }],
  ];
  for (const [equation, shapes, ops, opset] of cases) {
    it(`${equation}${opset ? ` (opset ${opset})` : ''} becomes ${Object.keys(ops).join(', ')} and matches onnxruntime's Einsum`, async () => {
      const g = einsumGraph(equation, shapes, opset);
      const d = g.clone();
      decomposeEinsum(d);
      expect(opCounts(d)).toEqual(ops);
      expect(d.typeOf('y')).toEqual(g.typeOf('y'));
      const feeds = Object.fromEntries(shapes.map((s, i) => [['a', 'b'][i], randn(count(concrete(s, 2)), 5 + i)]));
      const want = await runOrt(writeModel(g), Object.fromEntries(shapes.map((s, i) => [['a', 'b'][i], { data: feeds[['a', 'b'][i]], dims: concrete(s, 2) }])));
      const got = runReference(d, feeds).y as Float32Array;
      expect(relErr(got, want.y as Float32Array)).toBeLessThan(1e-5);
      // The rewritten graph is valid ONNX that onnxruntime runs to the same values.
      const again = await runOrt(writeModel(d), Object.fromEntries(shapes.map((s, i) => [['a', 'b'][i], { data: feeds[['a', 'b'][i]], dims: concrete(s, 2) }])));
      expect(relErr(again.y as Float32Array, want.y as Float32Array)).toBeLessThan(1e-5);
    });
  }

  it('leaves a diagonal, three operands and integer operands as Einsum, which the builtin backend then names as unsupported', () => {
    for (const [equation, shapes] of [['ii->i', [[3, 3]]], ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 5]]]] as [string, Dim[][]][]) {
      const g = einsumGraph(equation, shapes);
      decomposeEinsum(g);
      expect(opCounts(g)).toEqual({ Einsum: 1 });
    }
    const ints = new Graph({
      opset: 17,
      inputs: ['a', 'b'].map((name) => ({ name, type: { dtype: 'int32', shape: [2, 2] } })),
      outputs: [{ name: 'y', type: { dtype: 'int32', shape: [] } }],
      nodes: [node('Einsum', ['a', 'b'], ['y'], { equation: 'ij,jk->ik' }, 'einsum')],
      initializers: new Map(),
    });
    inferShapes(ints);
    decomposeEinsum(ints);
    expect(opCounts(ints)).toEqual({ Einsum: 1 });
    const diag = graphOf([node('Einsum', ['x'], ['y'], { equation: 'bii->bi' }, 'diag')], [['x', ['n', 3, 3]]], ['y']);
    inferShapes(diag);
    expect(() => lowerGraph(optimize(diag, { fuse: true, precision: 'fp32' }), { min: 1, opt: 1, max: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_OP', message: expect.stringMatching(/Einsum.*'diag'/) }),
    );
  });

  for (const precision of ['fp32', 'fp16'] as const) {
    it(`attention written as einsum becomes one attention layer on builtin, and its lowered program computes the reference's values (${precision})`, () => {
      const shape: Dim[] = ['n', 2, 8, 16];
      const g = graphOf(
        [
          node('Einsum', ['q', 'k'], ['s'], { equation: 'bhqd,bhkd->bhqk' }, 'scores'),
          node('Mul', ['s', 'scale'], ['t']),
          node('Softmax', ['t'], ['p'], { axis: -1 }),
          node('Einsum', ['p', 'v'], ['y'], { equation: 'bhqk,bhkd->bhqd' }, 'context'),
        ],
        [['q', shape], ['k', shape], ['v', shape]],
        ['y'],
        [f32('scale', [], [0.25])],
      );
      inferShapes(g);
      const opt = optimize(g, { fuse: true, precision });
      expect(opCounts(opt).FusedAttention).toBe(1);
      expect(opCounts(opt).Einsum).toBeUndefined();
      const { program, weights } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
      expect(program.layers.filter((l) => OP_NAMES[l.op] === 'attention')).toHaveLength(1);
      const batch = 3;
      const feeds = Object.fromEntries(['q', 'k', 'v'].map((n, i) => [n, randn(batch * 2 * 8 * 16, 20 + i)]));
      const want = runReference(g, feeds).y as Float32Array;
      const got = simulate(program, weights, feeds, batch).y;
      expect(relL2(got, want)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
    });
  }
});
