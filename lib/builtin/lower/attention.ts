// Lowering of MatMul between activations (any rank, numpy broadcasting of the leading axes, tensor cores in FP16)
// and of the optimizer's fused attention node (lib/optimize/attention.ts) to one attention layer whose tactics the
// builder times: flash kernels, and the unfused matmul-softmax-matmul as a candidate of its own.
import type { DataType, Node } from '../../ir/types.js';
import { LowerContext, logicalStrides, prod, type Val } from '../lower-context.js';
import { broadcastStrides, num } from './util.js';
import { stridedView } from './view.js';

/** Leading (batch) levels of a broadcast matmul, merged where contiguous in all three operands; at most 3. */
function batchLevels(dims: number[], strides: number[][]): { bd: number[]; s: number[][] } | null {
  const bd: number[] = [];
  const s: number[][] = strides.map(() => []);
  dims.forEach((d, i) => {
    if (d === 1) return;
    const last = bd.length - 1;
    if (last >= 0 && strides.every((st, k) => s[k][last] === st[i] * d)) {
      bd[last] *= d;
      strides.forEach((st, k) => (s[k][last] = st[i]));
      return;
    }
    bd.push(d);
    strides.forEach((st, k) => s[k].push(st[i]));
  });
  if (!bd.length) return { bd: [1], s: strides.map(() => [0]) };
  return bd.length <= 3 ? { bd, s } : null;
}

/** Emits C = alpha · A·B for activations (or a constant of rank > 2), with numpy broadcasting. */
export function lowerMatMul(cx: LowerContext, n: Node, alpha = 1): void {
  const t = cx.typeOf(n.outputs[0], n);
  const dtype: DataType = t.dtype;
  if (dtype !== 'float32' && dtype !== 'float16') cx.unsupported(n, `${dtype} values (float32 and float16 only)`);
  const a0 = cx.convert(cx.value(n.inputs[0], n, dtype), 'rowmajor', dtype);
  const b0 = cx.convert(cx.value(n.inputs[1], n, dtype), 'rowmajor', dtype);
  // 1-D operands: a row vector on the left, a column on the right (their axes are absent from the output).
  const a: Val = a0.shape.length === 1 ? { ...a0, shape: [1, a0.shape[0]] } : a0;
  const b: Val = b0.shape.length === 1 ? { ...b0, shape: [b0.shape[0], 1] } : b0;
  const [m, k] = a.shape.slice(-2);
  const nn = b.shape[b.shape.length - 1];
  if (b.shape[b.shape.length - 2] !== k) cx.unsupported(n, `inner dimensions ${k} and ${b.shape[b.shape.length - 2]} differ`);
  const y = cx.define(n.outputs[0], dtype, t.shape, t.batched, 'rowmajor');
  const lead = t.shape.slice(0, t.shape.length - (a0.shape.length === 1 ? 0 : 1) - (b0.shape.length === 1 ? 0 : 1));
  // Strides of the leading axes in elements of each operand, right-aligned, 0 where it broadcasts.
  const leadStrides = (v: Val) => {
    const ls = logicalStrides(v).slice(0, -2);
    const off = lead.length - ls.length;
    return lead.map((_, i) => (i < off || v.shape[i - off] === 1 ? 0 : ls[i - off]));
  };
  const levels = batchLevels(lead, [leadStrides(a), leadStrides(b), lead.map((_, i) => prod(lead.slice(i + 1)) * m * nn)]);
  if (!levels) cx.unsupported(n, 'more than 3 independent batch axes');
  cx.emit(n.name, 'matmul', [a.tensor, b.tensor], [y.tensor], {
    m, n: nn, k, bd: levels.bd, bsa: levels.s[0], bsb: levels.s[1], bsc: levels.s[2], am: k, ak: 1, bk: nn, bn: 1, cm: nn, alpha,
  }, t.batched);
}

/** An operand as stored plus its logical strides and element offset, read in place where it can be. */
interface Operand {
  v: Val;
  strides: number[];
  /** Element offset of the view in v's tensor. */
  offset?: number;
}

function operand(cx: LowerContext, n: Node, i: number, dtype: DataType): Operand {
  const name = n.inputs[i];
  // Through the whole chain of head-split reshapes, transposes and gathers to the projection that made it.
  const view = stridedView(cx, name, dtype);
  if (view && view.shape.length >= 3) return { v: { ...view.root, shape: view.shape }, strides: view.strides, offset: view.offset };
  const v = cx.convert(cx.value(name, n, dtype), 'rowmajor', dtype);
  return { v, strides: logicalStrides(v) };
}

/** Strides over (batch, head, sequence, feature) of a rank-3 ([b·h, s, f]) or rank-4 operand. */
function bhsf(o: Operand, n: Node, cx: LowerContext, transposed = false): number[] {
  const ls = o.strides;
  const v = o.v;
  const r = v.shape.length;
  if (r !== 3 && r !== 4) cx.unsupported(n, `attention operands of rank ${r}`);
  const [bs, hs] = r === 4 ? [ls[0], ls[1]] : [ls[0], 0];
  const [s, f] = transposed ? [ls[r - 1], ls[r - 2]] : [ls[r - 2], ls[r - 1]];
  return [bs, hs, s, f];
}

/** FusedAttention(Q, Kᵀ, V, mask?): softmax(scale · Q·Kᵀ + mask) · V as one attention layer. */
function attention(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  const dtype = t.dtype;
  if (dtype !== 'float32' && dtype !== 'float16') cx.unsupported(n, `${dtype} values (float32 and float16 only)`);
  const qo = operand(cx, n, 0, dtype);
  const ko = operand(cx, n, 1, dtype);
  const vo = operand(cx, n, 2, dtype);
  const [q, kt, v] = [qo.v, ko.v, vo.v];
  const r = q.shape.length;
  const [sq, d] = q.shape.slice(-2);
  const sk = kt.shape[r - 1];
  const dv = v.shape[r - 1];
  const b = q.shape[0];
  const h = r === 4 ? q.shape[1] : 1;
  if (kt.shape.length !== r || v.shape.length !== r || kt.shape[r - 2] !== d || v.shape[r - 2] !== sk) cx.unsupported(n, 'mismatched Q, Kᵀ, V shapes');
  if (kt.shape[0] !== b || v.shape[0] !== b || (r === 4 && (kt.shape[1] !== h || v.shape[1] !== h))) cx.unsupported(n, 'broadcast batch or heads');
  // The output written straight into the layout of the Transpose that follows it (the head merge), when that
  // Transpose is its only reader: the Transpose then has nothing left to do (lowerGraph skips defined values).
  const next = cx.graph.consumers().get(n.outputs[0]) ?? [];
  const merge = next.length === 1 && next[0].op === 'Transpose' && next[0].domain === '' && cx.readers(n.outputs[0]) === 1 ? next[0] : undefined;
  let yo: Operand;
  if (merge && Array.isArray(merge.attrs.perm)) {
    const perm = merge.attrs.perm as number[];
    const tt = cx.typeOf(merge.outputs[0], merge);
    const yt = cx.define(merge.outputs[0], dtype, tt.shape, tt.batched, 'rowmajor');
    const rs = logicalStrides(yt);
    yo = { v: { ...yt, shape: t.shape }, strides: t.shape.map((_, a) => rs[perm.indexOf(a)]) };
  } else {
    const yv = cx.define(n.outputs[0], dtype, t.shape, t.batched, 'rowmajor');
    yo = { v: yv, strides: logicalStrides(yv) };
  }
  const y = yo.v;
  let maskTensor = -1;
  let ms = [0, 0, 0, 0];
  if (n.inputs[3]) {
    const m0 = cx.value(n.inputs[3], n);
    const mask = m0.dtype === 'float32' || m0.dtype === 'float16' ? m0 : cx.convert(m0, 'rowmajor', dtype);
    const scores = r === 4 ? [b, h, sq, sk] : [b, sq, sk];
    if (mask.shape.length > scores.length) cx.unsupported(n, 'a mask of higher rank than the scores');
    const s = broadcastStrides(mask, scores);
    ms = r === 4 ? s : [s[0], 0, s[1], s[2]];
    maskTensor = mask.tensor;
  }
  cx.emit(n.name, 'attention', [q.tensor, kt.tensor, v.tensor, maskTensor], [y.tensor], {
    b, h, sq, sk, d, dv,
    qs: bhsf(qo, n, cx), ks: bhsf(ko, n, cx, true), vs: bhsf(vo, n, cx), os: bhsf(yo, n, cx), ms,
    scale: num(n, 'scale', 1),
    ...(qo.offset ? { qo: qo.offset } : {}), ...(ko.offset ? { ko: ko.offset } : {}), ...(vo.offset ? { vo: vo.offset } : {}),
  }, t.batched);
}

export const ATTENTION_LOWERINGS: Record<string, (cx: LowerContext, n: Node) => void> = {
  FusedAttention: attention,
};
