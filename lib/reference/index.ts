// The reference backend: the IR interpreted on the CPU in float32, fused nodes included. float16
// values are emulated: rounded to float16 wherever a float16 value is stored, computed in float32.
import { attentionOp, fusedAttention, rotaryEmbedding } from './ops-attention.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { inferNode } from '../ir/infer.js';
import { MAX_FLOAT_VALUES, MAX_VALUE_ELEMENTS } from '../ir/context.js';
import type { DataType, Dim, Node, TensorType } from '../ir/types.js';
import { float32ToHalf } from '../util/half.js';
import { bindInputDims, type FeedShape } from '../shapes.js';
import { describe, knownKeys, plainObject, positiveInteger } from '../validate.js';
import { roundToHalfInPlace } from './half.js';
import { einsum } from './einsum.js';
import * as ch from './ops-channel.js';
import { recurrent } from './ops-rnn.js';
import * as mt from './ops-math.js';
import * as nn from './ops-nn.js';
import * as no from './ops-norm.js';
import * as sh from './ops-shape.js';
import * as tn from './ops-tensor.js';
import * as vn from './ops-vision.js';
import * as smp from './ops-sampling.js';
import { fromConstant, halfBitsToFloat, size, toNumbers, type RData, type RTensor } from './tensor.js';

export type { RTensor } from './tensor.js';

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

export interface ReferenceOptions {
  /** The value of the dynamic batch dimension (axis 0 of every input); derived from the feeds' lengths when omitted. */
  batch?: number;
  /** Values of other symbolic dimensions by name, e.g. { sequence: 12 }. */
  dims?: Record<string, number>;
}

const KERNELS: Record<string, nn.Kernel> = {
  Conv: nn.conv,
  FusedConv: nn.conv,
  FusedAttention: fusedAttention,
  FusedMBConv: nn.mbconv,
  BatchNormalization: nn.batchNorm,
  MaxPool: nn.pool,
  AveragePool: nn.pool,
  GlobalAveragePool: nn.globalPool,
  GlobalMaxPool: nn.globalPool,
  LpPool: nn.pool,
  GlobalLpPool: nn.globalPool,
  Gemm: nn.gemm,
  MatMul: nn.matmul,
  Softmax: nn.softmax,
  LogSoftmax: nn.softmax,
  Relu: nn.activation,
  Sigmoid: nn.activation,
  Tanh: nn.activation,
  LeakyRelu: nn.activation,
  HardSigmoid: nn.activation,
  HardSwish: nn.activation,
  Swish: nn.swish,
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
  RoiAlign: smp.roiAlign,
  GridSample: smp.gridSample,
  AffineGrid: smp.affineGrid,
  EfficientNMS: vn.efficientNms,
  // Element-wise math, comparisons and logic.
  Erf: mt.unary,
  Gelu: mt.unary,
  Sqrt: mt.unary,
  Exp: mt.unary,
  Log: mt.unary,
  Reciprocal: mt.unary,
  Floor: mt.unary,
  Ceil: mt.unary,
  Neg: mt.unary,
  Abs: mt.unary,
  Sin: mt.unary,
  Tan: mt.unary,
  Asin: mt.unary,
  Acos: mt.unary,
  Atan: mt.unary,
  Sinh: mt.unary,
  Cosh: mt.unary,
  Asinh: mt.unary,
  Acosh: mt.unary,
  Atanh: mt.unary,
  Shrink: mt.unary,
  Cos: mt.unary,
  Round: mt.unary,
  Sign: mt.unary,
  Softplus: mt.unary,
  Softsign: mt.unary,
  Mish: mt.unary,
  Elu: mt.unary,
  Celu: mt.unary,
  Selu: mt.unary,
  ThresholdedRelu: mt.unary,
  IsNaN: mt.unary,
  IsInf: mt.unary,
  Not: mt.unary,
  Equal: mt.compare,
  Less: mt.compare,
  Greater: mt.compare,
  LessOrEqual: mt.compare,
  GreaterOrEqual: mt.compare,
  And: mt.compare,
  BitwiseAnd: mt.bitwise,
  BitwiseOr: mt.bitwise,
  BitwiseXor: mt.bitwise,
  BitwiseNot: mt.bitwise,
  BitShift: mt.bitShift,
  Det: mt.det,
  Or: mt.compare,
  Xor: mt.compare,
  Where: mt.where,
  Pow: mt.pow,
  Mod: mt.mod,
  Min: mt.variadic,
  Max: mt.variadic,
  Sum: mt.variadic,
  Mean: mt.variadic,
  // Reductions and normalization.
  ReduceMean: no.reduce,
  ReduceSum: no.reduce,
  ReduceMax: no.reduce,
  ReduceMin: no.reduce,
  ReduceProd: no.reduce,
  ReduceL1: no.reduce,
  ReduceL2: no.reduce,
  ReduceSumSquare: no.reduce,
  ReduceLogSumExp: no.reduce,
  ReduceLogSum: no.reduce,
  LayerNormalization: no.layerNorm,
  RMSNormalization: no.rmsNorm,
  RotaryEmbedding: rotaryEmbedding,
  Attention: attentionOp,
  // Construction and indexing.
  ConstantOfShape: sh.constantOfShape,
  Range: sh.range,
  NonZero: sh.nonZero,
  CenterCropPad: sh.centerCropPad,
  Compress: sh.compress,
  Unique: sh.unique,
  HannWindow: sh.window,
  HammingWindow: sh.window,
  BlackmanWindow: sh.window,
  Expand: sh.expand,
  Tile: sh.tile,
  Split: sh.split,
  Trilu: sh.trilu,
  CumSum: sh.cumsum,
  GatherElements: sh.gatherElements,
  ScatterND: sh.scatterND,
  Einsum: einsum,
  PRelu: ch.prelu,
  InstanceNormalization: ch.instanceNorm,
  GroupNormalization: ch.groupNorm,
  LRN: ch.lrn,
  DepthToSpace: ch.depthToSpace,
  SpaceToDepth: ch.spaceToDepth,
  CastLike: ch.castLike,
  LpNormalization: ch.lpNorm,
  MeanVarianceNormalization: ch.meanVarianceNorm,
  Size: ch.sizeOf,
  RNN: recurrent,
  GRU: recurrent,
  LSTM: recurrent,
  QuantizeLinear: ch.quantize,
  DequantizeLinear: ch.dequantize,
  GatherND: sh.gatherND,
  ScatterElements: sh.scatterElements,
  Scatter: sh.scatterElements,
  EyeLike: sh.eyeLike,
  ReverseSequence: sh.reverseSequence,
  OneHot: sh.oneHot,
  Hardmax: sh.hardmax,
};

/** Ops whose outputs only move input values, so float16 outputs need no extra rounding. */
const MOVES_ONLY = new Set(['Identity', 'Dropout', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Gather', 'Slice', 'Pad', 'MaxPool', 'GlobalMaxPool', 'Constant', 'Shape', 'Expand', 'Tile', 'Split', 'GatherElements', 'ScatterND', 'Where', 'ConstantOfShape', 'Trilu']);

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
  // Run-time ids of a data gather (an embedding lookup) are checked by the kernel, as bad input.
  const values = inputs.map((t, i) => {
    if (node.op === 'Gather' && i === 1 && (inputs[0]?.dims.length ?? 0) > 1) return undefined;
    // A float Range's length comes from its scalar operands.
    if (node.op === 'Range' && t && t.data.length === 1 && !(t.data instanceof BigInt64Array)) return [Number(t.data[0])];
    return valuesOf(t);
  });
  const inferred = inferNode(node, opset, types, values, inputs.map(floatsOf));
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

/** A feed: a flat typed array, or one with its shape (which binds every symbolic dim it has). */
export type Feed = TensorData | { data: TensorData; dims: number[] };

function feedData(f: Feed): TensorData {
  return ArrayBuffer.isView(f) ? (f as TensorData) : (f as { data: TensorData }).data;
}

/**
 * Values of the symbolic dims (e.g. { batch: 4, sequence: 12 }). They come from, in order: options.dims,
 * options.batch (every input's axis-0 symbol), the shapes of feeds given as { data, dims }, and then the
 * flat feeds' lengths, each of which can solve one unknown symbol. Inputs that share a symbol must agree
 * (ERR_SHAPE_MISMATCH naming both); a symbol that nothing determines is ERR_INVALID_INPUT.
 * @example
 * bindDims(g, { input: new Float32Array(2 * 3 * 224 * 224) }); // Map { 'batch' => 2 }
 * bindDims(bert, { input_ids: ids, attention_mask: mask }, { dims: { sequence: 12 } }); // batch from the length
 */
export function bindDims(graph: Graph, feeds: Record<string, Feed>, options: ReferenceOptions = {}): Map<string, number> {
  const given: Record<string, number> = {};
  if (options.dims !== undefined) Object.assign(given, plainObject(options.dims, 'options.dims'));
  if (options.batch !== undefined) {
    positiveInteger(options.batch, 'batch');
    for (const i of graph.inputs) if (typeof i.type.shape[0] === 'string') given[i.type.shape[0]] = options.batch;
  }
  const shapes: Record<string, FeedShape | undefined> = {};
  for (const i of graph.inputs) {
    const f = feeds[i.name];
    shapes[i.name] = f === undefined ? undefined : ArrayBuffer.isView(f) ? { length: (f as TensorData).length } : { dims: (f as { dims: number[] }).dims };
  }
  return bindInputDims(graph.inputs.map((i) => ({ name: i.name, shape: i.type.shape })), shapes, given);
}

function concreteShape(t: TensorType, bound: Map<string, number>): number[] {
  return t.shape.map((d) => (typeof d === 'number' ? d : bound.get(d)!));
}

/**
 * Runs the graph on the CPU. Feeds are flat typed arrays (float16 as Uint16Array bits), or { data, dims }
 * to give their shape; symbolic dims are bound as bindDims describes. Returns flat outputs the same way.
 * @example
 * const { logits } = runReference(graph, { input: new Float32Array(3 * 224 * 224).fill(0.5) });
 * const { last_hidden_state } = runReference(bert, { input_ids: { data: ids, dims: [2, 12] }, attention_mask: { data: mask, dims: [2, 12] } });
 */
export function runReference(graph: Graph, feeds: Record<string, Feed>, options: ReferenceOptions = {}): Record<string, TensorData> {
  plainObject(feeds, 'feeds');
  plainObject(options, 'options');
  knownKeys(options as Record<string, unknown>, 'options', ['batch', 'dims']);
  const names = graph.inputs.map((i) => i.name);
  for (const k of Object.keys(feeds)) {
    if (!names.includes(k)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Unknown input '${k}'; the model's inputs are ${names.map((n) => `'${n}'`).join(', ')}`);
  }
  for (const i of graph.inputs) {
    const raw = feeds[i.name];
    if (raw === undefined) continue;
    const f = ArrayBuffer.isView(raw) || typeof raw !== 'object' || raw === null ? raw : (raw as { data: unknown }).data;
    const expect = FEED_TYPES[i.type.dtype];
    if (!(f instanceof expect.ctor)) {
      throw new TensorRTError(ErrorCode.INVALID_INPUT, `Expected a ${expect.name} for input '${i.name}' (${i.type.dtype}) but received ${describe(f)}`);
    }
  }
  const bound = bindDims(graph, feeds, options);
  const inputs = new Map<string, RTensor>();
  for (const i of graph.inputs) {
    const f = feedData(feeds[i.name]);
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
