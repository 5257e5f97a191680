// Reference kernel of the optimizer's FusedAttention(Q, Kᵀ, V, mask?) {scale}: softmax(scale · Q·Kᵀ + mask) · V
// per leading index, in float64; a fully masked row gives zeros (the IsNaN guard the fusion absorbs).
import { attrFloat } from '../ir/attrs.js';
import type { Node, TensorType } from '../ir/types.js';
import type { Kernel } from './ops-nn.js';
import { alloc, asFloat64, type RTensor } from './tensor.js';

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
