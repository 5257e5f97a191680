// Runtime tensors of the reference interpreter. float16 values live in Float32Arrays, already
// rounded to float16; every other dtype uses its natural typed array.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Constant, DataType } from '../ir/types.js';
import { fromHalfBits } from '../util/half.js';

export type RData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

export interface RTensor {
  dtype: DataType;
  dims: number[];
  data: RData;
}

export function size(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A zeroed tensor of the dtype. */
export function alloc(dtype: DataType, dims: number[]): RTensor {
  const n = size(dims);
  if (!Number.isSafeInteger(n) || n > 2 ** 31) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Tensor [${dims.join(', ')}] is too large for the reference interpreter`);
  return { dtype, dims, data: new (arrayType(dtype))(n) };
}

export function arrayType(dtype: DataType) {
  switch (dtype) {
    case 'float32':
    case 'float16':
      return Float32Array;
    case 'float64':
      return Float64Array;
    case 'int64':
      return BigInt64Array;
    case 'int32':
      return Int32Array;
    case 'int8':
      return Int8Array;
    case 'uint8':
    case 'bool':
      return Uint8Array;
  }
}

let halfTable: Float32Array | undefined;

/** float16 bits → float32 values through a 64K-entry table (built once from lib/util/half.ts). */
export function halfBitsToFloat(bits: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = fromHalfBits(h);
  }
  const t = halfTable;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}

const fromConstantCache = new WeakMap<Constant, RTensor>();

/** A constant as a runtime tensor (cached per constant, so weights are converted once). */
export function fromConstant(c: Constant): RTensor {
  let t = fromConstantCache.get(c);
  if (!t) {
    const data = c.dtype === 'float16' ? halfBitsToFloat(c.data as Uint16Array) : (c.data as RData);
    t = { dtype: c.dtype, dims: c.dims, data };
    fromConstantCache.set(c, t);
  }
  return t;
}

/** Elements as JS numbers (int64 through Number()). */
export function toNumbers(t: RTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** A float view of any tensor's values, as float64 for exact int handling. */
export function asFloat64(t: RTensor): Float64Array {
  if (t.data instanceof Float64Array) return t.data;
  const out = new Float64Array(t.data.length);
  if (t.data instanceof BigInt64Array) for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  else out.set(t.data as ArrayLike<number>);
  return out;
}

/** Writes float64 values into a tensor of the dtype (ints truncated toward zero, bool as 0/1). */
export function fromFloat64(dtype: DataType, dims: number[], v: Float64Array): RTensor {
  const t = alloc(dtype, dims);
  const d = t.data;
  if (d instanceof BigInt64Array) for (let i = 0; i < v.length; i++) d[i] = BigInt(Math.trunc(v[i]));
  else if (dtype === 'bool') for (let i = 0; i < v.length; i++) d[i] = v[i] ? 1 : 0;
  else if (dtype === 'float32' || dtype === 'float64' || dtype === 'float16') (d as Float32Array).set(v);
  else for (let i = 0; i < v.length; i++) (d as Int32Array)[i] = Math.trunc(v[i]);
  return t;
}

/** Rounds halves to even (ONNX's Round and QuantizeLinear, std::nearbyint); NaN and ±inf stay. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Element strides of `dims` broadcast onto `outDims` (0 where a dim broadcasts). */
export function bcastStrides(dims: number[], outDims: number[]): number[] {
  const r = outDims.length;
  const s = new Array(r).fill(0);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const o = r - dims.length + i;
    s[o] = dims[i] === 1 && outDims[o] !== 1 ? 0 : acc;
    acc *= dims[i];
  }
  return s;
}
