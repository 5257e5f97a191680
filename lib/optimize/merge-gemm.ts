// Horizontal GEMM fusion, as TensorRT merges a transformer's parallel projections: MatMuls that read the same
// activation with constant [K, Nᵢ] weights, each followed by its own constant bias Add (BERT's query, key and value),
// become one MatMul on the weights concatenated along N and one bias Add; a Slice on the last axis gives each
// projection back under its old name. One GEMM runs instead of three, and the attention layer reads its operands
// straight out of the merged output (lib/builtin/lower/view.ts), so the Slices cost nothing there.
import type { Graph } from '../ir/graph.js';
import type { Constant, Node } from '../ir/types.js';
import { addConstant, floatConstant, floatValues } from './util.js';
import { SourceMemo } from '../util/memo.js';

const isDefault = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

interface Branch {
  matmul: Node;
  add: Node;
  weights: Float32Array;
  bias: Float32Array;
  n: number;
}

/**
 * Merged weights and bias by the first projection's weight data and the group's inputs: the same source graph is
 * optimized at several values of a dynamic dim, and one merged copy lets lowering reuse what it packed from it.
 */
const merged = new SourceMemo<{ w: Constant; bias: Constant }>();

function concatenated(group: Branch[], k: number, total: number, w0: Constant): { w: Constant; bias: Constant } {
  const key = group.map((b) => `${b.matmul.inputs[1]}+${b.add.inputs.join(',')}`).join('|');
  return merged.get(w0.data, key, () => concatenate(group, k, total, w0));
}

function concatenate(group: Branch[], k: number, total: number, w0: Constant): { w: Constant; bias: Constant } {
  const w = new Float32Array(k * total);
  const bias = new Float32Array(total);
  let off = 0;
  for (const b of group) {
    for (let r = 0; r < k; r++) w.set(b.weights.subarray(r * b.n, (r + 1) * b.n), r * total + off);
    bias.set(b.bias, off);
    off += b.n;
  }
  return { w: floatConstant('', w0.dtype, [k, total], w), bias: floatConstant('', w0.dtype, [total], bias) };
}

/** The projection `m` as a branch: constant [K, N] weights, one reader, an Add of a constant [N] bias. */
function branchOf(g: Graph, m: Node, readers: Map<string, Node[]>, outputs: Set<string>): Branch | undefined {
  const w = g.initializers.get(m.inputs[1]);
  if (!w || w.dims.length !== 2 || (w.dtype !== 'float32' && w.dtype !== 'float16')) return undefined;
  const y = m.outputs[0];
  const r = readers.get(y) ?? [];
  if (outputs.has(y) || r.length !== 1 || r[0].op !== 'Add' || !isDefault(r[0])) return undefined;
  const add = r[0];
  const other = add.inputs[0] === y ? add.inputs[1] : add.inputs[0];
  const b: Constant | undefined = g.initializers.get(other);
  if (add.inputs[0] === add.inputs[1] || !b || b.dtype !== w.dtype || b.dims.length !== 1 || b.dims[0] !== w.dims[1]) return undefined;
  return { matmul: m, add, weights: floatValues(w), bias: floatValues(b), n: w.dims[1] };
}

/**
 * Merges parallel biased projections of one activation into a single MatMul + Add + Slices; returns how many
 * groups it merged.
 * @example mergeParallelGemms(g); // BERT: 12 × (query, key, value) → 12 GEMMs of N = 2304
 */
export function mergeParallelGemms(g: Graph): number {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of new Set(n.inputs)) if (i) (readers.get(i) ?? readers.set(i, []).get(i)!).push(n);
  const outputs = new Set(g.outputs.map((o) => o.name));
  let merged = 0;
  for (const [x, rs] of readers) {
    if (g.initializers.has(x)) continue;
    const xt = g.types.get(x);
    if (!xt || xt.shape.length < 2) continue;
    const branches = rs
      .filter((n) => n.op === 'MatMul' && isDefault(n) && n.inputs[0] === x && n.inputs[1] !== x)
      .map((m) => branchOf(g, m, readers, outputs))
      .filter((b): b is Branch => !!b);
    if (branches.length < 2) continue;
    const w0 = g.initializers.get(branches[0].matmul.inputs[1])!;
    const [k] = w0.dims;
    const group = branches.filter((b) => {
      const w = g.initializers.get(b.matmul.inputs[1])!;
      return w.dims[0] === k && w.dtype === w0.dtype;
    });
    if (group.length < 2) continue;
    const total = group.reduce((a, b) => a + b.n, 0);
    const { w, bias } = concatenated(group, k, total, w0);
    const base = group[0].matmul.name;
    const wName = addConstant(g, `${base}:merged_weights`, w);
    const bName = addConstant(g, `${base}:merged_bias`, bias);
    const yName = g.uniqueName(`${base}:merged`);
    const zName = g.uniqueName(`${base}:merged_biased`);
    const shape = [...xt.shape.slice(0, -1), total];
    g.types.set(yName, { dtype: xt.dtype, shape });
    g.types.set(zName, { dtype: xt.dtype, shape });
    const nodes: Node[] = [
      { name: `${base}:merged`, op: 'MatMul', domain: '', inputs: [x, wName], outputs: [yName], attrs: {} },
      { name: `${base}:merged_bias`, op: 'Add', domain: '', inputs: [yName, bName], outputs: [zName], attrs: {} },
    ];
    let off = 0;
    for (const b of group) {
      const name = `${b.add.name}:slice`;
      if (g.opset >= 10) {
        const int64 = (v: number) => addConstant(g, `${name}_${v}`, { dtype: 'int64', dims: [1], data: BigInt64Array.of(BigInt(v)) });
        nodes.push({ name, op: 'Slice', domain: '', inputs: [zName, int64(off), int64(off + b.n), int64(shape.length - 1)], outputs: [b.add.outputs[0]], attrs: {} });
      } else {
        nodes.push({ name, op: 'Slice', domain: '', inputs: [zName], outputs: [b.add.outputs[0]], attrs: { starts: [off], ends: [off + b.n], axes: [shape.length - 1] } });
      }
      off += b.n;
    }
    const drop = new Set(group.flatMap((b) => [b.matmul, b.add]));
    const at = g.nodes.indexOf(group[0].matmul);
    g.nodes = [...g.nodes.slice(0, at).filter((n) => !drop.has(n)), ...nodes, ...g.nodes.slice(at).filter((n) => !drop.has(n))];
    for (const b of group) g.types.delete(b.matmul.outputs[0]);
    merged++;
  }
  return merged;
}
