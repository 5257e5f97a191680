// I/O tensor helpers shared by the API classes: typed-array types and per-sample sizes.
import { ErrorCode, TensorRTError } from './errors.js';
import type { Dim, TensorDType, TensorInfo } from './types.js';

export type TypedArray = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;
type Ctor = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray; new (length: number): TypedArray; BYTES_PER_ELEMENT: number; name: string };

const CTORS: Record<TensorDType, Ctor> = {
  float32: Float32Array as unknown as Ctor,
  float16: Uint16Array as unknown as Ctor,
  int32: Int32Array as unknown as Ctor,
  int64: BigInt64Array as unknown as Ctor,
  uint8: Uint8Array as unknown as Ctor,
  int8: Int8Array as unknown as Ctor,
  bool: Uint8Array as unknown as Ctor,
};
const NATIVE: TensorDType[] = ['float32', 'float16', 'int32', 'int64', 'uint8', 'int8', 'bool'];

/** The typed-array class JS uses for a tensor dtype (float16 as raw Uint16Array bits). */
export function arrayTypeFor(dtype: TensorDType): Ctor {
  return CTORS[dtype];
}

/** lib/native.ts DType number → name. */
export function dtypeFromNative(n: number): TensorDType {
  const t = NATIVE[n];
  if (!t) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Unknown tensor dtype ${n}`);
  return t;
}

/** Elements per batch row: the product of every dimension but the first (the batch). */
export function rowElements(shape: Dim[]): number {
  let n = 1;
  for (let i = 1; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number') throw new TensorRTError(ErrorCode.SHAPE_MISMATCH, `Only the first dimension may be dynamic; got shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Whether the first dimension is the dynamic batch. */
export function hasDynamicBatch(info: TensorInfo): boolean {
  return info.shape.length > 0 && typeof info.shape[0] === 'string';
}
