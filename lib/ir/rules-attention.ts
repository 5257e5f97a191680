// Shape rule of the optimizer's FusedAttention(Q, Kᵀ, V, mask?): softmax(scale · Q·Kᵀ + mask) · V.
import type { InferResult, NodeContext } from './context.js';

/** Output [..., Sq, Dv] of Q's type; Q [..., Sq, D], Kᵀ [..., D, Sk], V [..., Sk, Dv] of the same rank. */
export function fusedAttention(ctx: NodeContext): InferResult {
  const q = ctx.input(0);
  const k = ctx.input(1);
  const v = ctx.input(2);
  ctx.float(0);
  const r = q.shape.length;
  if (r < 3 || k.shape.length !== r || v.shape.length !== r) ctx.invalid('Q, Kᵀ and V must share a rank of 3 or more');
  return { types: [{ dtype: q.dtype, shape: [...q.shape.slice(0, -1), v.shape[r - 1]] }] };
}
