// Reference kernels for element-wise math, comparisons, logic and selection, with numpy
// broadcasting over every dtype (int64 through JS numbers: exact below 2^53).
import { attrFloat, attrInt, attrString } from '../ir/attrs.js';
import { modValue } from '../ir/rules-math.js';
import type { DataType, TensorType } from '../ir/types.js';
import type { Kernel } from './ops-nn.js';
import { alloc, asFloat64, bcastStrides, fromFloat64, roundHalfEven, size, type RData, type RTensor } from './tensor.js';

const dimsOf = (t: TensorType) => t.shape as number[];

/** Reads element i of any tensor data as a number. */
function reader(d: RData): (i: number) => number {
  if (d instanceof BigInt64Array) return (i) => Number(d[i]);
  return (i) => d[i] as number;
}

/** Writes numbers into a new tensor of the dtype (ints truncated, bool as 0/1, int64 as BigInt). */
function writer(t: RTensor): (i: number, v: number) => void {
  const d = t.data;
  if (d instanceof BigInt64Array) return (i, v) => (d[i] = BigInt(Number.isFinite(v) ? Math.trunc(v) : 0));
  if (t.dtype === 'bool') return (i, v) => (d[i] = v ? 1 : 0);
  return (i, v) => ((d as Float32Array)[i] = v);
}

/**
 * y[i] = fn(x0[i0], x1[i1], …) over the broadcast of the inputs onto `outDims`.
 * @example
 * const y = broadcastMap([a, b], [2, 3], 'float32', (v) => v[0] + v[1]);
 */
export function broadcastMap(inputs: RTensor[], outDims: number[], dtype: DataType, fn: (v: number[]) => number): RTensor {
  const y = alloc(dtype, outDims);
  const n = size(outDims);
  const r = outDims.length;
  const reads = inputs.map((t) => reader(t.data));
  const strides = inputs.map((t) => bcastStrides(t.dims, outDims));
  const offs = inputs.map(() => 0);
  const idx = new Array(r).fill(0);
  const vals = new Array(inputs.length);
  const write = writer(y);
  const k = inputs.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) vals[j] = reads[j](offs[j]);
    write(i, fn(vals));
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      for (let j = 0; j < k; j++) offs[j] += strides[j][d];
      if (idx[d] < outDims[d]) break;
      for (let j = 0; j < k; j++) offs[j] -= strides[j][d] * idx[d];
      idx[d] = 0;
    }
  }
  return y;
}

/** erf(x) to float32 precision: Taylor series near 0, Chebyshev erfc (relative error < 1.2e-7) elsewhere. */
export function erf(x: number): number {
  const z = Math.abs(x);
  if (z < 0.5) {
    const x2 = x * x;
    let term = x, sum = x;
    for (let n = 1; n < 12; n++) {
      term *= -x2 / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc : erfc - 1;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, exact (erf) or with the tanh approximation. */
export function gelu(x: number, tanh: boolean): number {
  if (tanh) return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

function unaryFn(op: string, node: Parameters<Kernel>[0]): (x: number) => number {
  switch (op) {
    case 'Erf':
      return erf;
    case 'Gelu': {
      const tanh = attrString(node, 'approximate', 'none') === 'tanh';
      return (x) => gelu(x, tanh);
    }
    case 'Sqrt':
      return Math.sqrt;
    case 'Exp':
      return Math.exp;
    case 'Log':
      return Math.log;
    case 'Reciprocal':
      return (x) => 1 / x;
    case 'Floor':
      return Math.floor;
    case 'Ceil':
      return Math.ceil;
    case 'Neg':
      return (x) => -x;
    case 'Abs':
      return Math.abs;
    case 'IsNaN':
      return (x) => (Number.isNaN(x) ? 1 : 0);
    case 'IsInf': {
      const neg = attrInt(node, 'detect_negative', 1) !== 0;
      const pos = attrInt(node, 'detect_positive', 1) !== 0;
      return (x) => ((pos && x === Infinity) || (neg && x === -Infinity) ? 1 : 0);
    }
    case 'Not':
      return (x) => (x ? 0 : 1);
    case 'Sin':
      return Math.sin;
    case 'Cos':
      return Math.cos;
    case 'Tan':
      return Math.tan;
    case 'Asin':
      return Math.asin;
    case 'Acos':
      return Math.acos;
    case 'Atan':
      return Math.atan;
    case 'Sinh':
      return Math.sinh;
    case 'Cosh':
      return Math.cosh;
    case 'Asinh':
      return Math.asinh;
    case 'Acosh':
      return Math.acosh;
    case 'Atanh':
      return Math.atanh;
    case 'Shrink': {
      const lambd = attrFloat(node, 'lambd', 0.5);
      const bias = attrFloat(node, 'bias', 0);
      return (x) => (x < -lambd ? x + bias : x > lambd ? x - bias : 0);
    }
    case 'Sign':
      return (x) => (Number.isNaN(x) ? NaN : Math.sign(x));
    case 'Round':
      return roundHalfEven;
    case 'Softplus':
      return (x) => (x > 30 ? x : Math.log1p(Math.exp(x)));
    case 'Softsign':
      return (x) => x / (1 + Math.abs(x));
    case 'Mish':
      return (x) => x * Math.tanh(x > 30 ? x : Math.log1p(Math.exp(x)));
    case 'Elu': {
      const a = attrFloat(node, 'alpha', 1);
      return (x) => (x >= 0 ? x : a * Math.expm1(x));
    }
    case 'Celu': {
      const a = attrFloat(node, 'alpha', 1);
      return (x) => Math.max(0, x) + Math.min(0, a * Math.expm1(x / a));
    }
    case 'Selu': {
      const a = attrFloat(node, 'alpha', 1.67326319217681884765625);
      const g = attrFloat(node, 'gamma', 1.05070102214813232421875);
      return (x) => (x > 0 ? g * x : g * a * Math.expm1(x));
    }
    case 'ThresholdedRelu': {
      const a = attrFloat(node, 'alpha', 1);
      return (x) => (x > a ? x : 0);
    }
  }
  throw new Error(`no unary function for ${op}`);
}

/** Unary element-wise ops (float math, Neg/Abs on ints, IsNaN/IsInf/Not). */
export const unary: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const fn = unaryFn(node.op, node);
  const yd = dimsOf(out[0]);
  if (x.data instanceof BigInt64Array) {
    const y = alloc(out[0].dtype, yd);
    const src = x.data, dst = y.data as BigInt64Array;
    for (let i = 0; i < src.length; i++) dst[i] = node.op === 'Neg' ? -src[i] : src[i] < 0n ? -src[i] : src[i];
    return [y];
  }
  const y = alloc(out[0].dtype, yd);
  const src = x.data as Float32Array, dst = y.data as Float32Array;
  for (let i = 0; i < src.length; i++) dst[i] = fn(src[i]);
  return [y];
};

const COMPARE: Record<string, (a: number, b: number) => number> = {
  Equal: (a, b) => (a === b ? 1 : 0),
  Less: (a, b) => (a < b ? 1 : 0),
  Greater: (a, b) => (a > b ? 1 : 0),
  LessOrEqual: (a, b) => (a <= b ? 1 : 0),
  GreaterOrEqual: (a, b) => (a >= b ? 1 : 0),
  And: (a, b) => (a && b ? 1 : 0),
  Or: (a, b) => (a || b ? 1 : 0),
  Xor: (a, b) => (!a !== !b ? 1 : 0),
};

/** A tensor of t's shape holding each element's own position: broadcastMap over it gives index maps. */
const positions = (t: RTensor): RTensor => ({ dtype: 'int32', dims: t.dims, data: Int32Array.from({ length: t.data.length }, (_, i) => i) });

/** int64 comparisons stay exact past 2^53 by comparing BigInts. */
function compareBig(op: string, a: RTensor, b: RTensor, outDims: number[]): RTensor {
  const A = a.data as BigInt64Array, B = b.data as BigInt64Array;
  const cmp: Record<string, (x: bigint, y: bigint) => boolean> = {
    Equal: (x, y) => x === y,
    Less: (x, y) => x < y,
    Greater: (x, y) => x > y,
    LessOrEqual: (x, y) => x <= y,
    GreaterOrEqual: (x, y) => x >= y,
  };
  const f = cmp[op];
  return broadcastMap([positions(a), positions(b)], outDims, 'bool', ([i, j]) => (f(A[i], B[j]) ? 1 : 0));
}

/** Comparisons and logic: Equal/Less/Greater/LessOrEqual/GreaterOrEqual/And/Or/Xor. */
export const compare: Kernel = (node, inputs, out) => {
  const [a, b] = inputs as RTensor[];
  if (a.dtype === 'int64' && node.op in { Equal: 1, Less: 1, Greater: 1, LessOrEqual: 1, GreaterOrEqual: 1 }) return [compareBig(node.op, a, b, dimsOf(out[0]))];
  const f = COMPARE[node.op];
  return [broadcastMap([a, b], dimsOf(out[0]), 'bool', (v) => f(v[0], v[1]))];
};

export const where: Kernel = (_node, inputs, out) => {
  const [c, x, y] = inputs as RTensor[];
  const dtype = out[0].dtype;
  if (dtype === 'int64') {
    // Select positions, then copy the BigInts exactly.
    const pos = (t: RTensor, tag: number) => ({ dtype: 'float64' as const, dims: t.dims, data: Float64Array.from({ length: t.data.length }, (_, i) => i * 2 + tag) });
    const sel = broadcastMap([c, pos(x, 0), pos(y, 1)], dimsOf(out[0]), 'float64', (v) => (v[0] ? v[1] : v[2]));
    const res = alloc('int64', dimsOf(out[0]));
    const X = x.data as BigInt64Array, Y = y.data as BigInt64Array, S = sel.data as Float64Array, R = res.data as BigInt64Array;
    for (let i = 0; i < S.length; i++) R[i] = S[i] % 2 === 0 ? X[S[i] / 2] : Y[(S[i] - 1) / 2];
    return [res];
  }
  return [broadcastMap([c, x, y], dimsOf(out[0]), dtype, (v) => (v[0] ? v[1] : v[2]))];
};

/** Pow with a float or int base; an int result is truncated like onnxruntime's. */
export const pow: Kernel = (_node, inputs, out) => {
  const [a, b] = inputs as RTensor[];
  return [broadcastMap([a, b], dimsOf(out[0]), out[0].dtype, (v) => (v[1] === 2 ? v[0] * v[0] : v[1] === 0.5 ? Math.sqrt(v[0]) : Math.pow(v[0], v[1])))];
};

export const mod: Kernel = (node, inputs, out) => {
  const [a, b] = inputs as RTensor[];
  const fmod = attrInt(node, 'fmod', 0) === 1;
  return [broadcastMap([a, b], dimsOf(out[0]), out[0].dtype, (v) => (v[1] === 0 ? (fmod ? NaN : 0) : modValue(v[0], v[1], fmod)))];
};

/** Min/Max/Sum/Mean over any number of inputs (NaN propagates through Min/Max as in onnxruntime). */
export const variadic: Kernel = (node, inputs, out) => {
  const ins = inputs as RTensor[];
  const n = ins.length;
  const pick = (better: (q: number, p: number) => boolean) => (v: number[]) => v.reduce((p, q) => (Number.isNaN(p) ? p : Number.isNaN(q) || better(q, p) ? q : p));
  const fn: (v: number[]) => number =
    node.op === 'Min'
      ? pick((q, p) => q < p)
      : node.op === 'Max'
        ? pick((q, p) => q > p)
        : node.op === 'Sum'
          ? (v) => v.reduce((p, q) => p + q, 0)
          : (v) => v.reduce((p, q) => p + q, 0) / n;
  return [broadcastMap(ins, dimsOf(out[0]), out[0].dtype, fn)];
};

/** The bitwise ops on numbers of up to 32 bits, the result wrapped to the element type. */
const BITWISE: Record<string, (a: number, b: number) => number> = {
  BitwiseAnd: (a, b) => a & b,
  BitwiseOr: (a, b) => a | b,
  BitwiseXor: (a, b) => a ^ b,
  BitwiseNot: (a) => ~a,
};
const BITWISE_BIG: Record<string, (a: bigint, b: bigint) => bigint> = {
  BitwiseAnd: (a, b) => a & b,
  BitwiseOr: (a, b) => a | b,
  BitwiseXor: (a, b) => a ^ b,
  BitwiseNot: (a) => ~a,
};

/** BitwiseAnd/Or/Xor/Not over int8, uint8, int32 and int64 (exact BigInts), with broadcasting. */
export const bitwise: Kernel = (node, inputs, out) => {
  const ts = inputs as RTensor[];
  const dims = dimsOf(out[0]);
  const dtype = out[0].dtype;
  // Index maps over element positions, then the op on the stored integers.
  const [ja, jb] = [ts[0], ts[1] ?? ts[0]].map((t) => broadcastMap([positions(t)], dims, 'float64', (v) => v[0]).data as Float64Array);
  const y = alloc(dtype, dims);
  const [A, B] = [ts[0].data, (ts[1] ?? ts[0]).data];
  for (let i = 0; i < ja.length; i++) {
    const ia = ja[i], ib = jb[i];
    if (dtype === 'int64') (y.data as BigInt64Array)[i] = BigInt.asIntN(64, BITWISE_BIG[node.op]((A as BigInt64Array)[ia], (B as BigInt64Array)[ib]));
    else (y.data as Int32Array)[i] = BITWISE[node.op]((A as Int32Array)[ia], (B as Int32Array)[ib]);
  }
  return [y];
};

/** BitShift of uint8: left shifts drop the bits past 8, shifts of 8 or more give 0. */
export const bitShift: Kernel = (node, inputs, out) => {
  const [a, b] = inputs as RTensor[];
  const left = attrString(node, 'direction', 'LEFT') === 'LEFT';
  return [broadcastMap([a, b], dimsOf(out[0]), 'uint8', ([x, s]) => (s >= 8 ? 0 : left ? (x << s) & 0xff : x >> s))];
};

/** Det: each trailing M×M matrix by LU with partial pivoting, in float64. */
export const det: Kernel = (_node, inputs, out) => {
  const x = inputs[0]!;
  const m = x.dims[x.dims.length - 1];
  const v = asFloat64(x);
  const count = m ? v.length / (m * m) : size(dimsOf(out[0]));
  const y = new Float64Array(count);
  const a = new Float64Array(m * m);
  for (let b = 0; b < count; b++) {
    a.set(v.subarray(b * m * m, (b + 1) * m * m));
    let d = 1;
    for (let c = 0; c < m && d !== 0; c++) {
      let p = c;
      for (let i = c + 1; i < m; i++) if (Math.abs(a[i * m + c]) > Math.abs(a[p * m + c])) p = i;
      if (a[p * m + c] === 0) d = 0;
      else {
        if (p !== c) {
          for (let j = 0; j < m; j++) [a[c * m + j], a[p * m + j]] = [a[p * m + j], a[c * m + j]];
          d = -d;
        }
        d *= a[c * m + c];
        for (let i = c + 1; i < m; i++) {
          const f = a[i * m + c] / a[c * m + c];
          for (let j = c; j < m; j++) a[i * m + j] -= f * a[c * m + j];
        }
      }
    }
    y[b] = d;
  }
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};
