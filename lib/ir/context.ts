// The per-node view that shape-inference rules work on, with coded error helpers.
import { ErrorCode, TensorRTError } from '../errors.js';
import { allStatic } from './dims.js';
import { isFloat, shapeToString, type DataType, type Dim, type Node, type TensorType } from './types.js';

/** Int tensors up to this many elements carry their (possibly symbolic) values through inference. */
export const MAX_VALUE_ELEMENTS = 1024;
/** Float tensors up to this many elements carry their values (scales, thresholds) through inference. */
export const MAX_FLOAT_VALUES = 16;

export interface InferResult {
  types: TensorType[];
  /** Known values of int outputs (flattened), e.g. a Shape's [batch, 3, 224, 224]. */
  values?: (Dim[] | undefined)[];
}

/**
 * One node with its input types and known int values, as shape rules see it.
 * @example
 * const ctx = new NodeContext(node, 17, [{ dtype: 'float32', shape: [1, 3, 8, 8] }], []); ctx.float(0);
 */
export class NodeContext {
  constructor(
    readonly node: Node,
    readonly opset: number,
    readonly inputs: (TensorType | undefined)[],
    readonly values: (Dim[] | undefined)[],
    /** Known values of small float inputs (Resize scales, NMS thresholds), where constant. */
    readonly floats: (number[] | undefined)[] = [],
  ) {}

  get op(): string {
    return this.node.op;
  }

  /** A required input's type. */
  input(i: number): TensorType {
    const t = this.inputs[i];
    if (!t) this.invalid(`input ${i} is required`);
    return t;
  }

  /** A required float input (float32/float16/float64). */
  float(i: number): TensorType {
    const t = this.input(i);
    if (!isFloat(t.dtype)) this.invalid(`input ${i} ('${this.node.inputs[i]}') must be a float tensor, got ${t.dtype}`);
    return t;
  }

  has(i: number): boolean {
    return this.inputs[i] !== undefined;
  }

  /** Requires inputs i.. to share input 0's dtype. */
  sameDtype(...idx: number[]): DataType {
    const dt = this.input(idx[0]).dtype;
    for (const i of idx.slice(1)) {
      const t = this.inputs[i];
      if (t && t.dtype !== dt) this.invalid(`input ${i} ('${this.node.inputs[i]}') is ${t.dtype} but input ${idx[0]} is ${dt}`);
    }
    return dt;
  }

  /** The known integer values of input i, which must be static numbers (e.g. Reshape's target, Pad's pads). */
  ints(i: number, what: string): number[] {
    const v = this.values[i];
    if (!v) this.unsupported(`${what} ('${this.node.inputs[i]}') must be a constant or computable from static shapes`);
    if (!allStatic(v)) this.unsupported(`${what} depends on the dynamic dimension(s) ${[...new Set(v.filter((d) => typeof d === 'string'))].join(', ')}`);
    return v;
  }

  /** The known values of float input i (a constant or a float Constant node), or undefined. */
  floatValues(i: number): number[] | undefined {
    return this.floats[i];
  }

  /** The known (possibly symbolic) values of input i. */
  dims(i: number, what: string): Dim[] {
    const v = this.values[i];
    if (!v) this.unsupported(`${what} ('${this.node.inputs[i]}') must be a constant or computable from static shapes`);
    return v;
  }

  /** The input's spatial dims (after batch and channel) as numbers. */
  staticSpatial(i: number): number[] {
    const s = this.input(i).shape.slice(2);
    if (!allStatic(s)) this.unsupported(`dynamic spatial dimensions ${shapeToString(this.input(i).shape)}; export the model with a fixed input size`);
    return s;
  }

  rank(i: number, ...ranks: number[]): TensorType {
    const t = this.input(i);
    if (!ranks.includes(t.shape.length)) {
      this.mismatch(`input ${i} ('${this.node.inputs[i]}') must have rank ${ranks.join(' or ')}, got ${shapeToString(t.shape)}`);
    }
    return t;
  }

  private where(): string {
    return `node '${this.node.name}' (${this.node.op})`;
  }

  mismatch(msg: string): never {
    throw new TensorRTError(ErrorCode.SHAPE_MISMATCH, `Shape mismatch at ${this.where()}: ${msg}`);
  }

  invalid(msg: string): never {
    throw new TensorRTError(ErrorCode.INVALID_MODEL, `Invalid ${this.where()}: ${msg}`);
  }

  unsupported(msg: string): never {
    throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, `Unsupported operator '${this.node.op}' (node '${this.node.name}') at opset ${this.opset}: ${msg}`);
  }
}
