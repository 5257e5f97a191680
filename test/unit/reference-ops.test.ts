// Each reference kernel against onnxruntime-node on single-node models, across the attribute
// variants CNN exporters produce.
import { describe, expect, it } from 'vitest';
import { writeModel } from '../../lib/onnx/writer.js';
import { runReference, type TensorData } from '../../lib/reference/index.js';
import type { DataType } from '../../lib/ir/types.js';
import { f32, int64, opGraph, randn, relErr, runOrt, type OpCase } from './reference-helpers.js';

const w = (name: string, dims: number[], seed = 7) => f32(name, dims, randn(dims.reduce((a, b) => a * b, 1), seed));

const CASES: Record<string, OpCase> = {
  'Conv 3×3 pad 1 with bias': { op: 'Conv', inputs: [{ name: 'x', shape: ['N', 3, 9, 9] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [4, 3, 3, 3]), w('b', [4])], attrs: { pads: [1, 1, 1, 1] } },
  'Conv stride 2, asymmetric pads, dilation 2': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 4, 11, 10] }], nodeInputs: ['x', 'w'], constants: [w('w', [6, 4, 3, 3])], attrs: { strides: [2, 2], pads: [0, 1, 1, 0], dilations: [2, 2] } },
  'Conv group 2': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 4, 8, 8] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [6, 2, 3, 3]), w('b', [6])], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  'Conv depthwise 3×3 stride 2': { op: 'Conv', inputs: [{ name: 'x', shape: ['N', 8, 15, 15] }], nodeInputs: ['x', 'w'], constants: [w('w', [8, 1, 3, 3])], attrs: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] } },
  'Conv depthwise 3×3 stride 1, unpadded edges': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 5, 6, 7] }], nodeInputs: ['x', 'w'], constants: [w('w', [5, 1, 3, 3])], attrs: { group: 5, pads: [0, 1, 2, 0] } },
  'Conv depthwise 5×5 dilated': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 4, 12, 12] }], nodeInputs: ['x', 'w'], constants: [w('w', [4, 1, 5, 5])], attrs: { group: 4, pads: [4, 4, 4, 4], dilations: [2, 2] } },
  'Conv depthwise multiplier 2': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 4, 8, 8] }], nodeInputs: ['x', 'w'], constants: [w('w', [8, 1, 3, 3])], attrs: { group: 4, pads: [1, 1, 1, 1] } },
  'Conv auto_pad SAME_UPPER stride 2': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 3, 10, 10] }], nodeInputs: ['x', 'w'], constants: [w('w', [5, 3, 3, 3])], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  'Conv auto_pad SAME_LOWER even kernel': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 3, 9, 9] }], nodeInputs: ['x', 'w'], constants: [w('w', [5, 3, 4, 4])], attrs: { auto_pad: 'SAME_LOWER' } },
  'Conv auto_pad VALID': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 3, 9, 9] }], nodeInputs: ['x', 'w'], constants: [w('w', [5, 3, 3, 3])], attrs: { auto_pad: 'VALID', strides: [2, 2] } },
  'Conv 1×1 (direct GEMM), odd spatial size': { op: 'Conv', inputs: [{ name: 'x', shape: ['N', 16, 7, 7] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [13, 16, 1, 1]), w('b', [13])] },
  'Conv 1×1 stride 2': { op: 'Conv', inputs: [{ name: 'x', shape: [1, 8, 9, 9] }], nodeInputs: ['x', 'w'], constants: [w('w', [12, 8, 1, 1])], attrs: { strides: [2, 2] } },
  'Conv 1-D': { op: 'Conv', inputs: [{ name: 'x', shape: [2, 3, 20] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [4, 3, 5]), w('b', [4])], attrs: { strides: [2], pads: [2, 1] } },
  BatchNormalization: { op: 'BatchNormalization', inputs: [{ name: 'x', shape: ['N', 5, 4, 3] }], nodeInputs: ['x', 's', 'b', 'm', 'v'], constants: [w('s', [5], 1), w('b', [5], 2), w('m', [5], 3), f32('v', [5], [0.5, 1, 2, 0.1, 3])], attrs: { epsilon: 1e-3 } },
  'MaxPool 3×3 stride 2 pad 1': { op: 'MaxPool', inputs: [{ name: 'x', shape: ['N', 3, 9, 9] }], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  'MaxPool ceil_mode': { op: 'MaxPool', inputs: [{ name: 'x', shape: [1, 2, 10, 10] }], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  'MaxPool dilated': { op: 'MaxPool', inputs: [{ name: 'x', shape: [1, 2, 10, 10] }], attrs: { kernel_shape: [2, 2], dilations: [2, 2] } },
  'MaxPool 1-D': { op: 'MaxPool', inputs: [{ name: 'x', shape: [1, 2, 10] }], attrs: { kernel_shape: [3], strides: [2], pads: [1, 1] } },
  'AveragePool excluding pads': { op: 'AveragePool', inputs: [{ name: 'x', shape: [1, 3, 8, 8] }], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  'AveragePool including pads': { op: 'AveragePool', inputs: [{ name: 'x', shape: [1, 3, 8, 8] }], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } },
  'AveragePool ceil_mode including pads': { op: 'AveragePool', inputs: [{ name: 'x', shape: [1, 2, 9, 9] }], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 } },
  'AveragePool ceil_mode excluding pads': { op: 'AveragePool', inputs: [{ name: 'x', shape: [1, 2, 10, 10] }], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  GlobalAveragePool: { op: 'GlobalAveragePool', inputs: [{ name: 'x', shape: ['N', 6, 5, 7] }] },
  GlobalMaxPool: { op: 'GlobalMaxPool', inputs: [{ name: 'x', shape: [2, 6, 5, 7] }] },
  'ReduceMean axes attribute (opset 13)': { op: 'ReduceMean', opset: 13, inputs: [{ name: 'x', shape: [2, 4, 3, 5] }], attrs: { axes: [2, 3], keepdims: 1 } },
  'ReduceMean axes input (opset 18)': { op: 'ReduceMean', opset: 18, inputs: [{ name: 'x', shape: [2, 4, 3, 5] }], nodeInputs: ['x', 'axes'], constants: [int64('axes', [-3])], attrs: { keepdims: 0 } },
  'ReduceMean all axes': { op: 'ReduceMean', opset: 13, inputs: [{ name: 'x', shape: [2, 4, 3] }], attrs: { keepdims: 0 } },
  'Gemm transB with vector C': { op: 'Gemm', inputs: [{ name: 'a', shape: ['N', 6] }], nodeInputs: ['a', 'b', 'c'], constants: [w('b', [5, 6]), w('c', [5])], attrs: { transB: 1 } },
  'Gemm transA, alpha, beta, full C': { op: 'Gemm', inputs: [{ name: 'a', shape: [6, 3] }, { name: 'b', shape: [6, 4] }, { name: 'c', shape: [3, 4] }], attrs: { transA: 1, alpha: 0.5, beta: 2 } },
  'Gemm without C': { op: 'Gemm', inputs: [{ name: 'a', shape: [3, 7] }], nodeInputs: ['a', 'b'], constants: [w('b', [7, 9])] },
  'MatMul 3-D × 2-D': { op: 'MatMul', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4, 5] }] },
  'MatMul vector × matrix': { op: 'MatMul', inputs: [{ name: 'a', shape: [3] }, { name: 'b', shape: [3, 4] }] },
  'MatMul broadcast batch': { op: 'MatMul', inputs: [{ name: 'a', shape: [2, 1, 3, 4] }, { name: 'b', shape: [5, 4, 6] }] },
  'Softmax opset 11 (2-D coercion)': { op: 'Softmax', opset: 11, inputs: [{ name: 'x', shape: [2, 3, 4] }], attrs: { axis: 1 } },
  'Softmax opset 13 axis 1': { op: 'Softmax', opset: 13, inputs: [{ name: 'x', shape: [2, 3, 4] }], attrs: { axis: 1 } },
  'Softmax default axis': { op: 'Softmax', inputs: [{ name: 'x', shape: ['N', 10] }] },
  Relu: { op: 'Relu', inputs: [{ name: 'x', shape: [2, 3, 4] }] },
  Sigmoid: { op: 'Sigmoid', inputs: [{ name: 'x', shape: [2, 3, 4] }] },
  Tanh: { op: 'Tanh', inputs: [{ name: 'x', shape: [2, 3, 4] }] },
  LeakyRelu: { op: 'LeakyRelu', inputs: [{ name: 'x', shape: [2, 3, 4] }], attrs: { alpha: 0.3 } },
  HardSigmoid: { op: 'HardSigmoid', inputs: [{ name: 'x', shape: [2, 3, 4] }], attrs: { alpha: 0.3, beta: 0.4 } },
  HardSwish: { op: 'HardSwish', inputs: [{ name: 'x', shape: [2, 3, 4] }] },
  'Swish (opset 24)': { op: 'Swish', opset: 24, inputs: [{ name: 'x', shape: [2, 3, 4] }] },
  'Swish alpha 0.5 (opset 24)': { op: 'Swish', opset: 24, inputs: [{ name: 'x', shape: [2, 3, 4] }], attrs: { alpha: 0.5 } },
  'Clip min and max': { op: 'Clip', inputs: [{ name: 'x', shape: [2, 3, 4] }], nodeInputs: ['x', 'lo', 'hi'], constants: [f32('lo', [], [-0.5]), f32('hi', [], [0.7])] },
  'Clip max only': { op: 'Clip', inputs: [{ name: 'x', shape: [2, 3, 4] }], nodeInputs: ['x', '', 'hi'], constants: [f32('hi', [], [0.2])] },
  'Add broadcast per channel': { op: 'Add', inputs: [{ name: 'a', shape: ['N', 3, 4, 5] }, { name: 'b', shape: [3, 1, 1] }] },
  'Sub outer broadcast': { op: 'Sub', inputs: [{ name: 'a', shape: [1, 3] }, { name: 'b', shape: [4, 1] }] },
  'Mul middle broadcast': { op: 'Mul', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [2, 1, 4] }] },
  'Div by scalar': { op: 'Div', inputs: [{ name: 'a', shape: [2, 3, 4] }], nodeInputs: ['a', 'k'], constants: [f32('k', [], [-1.7])] },
  'Flatten axis 2': { op: 'Flatten', inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], attrs: { axis: 2 } },
  'Reshape with 0 and -1': { op: 'Reshape', inputs: [{ name: 'x', shape: ['N', 6, 4] }], nodeInputs: ['x', 's'], constants: [int64('s', [0, -1, 2])] },
  'Squeeze axes attribute (opset 11)': { op: 'Squeeze', opset: 11, inputs: [{ name: 'x', shape: [2, 1, 3, 1] }], attrs: { axes: [1, -1] } },
  'Squeeze axes input (opset 13)': { op: 'Squeeze', opset: 13, inputs: [{ name: 'x', shape: [2, 1, 3, 1] }], nodeInputs: ['x', 'axes'], constants: [int64('axes', [3])] },
  'Unsqueeze axes attribute (opset 11)': { op: 'Unsqueeze', opset: 11, inputs: [{ name: 'x', shape: [2, 3] }], attrs: { axes: [0, 3] } },
  'Unsqueeze axes input (opset 13)': { op: 'Unsqueeze', opset: 13, inputs: [{ name: 'x', shape: [2, 3] }], nodeInputs: ['x', 'axes'], constants: [int64('axes', [-1, 1])] },
  Transpose: { op: 'Transpose', inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], attrs: { perm: [0, 2, 3, 1] } },
  'Transpose default (reverse)': { op: 'Transpose', inputs: [{ name: 'x', shape: [2, 3, 4] }] },
  Concat: { op: 'Concat', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [2, 1, 4] }, { name: 'c', shape: [2, 2, 4] }], attrs: { axis: 1 } },
  'Pad constant with value': { op: 'Pad', opset: 11, inputs: [{ name: 'x', shape: [1, 2, 3, 4] }], nodeInputs: ['x', 'p', 'v'], constants: [int64('p', [0, 0, 1, 2, 0, 1, 2, 0]), f32('v', [], [0.5])] },
  'Pad reflect': { op: 'Pad', inputs: [{ name: 'x', shape: [1, 2, 4, 5] }], nodeInputs: ['x', 'p'], constants: [int64('p', [0, 0, 2, 1, 0, 0, 1, 3])], attrs: { mode: 'reflect' } },
  'Pad edge with axes (opset 18)': { op: 'Pad', opset: 18, inputs: [{ name: 'x', shape: [1, 2, 4, 5] }], nodeInputs: ['x', 'p', '', 'ax'], constants: [int64('p', [2, 1, 1, 3]), int64('ax', [2, 3])], attrs: { mode: 'edge' } },
  'Slice with axes and negative step': { op: 'Slice', inputs: [{ name: 'x', shape: [3, 6, 5] }], nodeInputs: ['x', 's', 'e', 'a', 'st'], constants: [int64('s', [-1, 1]), int64('e', [-1000, 5]), int64('a', [1, 2]), int64('st', [-2, 2])] },
  'Slice clamped ends': { op: 'Slice', inputs: [{ name: 'x', shape: [4, 6] }], nodeInputs: ['x', 's', 'e'], constants: [int64('s', [1, -4]), int64('e', [100, 9223372036854775807])] },
  'Gather axis 1, 2-D negative indices': { op: 'Gather', inputs: [{ name: 'x', shape: [2, 5, 3] }], nodeInputs: ['x', 'i'], constants: [int64('i', [0, -1, 2, 4], [2, 2])], attrs: { axis: 1 } },
  'Cast float → int64': { op: 'Cast', inputs: [{ name: 'x', shape: [2, 3] }], attrs: { to: 7 }, outputs: [{ name: 'y', dtype: 'int64' }] },
  'Cast float → float16': { op: 'Cast', inputs: [{ name: 'x', shape: [2, 3] }], attrs: { to: 10 }, outputs: [{ name: 'y', dtype: 'float16' }] },
  'Shape with start/end (opset 15)': { op: 'Shape', opset: 15, inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], attrs: { start: 1, end: -1 }, outputs: [{ name: 'y', dtype: 'int64' }] },
};

function feedsFor(c: OpCase, seed: number) {
  const ref: Record<string, TensorData> = {};
  const ortFeeds: Record<string, { data: TensorData; dims: number[]; dtype?: DataType }> = {};
  c.inputs.forEach((i, k) => {
    const dims = i.shape.map((d) => (typeof d === 'number' ? d : 2));
    const data = randn(dims.reduce((a, b) => a * b, 1), seed + k);
    ref[i.name] = data;
    ortFeeds[i.name] = { data, dims };
  });
  return { ref, ortFeeds };
}

describe('reference kernels match onnxruntime-node', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const g = opGraph(c);
      const { ref, ortFeeds } = feedsFor(c, 11);
      const mine = runReference(g, ref);
      const theirs = await runOrt(writeModel(g), ortFeeds);
      for (const o of g.outputs) {
        const a = mine[o.name];
        const b = theirs[o.name];
        expect(a.length).toBe(b.length);
        if (o.type.dtype === 'float32') expect(relErr(a as Float32Array, b as Float32Array)).toBeLessThan(1e-5);
        else expect(Array.from(a as ArrayLike<number | bigint>)).toEqual(Array.from(b as ArrayLike<number | bigint>));
      }
    });
  }
});
