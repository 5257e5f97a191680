// Shape rules of the attention family: the optimizer's FusedAttention(Q, Kᵀ, V, mask?), softmax(scale · Q·Kᵀ +
// mask) · V, and RotaryEmbedding (opset 23).
import { attrInt } from './attrs.js';
import type { InferResult, NodeContext } from './context.js';
import { shapeToString } from './types.js';

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

/**
 * RotaryEmbedding(X, cos_cache, sin_cache, position_ids?) (opset 23): X [B, H, S, D], or [B, S, H·D] with num_heads;
 * the caches [P, R/2] indexed by int64 position ids [B, S], or [B, S, R/2] without them; R = rotary_embedding_dim
 * (D when 0), even and at most D. Output: X's type.
 */
export function rotaryEmbedding(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  const r = x.shape.length;
  if (r !== 3 && r !== 4) ctx.mismatch(`input must be 3-D or 4-D, got ${shapeToString(x.shape)}`);
  const heads = attrInt(ctx.node, 'num_heads', 0);
  let d = x.shape[r - 1];
  if (r === 3) {
    if (heads <= 0) ctx.invalid('num_heads must be positive for a 3-D input');
    if (typeof d === 'number') {
      if (d % heads) ctx.mismatch(`hidden size ${d} is not a multiple of num_heads ${heads}`);
      d /= heads;
    }
  }
  if (typeof d !== 'number') ctx.unsupported(`a dynamic head size in ${shapeToString(x.shape)}`);
  const rd = attrInt(ctx.node, 'rotary_embedding_dim', 0) || d;
  if (rd < 0 || rd % 2 || rd > d) ctx.invalid(`rotary_embedding_dim ${rd} must be even and at most the head size ${d}`);
  const interleaved = attrInt(ctx.node, 'interleaved', 0);
  if (interleaved !== 0 && interleaved !== 1) ctx.invalid(`interleaved must be 0 or 1, got ${interleaved}`);
  const withIds = ctx.has(3);
  for (const i of [1, 2]) {
    const c = ctx.float(i);
    if (c.dtype !== x.dtype) ctx.mismatch(`${i === 1 ? 'cos' : 'sin'}_cache is ${c.dtype}, the input ${x.dtype}`);
    const want = withIds ? 2 : 3;
    if (c.shape.length !== want) ctx.mismatch(`${i === 1 ? 'cos' : 'sin'}_cache must be ${want}-D ${withIds ? 'with' : 'without'} position_ids, got ${shapeToString(c.shape)}`);
    const last = c.shape[want - 1];
    if (typeof last === 'number' && last !== rd / 2) ctx.mismatch(`${i === 1 ? 'cos' : 'sin'}_cache's last dimension ${last} is not rotary_embedding_dim / 2 = ${rd / 2}`);
  }
  if (withIds) {
    const ids = ctx.input(3);
    if (ids.dtype !== 'int64') ctx.invalid(`position_ids must be int64, got ${ids.dtype}`);
    if (ids.shape.length !== 2) ctx.mismatch(`position_ids must be 2-D [batch, sequence], got ${shapeToString(ids.shape)}`);
  }
  return { types: [{ dtype: x.dtype, shape: [...x.shape] }] };
}
