// Helpers shared by the optimizer passes.
import type { Graph } from '../ir/graph.js';
import type { Constant, Node } from '../ir/types.js';
import type { RTensor } from '../reference/tensor.js';
import { fromConstant } from '../reference/tensor.js';
import { float32ToHalf } from '../util/half.js';

/** A runtime tensor as a Constant (float16 back to its bits). */
export function toConstant(name: string, t: RTensor): Constant {
  const data = t.dtype === 'float16' ? float32ToHalf(t.data as Float32Array) : t.dtype === 'float32' && !(t.data instanceof Float32Array) ? Float32Array.from(t.data as ArrayLike<number>) : t.data;
  return { name, dtype: t.dtype, dims: [...t.dims], data };
}

/** The float values of a float constant (float16 decoded). */
export function floatValues(c: Constant): Float32Array {
  return fromConstant(c).data as Float32Array;
}

/** A float constant of the same dtype as `like`, from float32 values. */
export function floatConstant(name: string, like: Constant['dtype'], dims: number[], values: Float32Array): Constant {
  if (like === 'float16') return { name, dtype: 'float16', dims, data: float32ToHalf(values) };
  if (like === 'float64') return { name, dtype: 'float64', dims, data: Float64Array.from(values) };
  return { name, dtype: 'float32', dims, data: values };
}

/** Replaces every read of `from` with `to` (graph outputs excluded). */
export function replaceUses(g: Graph, from: string, to: string): void {
  for (const n of g.nodes) for (let i = 0; i < n.inputs.length; i++) if (n.inputs[i] === from) n.inputs[i] = to;
}

/**
 * Removes nodes none of whose outputs is read or is a graph output, then unused initializers.
 * @example
 * eliminateDeadNodes(g); // drops e.g. a Shape chain that constant folding made redundant
 */
export function eliminateDeadNodes(g: Graph): void {
  const live = new Set(g.outputs.map((o) => o.name));
  const keep: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => o && live.has(o))) {
      keep.push(n);
      for (const inp of n.inputs) if (inp) live.add(inp);
    }
  }
  g.nodes = keep.reverse();
  for (const name of [...g.initializers.keys()]) if (!live.has(name)) g.initializers.delete(name);
  for (const name of [...g.types.keys()]) if (!live.has(name) && !g.inputs.some((i) => i.name === name)) g.types.delete(name);
}

/** The constant behind a value, if it is an initializer. */
export function constantOf(g: Graph, name: string): Constant | undefined {
  return name ? g.initializers.get(name) : undefined;
}

/** Adds an initializer under a fresh name derived from `base`, with its type. */
export function addConstant(g: Graph, base: string, c: Omit<Constant, 'name'>): string {
  const name = g.uniqueName(base);
  g.initializers.set(name, { ...c, name });
  g.types.set(name, { dtype: c.dtype, shape: [...c.dims] });
  return name;
}

/**
 * Per-channel values of a float constant that broadcasts over a rank-`rank` [N, M, …] tensor along
 * M only ([M, 1, 1], [1, M, 1, 1], a scalar, …); undefined for any other shape.
 */
export function perChannel(g: Graph, name: string, rank: number, m: number): Float32Array | undefined {
  const c = g.initializers.get(name);
  if (!c || c.dims.length > rank || !(c.dtype === 'float32' || c.dtype === 'float16')) return undefined;
  const dims = [...new Array(rank - c.dims.length).fill(1), ...c.dims];
  if (dims.some((d, i) => d !== 1 && i !== 1) || (dims[1] !== 1 && dims[1] !== m)) return undefined;
  const v = floatValues(c);
  return dims[1] === m ? v : new Float32Array(m).fill(v[0]);
}
