// Einsum as the Transpose, Reshape, ReduceSum and MatMul nodes the builtin backend runs. Two operands become one
// batched MatMul: each is permuted to [batch labels, free labels, contracted labels] (the second to [batch,
// contracted, free]), the free and contracted groups are flattened, and the product is unflattened and permuted to
// the output's order. A label in one operand only and not in the output is summed first; one operand alone is a
// ReduceSum and a Transpose. Attention written as einsum ('bhqd,bhkd->bhqk', 'bhqk,bhkd->bhqd') thus reaches the
// attention fusion as MatMul(Q, Transpose(K)) and MatMul(P, V). TensorRT parses Einsum itself and gets it unchanged.
import { attrString } from '../ir/attrs.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { einsumSizes, parseEinsum } from '../ir/rules-shape.js';
import type { Dim, Node } from '../ir/types.js';
import { Builder, Unfit } from './rewrite-builder.js';

/** An equation that stays an Einsum: the builtin backend then refuses the node with ERR_UNSUPPORTED_OP. */
const unfit = (): never => {
  throw new Unfit();
};

/**
 * Rewrites every one- or two-operand float Einsum without repeated labels (no diagonals) into MatMul, Transpose,
 * Reshape and ReduceSum nodes, in place; others stay as they are.
 * @example
 * decomposeEinsum(g); // Einsum('bij,bjk->bik', a, b) → MatMul(a, b)
 */
export function decomposeEinsum(g: Graph): void {
  let changed = false;
  g.nodes = g.nodes.flatMap((n) => {
    if (n.domain !== '' || n.op !== 'Einsum') return [n];
    try {
      const nodes = einsumNodes(g, n);
      changed = true;
      return nodes;
    } catch (e) {
      if (e instanceof Unfit) return [n];
      throw e;
    }
  });
  if (changed) inferShapes(g);
}

function einsumNodes(g: Graph, n: Node): Node[] {
  if (n.inputs.length < 1 || n.inputs.length > 2 || n.inputs.some((x) => !x)) unfit();
  const types = n.inputs.map((x) => g.typeOf(x));
  if (types.some((t) => t.dtype !== 'float32' && t.dtype !== 'float16')) unfit();
  const spec = parseEinsum(attrString(n, 'equation', ''), types.map((t) => t.shape.length), unfit);
  if (spec.inputs.some((labels) => new Set(labels).size !== labels.length)) unfit();
  const sizes = einsumSizes(spec, types.map((t) => t.shape), unfit);
  const bld = new Builder(g, n);
  // Permutes x (labels `from`) to the order `to`, unless it already is.
  const permute = (x: string, from: string[], to: string[]) => {
    const perm = to.map((l) => from.indexOf(l));
    return perm.every((p, i) => p === i) ? x : bld.op('Transpose', [x], { perm });
  };
  const others = (i: number) => new Set(spec.inputs.filter((_, j) => j !== i).flat());
  // Labels of one operand that neither the output nor the other operand has: summed first.
  const operands = spec.inputs.map((labels, i) => {
    const gone = labels.filter((l) => !spec.output.includes(l) && !others(i).has(l));
    const x = gone.length ? bld.reduce('ReduceSum', n.inputs[i], gone.map((l) => labels.indexOf(l)), 0) : n.inputs[i];
    return { x, labels: labels.filter((l) => !gone.includes(l)) };
  });
  // The last value made becomes the node's output (an Identity only when nothing was made: 'ij->ij').
  const finish = (v: string) => {
    bld.finish(v);
    return bld.nodes;
  };
  if (operands.length === 1) return finish(permute(operands[0].x, operands[0].labels, spec.output));
  const [a, b] = operands;
  const inB = new Set(b.labels);
  const inA = new Set(a.labels);
  const batch = spec.output.filter((l) => inA.has(l) && inB.has(l));
  const contracted = a.labels.filter((l) => inB.has(l) && !spec.output.includes(l));
  const freeA = spec.output.filter((l) => inA.has(l) && !inB.has(l));
  const freeB = spec.output.filter((l) => inB.has(l) && !inA.has(l));
  // A contracted label must have one size in both (only ellipsis dims broadcast, and those are batch labels here).
  const dimIn = (i: number, l: string) => types[i].shape[spec.inputs[i].indexOf(l)];
  for (const l of contracted) if (dimIn(0, l) !== dimIn(1, l)) unfit();
  // The size of a flattened group: the product when static, -1 (Reshape infers it) when one dim is symbolic.
  const product = (dims: Dim[]): number | undefined => {
    const symbolic = dims.filter((d) => typeof d !== 'number').length;
    if (symbolic > 1) return undefined;
    return symbolic ? -1 : (dims as number[]).reduce((p, d) => p * d, 1);
  };
  // [batch..., group1, group2] with the batch dims copied (Reshape's 0); at most one -1.
  const flatten = (x: string, i: number, g1: string[], g2: string[]) => {
    const p1 = product(g1.map((l) => dimIn(i, l)));
    const p2 = product(g2.map((l) => dimIn(i, l)));
    if (p1 === undefined || p2 === undefined || (p1 === -1 && p2 === -1)) unfit();
    if (g1.length === 1 && g2.length === 1) return x;
    return bld.op('Reshape', [x, bld.int64s('shape', [...batch.map(() => 0), p1!, p2!])]);
  };
  const outDims = [...freeA, ...freeB].map((l) => sizes.get(l)!);
  if (outDims.filter((d) => typeof d !== 'number').length > 1) unfit();
  const left = flatten(permute(a.x, a.labels, [...batch, ...freeA, ...contracted]), 0, freeA, contracted);
  const right = flatten(permute(b.x, b.labels, [...batch, ...contracted, ...freeB]), 1, contracted, freeB);
  let z = bld.op('MatMul', [left, right]);
  if (freeA.length !== 1 || freeB.length !== 1) {
    z = bld.op('Reshape', [z, bld.int64s('shape', [...batch.map(() => 0), ...outDims.map((d) => (typeof d === 'number' ? d : -1))])]);
  }
  return finish(permute(z, [...batch, ...freeA, ...freeB], spec.output));
}
