// State of one lowering: physical tensors, IR values bound to them with a layout, layers, weights.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { DTYPE_BYTES, type Constant, type DataType, type Dim, type Node, type TensorType } from '../ir/types.js';
import { DType } from '../native.js';
import { Op, type ProgramLayer, type ProgramTensor } from './program.js';
import { WeightsBlob, floatValues, type WeightDType } from './weights.js';

export type Layout = 'nhwc' | 'rowmajor';

/** An IR value as stored: a tensor id, its layout, and its logical shape per batch unit. */
export interface Val {
  tensor: number;
  layout: Layout;
  dtype: DataType;
  /** Logical (ONNX) shape with the batch dim as 1 when `batched`. */
  shape: number[];
  batched: boolean;
}

export function nativeDType(t: DataType): number {
  if (t === 'float64') throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, 'float64 tensors are not supported by the builtin backend');
  return DType[t];
}

export const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

/** Row-major strides of a shape. */
export function rowStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** NHWC physical order of a rank-4 logical NCHW shape. */
export const NHWC = [0, 2, 3, 1];

/** Physical order (logical axes from outermost to innermost) of a value. */
export function physicalOrder(v: { layout: Layout; shape: number[] }): number[] {
  return v.layout === 'nhwc' && v.shape.length === 4 ? NHWC : v.shape.map((_, i) => i);
}

/** Element strides of each logical axis given the value's layout. */
export function logicalStrides(v: { layout: Layout; shape: number[] }): number[] {
  const order = physicalOrder(v);
  const phys = order.map((a) => v.shape[a]);
  const ps = rowStrides(phys);
  const out = new Array<number>(v.shape.length);
  order.forEach((axis, i) => (out[axis] = ps[i]));
  return out;
}

/** NHWC and row-major coincide when H·W = 1 or C = 1. */
export function layoutsCoincide(shape: number[]): boolean {
  return shape.length !== 4 || shape[2] * shape[3] === 1 || shape[1] === 1;
}

export class LowerContext {
  readonly tensors: ProgramTensor[] = [];
  readonly layers: ProgramLayer[] = [];
  readonly weights = new WeightsBlob();
  readonly values = new Map<string, Val>();
  readonly batchSymbol: string | null;
  /** The graph being lowered; read only (derived constants and types live in this context). */
  readonly graph: Graph;
  /** Conversions already made: `${tensor}:${from layout}:${to layout}:${dtype}:${shape}` → value. */
  readonly #conversions = new Map<string, Val>();
  /** Constants and value types a lowering derives (e.g. BatchNormalization's folded scale and shift). */
  readonly #constants = new Map<string, Constant>();
  readonly #types = new Map<string, TensorType>();

  /** Int values shape inference knows, and which of them are usable as constants (the same at every batch). */
  readonly #known: Map<string, Dim[]>;
  readonly #knownConst: Set<string>;

  constructor(graph: Graph, batchSymbol: string | null, known = new Map<string, Dim[]>(), knownConst = new Set<string>()) {
    this.graph = graph;
    this.batchSymbol = batchSymbol;
    this.#known = known;
    this.#knownConst = knownConst;
  }

  #readers?: Map<string, number>;
  /** How many nodes read IR value `name` (a graph output counts as one more). */
  readers(name: string): number {
    if (!this.#readers) {
      const m = new Map<string, number>();
      for (const n of this.graph.nodes) for (const i of new Set(n.inputs)) if (i) m.set(i, (m.get(i) ?? 0) + 1);
      for (const o of this.graph.outputs) m.set(o.name, (m.get(o.name) ?? 0) + 1);
      this.#readers = m;
    }
    return this.#readers.get(name) ?? 0;
  }

  /** Whether `name` is a constant (an initializer, a derived constant or an int value the shapes determine). */
  isConstant(name: string): boolean {
    return this.constant(name) !== undefined;
  }

  unsupported(node: Node, why: string): never {
    throw new TensorRTError(
      ErrorCode.UNSUPPORTED_OP,
      `Operator '${node.op}' (node '${node.name}') is not supported by the builtin backend: ${why}`,
    );
  }

  /** A value's type from shape inference, as a per-unit shape. */
  typeOf(name: string, node?: Node): { dtype: DataType; shape: number[]; batched: boolean } {
    const t = this.#types.get(name) ?? this.graph.types.get(name);
    if (!t) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Value '${name}' has no inferred type`);
    const batched = this.batchSymbol !== null && t.shape.length > 0 && t.shape[0] === this.batchSymbol;
    const shape = t.shape.map((d, i) => {
      if (i === 0 && batched) return 1;
      if (typeof d !== 'number') this.dynamicDim(name, d, i, node);
      return d;
    });
    return { dtype: t.dtype, shape, batched };
  }

  /** ERR_UNSUPPORTED_OP naming the input (and axis) the symbolic dimension `d` comes from, and how to pin it. */
  dynamicDim(name: string, d: Dim, axis: number, node?: Node): never {
    const where = node ? ` (node '${node.name}', ${node.op})` : '';
    const sources = this.graph.inputs.flatMap((i) =>
      i.type.shape.flatMap((s, k) => (typeof s === 'string' && String(d).split(/[^A-Za-z0-9_]+/).includes(s) ? [`input '${i.name}' dimension ${k} ('${s}')`] : [])),
    );
    const from = sources.length ? `; it comes from ${sources.join(' and ')}: pin it in \`shapes\` with min == max` : '';
    throw new TensorRTError(
      ErrorCode.UNSUPPORTED_OP,
      `Value '${name}'${where} has dynamic dimension '${d}' at axis ${axis}; the builtin backend keeps only the batch dynamic${from}`,
    );
  }

  newTensor(name: string, dtype: DataType, shape: number[], batched: boolean, layout: Layout): number {
    this.tensors.push({
      dtype: nativeDType(dtype),
      loc: 0,
      batched,
      offset: 0,
      bytes: prod(shape) * DTYPE_BYTES[dtype],
      name,
      shape: physicalOrder({ layout, shape }).map((a) => shape[a]),
      layout,
    });
    return this.tensors.length - 1;
  }

  /** A new value for IR name `name` with a fresh tensor. */
  define(name: string, dtype: DataType, shape: number[], batched: boolean, layout: Layout): Val {
    const layoutHere: Layout = shape.length === 4 ? layout : 'rowmajor';
    const v: Val = { tensor: this.newTensor(name, dtype, shape, batched, layoutHere), layout: layoutHere, dtype, shape, batched };
    this.values.set(name, v);
    return v;
  }

  /** Binds IR name `name` to an existing value (a view: same bytes, maybe another logical shape). */
  alias(name: string, v: Val): Val {
    this.values.set(name, v);
    return v;
  }

  emit(name: string, op: keyof typeof Op, inputs: number[], outputs: number[], params: ProgramLayer['params'], batched: boolean): void {
    this.layers.push({ name, op: Op[op], inputs, outputs, params, batched });
  }

  constant(name: string): Constant | undefined {
    const c = this.#constants.get(name) ?? this.graph.initializers.get(name);
    if (c || !this.#knownConst.has(name)) return c;
    const v = this.#known.get(name) as number[];
    const t = this.graph.types.get(name);
    if (!t || t.shape.some((d) => typeof d !== 'number')) return undefined;
    const data = t.dtype === 'int64' ? BigInt64Array.from(v, (x) => BigInt(x)) : t.dtype === 'int32' ? Int32Array.from(v)
      : t.dtype === 'bool' ? Uint8Array.from(v) : t.dtype === 'float32' ? Float32Array.from(v) : undefined;
    if (!data) return undefined;
    return this.addConstant({ name, dtype: t.dtype, dims: t.shape as number[], data });
  }

  /** Declares a constant a lowering derives, readable through constant() and value() like an initializer. */
  addConstant(c: Constant): Constant {
    this.#constants.set(c.name, c);
    return c;
  }

  /** Declares the type of an intermediate value a lowering introduces. */
  addType(name: string, type: TensorType): void {
    this.#types.set(name, type);
  }

  /** The value of IR name `name`; constants become weight tensors in `dtype`. */
  value(name: string, node: Node, dtype?: DataType): Val {
    const v = this.values.get(name);
    if (v) return v;
    const c = this.constant(name);
    if (!c) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Node '${node.name}' reads '${name}', which nothing produces`);
    return this.weightValue(c, dtype ?? c.dtype, node);
  }

  /** A constant as a weights tensor (row-major), converted to `dtype`. */
  weightValue(c: Constant, dtype: DataType, node: Node): Val {
    const storage: WeightDType | null = dtype === 'float32' || dtype === 'float16' ? dtype : null;
    let entry;
    if (storage) {
      entry = this.weights.addPacked(c.name, c.data, () => floatValues(c.dtype, c.data), storage);
    } else {
      if (dtype !== c.dtype) this.unsupported(node, `constant '${c.name}' of type ${c.dtype} used as ${dtype}`);
      entry = this.weights.addRaw(c.name, new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength));
    }
    this.tensors.push({
      dtype: nativeDType(dtype),
      loc: 1,
      batched: false,
      offset: entry.offset,
      bytes: entry.bytes,
      name: c.name,
      shape: [...c.dims],
      layout: 'rowmajor',
    });
    return { tensor: this.tensors.length - 1, layout: 'rowmajor', dtype, shape: [...c.dims], batched: false };
  }

  /**
   * Packs transformed float weights (conv filters, biases) as a weights tensor. With `source` (the constant data they
   * are computed from), `values` may be a function, called only when that source was not packed under `key` before.
   */
  packWeights(key: string, values: Float32Array | (() => Float32Array), dtype: 'float32' | 'float16', shape: number[], source?: object): number {
    const entry = source && typeof values === 'function'
      ? this.weights.addPacked(key, source, values, dtype)
      : this.weights.add(key, typeof values === 'function' ? values() : values, dtype);
    this.tensors.push({ dtype: nativeDType(dtype), loc: 1, batched: false, offset: entry.offset, bytes: entry.bytes, name: key, shape, layout: 'rowmajor' });
    return this.tensors.length - 1;
  }

  /**
   * `v` in `layout` (and `dtype`): the same tensor when the bytes already match, else a copy layer
   * (one strided-copy kernel that permutes and converts at once).
   */
  convert(v: Val, layout: Layout, dtype: DataType = v.dtype, label = 'convert'): Val {
    const want: Layout = v.shape.length === 4 ? layout : 'rowmajor';
    if (dtype === v.dtype && (want === v.layout || layoutsCoincide(v.shape))) return { ...v, layout: want };
    // The source layout is part of the key: two values may share a tensor and a shape with different layouts (an
    // NHWC tensor and the transpose aliased to its row-major bytes when C = H = W).
    const key = `${v.tensor}:${v.layout}:${want}:${dtype}:${v.shape.join('x')}`;
    const hit = this.#conversions.get(key);
    if (hit) return hit;
    const out: Val = { ...v, dtype, layout: want, tensor: this.newTensor(`${this.tensors[v.tensor].name}:${want}`, dtype, v.shape, v.batched, want) };
    this.copyLayer(`${label}(${this.tensors[v.tensor].name})`, v, out, v.shape.map(() => 0));
    this.#conversions.set(key, out);
    return out;
  }

  /**
   * Copies `src` into `dst` at logical offset `at` (per axis), iterating in dst's physical order.
   * Shapes: src.shape is the extent copied.
   */
  copyLayer(name: string, src: Val, dst: Val, at: number[]): void {
    const order = physicalOrder(dst);
    const xsL = logicalStrides(src);
    const ysL = logicalStrides(dst);
    const dims = order.map((a) => src.shape[a]);
    const xs = order.map((a) => xsL[a]);
    const ys = order.map((a) => ysL[a]);
    const yoff = at.reduce((acc, o, a) => acc + o * ysL[a], 0);
    this.emit(name, 'copy', [src.tensor], [dst.tensor], { dims, xs, ys, xoff: 0, yoff }, src.batched || dst.batched);
  }
}
