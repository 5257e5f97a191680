// Emitting a node's replacement for the builtin-only rewrites (decompose.ts, rnn-unroll.ts).
import { scalarConstant } from '../ir/fused.js';
import { axesInputSince } from '../ir/rules-reduce.js';
import type { Graph } from '../ir/graph.js';
import type { DataType, Node } from '../ir/types.js';
import { fromConstant, toNumbers } from '../reference/tensor.js';
import { addConstant, constantOf, floatConstant } from './util.js';

/** Why a node stays as it is: the builtin backend then names it as unsupported. */
export class Unfit extends Error {}

export { axesInputSince } from '../ir/rules-reduce.js';

/** Emits a node's replacement: fresh names, scalar constants in the node's dtype, the last value as its output. */
export class Builder {
  readonly nodes: Node[] = [];
  readonly dtype: DataType;
  #serial = 0;
  constructor(readonly g: Graph, readonly n: Node, readonly finiteMax = 3.4028234663852886e38) {
    this.dtype = g.typeOf(n.inputs[0]).dtype;
  }
  /** The engine computes this node in float16 (its largest finite value is float16's). */
  get half(): boolean {
    return this.finiteMax === 65504;
  }
  op(op: string, inputs: string[], attrs: Node['attrs'] = {}): string {
    const y = this.g.uniqueName(`${this.n.name}_${this.#serial++}`);
    this.nodes.push({ name: this.g.uniqueName(`${this.n.name}_${op.toLowerCase()}`), op, domain: '', inputs, outputs: [y], attrs });
    return y;
  }
  /** A scalar constant of the node's float type (or `dtype`). */
  scalar(value: number, dtype: DataType = this.dtype): string {
    const name = this.g.uniqueName(`${this.n.name}_k`);
    this.g.initializers.set(name, scalarConstant(name, dtype, value));
    this.g.types.set(name, { dtype: this.g.initializers.get(name)!.dtype, shape: [] });
    return name;
  }
  /** The values of constant input `name` as numbers (Unfit where it is absent or not a constant). */
  constNumbers(name: string): number[] {
    const c = name ? constantOf(this.g, name) : undefined;
    if (!c) throw new Unfit();
    return toNumbers(fromConstant(c));
  }
  /** A 1-D int64 constant (a Reshape's shape, a Slice's starts, an Expand's sizes). */
  ints(values: number[]): string {
    return addConstant(this.g, `${this.n.name}_ints`, { dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values, BigInt) });
  }
  /** c[0] + x·(c[1] + x·(…)) for a float tensor x: a polynomial by Horner's rule. */
  horner(x: string, c: number[]): string {
    let acc = this.scalar(c[c.length - 1]);
    for (let i = c.length - 2; i >= 0; i--) acc = this.op('Add', [this.op('Mul', [acc, x]), this.scalar(c[i])]);
    return acc;
  }
  /** Makes `v` (the last value emitted) the node's output. */
  done(v: string): void {
    const last = this.nodes[this.nodes.length - 1];
    if (!last || last.outputs[0] !== v) throw new Error(`decompose: '${v}' is not the last value of ${this.n.name}`);
    last.outputs[0] = this.n.outputs[0];
  }
  /** As done, with an Identity when `v` is not a value this replacement made (a rewrite that is a no-op). */
  finish(v: string): void {
    const last = this.nodes[this.nodes.length - 1];
    this.done(last && last.outputs[0] === v ? v : this.op('Identity', [v]));
  }
  /**
   * Reduction `op` over `axes` (undefined: all) in the graph's opset form. Dropping reduced axes is a Squeeze after a
   * reduction that keeps them: the builtin backend reduces any axes of a tensor that keeps its rank.
   */
  reduceDropping(op: string, x: string, axes: number[] | undefined, keepdims: number): string {
    if (axes === undefined || keepdims) return this.reduce(op, x, axes, keepdims);
    return this.squeeze(this.reduce(op, x, axes, 1), axes);
  }
  unsqueeze(x: string, axes: number[]): string {
    return this.g.opset >= 13 ? this.op('Unsqueeze', [x, this.int64s('axes', axes)]) : this.op('Unsqueeze', [x], { axes });
  }
  squeeze(x: string, axes: number[]): string {
    return this.g.opset >= 13 ? this.op('Squeeze', [x, this.int64s('axes', axes)]) : this.op('Squeeze', [x], { axes });
  }
  int64s(base: string, v: number[]): string {
    return addConstant(this.g, `${this.n.name}_${base}`, { dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v, (x) => BigInt(x)) });
  }
  floats(base: string, dims: number[], v: Float32Array, dtype: DataType = this.dtype): string {
    const name = this.g.uniqueName(`${this.n.name}_${base}`);
    this.g.initializers.set(name, floatConstant(name, dtype, dims, v));
    this.g.types.set(name, { dtype: this.g.initializers.get(name)!.dtype, shape: [...dims] });
    return name;
  }
  reduce(op: string, x: string, axes: number[] | undefined, keepdims: number): string {
    if (axes === undefined) return this.op(op, [x], { keepdims });
    return this.g.opset >= axesInputSince(op) ? this.op(op, [x, this.int64s('axes', axes)], { keepdims }) : this.op(op, [x], { axes, keepdims });
  }
}

/** Unfit unless the node computes in float32 or float16. */
export const float = (b: Builder) => {
  if (b.dtype !== 'float32' && b.dtype !== 'float16') throw new Unfit();
};
