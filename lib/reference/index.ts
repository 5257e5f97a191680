// The reference backend: the IR interpreted on the CPU in float32, fused nodes included. float16
// values are emulated: rounded to float16 wherever a float16 value is stored, computed in float32.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { inferNode } from '../ir/infer.js';
import { MAX_FLOAT_VALUES, MAX_VALUE_ELEMENTS } from '../ir/context.js';
import type { DataType, Dim, Node, TensorType } from '../ir/types.js';
import { float32ToHalf } from '../util/half.js';
import { describe, knownKeys, plainObject, positiveInteger } from '../validate.js';
import { roundToHalfInPlace } from './half.js';
import * as nn from './ops-nn.js';
import * as tn from './ops-tensor.js';
import * as vn from './ops-vision.js';
import { fromConstant, halfBitsToFloat, size, toNumbers, type RData, type RTensor } from './tensor.js';

export type { RTensor } from './tensor.js';

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

export interface ReferenceOptions {
  /** The value of the dynamic batch dimension; derived from the feeds' lengths when omitted. */
  batch?: number;
}

const KERNELS: Record<string, nn.Kernel> = {
  Conv: nn.conv,
  FusedConv: nn.conv,
  BatchNormalization: nn.batchNorm,
  MaxPool: nn.pool,
  AveragePool: nn.pool,
  GlobalAveragePool: nn.globalPool,
  GlobalMaxPool: nn.globalPool,
  ReduceMean: nn.reduceMean,
  Gemm: nn.gemm,
  MatMul: nn.matmul,
  Softmax: nn.softmax,
  Relu: nn.activation,
  Sigmoid: nn.activation,
  Tanh: nn.activation,
  LeakyRelu: nn.activation,
  HardSigmoid: nn.activation,
  HardSwish: nn.activation,
  Clip: nn.clip,
  Add: tn.binary,
  Sub: tn.binary,
  Mul: tn.binary,
  Div: tn.binary,
  Identity: tn.view,
  Dropout: tn.view,
  Reshape: tn.view,
  Flatten: tn.view,
  Squeeze: tn.view,
  Unsqueeze: tn.view,
  Cast: tn.cast,
  Constant: tn.constant,
  Shape: tn.shape,
  Transpose: tn.transpose,
  Concat: tn.concat,
  Gather: tn.gather,
  Slice: tn.slice,
  Pad: tn.pad,
  Resize: vn.resize,
  Upsample: vn.resize,
  ConvTranspose: vn.convTranspose,
  TopK: vn.topk,
  ArgMax: vn.argReduce,
  ArgMin: vn.argReduce,
  NonMaxSuppression: vn.nonMaxSuppression,
  EfficientNMS: vn.efficientNms,
};

/** Ops whose outputs only move input values, so float16 outputs need no extra rounding. */
const MOVES_ONLY = new Set(['Identity', 'Dropout', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Gather', 'Slice', 'Pad', 'MaxPool', 'GlobalMaxPool', 'Constant', 'Shape']);

function valuesOf(t: RTensor | undefined): Dim[] | undefined {
  if (!t || (t.dtype !== 'int64' && t.dtype !== 'int32') || t.data.length > MAX_VALUE_ELEMENTS) return undefined;
  return toNumbers(t);
}

function floatsOf(t: RTensor | undefined): number[] | undefined {
  if (!t || (t.dtype !== 'float32' && t.dtype !== 'float64') || t.data.length > MAX_FLOAT_VALUES) return undefined;
  return Array.from(t.data as Float32Array);
}

/**
 * Runs one node on runtime tensors (shapes are re-inferred from the concrete inputs).
 * @example
 * const [y] = runNode(node, 17, [x, w]);
 */
export function runNode(node: Node, opset: number, inputs: (RTensor | undefined)[]): RTensor[] {
  const types = inputs.map((t) => (t ? { dtype: t.dtype, shape: t.dims } : undefined));
  const inferred = inferNode(node, opset, types, inputs.map(valuesOf), inputs.map(floatsOf));
  const kernel = KERNELS[node.op];
  if (!kernel) throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, `Unsupported operator '${node.op}' (node '${node.name}') at opset ${opset}`);
  const outs = kernel(node, inputs, inferred.types, opset);
  if (!MOVES_ONLY.has(node.op)) {
    for (const o of outs) if (o.dtype === 'float16') roundToHalfInPlace(o.data as Float32Array);
  }
  return outs;
}

/**
 * Runs a graph on runtime tensors; returns the graph outputs (and any values named in `keep`).
 * Values are released after their last use.
 */
export function runGraph(graph: Graph, inputs: Map<string, RTensor>, keep: Iterable<string> = []): Map<string, RTensor> {
  const env = new Map<string, RTensor>(inputs);
  for (const [name, c] of graph.initializers) if (!env.has(name)) env.set(name, fromConstant(c));
  const wanted = new Set([...graph.outputs.map((o) => o.name), ...keep]);
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.inputs.forEach((v) => v && lastUse.set(v, i)));
  graph.nodes.forEach((node, i) => {
    const ins = node.inputs.map((v) => {
      if (!v) return undefined;
      const t = env.get(v);
      if (!t) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Node '${node.name}' reads '${v}', which has no value`);
      return t;
    });
    const outs = runNode(node, graph.opset, ins);
    node.outputs.forEach((o, k) => o && env.set(o, outs[k]));
    for (const v of node.inputs) if (v && lastUse.get(v) === i && !wanted.has(v) && !inputs.has(v)) env.delete(v);
  });
  const res = new Map<string, RTensor>();
  for (const name of wanted) {
    const t = env.get(name);
    if (t) res.set(name, t);
  }
  return res;
}

const FEED_TYPES: Record<DataType, { name: string; ctor: abstract new (...args: never[]) => object }> = {
  float32: { name: 'Float32Array', ctor: Float32Array },
  float16: { name: 'Uint16Array (float16 bits)', ctor: Uint16Array },
  float64: { name: 'Float64Array', ctor: Float64Array },
  int64: { name: 'BigInt64Array', ctor: BigInt64Array },
  int32: { name: 'Int32Array', ctor: Int32Array },
  int8: { name: 'Int8Array', ctor: Int8Array },
  uint8: { name: 'Uint8Array', ctor: Uint8Array },
  bool: { name: 'Uint8Array', ctor: Uint8Array },
};

/**
 * Values of the symbolic dims (e.g. { batch: 4 }) implied by the feeds' lengths, or by `batch`.
 * @example
 * bindDims(g, { input: new Float32Array(2 * 3 * 224 * 224) }); // Map { 'batch' => 2 }
 */
export function bindDims(graph: Graph, feeds: Record<string, { length: number }>, options: ReferenceOptions = {}): Map<string, number> {
  const bound = new Map<string, number>();
  if (options.batch !== undefined) {
    positiveInteger(options.batch, 'batch');
    for (const i of graph.inputs) if (typeof i.type.shape[0] === 'string') bound.set(i.type.shape[0], options.batch);
  }
  for (const i of graph.inputs) {
    const f = feeds[i.name];
    if (!f) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Missing input '${i.name}'`);
    const known = i.type.shape.filter((d): d is number => typeof d === 'number').reduce((a, b) => a * b, 1);
    const free = [...new Set(i.type.shape.filter((d): d is string => typeof d === 'string' && !bound.has(d)))];
    const fixed = i.type.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : (bound.get(d) ?? 1)), 1);
    if (free.length > 1) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Input '${i.name}' has several dynamic dimensions (${free.join(', ')}); cannot derive them from its length`);
    if (free.length === 1) {
      const count = i.type.shape.filter((d) => d === free[0]).length;
      const v = count === 1 ? f.length / fixed : Math.round((f.length / fixed) ** (1 / count));
      if (!Number.isInteger(v) || v < 1 || fixed * v ** count !== f.length) {
        throw new TensorRTError(ErrorCode.INVALID_INPUT, `Input '${i.name}' has ${f.length} elements, which is no whole multiple of ${known} (shape [${i.type.shape.join(', ')}])`);
      }
      bound.set(free[0], v);
    } else if (fixed !== f.length) {
      throw new TensorRTError(ErrorCode.INVALID_INPUT, `Input '${i.name}' has ${f.length} elements; shape [${i.type.shape.map((d) => bound.get(d as string) ?? d).join(', ')}] needs ${fixed}`);
    }
  }
  return bound;
}

function concreteShape(t: TensorType, bound: Map<string, number>): number[] {
  return t.shape.map((d) => (typeof d === 'number' ? d : bound.get(d)!));
}

/**
 * Runs the graph on the CPU: feeds are flat typed arrays (float16 as Uint16Array bits), the dynamic
 * batch is taken from their lengths. Returns flat outputs the same way.
 * @example
 * const { logits } = runReference(graph, { input: new Float32Array(3 * 224 * 224).fill(0.5) });
 */
export function runReference(graph: Graph, feeds: Record<string, TensorData>, options: ReferenceOptions = {}): Record<string, TensorData> {
  plainObject(feeds, 'feeds');
  plainObject(options, 'options');
  knownKeys(options as Record<string, unknown>, 'options', ['batch']);
  const names = graph.inputs.map((i) => i.name);
  for (const k of Object.keys(feeds)) {
    if (!names.includes(k)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Unknown input '${k}'; the model's inputs are ${names.map((n) => `'${n}'`).join(', ')}`);
  }
  for (const i of graph.inputs) {
    const f = feeds[i.name];
    const expect = FEED_TYPES[i.type.dtype];
    if (f !== undefined && !(f instanceof expect.ctor)) {
      throw new TensorRTError(ErrorCode.INVALID_INPUT, `Expected a ${expect.name} for input '${i.name}' (${i.type.dtype}) but received ${describe(f)}`);
    }
  }
  const bound = bindDims(graph, feeds, options);
  const inputs = new Map<string, RTensor>();
  for (const i of graph.inputs) {
    const f = feeds[i.name];
    const data = i.type.dtype === 'float16' ? halfBitsToFloat(f as Uint16Array) : (f as RData);
    inputs.set(i.name, { dtype: i.type.dtype, dims: concreteShape(i.type, bound), data });
  }
  const res = runGraph(graph, inputs);
  const out: Record<string, TensorData> = {};
  for (const o of graph.outputs) {
    const t = res.get(o.name)!;
    if (size(t.dims) !== t.data.length) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Output '${o.name}' has an inconsistent size`);
    out[o.name] = t.dtype === 'float16' ? float32ToHalf(t.data as Float32Array) : (t.data.slice() as TensorData);
  }
  return out;
}
