// Folds a bias Add and a GELU (or any activation the epilogue knows) into the fully connected layer just emitted,
// as TensorRT folds them into a GEMM epilogue: the MatMul's output is then written once, already biased and
// activated. Only when the folded value has no other reader. A pre-norm block's residual Add folds there too.
import type { Node } from '../../ir/types.js';
import type { LowerContext, Val } from '../lower-context.js';
import { Act, Op, type ActName } from '../program.js';
import { constFloats } from './util.js';

/** The last layer when it is a 1×1 "fully connected" conv writing `v` with no activation, read only through `name`. */
function lastFc(cx: LowerContext, name: string, v: Val) {
  const l = cx.layers[cx.layers.length - 1];
  if (!l || l.op !== Op.conv || l.outputs[0] !== v.tensor || l.params.act !== Act.none) return undefined;
  if (l.params.r !== 1 || l.params.s !== 1 || l.params.h !== 1 || l.params.w !== 1 || l.inputs[3] !== -1) return undefined;
  if (cx.readers(name) !== 1) return undefined;
  // Every IR value bound to the layer's output bytes (the MatMul's own output, and the reshapes and transposes
  // aliased to it on the way to this node) must have this chain as its only reader: any other would see the fold.
  for (const [other, val] of cx.values) if (val.tensor === v.tensor && cx.readers(other) !== 1) return undefined;
  return l;
}

/** Add(FC(x), bias[N]) → the FC with a bias; true when folded (the Add's output then names the FC's output). */
export function foldBiasAdd(cx: LowerContext, n: Node): boolean {
  for (const side of [0, 1]) {
    const name = n.inputs[side];
    const v = cx.values.get(name);
    const c = cx.constant(n.inputs[1 - side]);
    if (!v || !c) continue;
    const l = lastFc(cx, name, v);
    if (!l || l.inputs[2] !== -1) continue;
    const k = l.params.k as number;
    if (c.dims.reduce((a, b) => a * b, 1) !== k || c.dims.slice(0, -1).some((d) => d !== 1) || c.dims.length > v.shape.length) continue;
    l.inputs[2] = cx.packWeights(`${c.name}:bias32`, constFloats(cx, c.name)!, 'float32', [k]);
    l.name = `${l.name}+bias`;
    cx.alias(n.outputs[0], v);
    return true;
  }
  return false;
}

/** act(FC(x)) → the FC with that activation in its epilogue; true when folded. */
export function foldActivation(cx: LowerContext, n: Node, act: ActName): boolean {
  const v = cx.values.get(n.inputs[0]);
  if (!v) return false;
  const l = lastFc(cx, n.inputs[0], v);
  if (!l || cx.typeOf(n.outputs[0], n).dtype !== v.dtype) return false;
  l.params.act = Act[act];
  l.name = `${l.name}+${act}`;
  cx.alias(n.outputs[0], v);
  return true;
}

/**
 * Add(FC(x), r) with r a same-shape activation → the FC with r as its residual (cuBLASLt reads it as C, beta = 1;
 * the own kernels add it in their epilogue); true when folded. Only when the sum is read twice or more, as a pre-norm
 * block's residual stream is (the next LayerNorm and the next residual Add): the LayerNorm that would otherwise take
 * the Add has to write the sum beside its result, which costs one more pass over the rows than the GEMM reading r.
 * A post-norm block's sum is read by its LayerNorm alone, which then reads both operands and writes only the norm.
 */
export function foldResidualAdd(cx: LowerContext, n: Node): boolean {
  if (cx.readers(n.outputs[0]) < 2 || cx.graph.isOutput(n.outputs[0])) return false;
  for (const side of [0, 1]) {
    const v = cx.values.get(n.inputs[side]);
    const r = cx.values.get(n.inputs[1 - side]);
    if (!v || !r || r.tensor === v.tensor) continue;
    const l = lastFc(cx, n.inputs[side], v);
    if (!l) continue;
    const vt = cx.tensors[v.tensor], rt = cx.tensors[r.tensor];
    // The residual must be the output's rows as they lie: same dtype, bytes and batch form, both row-major arena.
    if (rt.loc !== 0 || rt.dtype !== vt.dtype || rt.bytes !== vt.bytes || rt.batched !== vt.batched) continue;
    if (v.layout !== 'rowmajor' || r.layout !== 'rowmajor' || r.shape.join() !== v.shape.join()) continue;
    l.inputs[3] = r.tensor;
    l.name = `${l.name}+residual`;
    cx.alias(n.outputs[0], v);
    return true;
  }
  return false;
}
