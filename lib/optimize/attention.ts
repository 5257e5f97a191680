// Attention fusion: MatMul(Q, Kᵀ) → scale (Mul/Div by constants, on the scores or on Q and Kᵀ) → (+ mask) →
// Softmax(last axis) → (Where(IsNaN(P), 0, P), the guard transformers export) → MatMul(·, V) becomes one
// FusedAttention(Q, Kᵀ, V, mask?) {scale} in the optimizer's domain, as TensorRT's MHA fusion finds it in the
// exports of torchvision ViT/Swin and transformers BERT. A fully masked row gives zeros, which is what the guard
// computes; without the guard the unfused graph would give NaN there, and the fused layer gives zeros.
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { FUSED_DOMAIN, type Node } from '../ir/types.js';
import { eliminateDeadNodes, floatValues } from './util.js';

interface Index {
  producer: Map<string, Node>;
  readers: Map<string, Node[]>;
  outputs: Set<string>;
}

function index(g: Graph): Index {
  const producer = new Map<string, Node>();
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) (readers.get(i) ?? readers.set(i, []).get(i)!).push(n);
  }
  return { producer, readers, outputs: new Set(g.outputs.map((o) => o.name)) };
}

const isDefault = (n: Node | undefined): n is Node => !!n && (n.domain === '' || n.domain === 'ai.onnx');

/** A scalar float constant's value. */
function scalar(g: Graph, name: string): number | undefined {
  const c = g.initializers.get(name);
  if (!c || c.dims.reduce((a, b) => a * b, 1) !== 1 || (c.dtype !== 'float32' && c.dtype !== 'float16')) return undefined;
  return floatValues(c)[0];
}

/** Only `n` reads `value`, and it is no graph output: the value may disappear into a fused node. */
function private_(ix: Index, value: string, n: Node): boolean {
  const r = ix.readers.get(value) ?? [];
  return !ix.outputs.has(value) && r.length === 1 && r[0] === n;
}

/** Peels Mul/Div by scalar constants off `value` (single-use links only): the value under them and the factor. */
function peelScale(g: Graph, ix: Index, value: string, reader: Node): { value: string; scale: number; nodes: Node[] } {
  let scale = 1;
  const nodes: Node[] = [];
  let cur = value;
  let by = reader;
  for (;;) {
    const p = ix.producer.get(cur);
    if (!isDefault(p) || (p.op !== 'Mul' && p.op !== 'Div') || !private_(ix, cur, by)) break;
    const c1 = scalar(g, p.inputs[1]);
    const c0 = p.op === 'Mul' ? scalar(g, p.inputs[0]) : undefined;
    if (c1 !== undefined) scale *= p.op === 'Mul' ? c1 : 1 / c1;
    else if (c0 !== undefined) scale *= c0;
    else break;
    nodes.push(p);
    cur = c1 !== undefined ? p.inputs[0] : p.inputs[1];
    by = p;
  }
  return { value: cur, scale, nodes };
}

function match(g: Graph, ix: Index, softmax: Node): { fused: Node; remove: Node[] } | undefined {
  const ty = g.types.get(softmax.inputs[0]);
  if (!ty) return undefined;
  const rank = ty.shape.length;
  const axis = (softmax.attrs.axis as number | undefined) ?? (g.opset >= 13 ? -1 : 1);
  if (rank < 3 || rank > 4 || (axis !== -1 && axis !== rank - 1)) return undefined;
  // Downstream: P → MatMul(P, V), or P → IsNaN/Where guard → MatMul.
  const remove: Node[] = [softmax];
  let p = softmax.outputs[0];
  let readers = ix.readers.get(p) ?? [];
  if (ix.outputs.has(p)) return undefined;
  if (readers.length === 2) {
    const isnan = readers.find((r) => r.op === 'IsNaN');
    const where = readers.find((r) => r.op === 'Where');
    if (!isDefault(isnan) || !isDefault(where) || where.inputs[0] !== isnan.outputs[0] || where.inputs[2] !== p) return undefined;
    if (scalar(g, where.inputs[1]) !== 0 || !private_(ix, isnan.outputs[0], where)) return undefined;
    remove.push(isnan, where);
    p = where.outputs[0];
    readers = ix.readers.get(p) ?? [];
    if (ix.outputs.has(p)) return undefined;
  }
  const pv = readers[0];
  if (readers.length !== 1 || !isDefault(pv) || pv.op !== 'MatMul' || pv.inputs[0] !== p) return undefined;
  remove.push(pv);
  // Upstream: scores = scale · MatMul(Q, Kᵀ) (+ mask).
  let scores = softmax.inputs[0];
  let reader = softmax;
  let mask: string | undefined;
  let scale = 1;
  const outer = peelScale(g, ix, scores, reader);
  scores = outer.value;
  scale *= outer.scale;
  remove.push(...outer.nodes);
  reader = outer.nodes[outer.nodes.length - 1] ?? reader;
  const add = ix.producer.get(scores);
  if (isDefault(add) && add.op === 'Add' && private_(ix, scores, reader)) {
    const fromMatMul = (v: string) => {
      const s = peelScale(g, ix, v, add);
      const mm = ix.producer.get(s.value);
      return isDefault(mm) && mm.op === 'MatMul' && private_(ix, s.value, s.nodes[s.nodes.length - 1] ?? add) ? s : undefined;
    };
    const side = fromMatMul(add.inputs[0]) ? 0 : fromMatMul(add.inputs[1]) ? 1 : -1;
    if (side < 0) return undefined;
    const s = fromMatMul(add.inputs[side])!;
    mask = add.inputs[1 - side];
    remove.push(add, ...s.nodes);
    scale *= s.scale;
    scores = s.value;
    reader = s.nodes[s.nodes.length - 1] ?? add;
  }
  const qk = ix.producer.get(scores);
  if (!isDefault(qk) || qk.op !== 'MatMul' || !private_(ix, scores, reader)) return undefined;
  remove.push(qk);
  const q = peelScale(g, ix, qk.inputs[0], qk);
  const k = peelScale(g, ix, qk.inputs[1], qk);
  remove.push(...q.nodes, ...k.nodes);
  scale *= q.scale * k.scale;
  // Shapes: no broadcast between Q, Kᵀ and V; the mask may broadcast onto the scores.
  const [tq, tk, tv] = [q.value, k.value, pv.inputs[1]].map((v) => g.types.get(v));
  if (!tq || !tk || !tv || tq.shape.length !== rank || tk.shape.length !== rank || tv.shape.length !== rank) return undefined;
  const lead = (s: readonly unknown[]) => JSON.stringify(s.slice(0, -2));
  if (lead(tq.shape) !== lead(tk.shape) || lead(tq.shape) !== lead(tv.shape)) return undefined;
  if (g.initializers.has(q.value) || g.initializers.has(k.value) || g.initializers.has(pv.inputs[1])) return undefined;
  if (mask) {
    const tm = g.types.get(mask);
    if (!tm || tm.shape.length > rank || (tm.dtype !== 'float32' && tm.dtype !== 'float16')) return undefined;
  }
  const fused: Node = {
    name: `${qk.name}:attention`,
    op: 'FusedAttention',
    domain: FUSED_DOMAIN,
    inputs: mask ? [q.value, k.value, pv.inputs[1], mask] : [q.value, k.value, pv.inputs[1]],
    outputs: [pv.outputs[0]],
    attrs: { scale },
  };
  return { fused, remove };
}

/**
 * Fuses every multi-head attention pattern in `g` into FusedAttention nodes, in place; returns how many.
 * @example const n = fuseAttention(graph); // 12 for BERT-base
 */
export function fuseAttention(g: Graph): number {
  let count = 0;
  for (const softmax of g.nodes.filter((n) => isDefault(n) && n.op === 'Softmax')) {
    const ix = index(g);
    if (!g.nodes.includes(softmax)) continue;
    const m = match(g, ix, softmax);
    if (!m) continue;
    // The fused node takes the place of the last MatMul, after everything it reads: the order stays topological.
    const last = m.remove.find((n) => n.outputs[0] === m.fused.outputs[0])!;
    const gone = new Set(m.remove);
    g.nodes = g.nodes.flatMap((n) => (n === last ? [m.fused] : gone.has(n) ? [] : [n]));
    count++;
  }
  if (count) {
    eliminateDeadNodes(g);
    inferShapes(g);
  }
  return count;
}
