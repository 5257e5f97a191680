// Lowering of FusedMBConv: one 'mbconv' layer whose tactics are the fused on-chip kernel and the chain of the
// three convolution kernels (the builder times both).
import type { Node } from '../ir/types.js';
import { Act, type ActName } from './program.js';
import type { LowerContext } from './lower-context.js';
import { floatValues, toKRSC, toRSC } from './weights.js';

const ints = (n: Node, name: string, def: number[]) => (Array.isArray(n.attrs[name]) ? (n.attrs[name] as number[]) : def);
const num = (n: Node, name: string) => (typeof n.attrs[name] === 'number' ? (n.attrs[name] as number) : 0);

function actOf(cx: LowerContext, n: Node, attr: string): number {
  const name = typeof n.attrs[attr] === 'string' ? (n.attrs[attr] as string) : 'none';
  if (!Object.hasOwn(Act, name)) cx.unsupported(n, `activation '${name}'`);
  return Act[name as ActName];
}

/** Whether [e][c] weights are the identity. */
function isIdentity(w: ArrayLike<number>, e: number, c: number): boolean {
  if (e !== c) return false;
  for (let i = 0; i < e; i++) for (let j = 0; j < c; j++) if (w[i * c + j] !== (i === j ? 1 : 0)) return false;
  return true;
}

/**
 * Lowers a FusedMBConv to an 'mbconv' layer: inputs [x, W1 (KRSC), B1, Wd (RSC), Bd, W2 (KRSC), B2, residual],
 * biases float32 (-1 when absent); outputs [y, expanded, depthwise], the last two for the chain tactic (with
 * `id1`, an identity expand, the chain has no expand stage and `expanded` is a one-element placeholder).
 * @example LOWERINGS.FusedMBConv = mbconv;
 */
export function mbconv(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  const dtype = t.dtype;
  if (dtype !== 'float16' && dtype !== 'float32') cx.unsupported(n, `dtype ${dtype}`);
  const x = cx.convert(cx.value(n.inputs[0], n), 'nhwc', dtype);
  const [, c, h, w] = x.shape;
  const [, k, p, q] = t.shape;
  const weight = (i: number) => {
    const cst = cx.constant(n.inputs[i]);
    if (!cst) cx.unsupported(n, 'the weights must be constant');
    return { c: cst, v: floatValues(cst.dtype, cst.data) };
  };
  const bias = (i: number, m: number) => {
    if (!n.inputs[i]) return -1;
    const b = cx.constant(n.inputs[i]);
    if (!b) cx.unsupported(n, 'the biases must be constant');
    return cx.packWeights(`${n.inputs[i]}:bias32`, floatValues(b.dtype, b.data), 'float32', [m]);
  };
  const w1 = weight(1);
  const wd = weight(3);
  const w2 = weight(5);
  const e = w1.c.dims[0];
  const ks = wd.c.dims[2];
  const w1t = cx.packWeights(`${w1.c.name}:krsc`, toKRSC(w1.v, e, c, 1, 1), dtype, [e, 1, 1, c]);
  const wdt = cx.packWeights(`${wd.c.name}:rsc`, toRSC(wd.v, e, ks, ks), dtype, [ks, ks, e]);
  const w2t = cx.packWeights(`${w2.c.name}:krsc`, toKRSC(w2.v, k, e, 1, 1), dtype, [k, 1, 1, e]);
  const r = n.inputs[7] ? cx.convert(cx.value(n.inputs[7], n, dtype), 'nhwc', dtype).tensor : -1;
  const y = cx.define(n.outputs[0], dtype, t.shape, t.batched, 'nhwc');
  const act1 = actOf(cx, n, 'expand_activation');
  // An identity expand (a depthwise → project pair fused on its own): the chain skips it and reads x directly.
  const id1 = act1 === Act.none && !n.inputs[2] && isIdentity(w1.v, e, c);
  // The chain tactic's intermediates, planned like any activation (live during this layer only): the fused kernel
  // never touches them, and a chain needs no workspace, so no workspace limit can leave the layer without a tactic.
  const expanded = id1
    ? cx.newTensor(`${n.name}:expanded`, dtype, [1], false, 'rowmajor')
    : cx.newTensor(`${n.name}:expanded`, dtype, [x.shape[0], e, h, w], x.batched, 'nhwc');
  const depthwise = cx.newTensor(`${n.name}:depthwise`, dtype, [x.shape[0], e, p, q], x.batched, 'nhwc');
  const strides = ints(n, 'strides', [1, 1]);
  const pads = ints(n, 'pads', [0, 0, 0, 0]);
  cx.emit(n.name, 'mbconv', [x.tensor, w1t, bias(2, e), wdt, bias(4, e), w2t, bias(6, k), r], [y.tensor, expanded, depthwise], {
    n: x.shape[0], h, w, c, e, k, ks, p, q, st: strides[0], ph: pads[0], pw: pads[1],
    act1, alpha1: num(n, 'expand_alpha'), beta1: num(n, 'expand_beta'), ...(id1 ? { id1: 1 } : {}),
    act2: actOf(cx, n, 'dw_activation'), alpha2: num(n, 'dw_alpha'), beta2: num(n, 'dw_beta'),
    act: actOf(cx, n, 'activation'), alpha: num(n, 'act_alpha'), beta: num(n, 'act_beta'),
  }, x.batched);
}
