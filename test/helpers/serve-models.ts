// Small models for the serving tests, run by the reference backend.
import { encodeOnnx } from './onnx-writer.js';
import { uniformRandom } from '../../lib/util/random.js';

const ONNX_INT64 = 7;
const ONNX_INT32 = 6;
export const MIXED_IN = 16;
export const MIXED_OUT = 4;

/**
 * Two inputs of two datatypes and two outputs: x FP32 [batch, 16] and k INT64 [batch, 4];
 * s = relu(x·W1 + b1)·W2 + float(k) (FP32 [batch, 4]) and k32 = int32(k) (INT32 [batch, 4]).
 */
export function mixedModel(seed = 5): Uint8Array {
  const rand = uniformRandom(seed);
  const f = (n: number, scale: number) => Float32Array.from({ length: n }, () => rand() * scale);
  return encodeOnnx({
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h0'], name: 'fc1' },
      { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'], name: 'fc1_bias' },
      { op: 'Relu', inputs: ['h1'], outputs: ['h'], name: 'relu' },
      { op: 'MatMul', inputs: ['h', 'w2'], outputs: ['y'], name: 'fc2' },
      { op: 'Cast', inputs: ['k'], outputs: ['kf'], name: 'k_float', ints: { to: 1 } },
      { op: 'Add', inputs: ['y', 'kf'], outputs: ['s'], name: 'sum' },
      { op: 'Cast', inputs: ['k'], outputs: ['k32'], name: 'k_int32', ints: { to: ONNX_INT32 } },
    ],
    initializers: [
      { name: 'w1', dims: [MIXED_IN, 32], data: f(MIXED_IN * 32, 0.5) },
      { name: 'b1', dims: [32], data: f(32, 0.1) },
      { name: 'w2', dims: [32, MIXED_OUT], data: f(32 * MIXED_OUT, 0.5) },
    ],
    inputs: [
      { name: 'x', shape: ['batch', MIXED_IN] },
      { name: 'k', shape: ['batch', MIXED_OUT], elemType: ONNX_INT64 },
    ],
    outputs: [
      { name: 's', shape: ['batch', MIXED_OUT] },
      { name: 'k32', shape: ['batch', MIXED_OUT], elemType: ONNX_INT32 },
    ],
  });
}
