// Constants kept at the shape they are defined at, where a broadcasting consumer makes the expansion redundant.
// BERT's embeddings add three tables: Gather(word, input_ids) + Gather(token_type, Expand(zeros[1, s], [b, s])) +
// position[1, s, e]. The token-type lookup reads a constant table at constant ids, expanded over the batch only, and
// the Add broadcasts anyway: it is the constant [1, s, e] (folded), and the two constant addends become one. Two
// layers (a gather and an add) and a copy leave the program.
//
// Rules, each checked against the consumer's output shape so nothing the graph computes changes shape:
//   - Gather(data, Expand(ids, shape)) with constant data and ids, read by an element-wise Add/Sub/Mul/Div whose
//     other operand already has the output's shape → that operand with Gather(data, ids), folded to a constant (a
//     lookup of at most 2^20 elements);
//   - Add(Add(x, c1), c2) with constants c1, c2 and the inner Add read once → Add(x, c1 + c2), folded (when c1 + c2
//     is no larger than the larger of them). The additions regroup, as TensorRT regroups constant additions: the
//     result differs from the source graph's by rounding.
import type { Graph } from '../ir/graph.js';
import { broadcast } from '../ir/dims.js';
import { numel, type Dim, type Node } from '../ir/types.js';
import { foldConstants, MAX_GROWN_ELEMENTS } from './fold.js';
import { constantOf, eliminateDeadNodes } from './util.js';

const BROADCASTING = new Set(['Add', 'Sub', 'Mul', 'Div']);

/** Numpy broadcast of two shapes (ir/dims.ts), or undefined when they are not provably compatible. */
function broadcastTo(a: Dim[], b: Dim[]): Dim[] | undefined {
  const out = broadcast(a, b);
  return typeof out === 'string' ? undefined : out;
}

const same = (a: Dim[] | undefined, b: Dim[] | undefined) => !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Applies the rules above, then folds what became constant.
 * @example broadcastConstants(g); // BERT: one embedding gather and one add fewer
 */
export function broadcastConstants(g: Graph): void {
  const shapeOf = (v: string): Dim[] | undefined => g.types.get(v)?.shape;
  let changed = false;
  const insertAfter = (p: Node, node: Node, out: string, shape: Dim[]) => {
    g.nodes.splice(g.nodes.indexOf(p) + 1, 0, node);
    g.types.set(out, { dtype: g.types.get(p.outputs[0])!.dtype, shape });
  };

  // Rule 1: a constant lookup expanded over the batch, read by broadcasting element-wise ops.
  const producers = g.producers();
  const users = g.consumers();
  for (const gather of [...g.nodes]) {
    if (gather.op !== 'Gather' || gather.domain !== '' || (gather.attrs.axis ?? 0) !== 0) continue;
    const data = constantOf(g, gather.inputs[0]);
    const expand = producers.get(gather.inputs[1]);
    if (!data || expand?.op !== 'Expand' || expand.domain !== '' || !constantOf(g, expand.inputs[0])) continue;
    const ids = constantOf(g, expand.inputs[0])!;
    const narrow: Dim[] = [...ids.dims, ...data.dims.slice(1)];
    // Only a lookup that constant folding will take (fold.ts folds what grows up to MAX_GROWN_ELEMENTS).
    if (numel(narrow) > MAX_GROWN_ELEMENTS) continue;
    let name = '';
    for (const user of users.get(gather.outputs[0]) ?? []) {
      if (!BROADCASTING.has(user.op) || user.domain !== '' || user.inputs.length !== 2) continue;
      const k = user.inputs.indexOf(gather.outputs[0]);
      const other = user.inputs[1 - k];
      const outShape = shapeOf(user.outputs[0]);
      if (other === gather.outputs[0] || !same(shapeOf(other), outShape) || !same(broadcastTo(outShape!, narrow), outShape)) continue;
      if (!name) {
        name = g.uniqueName(`${gather.outputs[0]}:unexpanded`);
        insertAfter(gather, { name: g.uniqueName(`${gather.name}:unexpanded`), op: 'Gather', domain: '', inputs: [gather.inputs[0], expand.inputs[0]], outputs: [name], attrs: { ...gather.attrs } }, name, narrow);
      }
      user.inputs[k] = name;
      changed = true;
    }
  }
  if (changed) foldConstants(g);

  // Rule 2: two constant addends in a row become one.
  const readers = g.consumers();
  const prod = g.producers();
  let merged = false;
  for (const outer of [...g.nodes]) {
    if (outer.op !== 'Add' || outer.domain !== '' || outer.inputs.length !== 2) continue;
    const k2 = outer.inputs.findIndex((i) => constantOf(g, i));
    if (k2 < 0) continue;
    const inner = prod.get(outer.inputs[1 - k2]);
    if (inner?.op !== 'Add' || inner.domain !== '' || (readers.get(inner.outputs[0]) ?? []).length !== 1 || g.isOutput(inner.outputs[0])) continue;
    const k1 = inner.inputs.findIndex((i) => constantOf(g, i));
    if (k1 < 0 || constantOf(g, inner.inputs[1 - k1])) continue;
    const c1 = inner.inputs[k1], c2 = outer.inputs[k2], x = inner.inputs[1 - k1];
    const d1 = constantOf(g, c1)!.dims, d2 = constantOf(g, c2)!.dims;
    const sum = broadcastTo(d1, d2);
    const xs = shapeOf(x);
    if (!sum || !xs || !same(broadcastTo(xs, sum), shapeOf(outer.outputs[0]))) continue;
    // The merged addend may not outgrow the larger one ([n, 1] + [1, n] would put n² values in the weights).
    if (numel(sum) > Math.max(numel(d1), numel(d2))) continue;
    const name = g.uniqueName(`${outer.outputs[0]}:addends`);
    insertAfter(inner, { name: g.uniqueName(`${outer.name}:addends`), op: 'Add', domain: '', inputs: [c1, c2], outputs: [name], attrs: {} }, name, sum);
    outer.inputs = [x, name];
    merged = true;
  }
  if (merged) foldConstants(g);
  if (changed || merged) eliminateDeadNodes(g);
}
