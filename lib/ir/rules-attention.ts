// Shape rules of the attention family: the optimizer's FusedAttention(Q, Kᵀ, V, mask?), softmax(scale · Q·Kᵀ +
// mask) · V, and Attention and RotaryEmbedding (opset 23).
import { attrFloat, attrInt } from './attrs.js';
import type { InferResult, NodeContext } from './context.js';
import { shapeToString, type Dim, type Node } from './types.js';

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
  if (r === 3) {
    const heads = attrInt(ctx.node, 'num_heads', 0), hidden = x.shape[2];
    if (heads <= 0) ctx.invalid('num_heads must be positive for a 3-D input');
    if (typeof hidden === 'number' && hidden % heads) ctx.mismatch(`hidden size ${hidden} is not a multiple of num_heads ${heads}`);
  }
  const { d, rd } = rotarySizes(ctx.node, x.shape);
  if (typeof d !== 'number' || typeof rd !== 'number') ctx.unsupported(`a dynamic head size in ${shapeToString(x.shape)}`);
  if (rd < 0 || rd % 2 || rd > d) ctx.invalid(`rotary_embedding_dim ${rd} must be even and at most the head size ${d}`);
  const interleaved = attrInt(ctx.node, 'interleaved', 0);
  if (interleaved !== 0 && interleaved !== 1) ctx.invalid(`interleaved must be 0 or 1, got ${interleaved}`);
  const withIds = ctx.has(3);
  // [batch, sequence] of X, which per-token caches and position ids must match (neither broadcasts).
  const bs = [x.shape[0], x.shape[r === 4 ? 2 : 1]];
  const fits = (dims: readonly (number | string)[]) => dims.every((v, j) => typeof v !== 'number' || typeof bs[j] !== 'number' || v === bs[j]);
  for (const i of [1, 2]) {
    const c = ctx.float(i);
    if (c.dtype !== x.dtype) ctx.mismatch(`${i === 1 ? 'cos' : 'sin'}_cache is ${c.dtype}, the input ${x.dtype}`);
    const want = withIds ? 2 : 3;
    if (c.shape.length !== want) ctx.mismatch(`${i === 1 ? 'cos' : 'sin'}_cache must be ${want}-D ${withIds ? 'with' : 'without'} position_ids, got ${shapeToString(c.shape)}`);
    const last = c.shape[want - 1];
    if (typeof last === 'number' && last !== rd / 2) ctx.mismatch(`${i === 1 ? 'cos' : 'sin'}_cache's last dimension ${last} is not rotary_embedding_dim / 2 = ${rd / 2}`);
    if (!withIds && !fits(c.shape.slice(0, 2))) ctx.mismatch(`${i === 1 ? 'cos' : 'sin'}_cache ${shapeToString(c.shape)} is not per token of the input's [batch, sequence] ${shapeToString(bs)}`);
  }
  if (withIds) {
    const ids = ctx.input(3);
    if (ids.dtype !== 'int64') ctx.invalid(`position_ids must be int64, got ${ids.dtype}`);
    if (ids.shape.length !== 2 || !fits(ids.shape)) ctx.mismatch(`position_ids must be the input's [batch, sequence] ${shapeToString(bs)}, got ${shapeToString(ids.shape)}`);
  }
  return { types: [{ dtype: x.dtype, shape: [...x.shape] }] };
}

/** An Attention node's sizes as [B, heads, sequence, head size]: 3-D inputs split by the head-count attributes. */
export interface AttentionSizes {
  four: boolean;
  b: Dim;
  hq: Dim;
  hk: Dim;
  sq: Dim;
  sk: Dim;
  d: Dim;
  dv: Dim;
}

/** Reads AttentionSizes from Q, K and V's shapes (checked by the shape rule; a dynamic hidden size stays a symbol). */
export function attentionSizes(node: Node, q: readonly Dim[], k: readonly Dim[], v: readonly Dim[]): AttentionSizes {
  if (q.length === 4) return { four: true, b: q[0], hq: q[1], hk: k[1], sq: q[2], sk: k[2], d: q[3], dv: v[3] };
  const hq = attrInt(node, 'q_num_heads', 0), hk = attrInt(node, 'kv_num_heads', 0);
  const split = (h: Dim, heads: number): Dim => (typeof h === 'number' ? h / heads : h);
  return { four: false, b: q[0], hq, hk, sq: q[1], sk: k[1], d: split(q[2], hq), dv: split(v[2], hk) };
}

/** RotaryEmbedding's sizes: X as [B, heads, S, D] (a 3-D input split by num_heads), and the rotated width R. */
export function rotarySizes(node: Node, x: readonly Dim[]): { four: boolean; b: Dim; heads: Dim; s: Dim; d: Dim; rd: Dim } {
  const four = x.length === 4;
  const heads = four ? x[1] : attrInt(node, 'num_heads', 0);
  const d = four ? x[3] : typeof x[2] === 'number' && typeof heads === 'number' ? x[2] / heads : x[2];
  return { four, b: x[0], heads, s: four ? x[2] : x[1], d, rd: attrInt(node, 'rotary_embedding_dim', 0) || d };
}

/** Validates an Attention node's operands and returns their AttentionSizes (head sizes static). */
export function attentionDims(ctx: NodeContext): AttentionSizes {
  const [q, k, v] = [ctx.float(0), ctx.float(1), ctx.float(2)];
  const r = q.shape.length;
  if ((r !== 3 && r !== 4) || k.shape.length !== r || v.shape.length !== r) {
    ctx.mismatch(`Q, K and V must all be 3-D or all 4-D, got ${shapeToString(q.shape)}, ${shapeToString(k.shape)} and ${shapeToString(v.shape)}`);
  }
  if (k.dtype !== q.dtype || v.dtype !== q.dtype) ctx.mismatch(`Q, K and V must share a type, got ${q.dtype}, ${k.dtype} and ${v.dtype}`);
  if (r === 3) {
    const hq = attrInt(ctx.node, 'q_num_heads', 0), hk = attrInt(ctx.node, 'kv_num_heads', 0);
    if (hq <= 0 || hk <= 0) ctx.invalid('q_num_heads and kv_num_heads must be positive for 3-D inputs');
    for (const [t, heads, what] of [[q, hq, 'Q'], [v, hk, 'V']] as const) {
      const h = t.shape[2];
      if (typeof h !== 'number') ctx.unsupported(`a dynamic hidden size for ${what}`);
      if (h % heads) ctx.mismatch(`${what}'s hidden size ${h} is not a multiple of its ${heads} heads`);
    }
  }
  return attentionSizes(ctx.node, q.shape, k.shape, v.shape);
}

/**
 * Attention(Q, K, V, attn_mask?, past_key?, past_value?) (opset 23): softmax(scale·Q·Kᵀ (soft-capped) + mask, with
 * a causal triangle when is_causal) · V, heads of K and V shared by groups of Q's heads. Outputs Y, present_key,
 * present_value (the past with K and V appended) and qk_matmul_output. nonpad_kv_seqlen is ERR_UNSUPPORTED_OP.
 */
export function attention(ctx: NodeContext): InferResult {
  const { b, hq, hk, sq, sk, d, dv } = attentionDims(ctx);
  const [k, v] = [ctx.input(1), ctx.input(2)];
  const four = k.shape.length === 4;
  const same = (x: Dim, y: Dim) => typeof x !== 'number' || typeof y !== 'number' || x === y;
  if (four && (!same(k.shape[3], d) || !same(v.shape[1], hk) || !same(v.shape[2], sk))) {
    ctx.mismatch(`K ${shapeToString(k.shape)} and V ${shapeToString(v.shape)} do not fit Q's head size ${d}`);
  }
  if (!four && typeof hk === 'number' && typeof d === 'number' && !same(k.shape[2], hk * d)) {
    ctx.mismatch(`K's hidden size ${k.shape[2]} is not kv_num_heads ${hk} × Q's head size ${d}`);
  }
  if (typeof hq === 'number' && typeof hk === 'number' && hq % hk) ctx.mismatch(`${hq} query heads cannot share ${hk} key/value heads`);
  if (ctx.has(6)) ctx.unsupported('nonpad_kv_seqlen');
  if (ctx.has(4) !== ctx.has(5)) ctx.invalid('past_key and past_value must be given together');
  let total = sk;
  if (ctx.has(4)) {
    const [pk, pv] = [ctx.input(4), ctx.input(5)];
    if (pk.shape.length !== 4 || pv.shape.length !== 4) ctx.mismatch(`past_key and past_value must be 4-D, got ${shapeToString(pk.shape)} and ${shapeToString(pv.shape)}`);
    const p = pk.shape[2];
    if (typeof p !== 'number' || typeof sk !== 'number') ctx.unsupported('past_key with a dynamic sequence length');
    total = p + sk;
  }
  if (ctx.has(3)) {
    const m = ctx.input(3);
    if (m.dtype !== 'bool' && m.dtype !== ctx.input(0).dtype) ctx.mismatch(`attn_mask must be bool or Q's type, got ${m.dtype}`);
    if (m.shape.length < 2 || m.shape.length > 4) ctx.mismatch(`attn_mask must have rank 2 to 4, got ${shapeToString(m.shape)}`);
    const last = m.shape[m.shape.length - 1];
    if (typeof last === 'number' && typeof total === 'number' && last > total) ctx.mismatch(`attn_mask covers ${last} keys of ${total}`);
  }
  if (attrFloat(ctx.node, 'softcap', 0) < 0) ctx.invalid('softcap must not be negative');
  const mode = attrInt(ctx.node, 'qk_matmul_output_mode', 0);
  if (mode < 0 || mode > 3) ctx.invalid(`qk_matmul_output_mode must be 0 to 3, got ${mode}`);
  const dt = ctx.input(0).dtype;
  const y = four ? [b, hq, sq, dv] : [b, sq, typeof hq === 'number' && typeof dv === 'number' ? hq * dv : ctx.unsupported('a dynamic head size')];
  const types = [
    { dtype: dt, shape: y },
    { dtype: dt, shape: [b, hk, total, d] },
    { dtype: dt, shape: [b, hk, total, dv] },
    { dtype: dt, shape: [b, hq, sq, total] },
  ];
  return { types: types.slice(0, Math.max(1, ctx.node.outputs.length)) };
}
