// A small ONNX writer for GPU tests: encodes the few ModelProto fields a test model needs with protobufjs' Writer,
// so backend tests can make models (and broken ones) without the front end.
import protobuf from 'protobufjs/minimal.js';

const { Writer } = protobuf;
type W = protobuf.Writer;

const LEN = 2;
const VARINT = 0;
const tag = (w: W, field: number, wire: number) => w.uint32((field << 3) | wire);
const str = (w: W, field: number, s: string) => tag(w, field, LEN).string(s);
const msg = (w: W, field: number, body: (w: W) => void) => {
  tag(w, field, LEN).fork();
  body(w);
  w.ldelim();
};

export const ONNX_FLOAT = 1;
export const ONNX_FLOAT16 = 10;

export interface OnnxTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  ints?: Record<string, number>;
}
export interface OnnxValue {
  name: string;
  /** Numbers are fixed dims, strings symbolic ones. */
  shape: (number | string)[];
  elemType?: number;
}
export interface OnnxModel {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  opset?: number;
}

function valueInfo(w: W, field: number, v: OnnxValue) {
  msg(w, field, (w) => {
    str(w, 1, v.name); // ValueInfoProto.name
    msg(w, 2, (w) =>
      // TypeProto.tensor_type
      msg(w, 1, (w) => {
        tag(w, 1, VARINT).int32(v.elemType ?? ONNX_FLOAT); // Tensor.elem_type
        msg(w, 2, (w) => {
          // TensorShapeProto
          for (const d of v.shape) {
            msg(w, 1, (w) => (typeof d === 'number' ? tag(w, 1, VARINT).int64(d) : str(w, 2, d)));
          }
        });
      }),
    );
  });
}

/** Encodes a model as ONNX protobuf bytes (IR version 8). */
export function encodeOnnx(m: OnnxModel): Uint8Array {
  const w = Writer.create();
  tag(w, 1, VARINT).int64(8); // ir_version
  str(w, 2, 'node-tensorrt-tests'); // producer_name
  msg(w, 7, (w) => {
    // GraphProto
    for (const n of m.nodes) {
      msg(w, 1, (w) => {
        for (const i of n.inputs) str(w, 1, i);
        for (const o of n.outputs) str(w, 2, o);
        str(w, 3, n.name);
        str(w, 4, n.op);
        for (const [name, value] of Object.entries(n.ints ?? {})) {
          msg(w, 5, (w) => {
            str(w, 1, name);
            tag(w, 3, VARINT).int64(value); // AttributeProto.i
            tag(w, 20, VARINT).int32(2); // AttributeProto.type = INT
          });
        }
        if (n.domain !== undefined) str(w, 7, n.domain);
      });
    }
    str(w, 2, 'graph');
    for (const t of m.initializers) {
      msg(w, 5, (w) => {
        for (const d of t.dims) tag(w, 1, VARINT).int64(d);
        tag(w, 2, VARINT).int32(ONNX_FLOAT);
        str(w, 8, t.name);
        tag(w, 9, LEN).bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)); // raw_data, little-endian
      });
    }
    for (const v of m.inputs) valueInfo(w, 11, v);
    for (const v of m.outputs) valueInfo(w, 12, v);
  });
  msg(w, 8, (w) => {
    str(w, 1, '');
    tag(w, 2, VARINT).int64(m.opset ?? 17);
  });
  return w.finish();
}

/** y = relu(x·W1 + b1)·W2 + b2 with seeded weights, and the same computed on the CPU in float64. */
export function mlp(inFeatures: number, hidden: number, out: number, rand: () => number, batch: number | string = 'batch') {
  const w1 = Float32Array.from({ length: inFeatures * hidden }, () => rand() * 0.5);
  const b1 = Float32Array.from({ length: hidden }, () => rand() * 0.1);
  const w2 = Float32Array.from({ length: hidden * out }, () => rand() * 0.5);
  const b2 = Float32Array.from({ length: out }, () => rand() * 0.1);
  const onnx = encodeOnnx({
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h0'], name: 'fc1' },
      { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'], name: 'fc1_bias' },
      { op: 'Relu', inputs: ['h1'], outputs: ['h'], name: 'relu' },
      { op: 'MatMul', inputs: ['h', 'w2'], outputs: ['y0'], name: 'fc2' },
      { op: 'Add', inputs: ['y0', 'b2'], outputs: ['y'], name: 'fc2_bias' },
    ],
    initializers: [
      { name: 'w1', dims: [inFeatures, hidden], data: w1 },
      { name: 'b1', dims: [hidden], data: b1 },
      { name: 'w2', dims: [hidden, out], data: w2 },
      { name: 'b2', dims: [out], data: b2 },
    ],
    inputs: [{ name: 'x', shape: [batch, inFeatures] }],
    outputs: [{ name: 'y', shape: [batch, out] }],
  });
  const reference = (x: Float32Array): Float32Array => {
    const rows = x.length / inFeatures;
    const y = new Float32Array(rows * out);
    for (let r = 0; r < rows; r++) {
      const h = new Float64Array(hidden);
      for (let j = 0; j < hidden; j++) {
        let s = b1[j];
        for (let i = 0; i < inFeatures; i++) s += x[r * inFeatures + i] * w1[i * hidden + j];
        h[j] = Math.max(0, s);
      }
      for (let k = 0; k < out; k++) {
        let s = b2[k];
        for (let j = 0; j < hidden; j++) s += h[j] * w2[j * out + k];
        y[r * out + k] = s;
      }
    }
    return y;
  };
  return { onnx, reference };
}
