// Attention masks read at the shape they carry information in. transformers builds BERT's mask as
// Where(Expand(And(q_ok, key_ok[b, 1, 1, s]), [b, 1, s, s]), 0, min): the And with an all-true per-query constant
// and the Expand only broadcast the key-padding mask over the queries. FusedAttention broadcasts its mask to the
// scores itself, so it can read the [b, 1, 1, s] mask instead: the builtin backend then stages it per key tile
// (flash_mma's key-mask path) instead of reading a materialised [b, 1, s, s] tensor once per score.
//
// Walking up from a FusedAttention's mask, a node is skipped when its output is its input broadcast to a larger
// shape: Expand; And with an all-true constant; Or with an all-false constant. An element-wise Where or Cast above
// such a node is re-made on the narrower input. Nothing else is crossed, and the result must still broadcast to the
// scores, so the attention computes exactly what it did.
import { broadcast } from '../ir/dims.js';
import type { Graph } from '../ir/graph.js';
import type { Dim, Node } from '../ir/types.js';
import { foldConstants } from './fold.js';
import { constantOf, eliminateDeadNodes } from './util.js';

/** Numpy broadcast of several shapes (ir/dims.ts), or undefined when two dims are not provably compatible. */
function broadcastAll(shapes: Dim[][]): Dim[] | undefined {
  let out: Dim[] | string = [];
  for (const s of shapes) if (typeof (out = broadcast(out, s)) === 'string') return undefined;
  return out as Dim[];
}

/** Whether `name` is a constant whose every element is `value` (booleans as 0/1). */
function constantAll(g: Graph, name: string, value: boolean): boolean {
  const c = constantOf(g, name);
  if (!c || c.dtype !== 'bool') return false;
  return Array.from(c.data as Uint8Array).every((x) => (x !== 0) === value);
}

/**
 * Points every FusedAttention's mask at the narrowest value that broadcasts to it (see the top of this file).
 * @example narrowAttentionMasks(g); // BERT: the attention reads the [batch, 1, 1, seq] mask
 */
export function narrowAttentionMasks(g: Graph): void {
  const producers = g.producers();
  const memo = new Map<string, string>();
  let changed = false;
  let created = false;

  const narrow = (v: string): string => {
    const done = memo.get(v);
    if (done !== undefined) return done;
    const p = producers.get(v);
    let out = v;
    if (p?.op === 'Expand' && p.domain === '') {
      out = narrow(p.inputs[0]);
    } else if ((p?.op === 'And' || p?.op === 'Or') && p.domain === '') {
      const neutral = p.op === 'And';  // And with all-true, Or with all-false, is the other input broadcast
      const [a, b] = p.inputs;
      if (constantAll(g, a, neutral) && broadcastAll([shapeOf(b), shapeOf(a)])) out = narrow(b);
      else if (constantAll(g, b, neutral) && broadcastAll([shapeOf(a), shapeOf(b)])) out = narrow(a);
    } else if ((p?.op === 'Where' || p?.op === 'Cast') && p.domain === '') {
      const first = narrow(p.inputs[0]);
      if (first !== p.inputs[0]) out = remade(p, first) ?? v;
    }
    memo.set(v, out);
    return out;
  };

  // A value without a known shape reads as rank 0; a mask or replacement without one is never swapped.
  const shapeOf = (v: string): Dim[] => g.types.get(v)?.shape ?? [];

  // `p` again on `first` in place of its first input, placed right after `p` (everything it reads comes before).
  const remade = (p: Node, first: string): string | undefined => {
    const inputs = [first, ...p.inputs.slice(1)];
    const shape = broadcastAll(inputs.map(shapeOf));
    const type = g.types.get(p.outputs[0]);
    if (!shape || !type) return undefined;
    const name = g.uniqueName(`${p.outputs[0]}:narrow`);
    const node: Node = { name: g.uniqueName(`${p.name}:narrow`), op: p.op, domain: p.domain, inputs, outputs: [name], attrs: { ...p.attrs } };
    g.nodes.splice(g.nodes.indexOf(p) + 1, 0, node);
    g.types.set(name, { dtype: type.dtype, shape });
    producers.set(name, node);
    created = true;
    return name;
  };

  for (const n of [...g.nodes]) {
    if (n.op !== 'FusedAttention' || !n.inputs[3]) continue;
    const mask = n.inputs[3];
    const to = narrow(mask);
    const maskShape = shapeOf(mask);
    const toShape = shapeOf(to);
    // The narrow mask must broadcast to the mask it replaces (and so to the scores): every dim 1 or the same, at the
    // same rank (a batched value's first axis is the batch wherever the lowering meets it: no right-aligned shift).
    if (to === mask || !g.types.has(to) || !g.types.has(mask) || toShape.length !== maskShape.length || !toShape.every((d, i) => d === 1 || d === maskShape[maskShape.length - toShape.length + i])) continue;
    n.inputs[3] = to;
    changed = true;
  }
  // A remade Where or Cast over constants only (a causal mask: Where(Expand(causal), 0, min)) folds to a constant;
  // folding also drops what no mask reads any more.
  if (created) foldConstants(g);
  else if (changed) eliminateDeadNodes(g);
}
