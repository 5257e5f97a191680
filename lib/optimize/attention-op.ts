// Attention (opset 23) for the builtin backend, as the MatMul → scale → (+ mask) → Softmax → MatMul chain it
// stands for, so that fuseAttention (run after this) makes it one flash-attention layer as it does for exported
// BERTs:
//   3-D inputs [B, S, H·D] are split into heads (Reshape, Transpose), and Y merged back
//   grouped key/value heads are repeated for their query heads (Unsqueeze → Expand → Reshape: h reads ⌊h / g⌋)
//   a bool mask becomes Where(mask, 0, −inf); is_causal adds the −inf triangle above the diagonal (static lengths)
//   softcap c becomes c·Tanh(s / c) (the chain then runs unfused)
// The forms it leaves (ERR_UNSUPPORTED_OP on builtin, the reference runs them): past_key/past_value and the present
// or qk outputs, a mask shorter than the keys, is_causal over dynamic lengths.
import { attrFloat, attrInt } from '../ir/attrs.js';
import { attentionSizes } from '../ir/rules-attention.js';
import type { Node } from '../ir/types.js';
import { float, Unfit, type Builder } from './rewrite-builder.js';
import { addConstant, floatConstant } from './util.js';

export const ATTENTION_REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  Attention: (b, n) => {
    float(b);
    if (n.outputs.slice(1).some((o) => o) || n.inputs.slice(4).some((i) => i)) throw new Unfit();
    const [q, k, v, mask] = n.inputs;
    const [qs, ks, vs] = [q, k, v].map((x) => b.g.typeOf(x).shape);
    const { four, hq, hk, sq, sk, d, dv } = attentionSizes(n, qs, ks, vs);
    if (typeof hq !== 'number' || typeof hk !== 'number' || typeof d !== 'number' || typeof dv !== 'number') throw new Unfit();
    const split = (x: string, h: number, e: number) => (four ? x : b.op('Transpose', [b.op('Reshape', [x, b.ints([0, 0, h, e])])], { perm: [0, 2, 1, 3] }));
    let [Q, K, V] = [split(q, hq, d), split(k, hk, d), split(v, hk, dv)];
    if (hq !== hk) {
      const grow = (x: string, e: number) =>
        b.op('Reshape', [b.op('Expand', [b.unsqueeze(x, [2]), b.ints([1, 1, hq / hk, 1, 1])]), b.ints([0, hq, -1, e])]);
      [K, V] = [grow(K, d), grow(V, dv)];
    }
    let s = b.op('Mul', [b.op('MatMul', [Q, b.op('Transpose', [K], { perm: [0, 1, 3, 2] })]), b.scalar(attrFloat(n, 'scale', 1 / Math.sqrt(d)))]);
    const cap = attrFloat(n, 'softcap', 0);
    if (cap > 0) s = b.op('Mul', [b.op('Tanh', [b.op('Div', [s, b.scalar(cap)])]), b.scalar(cap)]);
    let bias: string | undefined;
    if (mask) {
      const m = b.g.typeOf(mask);
      if (m.shape[m.shape.length - 1] !== sk) throw new Unfit();
      bias = m.dtype === 'bool' ? b.op('Where', [mask, b.scalar(0), b.scalar(-Infinity)]) : mask;
    }
    if (attrInt(n, 'is_causal', 0) === 1) {
      if (typeof sq !== 'number' || typeof sk !== 'number') throw new Unfit();
      const tri = Float32Array.from({ length: sq * sk }, (_, i) => (i % sk > Math.floor(i / sk) ? -Infinity : 0));
      const causal = addConstant(b.g, `${n.name}_causal`, floatConstant('', b.dtype, [sq, sk], tri));
      bias = bias ? b.op('Add', [bias, causal]) : causal;
    }
    if (bias) s = b.op('Add', [s, bias]);
    let y = b.op('MatMul', [b.op('Softmax', [s], { axis: -1 }), V]);
    if (!four) y = b.op('Reshape', [b.op('Transpose', [y], { perm: [0, 2, 1, 3] }), b.ints([0, 0, hq * dv])]);
    b.done(y);
  },
};
