// Operators builtin has no kernel for, written as ones it has: each rewrite must compute what onnxruntime computes
// on the original node (large arguments included, where a naive form overflows), and a chain of them must lower and
// run (CPU simulation) as the reference does, in FP32 and FP16.
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { AttrValue, Constant, DataType, Dim, Node } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { decomposeForBuiltin } from '../../lib/optimize/decompose.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { roundToHalf } from '../../lib/util/half.js';
import { fp16Program as fp16Run, scalarF32 as f32c } from '../helpers/fp16-program.js';
import { node } from '../helpers/graphs.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';
import { int64, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

const DIMS = [2, 3, 5, 4];
const N = DIMS.reduce((a, b) => a * b, 1);

function oneNode(op: string, inputs: string[], attrs: Record<string, AttrValue>, constants: Constant[] = [], opset = 17, dtype: DataType = 'float32'): Graph {
  const names = [...new Set(inputs.filter((x) => !constants.some((c) => c.name === x)))];
  const g = new Graph({
    opset,
    inputs: names.map((name) => ({ name, type: { dtype, shape: ['n', ...DIMS.slice(1)] as Dim[] } })),
    outputs: [{ name: 'y', type: { dtype, shape: [] } }],
    nodes: [node(op, inputs, ['y'], attrs, `${op.toLowerCase()}_node`)],
    initializers: new Map(constants.map((c) => [c.name, c])),
  });
  inferShapes(g);
  return g;
}

// Spread wide enough that Exp(x) would overflow float16 (x > 11) and Softplus's naive Log(1 + Exp(x)) would lose x.
const X = Float32Array.from(randn(N, 7), (v) => v * 12);
const X2 = randn(N, 8);

describe('decomposeForBuiltin', () => {
  const cases: [string, string, string[], Record<string, AttrValue>, Constant[]?, number?][] = [
    ['Softplus', 'Softplus', ['x'], {}],
    ['Mish', 'Mish', ['x'], {}, [], 18],
    ['Softsign', 'Softsign', ['x'], {}],
    ['Elu α 0.7', 'Elu', ['x'], { alpha: 0.7 }],
    ['Selu (defaults)', 'Selu', ['x'], {}],
    ['Selu α 1.5 γ 2', 'Selu', ['x'], { alpha: 1.5, gamma: 2 }],
    ['Celu α 2', 'Celu', ['x'], { alpha: 2 }],
    ['ThresholdedRelu α 0.5', 'ThresholdedRelu', ['x'], { alpha: 0.5 }],
    ['Sum of three', 'Sum', ['x', 'x2', 'x'], {}],
    ['Mean of two', 'Mean', ['x', 'x2'], {}],
    ['Sum of one', 'Sum', ['x'], {}],
    ['ReduceL1 axes [1, 3]', 'ReduceL1', ['x', 'axes'], { keepdims: 1 }, [int64('axes', [1, 3])], 18],
    ['ReduceL1 axes attribute (opset 13), no keepdims', 'ReduceL1', ['x'], { axes: [2], keepdims: 0 }, [], 13],
    ['ReduceL1 all axes', 'ReduceL1', ['x'], { keepdims: 0 }],
    ['ReduceLogSumExp axis -1', 'ReduceLogSumExp', ['x', 'axes'], { keepdims: 1 }, [int64('axes', [-1])], 18],
    ['ReduceLogSumExp axes attribute, no keepdims', 'ReduceLogSumExp', ['x'], { axes: [1, 2], keepdims: 0 }, [], 13],
    ['ReduceLogSumExp all axes, no keepdims', 'ReduceLogSumExp', ['x'], { keepdims: 0 }],
    ['ReduceLogSum axes [2] (of positive values)', 'ReduceLogSum', ['x', 'axes'], { keepdims: 0 }, [int64('axes', [2])], 18],
    ['ReduceL2 axes [1, 3]', 'ReduceL2', ['x', 'axes'], { keepdims: 1 }, [int64('axes', [1, 3])], 18],
    ['ReduceL2 axes attribute (opset 13), no keepdims', 'ReduceL2', ['x'], { axes: [2], keepdims: 0 }, [], 13],
    ['ReduceL2 all axes, no keepdims', 'ReduceL2', ['x'], { keepdims: 0 }],
    ['ReduceSumSquare axis -1', 'ReduceSumSquare', ['x', 'axes'], { keepdims: 1 }, [int64('axes', [-1])], 18],
    ['LpNormalization p 2', 'LpNormalization', ['x'], { axis: -1, p: 2 }],
    ['LpNormalization p 1 axis 1', 'LpNormalization', ['x'], { axis: 1, p: 1 }],
    ['Trilu upper k 1', 'Trilu', ['x', 'k'], { upper: 1 }, [int64('k', [1], [])]],
    ['Trilu lower k -1', 'Trilu', ['x', 'k'], { upper: 0 }, [int64('k', [-1], [])]],
    ['Trilu upper', 'Trilu', ['x'], {}],
    ['LpPool p 2, 2×2', 'LpPool', ['x'], { kernel_shape: [2, 2] }],
    ['LpPool p 3, strides 2, pads 1', 'LpPool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], p: 3 }],
    ['LpPool p 1, SAME_UPPER', 'LpPool', ['x'], { kernel_shape: [3, 2], auto_pad: 'SAME_UPPER', p: 1 }],
    ['GlobalLpPool (p 2)', 'GlobalLpPool', ['x'], {}],
    ['GlobalLpPool p 3', 'GlobalLpPool', ['x'], { p: 3 }],
    ['Shrink (defaults)', 'Shrink', ['x'], {}],
    ['Shrink λ 4.5, bias 1.25', 'Shrink', ['x'], { lambd: 4.5, bias: 1.25 }],
    ['MeanVarianceNormalization (default axes 0, 2, 3)', 'MeanVarianceNormalization', ['x'], {}],
    ['MeanVarianceNormalization axes [1, 3]', 'MeanVarianceNormalization', ['x'], { axes: [1, 3] }, [], 13],
    ['Sinh', 'Sinh', ['x'], {}],
    ['Cosh', 'Cosh', ['x'], {}],
    ['Asinh', 'Asinh', ['x'], {}],
    ['Acosh', 'Acosh', ['x'], {}],
    ['Atanh', 'Atanh', ['x'], {}],
    ['RMSNormalization (opset 23)', 'RMSNormalization', ['x', 'scale'], { epsilon: 1e-3 }, [f32c('scale', 1.5)], 23],
    ['RMSNormalization axis 2, scale [5, 4] (opset 23)', 'RMSNormalization', ['x', 'scale'], { axis: 2 }, [{ name: 'scale', dtype: 'float32', dims: [5, 4], data: Float32Array.from({ length: 20 }, (_, i) => 0.5 + i * 0.1) }], 23],
    ['Sin', 'Sin', ['x'], {}],
    ['Cos', 'Cos', ['x'], {}],
    ['Tan', 'Tan', ['x'], {}],
    ['Atan', 'Atan', ['x'], {}],
    ['Asin', 'Asin', ['x'], {}],
    ['Acos', 'Acos', ['x'], {}],
  ];
  // The hyperbolic functions' inputs cover their domains, series and closed branches both: Sinh/Cosh within ±11
  // (float16's range), Acosh from 1 to 400 (past the 128 switch), Atanh inside (−1, 1), Asinh ±400.
  const DOMAIN: Record<string, (v: number, i: number) => number> = {
    Sinh: (v) => v * 0.8,
    Cosh: (v) => v * 0.8,
    Asinh: (v, i) => (i % 3 === 0 ? v * 0.02 : v * 30),
    Acosh: (v, i) => 1 + (i % 3 === 0 ? Math.abs(v) * 0.02 : Math.abs(v) * 30),
    Atanh: (v) => Math.tanh(v * 0.2),
    // Sin and Cos over ±40 (every quadrant many times); Tan inside (−1.49, 1.49), away from its poles, whose
    // sensitivity (1/cos²) would amplify any rounding; Asin and Acos inside [−1, 1].
    Tan: (v) => Math.atan(v) * 0.95,
    Asin: (v) => Math.tanh(v * 0.3),
    Acos: (v) => Math.tanh(v * 0.3),
  };
  for (const [title, op, inputs, attrs, constants = [], opset = 17] of cases) {
    it(`${title}: no ${op} left, and onnxruntime's values`, async () => {
      const g = oneNode(op, inputs, attrs, constants, opset);
      const d = g.clone();
      decomposeForBuiltin(d);
      expect(opCounts(d)[op]).toBeUndefined();
      expect(d.typeOf('y')).toEqual(g.typeOf('y'));
      const feeds = { x: op === 'ReduceLogSum' ? X.map((v) => Math.abs(v) + 0.1) : DOMAIN[op] ? X.map(DOMAIN[op]) : X, x2: X2 };
      const shaped = Object.fromEntries(g.inputs.map((i) => [i.name, { data: feeds[i.name as 'x' | 'x2'], dims: DIMS }]));
      const want = (await runOrt(writeModel(g), shaped)).y as Float32Array;
      const got = runReference(d, Object.fromEntries(g.inputs.map((i) => [i.name, feeds[i.name as 'x' | 'x2']]))).y as Float32Array;
      expect(relErr(got, want)).toBeLessThan(1e-5);
      expect(Array.from(got).every(Number.isFinite)).toBe(true);
      // The rewrite is itself a valid model for onnxruntime.
      expect(relErr((await runOrt(writeModel(d), shaped)).y as Float32Array, want)).toBeLessThan(1e-5);
    });
  }

  it('Trilu of int64 values keeps its type; a Trilu with a k computed at run time stays', () => {
    const g = oneNode('Trilu', ['x'], { upper: 0 }, [], 17, 'int64');
    decomposeForBuiltin(g);
    expect(opCounts(g)).toEqual({ Where: 1 });
    const ints = BigInt64Array.from({ length: N }, (_, i) => BigInt(i + 1));
    const y = runReference(g, { x: ints }).y as BigInt64Array;
    // Row r of each 5×4 matrix keeps its columns 0..r.
    expect(Array.from(y.slice(0, 8), Number)).toEqual([1, 0, 0, 0, 5, 6, 0, 0]);
    const dynamicK = new Graph({
      opset: 17,
      inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 3, 5, 4] } }, { name: 'k', type: { dtype: 'int64', shape: [] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('Trilu', ['x', 'k'], ['y'])],
      initializers: new Map(),
    });
    inferShapes(dynamicK);
    decomposeForBuiltin(dynamicK);
    expect(opCounts(dynamicK)).toEqual({ Trilu: 1 });
  });

  it('GlobalLpPool and LpPool of values whose squares overflow float16 stay finite in an FP16 engine', () => {
    const xv = Float32Array.from(randn(2 * 2 * 4 * 4, 14), (v) => v * 1000);
    for (const nd of [node('GlobalLpPool', ['x'], ['y']), node('LpPool', ['x'], ['y'], { kernel_shape: [2, 2], strides: [2, 2] })]) {
      const g = new Graph({
        opset: 17,
        inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 2, 4, 4] } }],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [nd],
        initializers: new Map(),
      });
      inferShapes(g);
      const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision: 'fp16' }), { min: 1, opt: 2, max: 4 });
      const got = simulate(program, weights, { x: xv }, 2).y;
      const want = runReference(g, { x: xv }).y as Float32Array;
      expect(Array.from(got).every(Number.isFinite)).toBe(true);
      expect(relL2(got, want)).toBeLessThan(2e-3);
    }
  });

  it('MeanVarianceNormalization and Shrink lower and run in an FP16 engine as the reference computes them, a constant row normalizing to zeros', () => {
    const xv = Float32Array.from(randn(2 * 16, 13), (v, i) => (i < 16 ? 3.5 : v * 40 + 100));
    const mvn = fp16Run([node('MeanVarianceNormalization', ['x'], ['y'], { axes: [1] })], xv, 16);
    expect(Array.from(mvn.got.slice(0, 16))).toEqual(new Array(16).fill(0));
    expect(Array.from(mvn.want.slice(0, 16))).toEqual(new Array(16).fill(0));
    expect(relL2(mvn.got, mvn.want)).toBeLessThan(2e-3);
    const shrink = fp16Run([node('Shrink', ['x'], ['y'], { lambd: 90.5, bias: 2.5 })], xv, 16);
    expect(relL2(shrink.got, shrink.want)).toBeLessThan(1e-3);
  });

  it('ReduceL2 and LpNormalization of values whose squares overflow float16 stay finite in an FP16 engine, where the naive Sqrt(ReduceSum(x·x)) gives inf', () => {
    const big = Float32Array.from(randn(2 * 16, 12), (v) => v * 1000);
    const build = (nodes: Node[]) => fp16Run(nodes, big, 16);
    for (const nodes of [[node('ReduceL2', ['x', 'axes'], ['y'], { keepdims: 1 })], [node('LpNormalization', ['x'], ['y'], { axis: 1 })]]) {
      const { want, got } = build(nodes);
      expect(Array.from(got).every(Number.isFinite)).toBe(true);
      expect(relL2(got, want)).toBeLessThan(1e-2);
    }
    const naive = build([node('Mul', ['x', 'x'], ['sq']), node('ReduceSum', ['sq', 'axes'], ['s'], { keepdims: 1 }), node('Sqrt', ['s'], ['y'])]);
    expect(Array.from(naive.got).some((v) => v === Infinity)).toBe(true);
  });

  it('an L1 norm past 65504, a mean of values near it, and LogSumExp rows of −inf and +inf stay right in an FP16 engine', () => {
    // Σ|x| is about 80,000 per row: past float16's range, though every value and every quotient is within it.
    const big = Float32Array.from({ length: 32 }, (_, i) => 5000 + i);
    const l1 = fp16Run([node('LpNormalization', ['x'], ['y'], { axis: 1, p: 1 })], big, 16);
    expect(relL2(l1.got, l1.want)).toBeLessThan(1e-2);
    const near = Float32Array.from({ length: 8 }, (_, i) => 40000 + i);
    const mean = fp16Run([node('Mean', ['x', 'x'], ['y'])], near, 4);
    expect(relL2(mean.got, mean.want)).toBeLessThan(1e-3);
    const rows = Float32Array.from([-Infinity, -Infinity, -Infinity, 1, 2, Infinity]);
    const lse = fp16Run([node('ReduceLogSumExp', ['x', 'axes'], ['y'], { keepdims: 0 })], rows, 3);
    expect(Array.from(lse.want)).toEqual([-Infinity, Infinity]);
    expect(Array.from(lse.got)).toEqual([-Infinity, Infinity]);
  });

  it('Floor, Ceil, Round (halves to even) and Sign from casts and compares: onnxruntime\'s values, large, infinite and NaN included, and the FP32 and FP16 programs exactly', async () => {
    // Ties, near-ties (0.5 + 1 ulp in float32 and in float16, whose x + ½ rounds up to a whole number), large values,
    // ±inf and NaN.
    const special = Float32Array.from([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.7, -3.7, 1023.5, -1022.5, 2000, 0, 0.50000006, 0.50048828, 1e7 + 0.5, 3e9, -3e9, Infinity, -Infinity, NaN, 0.49999997, -0.50000006, 2.5000002, 1e-8]);
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (v, i) => (Number.isNaN(v) ? Number.isNaN(b[i]) : v === b[i] || (v === 0 && b[i] === 0)));
    for (const op of ['Floor', 'Ceil', 'Round', 'Sign']) {
      const g = new Graph({ opset: 17, inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 4] } }], outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }], nodes: [node(op, ['x'], ['y'])], initializers: new Map() });
      inferShapes(g);
      const d = g.clone();
      decomposeForBuiltin(d);
      expect(opCounts(d)[op]).toBeUndefined();
      const want = (await runOrt(writeModel(g), { x: { data: special, dims: [6, 4] } })).y as Float32Array;
      expect(same(runReference(d, { x: special }).y as Float32Array, want).every(Boolean)).toBe(true);
      for (const precision of ['fp32', 'fp16'] as const) {
        // The FP16 engine sees the inputs float16 holds exactly (others become 0 here).
        const xs = precision === 'fp16' ? Float32Array.from(special, (v) => (Number.isNaN(v) || roundToHalf(v) === v ? v : 0)) : special;
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 2, max: 8 });
        const got = simulate(program, weights, { x: xs }, 6).y;
        const ref = runReference(g, { x: xs }).y as Float32Array;
        expect(same(got, ref).every(Boolean), `${op} ${precision}: ${Array.from(got)} vs ${Array.from(ref)}`).toBe(true);
      }
    }
  });

  it('leaves a reduction with noop_with_empty_axes and no axes to the backend (it reduces nothing)', () => {
    const g = oneNode('ReduceL1', ['x'], { noop_with_empty_axes: 1 }, [], 18);
    decomposeForBuiltin(g);
    expect(opCounts(g)).toEqual({ ReduceL1: 1 });
  });

  for (const precision of ['fp32', 'fp16'] as const) {
    it(`a chain of them lowers on builtin and its program computes the reference's values (${precision})`, () => {
      const nodes: Node[] = [
        node('Mish', ['x'], ['a']),
        node('Elu', ['a'], ['b'], { alpha: 0.5 }),
        node('Selu', ['b'], ['c']),
        node('Celu', ['c'], ['d'], { alpha: 1.5 }),
        node('Softsign', ['d'], ['e']),
        node('Softplus', ['x'], ['f']),
        node('Sum', ['e', 'f', 'x'], ['s']),
        node('ThresholdedRelu', ['s'], ['t'], { alpha: 0.25 }),
        node('Mean', ['t', 's'], ['m']),
        node('Trilu', ['m'], ['u'], { upper: 1 }),
        node('ReduceLogSumExp', ['u', 'axes'], ['y'], { keepdims: 0 }),
        node('ReduceL1', ['m', 'axes'], ['z1'], { keepdims: 1 }),
        node('LpNormalization', ['z1'], ['z2'], { axis: 2, p: 2 }),
        node('ReduceL2', ['z2', 'axes'], ['z3'], { keepdims: 1 }),
        node('ReduceSumSquare', ['m', 'axes'], ['z4'], { keepdims: 1 }),
        node('Add', ['z3', 'z4'], ['z']),
      ];
      const g = new Graph({
        opset: 18,
        inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 3, 5, 4] } }],
        outputs: ['y', 'z'].map((name) => ({ name, type: { dtype: 'float32', shape: [] } })),
        nodes,
        initializers: new Map([['axes', int64('axes', [3])]]),
      });
      inferShapes(g);
      const opt = optimize(g, { fuse: true, precision });
      const { program, weights } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
      const x = Float32Array.from(randn(N, 9), (v) => v * 3);
      const want = runReference(g, { x });
      const got = simulate(program, weights, { x }, 2);
      for (const o of ['y', 'z']) expect(relL2(got[o], want[o] as Float32Array)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
    });
  }
});
