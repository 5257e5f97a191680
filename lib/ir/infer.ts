// Shape and dtype inference over a whole graph: the operator registry and the driver.
import { attention, fusedAttention, rotaryEmbedding } from './rules-attention.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import { NodeContext, MAX_FLOAT_VALUES, MAX_VALUE_ELEMENTS, type InferResult } from './context.js';
import type { Graph } from './graph.js';
import * as ch from './rules-channel.js';
import * as m from './rules-math.js';
import * as nn from './rules-nn.js';
import * as rd from './rules-reduce.js';
import { recurrent } from './rules-rnn.js';
import { affineGrid, gridSample, roiAlign } from './rules-sampling.js';
import * as sh from './rules-shape.js';
import * as t from './rules-tensor.js';
import * as v from './rules-vision.js';
import { FUSED_DOMAIN, shapeToString, type Constant, type Dim, type Node, type TensorType } from './types.js';

interface OpSpec {
  infer: (ctx: NodeContext) => InferResult;
  inputs: [number, number];
  outputs: [number, number];
  /** First opset that defines the operator. */
  since?: number;
}

const spec = (infer: OpSpec['infer'], inputs: [number, number], outputs: [number, number] = [1, 1], since?: number): OpSpec => ({ infer, inputs, outputs, since });

/** The ONNX operators (default domain) that the IR, optimizer and reference support. */
export const ONNX_OPS: Record<string, OpSpec> = {
  Conv: spec(nn.conv, [2, 3]),
  BatchNormalization: spec(nn.batchNorm, [5, 5], [1, 5]),
  MaxPool: spec(nn.pool, [1, 1], [1, 2]),
  AveragePool: spec(nn.pool, [1, 1]),
  GlobalAveragePool: spec(nn.globalPool, [1, 1]),
  GlobalMaxPool: spec(nn.globalPool, [1, 1]),
  LpPool: spec(nn.lpPool, [1, 1]),
  GlobalLpPool: spec(nn.lpPool, [1, 1]),
  Gemm: spec(nn.gemm, [2, 3]),
  MatMul: spec(nn.matmul, [2, 2]),
  Softmax: spec(nn.softmax, [1, 1]),
  LogSoftmax: spec(nn.softmax, [1, 1]),
  Relu: spec(nn.activation, [1, 1]),
  Sigmoid: spec(nn.activation, [1, 1]),
  Tanh: spec(nn.activation, [1, 1]),
  LeakyRelu: spec(nn.activation, [1, 1]),
  HardSigmoid: spec(nn.activation, [1, 1]),
  HardSwish: spec(nn.activation, [1, 1], [1, 1], 14),
  Swish: spec(nn.activation, [1, 1], [1, 1], 24),
  Clip: spec(nn.clip, [1, 3]),
  Dropout: spec(nn.dropout, [1, 3], [1, 2]),
  Add: spec(t.binary, [2, 2]),
  Sub: spec(t.binary, [2, 2]),
  Mul: spec(t.binary, [2, 2]),
  Div: spec(t.binary, [2, 2]),
  Identity: spec(t.identity, [1, 1]),
  Cast: spec(t.cast, [1, 1]),
  Constant: spec(t.constant, [0, 0]),
  Shape: spec(t.shape, [1, 1]),
  Flatten: spec(t.flatten, [1, 1]),
  Reshape: spec(t.reshape, [2, 2]),
  Squeeze: spec(t.squeeze, [1, 2]),
  Unsqueeze: spec(t.unsqueeze, [1, 2]),
  Transpose: spec(t.transpose, [1, 1]),
  Concat: spec(t.concat, [1, Infinity]),
  Gather: spec(t.gather, [2, 2]),
  Slice: spec(t.slice, [1, 5]),
  Pad: spec(t.pad, [1, 4]),
  Resize: spec(v.resize, [1, 4], [1, 1], 10),
  Upsample: spec(v.resize, [1, 2]),
  ConvTranspose: spec(v.convTranspose, [2, 3]),
  TopK: spec(v.topk, [1, 2], [2, 2]),
  ArgMax: spec(v.argReduce, [1, 1]),
  ArgMin: spec(v.argReduce, [1, 1]),
  NonMaxSuppression: spec(v.nonMaxSuppression, [2, 5], [1, 1], 10),
  RoiAlign: spec(roiAlign, [3, 3], [1, 1], 10),
  GridSample: spec(gridSample, [2, 2], [1, 1], 16),
  AffineGrid: spec(affineGrid, [2, 2], [1, 1], 20),
  // Element-wise math, comparisons and logic (rules-math.ts).
  Erf: spec(m.unary, [1, 1], [1, 1], 9),
  Gelu: spec(m.unary, [1, 1], [1, 1], 20),
  Sqrt: spec(m.unary, [1, 1]),
  Exp: spec(m.unary, [1, 1]),
  Log: spec(m.unary, [1, 1]),
  Reciprocal: spec(m.unary, [1, 1]),
  Floor: spec(m.unary, [1, 1]),
  Ceil: spec(m.unary, [1, 1]),
  Neg: spec(m.unary, [1, 1]),
  Abs: spec(m.unary, [1, 1]),
  Sin: spec(m.unary, [1, 1]),
  Cos: spec(m.unary, [1, 1]),
  Tan: spec(m.unary, [1, 1]),
  Asin: spec(m.unary, [1, 1]),
  Acos: spec(m.unary, [1, 1]),
  Atan: spec(m.unary, [1, 1]),
  Sinh: spec(m.unary, [1, 1], [1, 1], 9),
  Cosh: spec(m.unary, [1, 1], [1, 1], 9),
  Asinh: spec(m.unary, [1, 1], [1, 1], 9),
  Acosh: spec(m.unary, [1, 1], [1, 1], 9),
  Atanh: spec(m.unary, [1, 1], [1, 1], 9),
  Shrink: spec(m.unary, [1, 1], [1, 1], 9),
  Round: spec(m.unary, [1, 1], [1, 1], 11),
  Sign: spec(m.unary, [1, 1], [1, 1], 9),
  Softplus: spec(m.unary, [1, 1]),
  Softsign: spec(m.unary, [1, 1]),
  Mish: spec(m.unary, [1, 1], [1, 1], 18),
  Elu: spec(m.unary, [1, 1]),
  Celu: spec(m.unary, [1, 1], [1, 1], 12),
  Selu: spec(m.unary, [1, 1]),
  ThresholdedRelu: spec(m.unary, [1, 1], [1, 1], 10),
  IsNaN: spec(m.isNanInf, [1, 1], [1, 1], 9),
  IsInf: spec(m.isNanInf, [1, 1], [1, 1], 10),
  Not: spec(m.not, [1, 1]),
  Equal: spec(m.compare, [2, 2]),
  Less: spec(m.compare, [2, 2]),
  Greater: spec(m.compare, [2, 2]),
  LessOrEqual: spec(m.compare, [2, 2], [1, 1], 12),
  GreaterOrEqual: spec(m.compare, [2, 2], [1, 1], 12),
  And: spec(m.logical, [2, 2]),
  Or: spec(m.logical, [2, 2]),
  Xor: spec(m.logical, [2, 2]),
  Where: spec(m.where, [3, 3], [1, 1], 9),
  Pow: spec(m.pow, [2, 2]),
  Mod: spec(m.mod, [2, 2], [1, 1], 10),
  BitwiseAnd: spec(m.bitwise, [2, 2], [1, 1], 18),
  BitwiseOr: spec(m.bitwise, [2, 2], [1, 1], 18),
  BitwiseXor: spec(m.bitwise, [2, 2], [1, 1], 18),
  BitwiseNot: spec(m.bitwise, [1, 1], [1, 1], 18),
  BitShift: spec(m.bitShift, [2, 2], [1, 1], 11),
  Det: spec(m.det, [1, 1], [1, 1], 11),
  Min: spec(m.variadic, [1, Infinity]),
  Max: spec(m.variadic, [1, Infinity]),
  Sum: spec(m.variadic, [1, Infinity]),
  Mean: spec(m.variadic, [1, Infinity]),
  // Reductions and normalization (rules-reduce.ts).
  ReduceMean: spec(rd.reduce, [1, 2]),
  ReduceSum: spec(rd.reduce, [1, 2]),
  ReduceMax: spec(rd.reduce, [1, 2]),
  ReduceMin: spec(rd.reduce, [1, 2]),
  ReduceProd: spec(rd.reduce, [1, 2]),
  ReduceL1: spec(rd.reduce, [1, 2]),
  ReduceL2: spec(rd.reduce, [1, 2]),
  ReduceSumSquare: spec(rd.reduce, [1, 2]),
  ReduceLogSumExp: spec(rd.reduce, [1, 2]),
  ReduceLogSum: spec(rd.reduce, [1, 2]),
  LayerNormalization: spec(rd.layerNorm, [2, 3], [1, 3], 17),
  RMSNormalization: spec(rd.rmsNorm, [2, 2], [1, 1], 23),
  RotaryEmbedding: spec(rotaryEmbedding, [3, 4], [1, 1], 23),
  Attention: spec(attention, [3, 7], [1, 4], 23),
  // Tensor construction and indexing (rules-shape.ts).
  ConstantOfShape: spec(sh.constantOfShape, [1, 1], [1, 1], 9),
  Range: spec(sh.range, [3, 3], [1, 1], 11),
  NonZero: spec(sh.nonZero, [1, 1], [1, 1], 9),
  CenterCropPad: spec(sh.centerCropPad, [2, 2], [1, 1], 18),
  Compress: spec(sh.compress, [2, 2], [1, 1], 9),
  Unique: spec(sh.unique, [1, 1], [1, 4], 11),
  HannWindow: spec(sh.window, [1, 1], [1, 1], 17),
  HammingWindow: spec(sh.window, [1, 1], [1, 1], 17),
  BlackmanWindow: spec(sh.window, [1, 1], [1, 1], 17),
  Expand: spec(sh.expand, [2, 2], [1, 1], 8),
  Tile: spec(sh.tile, [2, 2]),
  Split: spec(sh.split, [1, 2], [1, Infinity]),
  Trilu: spec(sh.trilu, [1, 2], [1, 1], 14),
  CumSum: spec(sh.cumsum, [2, 2], [1, 1], 11),
  GatherElements: spec(sh.gatherElements, [2, 2], [1, 1], 11),
  ScatterND: spec(sh.scatterND, [3, 3], [1, 1], 11),
  Einsum: spec(sh.einsum, [1, Infinity], [1, 1], 12),
  PRelu: spec(ch.prelu, [2, 2]),
  InstanceNormalization: spec(ch.instanceNorm, [3, 3]),
  GroupNormalization: spec(ch.groupNorm, [3, 3], [1, 1], 18),
  LRN: spec(ch.lrn, [1, 1]),
  DepthToSpace: spec(ch.depthToSpace, [1, 1]),
  SpaceToDepth: spec(ch.spaceToDepth, [1, 1]),
  CastLike: spec(ch.castLike, [2, 2], [1, 1], 15),
  LpNormalization: spec(ch.lpNorm, [1, 1]),
  MeanVarianceNormalization: spec(ch.meanVarianceNorm, [1, 1], [1, 1], 9),
  GatherND: spec(sh.gatherND, [2, 2], [1, 1], 11),
  ScatterElements: spec(sh.scatterElements, [3, 3], [1, 1], 11),
  EyeLike: spec(sh.eyeLike, [1, 1], [1, 1], 9),
  ReverseSequence: spec(sh.reverseSequence, [2, 2], [1, 1], 10),
  // Scatter (opsets 9 and 10) is ScatterElements without `reduction`.
  Scatter: spec(sh.scatterElements, [3, 3], [1, 1], 9),
  OneHot: spec(sh.oneHot, [3, 3], [1, 1], 9),
  Hardmax: spec(sh.hardmax, [1, 1]),
  Size: spec(ch.size, [1, 1]),
  RNN: spec(recurrent, [3, 6], [0, 2]),
  GRU: spec(recurrent, [3, 6], [0, 2]),
  LSTM: spec(recurrent, [3, 8], [0, 3]),
  QuantizeLinear: spec(ch.quantize, [2, 3], [1, 1], 10),
  DequantizeLinear: spec(ch.dequantize, [2, 3], [1, 1], 10),
};

/** Operators of the optimizer's own domain (FUSED_DOMAIN). */
export const FUSED_OPS: Record<string, OpSpec> = {
  FusedConv: spec(nn.conv, [2, 4]),
  EfficientNMS: spec(v.efficientNms, [2, 3], [4, 4]),
  // Gelu and LayerNormalization for opsets that lack them (found by the fusion passes).
  Gelu: spec(m.unary, [1, 1]),
  LayerNormalization: spec(rd.layerNorm, [2, 3], [1, 3]),
  FusedAttention: spec(fusedAttention, [3, 4]),
  FusedMBConv: spec(nn.mbconv, [7, 8]),
};

function lookup(node: Node, opset: number): OpSpec | undefined {
  const table = node.domain === FUSED_DOMAIN ? FUSED_OPS : node.domain === '' || node.domain === 'ai.onnx' ? ONNX_OPS : undefined;
  const s = table && Object.hasOwn(table, node.op) ? table[node.op] : undefined;
  return s && (s.since === undefined || opset >= s.since) ? s : undefined;
}

/** Whether the IR supports this node's operator at this opset. */
export function isSupported(node: Node, opset: number): boolean {
  return lookup(node, opset) !== undefined;
}

/**
 * Infers one node's output types from its input types and the known values of small int inputs.
 * Works with concrete shapes too, which is how the reference interpreter sizes its outputs.
 * @example
 * const { types } = inferNode(node, 17, [{ dtype: 'float32', shape: [1, 3, 8, 8] }], []);
 */
export function inferNode(node: Node, opset: number, inputs: (TensorType | undefined)[], values: (Dim[] | undefined)[], floats: (number[] | undefined)[] = []): InferResult {
  const s = lookup(node, opset);
  const where = `(node '${node.name}') at opset ${opset}`;
  if (!s) {
    const dom = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}::` : '';
    throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, `Unsupported operator '${dom}${node.op}' ${where}`);
  }
  const ni = node.inputs.length;
  const no = node.outputs.length;
  if (ni < s.inputs[0] || ni > s.inputs[1]) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Operator '${node.op}' ${where} has ${ni} inputs; expected ${fmtRange(s.inputs)}`);
  if (no < s.outputs[0] || no > s.outputs[1]) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Operator '${node.op}' ${where} has ${no} outputs; expected ${fmtRange(s.outputs)}`);
  const ctx = new NodeContext(node, opset, inputs, values, floats);
  const r = s.infer(ctx);
  for (const ty of r.types) {
    for (const d of ty.shape) {
      if (typeof d === 'number' && (!Number.isSafeInteger(d) || d < 0)) ctx.mismatch(`computed an invalid dimension in ${shapeToString(ty.shape)}`);
    }
  }
  return r;
}

/** The values of a small float32/float64 constant (float16 ones are rare in scales and thresholds). */
export function floatConstantValues(c: Constant): number[] | undefined {
  if ((c.dtype !== 'float32' && c.dtype !== 'float64') || c.data.length > MAX_FLOAT_VALUES) return undefined;
  return Array.from(c.data as Float32Array);
}

/** A float Constant node's values (Upsample-9 and older exports carry scales this way). */
function constantNodeFloats(node: Node): number[] | undefined {
  if (node.op !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) return undefined;
  const v = node.attrs.value;
  if (v && typeof v === 'object' && !Array.isArray(v)) return floatConstantValues(v);
  if (typeof node.attrs.value_float === 'number') return [node.attrs.value_float];
  const fs = node.attrs.value_floats;
  return Array.isArray(fs) && fs.length <= MAX_FLOAT_VALUES ? (fs as number[]) : undefined;
}

function fmtRange([a, b]: [number, number]): string {
  return a === b ? String(a) : b === Infinity ? `at least ${a}` : `${a} to ${b}`;
}

/**
 * Infers every value's type (into graph.types) and returns the known values of small int tensors.
 * Sorts the nodes topologically first, which also catches references to undefined values.
 * @example
 * inferShapes(graph); graph.types.get('logits'); // { dtype: 'float32', shape: ['batch', 1000] }
 */
export function inferShapes(graph: Graph): Map<string, Dim[]> {
  graph.topoSort();
  const types = new Map<string, TensorType>();
  const values = new Map<string, Dim[]>();
  const floats = new Map<string, number[]>();
  for (const i of graph.inputs) types.set(i.name, { dtype: i.type.dtype, shape: [...i.type.shape] });
  for (const [name, c] of graph.initializers) {
    if (types.has(name)) continue; // an input with a default: the input's type wins
    types.set(name, { dtype: c.dtype, shape: [...c.dims] });
    const v = t.constantValues(c);
    if (v) values.set(name, v);
    const f = floatConstantValues(c);
    if (f) floats.set(name, f);
  }
  for (const node of graph.nodes) {
    const r = inferNode(
      node,
      graph.opset,
      node.inputs.map((n) => (n ? types.get(n) : undefined)),
      node.inputs.map((n) => (n ? values.get(n) : undefined)),
      node.inputs.map((n) => (n ? floats.get(n) : undefined)),
    );
    const fv = constantNodeFloats(node);
    if (fv) floats.set(node.outputs[0], fv);
    node.outputs.forEach((o, k) => {
      if (!o) return;
      if (types.has(o)) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Value '${o}' is produced twice (again by node '${node.name}')`);
      const ty = r.types[k];
      if (!ty) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Node '${node.name}' (${node.op}) has no output ${k}`);
      types.set(o, ty);
      const v = r.values?.[k];
      if (v && v.length <= MAX_VALUE_ELEMENTS) values.set(o, v);
    });
  }
  for (const o of graph.outputs) {
    const ty = types.get(o.name);
    if (!ty) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Graph output '${o.name}' is produced by no node`);
    checkDeclared(o.name, o.type, ty);
    o.type = { dtype: ty.dtype, shape: [...ty.shape] };
  }
  graph.types = types;
  return values;
}

/** A declared output type must agree with the inferred one where both are static. */
function checkDeclared(name: string, declared: TensorType, inferred: TensorType): void {
  if (declared.shape.length === 0 && declared.dtype === inferred.dtype) return; // often declared without a shape
  if (declared.dtype !== inferred.dtype) {
    throw new TensorRTError(ErrorCode.INVALID_MODEL, `Graph output '${name}' is declared ${declared.dtype} but computes ${inferred.dtype}`);
  }
  const conflict =
    declared.shape.length !== inferred.shape.length ||
    declared.shape.some((d, i) => typeof d === 'number' && typeof inferred.shape[i] === 'number' && d !== inferred.shape[i]);
  if (conflict) {
    throw new TensorRTError(ErrorCode.SHAPE_MISMATCH, `Graph output '${name}' is declared ${shapeToString(declared.shape)} but computes ${shapeToString(inferred.shape)}`);
  }
}
