// The transformer-era reference kernels against onnxruntime-node on single-node models: element-wise
// math and logic over every dtype with broadcasting, reductions, normalization, shape-building and
// indexing ops, Einsum, and the old (opset 9/10) forms of existing ops.
import { describe, expect, it } from 'vitest';
import { writeModel } from '../../lib/onnx/writer.js';
import { runReference, type TensorData } from '../../lib/reference/index.js';
import type { Constant, DataType } from '../../lib/ir/types.js';
import { f32, int64, opGraph, randn, relErr, runOrt, type OpCase } from './reference-helpers.js';

const w = (name: string, dims: number[], seed = 7) => f32(name, dims, randn(dims.reduce((a, b) => a * b, 1), seed));
const i32 = (name: string, values: number[], dims: number[] = [values.length]): Constant => ({ name, dtype: 'int32', dims, data: Int32Array.from(values) });
const x = (shape: number[], dtype: DataType = 'float32', name = 'x') => ({ name, shape, dtype });

type Case = OpCase & { feed?: Record<string, (n: number) => TensorData> };
const positive = (n: number) => randn(n, 3).map((v) => Math.abs(v) + 0.1);
const special = (n: number) => Float32Array.from({ length: n }, (_, i) => [NaN, Infinity, -Infinity, 0, -1.5, 2][i % 6]);

const CASES: Record<string, Case> = {
  Erf: { op: 'Erf', inputs: [x([2, 3, 4])], feed: { x: (n) => randn(n, 1).map((v) => v * 2) } },
  Sqrt: { op: 'Sqrt', inputs: [x([3, 4])], feed: { x: positive } },
  Exp: { op: 'Exp', inputs: [x([3, 4])] },
  Log: { op: 'Log', inputs: [x([3, 4])], feed: { x: positive } },
  Reciprocal: { op: 'Reciprocal', inputs: [x([3, 4])] },
  Floor: { op: 'Floor', inputs: [x([3, 4])] },
  Ceil: { op: 'Ceil', inputs: [x([3, 4])] },
  Neg: { op: 'Neg', inputs: [x([3, 4])] },
  'Neg int64': { op: 'Neg', inputs: [x([3, 4], 'int64')], outputs: [{ name: 'y', dtype: 'int64' }] },
  'Abs int32': { op: 'Abs', inputs: [x([3, 4], 'int32')], outputs: [{ name: 'y', dtype: 'int32' }] },
  Sin: { op: 'Sin', inputs: [x([3, 4])] },
  Cos: { op: 'Cos', inputs: [x([3, 4])] },
  'Round (halves to even)': { op: 'Round', inputs: [x([8])], feed: { x: () => Float32Array.from([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6, 3]) } },
  Sign: { op: 'Sign', inputs: [x([12])], feed: { x: special } },
  Softplus: { op: 'Softplus', inputs: [x([3, 4])] },
  Softsign: { op: 'Softsign', inputs: [x([3, 4])] },
  'Mish (opset 18)': { op: 'Mish', opset: 18, inputs: [x([3, 4])] },
  'Elu alpha 0.5': { op: 'Elu', inputs: [x([3, 4])], attrs: { alpha: 0.5 } },
  'Celu alpha 2': { op: 'Celu', inputs: [x([3, 4])], attrs: { alpha: 2 } },
  Selu: { op: 'Selu', inputs: [x([3, 4])] },
  'ThresholdedRelu alpha 0.3': { op: 'ThresholdedRelu', inputs: [x([3, 4])], attrs: { alpha: 0.3 } },
  'Gelu exact (opset 20)': { op: 'Gelu', opset: 20, inputs: [x([2, 3, 5])] },
  'Gelu tanh (opset 20)': { op: 'Gelu', opset: 20, inputs: [x([2, 3, 5])], attrs: { approximate: 'tanh' } },
  IsNaN: { op: 'IsNaN', inputs: [x([12])], feed: { x: special }, outputs: [{ name: 'y', dtype: 'bool' }] },
  IsInf: { op: 'IsInf', inputs: [x([12])], feed: { x: special }, outputs: [{ name: 'y', dtype: 'bool' }] },
  'IsInf positive only': { op: 'IsInf', inputs: [x([12])], feed: { x: special }, attrs: { detect_negative: 0 }, outputs: [{ name: 'y', dtype: 'bool' }] },
  Not: { op: 'Not', inputs: [x([2, 5], 'bool')], outputs: [{ name: 'y', dtype: 'bool' }] },
  'Equal int64 broadcast': { op: 'Equal', inputs: [x([3, 4], 'int64', 'a'), x([4], 'int64', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  'Equal bool': { op: 'Equal', opset: 11, inputs: [x([2, 3], 'bool', 'a'), x([2, 3], 'bool', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  'Less float': { op: 'Less', inputs: [x([2, 3, 4], 'float32', 'a'), x([3, 1], 'float32', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  'Greater int32': { op: 'Greater', inputs: [x([2, 3], 'int32', 'a'), x([1, 3], 'int32', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  'LessOrEqual int64': { op: 'LessOrEqual', inputs: [x([2, 3], 'int64', 'a'), x([2, 3], 'int64', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  'GreaterOrEqual float': { op: 'GreaterOrEqual', inputs: [x([4, 1], 'float32', 'a'), x([1, 5], 'float32', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  And: { op: 'And', inputs: [x([2, 3], 'bool', 'a'), x([3], 'bool', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  Or: { op: 'Or', inputs: [x([2, 3], 'bool', 'a'), x([2, 1], 'bool', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  Xor: { op: 'Xor', inputs: [x([2, 3], 'bool', 'a'), x([2, 3], 'bool', 'b')], outputs: [{ name: 'y', dtype: 'bool' }] },
  'Where float, three-way broadcast': { op: 'Where', inputs: [x([2, 1, 4], 'bool', 'c'), x([3, 1], 'float32', 'a'), x([4], 'float32', 'b')] },
  'Where int64': { op: 'Where', inputs: [x([2, 3], 'bool', 'c'), x([2, 3], 'int64', 'a'), x([1], 'int64', 'b')], outputs: [{ name: 'y', dtype: 'int64' }] },
  'Pow float': { op: 'Pow', inputs: [x([2, 3]), x([3], 'float32', 'e')], feed: { x: positive } },
  'Pow squared (constant exponent)': { op: 'Pow', inputs: [x([2, 3])], nodeInputs: ['x', 'e'], constants: [f32('e', [], [2])] },
  'Mod int64 fmod 0 (sign of divisor)': { op: 'Mod', inputs: [x([12], 'int64', 'a')], nodeInputs: ['a', 'b'], constants: [int64('b', [3, -3, 4, -4, 5, 7, -2, 2, 3, 3, -5, 6])], outputs: [{ name: 'y', dtype: 'int64' }] },
  'Mod float fmod 1': { op: 'Mod', inputs: [x([2, 3], 'float32', 'a'), x([3], 'float32', 'b')], attrs: { fmod: 1 } },
  'Mod int32 fmod 1': { op: 'Mod', inputs: [x([6], 'int32', 'a')], nodeInputs: ['a', 'b'], constants: [i32('b', [3, -3, 4, -4, 5, 2])], attrs: { fmod: 1 }, outputs: [{ name: 'y', dtype: 'int32' }] },
  'Min of three, broadcast': { op: 'Min', inputs: [x([2, 3], 'float32', 'a'), x([3], 'float32', 'b'), x([2, 1], 'float32', 'c')] },
  'Max int64': { op: 'Max', inputs: [x([2, 3], 'int64', 'a'), x([1, 3], 'int64', 'b')], outputs: [{ name: 'y', dtype: 'int64' }] },
  Sum: { op: 'Sum', inputs: [x([2, 3], 'float32', 'a'), x([3], 'float32', 'b'), x([2, 3], 'float32', 'c')] },
  Mean: { op: 'Mean', inputs: [x([2, 3], 'float32', 'a'), x([2, 3], 'float32', 'b')] },
  'ReduceSum axes input (opset 13)': { op: 'ReduceSum', opset: 13, inputs: [x([2, 3, 4])], nodeInputs: ['x', 'ax'], constants: [int64('ax', [0, -1])] },
  'ReduceSum int64 keepdims 0': { op: 'ReduceSum', opset: 13, inputs: [x([2, 3, 4], 'int64')], nodeInputs: ['x', 'ax'], constants: [int64('ax', [1])], attrs: { keepdims: 0 }, outputs: [{ name: 'y', dtype: 'int64' }] },
  'ReduceSum noop_with_empty_axes': { op: 'ReduceSum', opset: 13, inputs: [x([2, 3])], attrs: { noop_with_empty_axes: 1 } },
  'ReduceMax axes attribute (opset 13)': { op: 'ReduceMax', opset: 13, inputs: [x([2, 3, 4])], attrs: { axes: [1] } },
  'ReduceMin axes input (opset 18)': { op: 'ReduceMin', opset: 18, inputs: [x([2, 3, 4])], nodeInputs: ['x', 'ax'], constants: [int64('ax', [2])], attrs: { keepdims: 0 } },
  'ReduceProd all axes': { op: 'ReduceProd', opset: 13, inputs: [x([2, 3])] },
  'ReduceL2 (opset 18)': { op: 'ReduceL2', opset: 18, inputs: [x([2, 3, 4])], nodeInputs: ['x', 'ax'], constants: [int64('ax', [-1])] },
  'ReduceL1, SumSquare, LogSumExp': { op: 'ReduceLogSumExp', opset: 13, inputs: [x([3, 4])], attrs: { axes: [0] } },
  'ReduceMean over the middle axes (opset 18)': { op: 'ReduceMean', opset: 18, inputs: [x([2, 3, 4, 5])], nodeInputs: ['x', 'ax'], constants: [int64('ax', [1, 2])] },
  'LayerNormalization last axis with bias': { op: 'LayerNormalization', inputs: [x([2, 3, 8])], nodeInputs: ['x', 's', 'b'], constants: [w('s', [8], 1), w('b', [8], 2)], attrs: { epsilon: 1e-5 } },
  'LayerNormalization axis 1, no bias, with statistics': {
    op: 'LayerNormalization', inputs: [x([2, 3, 4])], nodeInputs: ['x', 's'], constants: [w('s', [3, 4], 1)], attrs: { axis: 1 },
    outputs: [{ name: 'y' }, { name: 'mean' }, { name: 'inv' }],
  },
  'Softmax axis 0': { op: 'Softmax', inputs: [x([3, 4, 2])], attrs: { axis: 0 } },
  'LogSoftmax axis 1 (opset 13)': { op: 'LogSoftmax', opset: 13, inputs: [x([2, 5, 3])], attrs: { axis: 1 } },
  'LogSoftmax opset 11 (2-D coercion)': { op: 'LogSoftmax', opset: 11, inputs: [x([2, 3, 4])], attrs: { axis: 1 } },
  'MatMul 4-D × 4-D with broadcast batch': { op: 'MatMul', inputs: [x([2, 1, 3, 4], 'float32', 'a'), x([1, 5, 4, 6], 'float32', 'b')] },
  'MatMul 3-D × 1-D': { op: 'MatMul', inputs: [x([2, 3, 4], 'float32', 'a'), x([4], 'float32', 'b')] },
  'Gather int32 negative indices, axis 2': { op: 'Gather', inputs: [x([2, 3, 5])], nodeInputs: ['x', 'i'], constants: [i32('i', [-1, 0, 3])], attrs: { axis: 2 } },
  'Gather embedding lookup (int64 ids)': { op: 'Gather', inputs: [x([2, 4], 'int64', 'ids')], nodeInputs: ['table', 'ids'], constants: [w('table', [10, 6])], feed: { ids: (n) => BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 3) % 10)) } },
  'Cast int64 → float': { op: 'Cast', inputs: [x([2, 3], 'int64')], attrs: { to: 1 } },
  'Cast float → bool': { op: 'Cast', inputs: [x([2, 3])], attrs: { to: 9 }, outputs: [{ name: 'y', dtype: 'bool' }], feed: { x: (n) => Float32Array.from({ length: n }, (_, i) => [0, 1.5, -0, -2, 0.25, 0][i % 6]) } },
  'Cast bool → int32': { op: 'Cast', inputs: [x([2, 3], 'bool')], attrs: { to: 6 }, outputs: [{ name: 'y', dtype: 'int32' }] },
  'Cast int32 → int64': { op: 'Cast', inputs: [x([2, 3], 'int32')], attrs: { to: 7 }, outputs: [{ name: 'y', dtype: 'int64' }] },
  'Cast float → int32 (truncates)': { op: 'Cast', inputs: [x([2, 3])], attrs: { to: 6 }, outputs: [{ name: 'y', dtype: 'int32' }] },
  'ConstantOfShape int64 value': { op: 'ConstantOfShape', inputs: [], nodeInputs: ['s'], constants: [int64('s', [2, 3])], attrs: { value: int64('v', [7], [1]) }, outputs: [{ name: 'y', dtype: 'int64' }] },
  'ConstantOfShape default float zeros': { op: 'ConstantOfShape', inputs: [], nodeInputs: ['s'], constants: [int64('s', [4])] },
  'Range int64': { op: 'Range', inputs: [], nodeInputs: ['s', 'l', 'd'], constants: [int64('s', [2], []), int64('l', [-9], []), int64('d', [-3], [])], outputs: [{ name: 'y', dtype: 'int64' }] },
  'Range float': { op: 'Range', inputs: [], nodeInputs: ['s', 'l', 'd'], constants: [f32('s', [], [0.5]), f32('l', [], [3.2]), f32('d', [], [0.7])] },
  Expand: { op: 'Expand', inputs: [x([3, 1])], nodeInputs: ['x', 's'], constants: [int64('s', [2, 1, 4])] },
  'Expand int64 from a scalar': { op: 'Expand', inputs: [x([], 'int64')], nodeInputs: ['x', 's'], constants: [int64('s', [2, 3])], outputs: [{ name: 'y', dtype: 'int64' }] },
  Tile: { op: 'Tile', inputs: [x([2, 3])], nodeInputs: ['x', 'r'], constants: [int64('r', [2, 3])] },
  'Split input sizes (opset 13)': { op: 'Split', opset: 13, inputs: [x([2, 7])], nodeInputs: ['x', 's'], constants: [int64('s', [2, 4, 1])], attrs: { axis: 1 }, outputs: [{ name: 'y0' }, { name: 'y1' }, { name: 'y2' }] },
  'Split num_outputs uneven (opset 18)': { op: 'Split', opset: 18, inputs: [x([7, 2])], attrs: { num_outputs: 3 }, outputs: [{ name: 'y0' }, { name: 'y1' }, { name: 'y2' }] },
  'Split attribute (opset 11)': { op: 'Split', opset: 11, inputs: [x([2, 6])], attrs: { axis: -1, split: [1, 5] }, outputs: [{ name: 'y0' }, { name: 'y1' }] },
  'Trilu upper k=1': { op: 'Trilu', inputs: [x([2, 4, 5])], nodeInputs: ['x', 'k'], constants: [int64('k', [1], [])] },
  'Trilu lower': { op: 'Trilu', inputs: [x([4, 3])], attrs: { upper: 0 } },
  'CumSum exclusive reverse': { op: 'CumSum', inputs: [x([3, 4])], nodeInputs: ['x', 'a'], constants: [int64('a', [1], [])], attrs: { exclusive: 1, reverse: 1 } },
  'CumSum int64': { op: 'CumSum', inputs: [x([5], 'int64')], nodeInputs: ['x', 'a'], constants: [int64('a', [0], [])], outputs: [{ name: 'y', dtype: 'int64' }] },
  'GatherElements axis 1, negative indices': { op: 'GatherElements', inputs: [x([3, 4])], nodeInputs: ['x', 'i'], constants: [int64('i', [0, -1, 2, 1, 3, 0], [3, 2])], attrs: { axis: 1 } },
  ScatterND: { op: 'ScatterND', inputs: [x([4, 3])], nodeInputs: ['x', 'i', 'u'], constants: [int64('i', [2, 0], [2, 1]), w('u', [2, 3], 4)] },
  'ScatterND add (opset 16)': { op: 'ScatterND', opset: 16, inputs: [x([2, 3])], nodeInputs: ['x', 'i', 'u'], constants: [int64('i', [0, 1, 0, 1, 1, 2], [3, 2]), w('u', [3], 4)], attrs: { reduction: 'add' } },
  'Einsum bij,bjk->bik': { op: 'Einsum', inputs: [x([2, 3, 4], 'float32', 'a'), x([2, 4, 5], 'float32', 'b')], attrs: { equation: 'bij,bjk->bik' } },
  'Einsum bhqd,bhkd->bhqk': { op: 'Einsum', inputs: [x([1, 2, 3, 4], 'float32', 'a'), x([1, 2, 5, 4], 'float32', 'b')], attrs: { equation: 'bhqd,bhkd->bhqk' } },
  'Einsum ellipsis batch matmul': { op: 'Einsum', inputs: [x([2, 3, 4], 'float32', 'a'), x([4, 2], 'float32', 'b')], attrs: { equation: '...ij,jk->...ik' } },
  'Einsum implicit output, transpose': { op: 'Einsum', inputs: [x([3, 4], 'float32', 'a'), x([4, 2], 'float32', 'b')], attrs: { equation: 'ij,jk' } },
  'Einsum diagonal and sum': { op: 'Einsum', inputs: [x([3, 3])], attrs: { equation: 'ii->i' } },
  'Einsum outer product': { op: 'Einsum', inputs: [x([3], 'float32', 'a'), x([4], 'float32', 'b')], attrs: { equation: 'i,j->ij' } },
  // Old forms (opset 9/10).
  'Slice-1 attributes (opset 9)': { op: 'Slice', opset: 9, inputs: [x([4, 6])], attrs: { starts: [1, -4], ends: [3, 1000], axes: [0, 1] } },
  'Pad-2 attributes (opset 9)': { op: 'Pad', opset: 9, inputs: [x([1, 2, 3])], attrs: { pads: [0, 1, 2, 0, 0, 1], value: 0.5 } },
  'Clip-6 attributes (opset 9)': { op: 'Clip', opset: 9, inputs: [x([3, 4])], attrs: { min: -0.5, max: 0.25 } },
  'ReduceMean attributes (opset 9)': { op: 'ReduceMean', opset: 9, inputs: [x([2, 3, 4])], attrs: { axes: [-1], keepdims: 0 } },
  'Softmax coercion (opset 9)': { op: 'Softmax', opset: 9, inputs: [x([2, 3, 4])] },
  'Squeeze and Unsqueeze attributes (opset 9)': { op: 'Unsqueeze', opset: 9, inputs: [x([3, 4])], attrs: { axes: [0, 2] } },
  'BatchNormalization (opset 9)': { op: 'BatchNormalization', opset: 9, inputs: [x([2, 3, 4])], nodeInputs: ['x', 's', 'b', 'm', 'v'], constants: [w('s', [3], 1), w('b', [3], 2), w('m', [3], 3), f32('v', [3], [0.5, 1, 2])] },
  'Upsample-free opset 10 Slice with inputs': { op: 'Slice', opset: 10, inputs: [x([4, 6])], nodeInputs: ['x', 's', 'e'], constants: [int64('s', [1, 1]), int64('e', [3, 5])] },
};

function feedFor(dtype: DataType, n: number, seed: number): TensorData {
  switch (dtype) {
    case 'int64':
      return BigInt64Array.from(randn(n, seed), (v) => BigInt(Math.round(v * 4)));
    case 'int32':
      return Int32Array.from(randn(n, seed), (v) => Math.round(v * 4));
    case 'bool':
      return Uint8Array.from(randn(n, seed), (v) => (v > 0 ? 1 : 0));
    default:
      return randn(n, seed);
  }
}

describe('transformer reference kernels match onnxruntime-node', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const g = opGraph(c);
      const ref: Record<string, TensorData> = {};
      const ortFeeds: Record<string, { data: TensorData; dims: number[]; dtype?: DataType }> = {};
      c.inputs.forEach((i, k) => {
        const dims = i.shape as number[];
        const n = dims.reduce((a, b) => a * b, 1);
        const data = c.feed?.[i.name]?.(n) ?? feedFor(i.dtype ?? 'float32', n, 11 + k);
        ref[i.name] = data;
        ortFeeds[i.name] = { data, dims, dtype: i.dtype };
      });
      const mine = runReference(g, ref);
      const theirs = await runOrt(writeModel(g), ortFeeds);
      for (const o of g.outputs) {
        const a = mine[o.name];
        const b = theirs[o.name];
        expect(a.length).toBe(b.length);
        if (o.type.dtype === 'float32') {
          const fa = a as Float32Array, fb = b as Float32Array;
          expect(fa.map((v) => (Number.isNaN(v) ? 1 : 0))).toEqual(fb.map((v) => (Number.isNaN(v) ? 1 : 0)));
          expect(relErr(fa.map((v) => (Number.isNaN(v) ? 0 : v)), fb.map((v) => (Number.isNaN(v) ? 0 : v)))).toBeLessThan(1e-5);
        } else expect(Array.from(a as ArrayLike<number | bigint>)).toEqual(Array.from(b as ArrayLike<number | bigint>));
      }
    });
  }
});
