// FusedAttention back to standard ONNX (for writeModel and any consumer of plain graphs):
// MatMul(Q, Kᵀ) → Mul(scale) → (Add mask) → Softmax → Where(IsNaN(P), 0, P) → MatMul(·, V).
import { attrFloat } from './attrs.js';
import { scalarConstant } from './fused.js';
import type { Graph } from './graph.js';
import type { DataType, Node } from './types.js';

/** Standard nodes equivalent to one FusedAttention node (the guard keeps fully masked rows at zero). */
export function decomposeAttention(g: Graph, node: Node): Node[] {
  const [q, kt, v, mask] = node.inputs;
  const y = node.outputs[0];
  const tq = g.types.get(q);
  const tk = g.types.get(kt);
  const dtype: DataType = tq?.dtype ?? 'float32';
  const scores = tq && tk ? [...tq.shape.slice(0, -1), tk.shape[tk.shape.length - 1]] : [];
  const k = (value: number) => {
    const name = g.uniqueName(`${node.name}_k`);
    g.initializers.set(name, scalarConstant(name, dtype, value));
    g.types.set(name, { dtype, shape: [] });
    return name;
  };
  const out: Node[] = [];
  const step = (op: string, inputs: string[], attrs: Node['attrs'] = {}, type: DataType = dtype, last = false): string => {
    const o = last ? y : g.uniqueName(`${node.name}_${op.toLowerCase()}`);
    out.push({ name: g.uniqueName(`${node.name}_${op.toLowerCase()}`), op, domain: '', inputs, outputs: [o], attrs });
    if (!last) g.types.set(o, { dtype: type, shape: [...scores] });
    return o;
  };
  let s = step('Mul', [step('MatMul', [q, kt]), k(attrFloat(node, 'scale', 1))]);
  if (mask) s = step('Add', [s, mask]);
  const p = step('Softmax', [s], { axis: -1 });
  const guarded = step('Where', [step('IsNaN', [p], {}, 'bool'), k(0), p]);
  step('MatMul', [guarded, v], {}, dtype, true);
  return out;
}
