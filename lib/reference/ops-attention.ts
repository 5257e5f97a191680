// Reference kernel of the optimizer's FusedAttention(Q, Kᵀ, V, mask?) {scale}: softmax(scale · Q·Kᵀ + mask) · V
// per leading index, in float64; a fully masked row gives zeros (the IsNaN guard the fusion absorbs).
import { attrFloat, attrInt } from '../ir/attrs.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import { attentionSizes, rotarySizes } from '../ir/rules-attention.js';
import type { Node, TensorType } from '../ir/types.js';
import type { Kernel } from './ops-nn.js';
import { alloc, asFloat64, fromFloat64, toNumbers, type RTensor } from './tensor.js';

/** Offsets of a (possibly broadcast) tensor for each leading index of the scores [..., sq, sk]. */
function broadcastIndex(dims: number[], scores: number[]): (lead: number, i: number, j: number) => number {
  const r = scores.length;
  const d = [...Array(r - dims.length).fill(1), ...dims];
  const strides = new Array<number>(r).fill(0);
  let acc = 1;
  for (let k = r - 1; k >= 0; k--) {
    strides[k] = d[k] === 1 ? 0 : acc;
    acc *= d[k];
  }
  return (lead, i, j) => {
    let off = i * strides[r - 2] + j * strides[r - 1];
    for (let k = r - 3; k >= 0; k--) {
      off += (lead % scores[k]) * strides[k];
      lead = Math.floor(lead / scores[k]);
    }
    return off;
  };
}

export const fusedAttention: Kernel = (node: Node, inputs: (RTensor | undefined)[], out: TensorType[]) => {
  const [q, kt, v, m] = inputs as RTensor[];
  const scale = attrFloat(node, 'scale', 1);
  const r = q.dims.length;
  const [sq, d] = q.dims.slice(-2);
  const sk = kt.dims[r - 1];
  const dv = v.dims[r - 1];
  const lead = q.dims.slice(0, -2).reduce((a, b) => a * b, 1);
  const Q = asFloat64(q);
  const K = asFloat64(kt);
  const V = asFloat64(v);
  const M = m ? asFloat64(m) : undefined;
  const maskAt = m ? broadcastIndex(m.dims, [...q.dims.slice(0, -2), sq, sk]) : undefined;
  const y = alloc(out[0].dtype, out[0].shape as number[]);
  const s = new Float64Array(sk);
  for (let z = 0; z < lead; z++)
    for (let i = 0; i < sq; i++) {
      let mx = -Infinity;
      for (let j = 0; j < sk; j++) {
        let acc = 0;
        for (let e = 0; e < d; e++) acc += Q[(z * sq + i) * d + e] * K[(z * d + e) * sk + j];
        s[j] = acc * scale + (M ? M[maskAt!(z, i, j)] : 0);
        mx = Math.max(mx, s[j]);
      }
      let sum = 0;
      for (let j = 0; j < sk; j++) s[j] = mx === -Infinity ? 0 : Math.exp(s[j] - mx);
      for (let j = 0; j < sk; j++) sum += s[j];
      for (let e = 0; e < dv; e++) {
        let acc = 0;
        for (let j = 0; j < sk; j++) acc += s[j] * V[(z * sk + j) * dv + e];
        (y.data as Float32Array)[(z * sq + i) * dv + e] = sum > 0 ? acc / sum : 0;
      }
    }
  return [y];
};

/** RotaryEmbedding (opset 23): each head's first R features rotated by the cached angle of its position, in pairs
 *  (i, i + R/2), or (2i, 2i + 1) when interleaved; the rest copied. Position ids outside the caches are an error. */
export const rotaryEmbedding: Kernel = (node, inputs, out) => {
  const [x, cosT, sinT, pos] = inputs as (RTensor | undefined)[];
  const X = asFloat64(x!), C = asFloat64(cosT!), Sn = asFloat64(sinT!);
  const { four, b: B, heads: H, s: S, d: D, rd } = rotarySizes(node, x!.dims) as { four: boolean } & Record<'b' | 'heads' | 's' | 'd' | 'rd', number>;
  const half = rd / 2;
  const interleaved = attrInt(node, 'interleaved', 0) === 1;
  const ids = pos ? toNumbers(pos) : undefined;
  if (ids && ids.length !== B * S) throw new TensorRTError(ErrorCode.SHAPE_MISMATCH, `RotaryEmbedding '${node.name}': position_ids hold ${ids.length} values for batch ${B} × sequence ${S}`);
  const rows = cosT!.dims[0];
  const y = Float64Array.from(X);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++) {
      const row = ids ? ids[b * S + s] : b * S + s;
      if (ids && !(row >= 0 && row < rows)) {
        throw new TensorRTError(ErrorCode.INVALID_INPUT, `RotaryEmbedding '${node.name}': position id ${row} is outside the caches' ${rows} rows`);
      }
      for (let h = 0; h < H; h++) {
        const base = four ? ((b * H + h) * S + s) * D : (b * S + s) * H * D + h * D;
        for (let i = 0; i < half; i++) {
          const c = C[row * half + i], sn = Sn[row * half + i];
          const i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
          const x1 = X[base + i1], x2 = X[base + i2];
          y[base + i1] = c * x1 - sn * x2;
          y[base + i2] = sn * x1 + c * x2;
        }
      }
    }
  return [fromFloat64(out[0].dtype, x!.dims, y)];
};

/**
 * Attention (opset 23) in float64: scores = scale·Q·Kᵀ (soft-capped: c·tanh(s/c)), plus the mask (bool: false is
 * −inf; a mask shorter than the keys is −inf past its end) and the causal triangle (key j > query i + past length
 * is −inf), softmax over the keys, times V; query head h reads key/value head ⌊h / (Hq/Hk)⌋. Outputs Y, present K
 * and V (past then new), and the scores by qk_matmul_output_mode (0 scaled, 1 soft-capped, 2 with the mask, 3 softmax),
 * as onnxruntime gives them.
 */
export const attentionOp: Kernel = (node, inputs, out) => {
  const [q, k, v, mask, pk, pv] = inputs as (RTensor | undefined)[];
  // A reference tensor's dims are numbers.
  const { four, b: B, hq: Hq, hk: Hk, sq: Sq, sk: Sn, d: D, dv: Dv } = attentionSizes(node, q!.dims, k!.dims, v!.dims) as { four: boolean } & Record<'b' | 'hq' | 'hk' | 'sq' | 'sk' | 'd' | 'dv', number>;
  const P = pk ? pk.dims[2] : 0;
  const T = P + Sn;
  const Q = asFloat64(q!), K = asFloat64(k!), V = asFloat64(v!);
  // present_key / present_value [B, Hk, T, D|Dv]: the past, then this call's keys and values.
  const present = (past: RTensor | undefined, now: Float64Array, e: number) => {
    const pres = new Float64Array(B * Hk * T * e);
    const old = past ? asFloat64(past) : undefined;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < Hk; h++)
        for (let j = 0; j < T; j++)
          for (let c = 0; c < e; c++) {
            pres[((b * Hk + h) * T + j) * e + c] =
              j < P ? old![((b * Hk + h) * P + j) * e + c] : now[four ? ((b * Hk + h) * Sn + j - P) * e + c : (b * Sn + j - P) * Hk * e + h * e + c];
          }
    return pres;
  };
  const Kp = present(pk, K, D), Vp = present(pv, V, Dv);
  const scale = attrFloat(node, 'scale', 1 / Math.sqrt(D));
  const cap = attrFloat(node, 'softcap', 0);
  const causal = attrInt(node, 'is_causal', 0) === 1;
  const mode = attrInt(node, 'qk_matmul_output_mode', 0);
  const M = mask ? (mask.dtype === 'bool' ? Float64Array.from(mask.data as Uint8Array, (x) => (x ? 0 : -Infinity)) : asFloat64(mask)) : undefined;
  const mLast = mask ? mask.dims[mask.dims.length - 1] : 0;
  const maskAt = mask ? broadcastIndex(mask.dims, [B, Hq, Sq, mLast]) : undefined;
  const y = new Float64Array(B * Hq * Sq * Dv);
  const qk = new Float64Array(B * Hq * Sq * T);
  const s = new Float64Array(T);
  const rep = Hq / Hk;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / rep);
      for (let i = 0; i < Sq; i++) {
        const row = ((b * Hq + h) * Sq + i) * T;
        let mx = -Infinity;
        for (let j = 0; j < T; j++) {
          let acc = 0;
          for (let e = 0; e < D; e++) acc += Q[four ? ((b * Hq + h) * Sq + i) * D + e : (b * Sq + i) * Hq * D + h * D + e] * Kp[((b * Hk + kh) * T + j) * D + e];
          let x = acc * scale;
          if (mode === 0) qk[row + j] = x;
          if (cap > 0) x = cap * Math.tanh(x / cap);
          if (mode === 1) qk[row + j] = x;
          if (M) x += j < mLast ? M[maskAt!((b * Hq + h), i, j)] : -Infinity;
          if (causal && j > i + P) x = -Infinity;
          if (mode === 2) qk[row + j] = x;
          s[j] = x;
          mx = Math.max(mx, x);
        }
        let sum = 0;
        for (let j = 0; j < T; j++) sum += (s[j] = Math.exp(s[j] - mx));
        for (let j = 0; j < T; j++) {
          s[j] /= sum;
          if (mode === 3) qk[row + j] = s[j];
        }
        for (let e = 0; e < Dv; e++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += s[j] * Vp[((b * Hk + kh) * T + j) * Dv + e];
          y[four ? ((b * Hq + h) * Sq + i) * Dv + e : (b * Sq + i) * Hq * Dv + h * Dv + e] = acc;
        }
      }
    }
  const outs = [y, Kp, Vp, qk];
  return out.map((t, i) => fromFloat64(t.dtype, t.shape as number[], outs[i]));
};
