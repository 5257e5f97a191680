// PRelu, InstanceNormalization, GroupNormalization, LRN, DepthToSpace, SpaceToDepth, LpNormalization, CastLike and
// Size: the reference kernels against onnxruntime-node on single-node models, and the builtin backend's rewrites of
// them (lowered and run by the CPU simulation of its kernels) against the reference, in FP32 and FP16.
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Constant, DataType } from '../../lib/ir/types.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { node } from '../helpers/graphs.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';
import { expectOrtAgreement, f32, opCounts, opGraph, randn, type OpCase } from './reference-helpers.js';

const w = (name: string, dims: number[], seed = 7, shift = 0) => f32(name, dims, randn(dims.reduce((a, b) => a * b, 1), seed).map((v) => v + shift));
const x = (shape: number[], dtype: DataType = 'float32', name = 'x') => ({ name, shape, dtype });

const CASES: Record<string, OpCase & { feed?: Record<string, (n: number) => Float32Array> }> = {
  'PRelu, slope per channel': { op: 'PRelu', inputs: [x([2, 4, 3, 3])], nodeInputs: ['x', 's'], constants: [w('s', [4, 1, 1])] },
  'PRelu, one slope': { op: 'PRelu', inputs: [x([2, 4, 3])], nodeInputs: ['x', 's'], constants: [w('s', [1])] },
  InstanceNormalization: { op: 'InstanceNormalization', inputs: [x([2, 3, 4, 5])], nodeInputs: ['x', 'g', 'b'], constants: [w('g', [3], 2, 1), w('b', [3], 3)], attrs: { epsilon: 1e-3 } },
  'InstanceNormalization 1-D': { op: 'InstanceNormalization', inputs: [x([2, 3, 7])], nodeInputs: ['x', 'g', 'b'], constants: [w('g', [3], 2, 1), w('b', [3], 3)] },
  'GroupNormalization opset 18 (per-group parameters)': { op: 'GroupNormalization', inputs: [x([2, 6, 3, 3])], nodeInputs: ['x', 'g', 'b'], constants: [w('g', [3], 4, 1), w('b', [3], 5)], attrs: { num_groups: 3 }, opset: 18 },
  'GroupNormalization opset 21 (per-channel parameters)': { op: 'GroupNormalization', inputs: [x([2, 6, 3, 3])], nodeInputs: ['x', 'g', 'b'], constants: [w('g', [6], 4, 1), w('b', [6], 5)], attrs: { num_groups: 2, epsilon: 1e-4 }, opset: 21 },
  'LRN size 5': { op: 'LRN', inputs: [x([2, 7, 3, 3])], attrs: { size: 5, alpha: 1e-3, beta: 0.75, bias: 2 } },
  'LRN size 1, defaults': { op: 'LRN', inputs: [x([1, 4, 2, 2])], attrs: { size: 1 } },
  'DepthToSpace DCR': { op: 'DepthToSpace', inputs: [x([2, 8, 3, 2])], attrs: { blocksize: 2 } },
  'DepthToSpace CRD': { op: 'DepthToSpace', inputs: [x([2, 18, 2, 3])], attrs: { blocksize: 3, mode: 'CRD' } },
  SpaceToDepth: { op: 'SpaceToDepth', inputs: [x([2, 3, 4, 6])], attrs: { blocksize: 2 } },
  'LpNormalization p 2 axis -1': { op: 'LpNormalization', inputs: [x([2, 3, 5])], attrs: { axis: -1, p: 2 } },
  'LpNormalization p 1 axis 1': { op: 'LpNormalization', inputs: [x([2, 3, 5])], attrs: { axis: 1, p: 1 } },
  'LpNormalization of a zero row': { op: 'LpNormalization', inputs: [x([3, 4])], feed: { x: (n) => Float32Array.from({ length: n }, (_, i) => (i < 4 ? 0 : i - 6)) } },
  'Size of a symbolic shape': { op: 'Size', inputs: [{ name: 'x', shape: ['n', 3, 4], dtype: 'float32' }], outputs: [{ name: 'y', dtype: 'int64' }] },
  'QuantizeLinear to uint8, no zero point, halves to even': { op: 'QuantizeLinear', inputs: [x([2, 6])], nodeInputs: ['x', 's'], constants: [f32('s', [], [0.5])], outputs: [{ name: 'y', dtype: 'uint8' }], feed: { x: (n) => Float32Array.from({ length: n }, (_, i) => (i - 3) * 0.25 + (i % 3) * 40) } },
  'QuantizeLinear to int8 per axis 1, saturating': { op: 'QuantizeLinear', inputs: [x([2, 3, 2])], nodeInputs: ['x', 's', 'z'], constants: [f32('s', [3], [0.01, 0.1, 1]), { name: 'z', dtype: 'int8', dims: [3], data: Int8Array.from([0, -3, 5]) }], attrs: { axis: 1 }, outputs: [{ name: 'y', dtype: 'int8' }] },
  'QuantizeLinear, a tie only in float32 (0.35 / 0.1)': { op: 'QuantizeLinear', inputs: [x([4])], nodeInputs: ['x', 's'], constants: [f32('s', [], [0.1])], outputs: [{ name: 'y', dtype: 'uint8' }], feed: { x: () => Float32Array.from([0.35, 0.25, 0.45, 1.05]) } },
  'DequantizeLinear int8 per tensor': { op: 'DequantizeLinear', inputs: [x([3, 4], 'int8')], nodeInputs: ['x', 's', 'z'], constants: [f32('s', [], [0.05]), { name: 'z', dtype: 'int8', dims: [], data: Int8Array.from([3]) }] },
  'DequantizeLinear uint8 per axis 0': { op: 'DequantizeLinear', inputs: [x([3, 4], 'uint8')], nodeInputs: ['x', 's', 'z'], constants: [f32('s', [3], [0.1, 0.02, 0.5]), { name: 'z', dtype: 'uint8', dims: [3], data: Uint8Array.from([128, 120, 0]) }], attrs: { axis: 0 } },
  'DequantizeLinear int32 (a bias), no zero point': { op: 'DequantizeLinear', inputs: [x([5], 'int32')], nodeInputs: ['x', 's'], constants: [f32('s', [], [0.001])] },
  'CastLike to int32': { op: 'CastLike', inputs: [x([3, 4]), x([1], 'int32', 'like')], outputs: [{ name: 'y', dtype: 'int32' }] },
};

describe('channel-wise reference kernels match onnxruntime-node', () => {
  for (const [name, c] of Object.entries(CASES)) it(name, () => expectOrtAgreement(c));

  it('refuses output_dtype and precision (the output type comes from the zero point or the scale), and a non-zero int32 zero point', () => {
    expect(() => opGraph({ op: 'QuantizeLinear', opset: 21, inputs: [x([4])], nodeInputs: ['x', 's'], constants: [f32('s', [], [0.1])], attrs: { output_dtype: 3 }, outputs: [{ name: 'y', dtype: 'int8' }] })).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_OP', message: expect.stringMatching(/output_dtype/) }),
    );
    expect(() => opGraph({ op: 'DequantizeLinear', inputs: [x([4], 'int32')], nodeInputs: ['x', 's', 'z'], constants: [f32('s', [], [0.1]), { name: 'z', dtype: 'int32', dims: [], data: Int32Array.from([2]) }] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_MODEL', message: expect.stringMatching(/int32 zero point must be 0/) }),
    );
  });

  it('refuses a slope that does not broadcast, channels that do not split into groups, and a block that does not divide', () => {
    const bad: [OpCase, RegExp][] = [
      [{ op: 'PRelu', inputs: [x([2, 4, 3])], nodeInputs: ['x', 's'], constants: [w('s', [5])] }, /slope \[5\] does not broadcast/],
      [{ op: 'GroupNormalization', inputs: [x([2, 6, 3])], nodeInputs: ['x', 'g', 'b'], constants: [w('g', [4]), w('b', [4])], attrs: { num_groups: 4 }, opset: 18 }, /6 channels do not split into 4 groups/],
      [{ op: 'SpaceToDepth', inputs: [x([1, 3, 5, 4])], attrs: { blocksize: 2 } }, /5×4 does not divide into blocks of 2/],
      [{ op: 'DepthToSpace', inputs: [x([1, 6, 2, 2])], attrs: { blocksize: 2 } }, /6 channels do not divide by blocksize² = 4/],
    ];
    for (const [c, message] of bad) expect(() => opGraph(c)).toThrow(message);
  });
});

describe('builtin runs them as the operators they are made of', () => {
  const consts: Constant[] = [w('slope', [8, 1, 1], 21), w('ig', [8], 22, 1), w('ib', [8], 23), w('gg', [4], 24, 1), w('gb', [4], 25), w('like', [1], 26)];
  const chain = () => {
    const g = new Graph({
      opset: 18,
      inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 8, 6, 6] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [
        node('PRelu', ['x', 'slope'], ['a']),
        node('InstanceNormalization', ['a', 'ig', 'ib'], ['b'], { epsilon: 1e-5 }),
        node('GroupNormalization', ['b', 'gg', 'gb'], ['c'], { num_groups: 4 }),
        node('LRN', ['c'], ['d'], { size: 3, alpha: 1e-2, beta: 0.75, bias: 1 }),
        node('SpaceToDepth', ['d'], ['e'], { blocksize: 2 }),
        node('DepthToSpace', ['e'], ['f'], { blocksize: 2, mode: 'CRD' }),
        node('CastLike', ['f', 'like'], ['y']),
      ],
      initializers: new Map(consts.map((c) => [c.name, c])),
    });
    inferShapes(g);
    return g;
  };
  for (const precision of ['fp32', 'fp16'] as const) {
    it(`a chain of all seven lowers, and its program computes the reference's values (${precision})`, () => {
      const g = chain();
      const opt = optimize(g, { fuse: true, precision });
      for (const op of ['PRelu', 'InstanceNormalization', 'GroupNormalization', 'LRN', 'DepthToSpace', 'SpaceToDepth', 'CastLike']) expect(opCounts(opt)[op]).toBeUndefined();
      const { program, weights } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
      const xv = randn(2 * 8 * 36, 30).map((v) => v * 4);
      const want = runReference(g, { x: xv }).y as Float32Array;
      const got = simulate(program, weights, { x: xv }, 2).y;
      expect(relL2(got, want)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
    });
  }
});

describe('builtin: the other forms', () => {
  for (const precision of ['fp32', 'fp16'] as const) {
    it(`GroupNormalization at opset 21 (per-channel parameters) and DepthToSpace DCR lower and compute the reference's values (${precision})`, () => {
      const g = new Graph({
        opset: 21,
        inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 8, 6, 6] } }],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [
          node('GroupNormalization', ['x', 'gg', 'gb'], ['a'], { num_groups: 2 }),
          node('SpaceToDepth', ['a'], ['b'], { blocksize: 3 }),
          node('DepthToSpace', ['b'], ['y'], { blocksize: 3 }),
        ],
        initializers: new Map([w('gg', [8], 31, 1), w('gb', [8], 32)].map((c) => [c.name, c])),
      });
      inferShapes(g);
      const opt = optimize(g, { fuse: true, precision });
      expect(['GroupNormalization', 'SpaceToDepth', 'DepthToSpace'].map((op) => opCounts(opt)[op])).toEqual([undefined, undefined, undefined]);
      const { program, weights } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
      const xv = randn(2 * 8 * 36, 33).map((v) => v * 4);
      expect(relL2(simulate(program, weights, { x: xv }, 2).y, runReference(g, { x: xv }).y as Float32Array)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
    });
  }
});

describe('quantized models on builtin', () => {
  // A MatMul whose weights are stored as int8 with a per-column scale (weight-only quantization, QDQ format).
  const weights = (q: boolean) => {
    const wq: Constant = { name: 'wq', dtype: 'int8', dims: [6, 4], data: Int8Array.from({ length: 24 }, (_, i) => ((i * 37) % 255) - 127) };
    const nodes = [node('DequantizeLinear', ['wq', 'ws'], ['w'], { axis: 1 }), node('MatMul', ['x', 'w'], ['y'])];
    if (q) nodes.unshift(node('QuantizeLinear', ['x0', 'xs'], ['xq']), node('DequantizeLinear', ['xq', 'xs'], ['x']));
    const g = new Graph({
      opset: 17,
      inputs: [{ name: q ? 'x0' : 'x', type: { dtype: 'float32', shape: ['n', 6] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes,
      initializers: new Map([wq, f32('ws', [4], [0.01, 0.02, 0.005, 0.1]), f32('xs', [], [0.05])].map((c) => [c.name, c])),
    });
    inferShapes(g);
    return g;
  };

  it('folds a DequantizeLinear of constant weights: the engine computes with the float weights it stands for', () => {
    const g = weights(false);
    for (const precision of ['fp32', 'fp16'] as const) {
      const opt = optimize(g, { fuse: true, precision });
      expect(opCounts(opt).DequantizeLinear).toBeUndefined();
      const { program, weights: bytes } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
      const xv = randn(2 * 6, 40);
      expect(relL2(simulate(program, bytes, { x: xv }, 2).y, runReference(g, { x: xv }).y as Float32Array)).toBeLessThan(precision === 'fp32' ? 1e-6 : 2e-3);
    }
  });

  for (const precision of ['fp32', 'fp16'] as const) {
    it(`runs a QDQ model, its activations quantized too, as the reference does (${precision})`, () => {
      const g = weights(true);
      const opt = optimize(g, { fuse: true, precision });
      expect([opCounts(opt).QuantizeLinear, opCounts(opt).DequantizeLinear]).toEqual([undefined, undefined]);
      const { program, weights: bytes } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
      const xv = randn(2 * 6, 41);
      const want = runReference(g, { x0: xv }).y as Float32Array;
      expect(relL2(simulate(program, bytes, { x0: xv }, 2).y, want)).toBeLessThan(precision === 'fp32' ? 1e-6 : 2e-2);
    });
  }

  it('leaves to the backend what a float16 engine cannot hold: int32 dequantization and scales past float16\'s range', () => {
    const one = (c: OpCase) => {
      const g = opGraph(c);
      expect(opCounts(optimize(g, { fuse: true, precision: 'fp32' }))[c.op]).toBeUndefined();
      const fp16 = optimize(g, { fuse: true, precision: 'fp16' });
      expect(opCounts(fp16)[c.op]).toBe(1);
      expect(() => lowerGraph(fp16, { min: 1, opt: 1, max: 1 })).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_OP' }));
    };
    one({ op: 'DequantizeLinear', inputs: [x([4], 'int32')], nodeInputs: ['x', 's'], constants: [f32('s', [], [1e-4])] });
    one({ op: 'QuantizeLinear', inputs: [x([4])], nodeInputs: ['x', 's'], constants: [f32('s', [], [1e-8])], outputs: [{ name: 'y', dtype: 'uint8' }] });
  });
});
