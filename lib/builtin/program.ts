// The lowered program of the builtin backend (read by native/addon/builtin/program_js.cc) and its payload format.
import { ErrorCode, TensorRTError } from '../errors.js';

/** Must match native/builtin/program.h kFormatVersion. */
export const BUILTIN_FORMAT_VERSION = 2;

/** Layer ops, numbered as native/builtin/program.h `Op`; families take their own ranges (vision: 20–29). */
export const Op = {
  conv: 0, pool: 1, reduce: 2, softmax: 3, binary: 4, unary: 5, copy: 6, fill: 7, pad: 8, matmul: 9,
  layernorm: 10, gather: 11, compare: 12, predicate: 13, where: 14, attention: 15, mbconv: 16,
  resize: 20, deconv: 21, argmax: 22, nms: 23, topk: 24,
} as const;
export type OpName = keyof typeof Op;
/** Op name by number (the numbering has gaps between families). */
export const OP_NAMES: Readonly<Record<number, OpName>> = Object.fromEntries(Object.entries(Op).map(([name, n]) => [n, name])) as Record<number, OpName>;

/** Activations, numbered as native/builtin/kernels/kernels.h `Act`. */
export const Act = {
  none: 0, relu: 1, clip: 2, leakyrelu: 3, sigmoid: 4, hardsigmoid: 5, hardswish: 6, tanh: 7,
  erf: 8, gelu: 9, gelutanh: 10, sqrt: 11, exp: 12, log: 13, neg: 14, abs: 15, reciprocal: 16, scale: 17, silu: 18,
} as const;
export type ActName = keyof typeof Act;
/** Binary ops, as kernels.h `Binary`. */
export const BinaryOp = { Add: 0, Sub: 1, Mul: 2, Div: 3, Max: 4, Min: 5, Pow: 6 } as const;
/** Comparisons and logical ops, as kernels.h `Compare`. */
export const CompareOp = { Equal: 0, Less: 1, LessOrEqual: 2, Greater: 3, GreaterOrEqual: 4, And: 5, Or: 6, Xor: 7 } as const;
/** Predicates, as kernels.h `Predicate`. */
export const PredicateOp = { Not: 0, IsNaN: 1, IsInf: 2 } as const;
/** Reductions, as kernels.h `Reduce`. */
export const ReduceOp = { mean: 0, sum: 1, max: 2, min: 3 } as const;

export interface ProgramTensor {
  /** lib/native.ts DType number. */
  dtype: number;
  /** 0 arena, 1 weights. */
  loc: 0 | 1;
  /** Arena tensors: whether size and placement scale with the batch. */
  batched: boolean;
  /** Bytes: weights blob offset; fixed-arena offset; or, for batched tensors, offset per unit of capacity. */
  offset: number;
  /** Bytes per batch row (batched) or in all. */
  bytes: number;
  /** For logs: the IR value it holds and its physical shape at batch 1. */
  name: string;
  shape: number[];
  layout: 'nhwc' | 'rowmajor';
  /**
   * Programs with a dynamic dim: the size at dim value S in Newton form at the dim's base,
   * dimBytes[0] + dimBytes[1]·t + dimBytes[2]·t(t−1)/2 (t = S − base); `bytes` is then the planned, largest size.
   */
  dimBytes?: [number, number, number];
}

/**
 * One layer. Parameters by op (all counts at batch 1 when `batched`; the runtime scales the leading extent):
 * - conv: inputs [x, w, bias|-1, residual|-1]; n,h,w,c,k,r,s,p,q,sh,sw,ph,pw,dh,dw,g, act, alpha, beta
 * - pool: n,h,w,c,r,s,p,q,sh,sw,ph,pw, max, cip (count_include_pad)
 * - reduce: mode, outer, len, inner · softmax: outer, len, inner, log
 * - binary: op, act, alpha, beta, dims[], sa[], sb[] (element strides, 0 broadcasts; output contiguous)
 * - unary: act, alpha, beta, n · fill: n, value, step? (with step: value + i · step, an iota)
 * - copy: dims[], xs[], ys[], xoff, yoff (elements; converts dtype)
 * - pad: mode (0 constant, 1 reflect, 2 edge), value, in[], out[], before[]
 * - matmul: bc, m, n, k, sa, sb, sc (batch strides in elements); or the general form: bd[] (≤ 3 batch levels),
 *   bsa[], bsb[], bsc[] (their strides), am, ak, bk, bn (element strides of A and B), cm (row stride of C), alpha
 * - layernorm: inputs [x, gamma f32|-1, beta f32|-1, residual|-1], outputs [y, sum?]; rows, cols, eps
 * - gather: inputs [data, ids]; outer, len, inner, n (ids outside [-len, len) give zero rows)
 * - compare: op (CompareOp), dims[], sa[], sb[] → bool · predicate: mode (PredicateOp), n → bool
 * - where: inputs [cond, a, b]; dims[], sc[], sa[], sb[]
 * - attention: inputs [q, k, v, mask|-1]; b, h, sq, sk, d, dv, qs[4], ks[4], vs[4], os[4], ms[4] (strides over
 *   batch, head, sequence, feature; the mask's over batch, head, query, key), scale; qo?, ko?, vo? (element offsets
 *   of Q, K and V in their tensors, 0 when absent: views into one fused QKV projection)
 * - mbconv: inputs [x, w1 KRSC, b1|-1, wd RSC, bd|-1, w2 KRSC, b2|-1, residual|-1], outputs [y, expanded, depthwise]
 *   (the chain tactic's intermediates, NHWC); n,h,w,c (input), e (expanded),
 *   k (output channels), ks (depthwise kernel), p,q, st (stride), ph,pw; act1/alpha1/beta1 (expand),
 *   act2/alpha2/beta2 (depthwise), act/alpha/beta (project, after the residual); id1? (1: w1 is the identity, e = c:
 *   the chain's expand stage is 'skip', its depthwise stage reads x, and `expanded` is a one-element placeholder)
 * - resize: inputs [x, taps]; n,h,w,c,p,q, taps (per-axis taps: H indexes, H weights, W indexes, W weights, float32);
 *   nchw? (1: the output is row-major NCHW, in x's dtype or float32)
 * - deconv: inputs [x, w (MRSC), bias|-1]; n,h,w,c,k,r,s,p,q,sh,sw,ph,pw,dh,dw,g
 * - argmax: outer, len, inner, max (1 ArgMax, 0 ArgMin), last (select_last_index); int64 output
 * - topk: outer, len, inner, k, largest; outputs [values (input dtype), indices int64], best first, ties to the lower index
 *   (NaN ranks above +Inf, as in lib/reference/ops-vision.ts rankCompare; argmax too)
 * - nms: inputs [boxes [b,n,4], scores [b,n,c], anchors|-1] (float32); outputs [count int32 [b,1], boxes [b,k,4],
 *   scores [b,k], classes int32 [b,k], scratch int64 [1 + pairs]]; b, n, c, k, fmt (0 xyxy, 1 cxcywh), agnostic, score, iou
 * A layer with `perBatch` runs with every listed parameter at value + (batch − 1) · increment (element-wise for
 * lists): every extent, stride and offset of a lowered layer is affine in the batch.
 */
export interface ProgramLayer {
  name: string;
  op: number;
  inputs: number[];
  outputs: number[];
  params: Record<string, number | number[]>;
  batched: boolean;
  /** Per-batch increments of parameters (see above); absent when nothing depends on the batch. */
  perBatch?: Record<string, number | number[]>;
  /**
   * Programs with a dynamic dim: per parameter, the coefficients [t, t(t−1)/2, (B−1)·t, (B−1)·t(t−1)/2] of its value
   * at dim value S = base + t and batch B, each a number or list like the parameter (programAtDim).
   */
  perDim?: Record<string, [Param, Param, Param, Param]>;
  /** Chosen tactics by batch bucket: each runs batches up to `upTo` (above the previous one's). */
  tactics?: { upTo: number; tactic: string }[];
}

/**
 * A layer's parameters at `batch`: value + (batch − 1) · increment for those listed in perBatch (the rule above;
 * the native LayerDesc::at is the same).
 * @example paramsAt(layer, 8).n
 */
export function paramsAt(l: ProgramLayer, batch: number): ProgramLayer['params'] {
  if (!l.perBatch) return l.params;
  const out = { ...l.params };
  for (const [k, inc] of Object.entries(l.perBatch)) {
    const v = l.params[k];
    out[k] = Array.isArray(v) ? v.map((x, i) => x + (batch - 1) * (inc as number[])[i]) : (v as number) + (batch - 1) * (inc as number);
  }
  return out;
}

export interface ProgramIO {
  name: string;
  tensor: number;
  isInput: boolean;
  dtype: number;
  /** -1 for the dynamic batch, -2 (DIM_AXIS) for the program's dynamic dim. */
  shape: number[];
}

/** I/O shape entry of a program's dynamic dim (native kDimAxis). */
export const DIM_AXIS = -2;

/** The one dynamic dimension besides the batch that a program may have, and the value its `params` hold. */
export interface ProgramDim {
  name: string;
  min: number;
  opt: number;
  max: number;
  base: number;
}

export interface Program {
  formatVersion: number;
  tensors: ProgramTensor[];
  layers: ProgramLayer[];
  io: ProgramIO[];
  fixedArenaBytes: number;
  batchedArenaBytes: number;
  weightsBytes: number;
  minBatch: number;
  optBatch: number;
  maxBatch: number;
  /** A dynamic dim besides the batch (a sequence length): the program runs as programAtDim(program, S). */
  dim?: ProgramDim;
}

type Param = number | number[];

/**
 * The plain program (affine in the batch only) at dim value `s`: the rule native ProgramDesc::atDim applies, with
 * tensor sizes evaluated and I/O shapes filled in; offsets and arena sizes stay as planned.
 * @example simulate(programAtDim(program, 12), weights, feeds, 2)
 */
export function programAtDim(program: Program, s: number): Program {
  const d = program.dim;
  if (!d) return program;
  if (!Number.isSafeInteger(s) || s < d.min || s > d.max) {
    throw new TensorRTError(ErrorCode.SHAPE_OUT_OF_RANGE, `Dimension '${d.name}' = ${s} is outside the engine's range ${d.min}..${d.max}`);
  }
  const t = s - d.base;
  const t2 = (t * (t - 1)) / 2;
  const add = (v: Param, c1: Param, c2: Param): Param =>
    Array.isArray(v) ? v.map((x, i) => x + (c1 as number[])[i] * t + (c2 as number[])[i] * t2) : v + (c1 as number) * t + (c2 as number) * t2;
  const tensors = program.tensors.map((x) => {
    if (!x.dimBytes) return x;
    const { dimBytes, ...rest } = x;
    return { ...rest, bytes: dimBytes[0] + dimBytes[1] * t + dimBytes[2] * t2 };
  });
  const layers = program.layers.map((l) => {
    if (!l.perDim) return l;
    const { perDim, ...rest } = l;
    const params = { ...l.params };
    const perBatch: Record<string, Param> = { ...(l.perBatch ?? {}) };
    for (const [key, [a, b, c, e]] of Object.entries(perDim)) {
      const zero: Param = Array.isArray(params[key]) ? (params[key] as number[]).map(() => 0) : 0;
      params[key] = add(params[key], a, b);
      // A batched layer keeps no increments: only a growth that depends on the batch adds one.
      const inc = add(zero, c, e);
      if ((Array.isArray(inc) ? inc : [inc]).some((v) => v !== 0)) perBatch[key] = add(perBatch[key] ?? zero, c, e);
    }
    const out: ProgramLayer = { ...rest, params };
    if (Object.keys(perBatch).length) out.perBatch = perBatch;
    return out;
  });
  const io = program.io.map((x) => ({ ...x, shape: x.shape.map((v) => (v === DIM_AXIS ? s : v)) }));
  const { dim: _dim, ...plain } = program;
  return { ...plain, tensors, layers, io };
}

const WEIGHTS_ALIGN = 256;

/** Payload of a builtin plan: u32 JSON length, the program JSON, padding to 256, the weights blob. */
export function encodePayload(program: Program, weights: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(program));
  const at = Math.ceil((4 + json.byteLength) / WEIGHTS_ALIGN) * WEIGHTS_ALIGN;
  const out = new Uint8Array(at + weights.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 4);
  out.set(weights, at);
  return out;
}

const corrupt = (why: string) => new TensorRTError(ErrorCode.PLAN_CORRUPT, `Corrupt builtin plan payload: ${why}`);

/** Splits a builtin payload back into program and weights (a view, no copy). */
export function decodePayload(payload: Uint8Array): { program: Program; weights: Uint8Array } {
  if (payload.byteLength < 4) throw corrupt('too short');
  const len = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  if (4 + len > payload.byteLength) throw corrupt('program length exceeds the payload');
  let program: Program;
  try {
    program = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(4, 4 + len))) as Program;
  } catch {
    throw corrupt('unreadable program');
  }
  if (!program || !Array.isArray(program.layers) || !Array.isArray(program.tensors) || !Array.isArray(program.io)) {
    throw corrupt('malformed program');
  }
  const at = Math.ceil((4 + len) / WEIGHTS_ALIGN) * WEIGHTS_ALIGN;
  const weights = payload.subarray(Math.min(at, payload.byteLength));
  if (weights.byteLength !== program.weightsBytes) throw corrupt(`weights are ${weights.byteLength} bytes, expected ${program.weightsBytes}`);
  return { program, weights };
}
