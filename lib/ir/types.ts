// The graph IR's value types: the contract between the ONNX reader, the optimizer, the CPU
// reference and both GPU backends.

export type DataType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** A dimension: a number, or a symbol for a dynamic one (e.g. 'batch'). */
export type Dim = number | string;

export interface TensorType {
  dtype: DataType;
  shape: Dim[];
}

/** Typed-array storage of a constant; float16 is kept as its raw bits in a Uint16Array, bool as 0/1 bytes. */
export type ConstantData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

/** An initializer or folded value. Treat `data` as immutable: passes make new constants instead of editing one. */
export interface Constant {
  name: string;
  dtype: DataType;
  dims: number[];
  data: ConstantData;
}

/**
 * An attribute value: INT and FLOAT become numbers, INTS/FLOATS number arrays, STRING a string,
 * STRINGS a string array, TENSOR a Constant. Which numeric attributes are floats is fixed per op
 * (see FLOAT_ATTRS in attrs.ts), so a graph can be written back without a side table.
 */
export type AttrValue = number | string | number[] | string[] | Constant;

export interface Node {
  name: string;
  op: string;
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  type: TensorType;
}

/** The domain of the fused operators the optimizer emits. */
export const FUSED_DOMAIN = 'ai.node-tensorrt';

export const DATA_TYPES: readonly DataType[] = ['float32', 'float16', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool'];

/** Bytes per element as stored in a Constant / ONNX raw_data. */
export const DTYPE_BYTES: Record<DataType, number> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function isFloat(t: DataType): boolean {
  return t === 'float32' || t === 'float16' || t === 'float64';
}

export function isInt(t: DataType): boolean {
  return t === 'int64' || t === 'int32' || t === 'int8' || t === 'uint8';
}

/** The typed-array class that holds a constant of this dtype. */
export function constantArrayType(t: DataType) {
  switch (t) {
    case 'float32':
      return Float32Array;
    case 'float16':
      return Uint16Array;
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

/** Product of static dims; NaN if any is symbolic. */
export function numel(shape: readonly Dim[]): number {
  let n = 1;
  for (const d of shape) n *= typeof d === 'number' ? d : NaN;
  return n;
}

export function shapeToString(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}
