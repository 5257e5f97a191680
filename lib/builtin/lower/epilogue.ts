// Folds a bias Add and a GELU (or any activation the epilogue knows) into the fully connected layer just emitted,
// as TensorRT folds them into a GEMM epilogue: the MatMul's output is then written once, already biased and
// activated. Only when the folded value has no other reader.
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
