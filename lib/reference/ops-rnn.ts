// Reference kernels for RNN, GRU and LSTM: one layer, forward, reverse or bidirectional, either layout, per-batch
// sequence lengths (steps past a length give zeros in Y and leave the state alone; an empty sequence gives zero
// states), initial states, LSTM peepholes, clip; float64 arithmetic.
import { attrFloat, attrInt, attrString } from '../ir/attrs.js';
import { RNN_GATES, rnnActivations } from '../ir/rules-rnn.js';
import { ErrorCode, TensorRTError, type ErrorCodeValue } from '../errors.js';
import type { Kernel } from './ops-nn.js';
import { asFloat64, fromFloat64, toNumbers, type RTensor } from './tensor.js';

const ACT: Record<string, (v: number) => number> = {
  Sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  Tanh: Math.tanh,
  Relu: (v) => Math.max(0, v),
};

export const recurrent: Kernel = (node, inputs, out) => {
  const [X, W, R, B, lens, h0, c0, P] = inputs as (RTensor | undefined)[];
  const op = node.op;
  const gates = RNN_GATES[op];
  const direction = attrString(node, 'direction', 'forward');
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const layout = attrInt(node, 'layout', 0);
  // Shape inference has checked the names; these errors only guard a direct call.
  const fail = (code: ErrorCodeValue) => (m: string): never => {
    throw new TensorRTError(code, `Node '${node.name}' (${op}): ${m}`);
  };
  const acts = rnnActivations({ node, unsupported: fail(ErrorCode.UNSUPPORTED_OP), invalid: fail(ErrorCode.INVALID_MODEL) }, dirs).map((names) => names.map((a) => ACT[a]));
  const clip = attrFloat(node, 'clip');
  const linearBeforeReset = attrInt(node, 'linear_before_reset', 0) !== 0;
  const x = asFloat64(X!), w = asFloat64(W!), r = asFloat64(R!);
  const [seq, batch, input] = layout === 0 ? X!.dims : [X!.dims[1], X!.dims[0], X!.dims[2]];
  const hidden = R!.dims[2];
  const gh = gates * hidden;
  const b = B ? asFloat64(B) : new Float64Array(dirs * 2 * gh);
  const p = P ? asFloat64(P) : new Float64Array(dirs * 3 * hidden);
  const seqLens = lens ? toNumbers(lens) : new Array(batch).fill(seq);
  for (const l of seqLens) if (l < 0 || l > seq) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Node '${node.name}' (${op}): a sequence length of ${l} is outside 0..${seq}`);
  // Offsets in layout order: X[t, n, :] and Y[t, d, n, :]; the states [d, n, :].
  const xAt = (t: number, n: number) => (layout === 0 ? (t * batch + n) * input : (n * seq + t) * input);
  const yAt = (t: number, d: number, n: number) => (layout === 0 ? ((t * dirs + d) * batch + n) * hidden : ((n * seq + t) * dirs + d) * hidden);
  const sAt = (d: number, n: number) => (layout === 0 ? (d * batch + n) * hidden : (n * dirs + d) * hidden);
  const Y = new Float64Array(seq * dirs * batch * hidden);
  const H = h0 ? asFloat64(h0) : new Float64Array(dirs * batch * hidden);
  const C = c0 ? asFloat64(c0) : new Float64Array(dirs * batch * hidden);
  const clipped = (v: number) => (clip === undefined ? v : Math.min(clip, Math.max(-clip, v)));
  const pre = new Float64Array(gh), rec = new Float64Array(gh);
  for (let d = 0; d < dirs; d++) {
    const reverse = direction === 'reverse' || d === 1;
    const [f, g, h] = acts[d];
    const wd = d * gh * input, rd = d * gh * hidden, wb = d * 2 * gh, rb = wb + gh, pd = d * 3 * hidden;
    for (let n = 0; n < batch; n++) {
      const len = seqLens[n];
      const s = sAt(d, n);
      // An empty sequence leaves zero states, as onnxruntime gives (the initial state is not passed through).
      if (len === 0) {
        H.fill(0, s, s + hidden);
        C.fill(0, s, s + hidden);
      }
      for (let k = 0; k < len; k++) {
        const t = reverse ? len - 1 - k : k;
        const xo = xAt(t, n);
        // pre = X_t·Wᵀ + Wb, rec = H·Rᵀ + Rb, per gate row.
        for (let j = 0; j < gh; j++) {
          let a = b[wb + j];
          for (let i = 0; i < input; i++) a += x[xo + i] * w[wd + j * input + i];
          let c = b[rb + j];
          for (let i = 0; i < hidden; i++) c += H[s + i] * r[rd + j * hidden + i];
          pre[j] = a;
          rec[j] = c;
        }
        if (op === 'RNN') {
          for (let j = 0; j < hidden; j++) H[s + j] = f(clipped(pre[j] + rec[j]));
        } else if (op === 'GRU') {
          // Gates z, r, h.
          const hNew = new Float64Array(hidden);
          for (let j = 0; j < hidden; j++) {
            const z = f(clipped(pre[j] + rec[j]));
            const rr = f(clipped(pre[hidden + j] + rec[hidden + j]));
            let cand: number;
            if (linearBeforeReset) {
              cand = pre[2 * hidden + j] + rr * rec[2 * hidden + j];
            } else {
              // (r ⊙ H)·Rhᵀ + Rbh: the reset gates of every hidden unit enter each row.
              let a = b[rb + 2 * hidden + j];
              for (let i = 0; i < hidden; i++) {
                const ri = f(clipped(pre[hidden + i] + rec[hidden + i]));
                a += ri * H[s + i] * r[rd + (2 * hidden + j) * hidden + i];
              }
              cand = pre[2 * hidden + j] + a;
            }
            const hc = g(clipped(cand));
            hNew[j] = (1 - z) * hc + z * H[s + j];
          }
          H.set(hNew, s);
        } else {
          // LSTM gates i, o, f, c; peepholes i, o, f.
          for (let j = 0; j < hidden; j++) {
            const cPrev = C[s + j];
            const ig = f(clipped(pre[j] + rec[j] + p[pd + j] * cPrev));
            const fg = f(clipped(pre[2 * hidden + j] + rec[2 * hidden + j] + p[pd + 2 * hidden + j] * cPrev));
            const cg = g(clipped(pre[3 * hidden + j] + rec[3 * hidden + j]));
            const cNew = fg * cPrev + ig * cg;
            const og = f(clipped(pre[hidden + j] + rec[hidden + j] + p[pd + hidden + j] * cNew));
            C[s + j] = cNew;
            H[s + j] = og * h(cNew);
          }
        }
        Y.set(H.subarray(s, s + hidden), yAt(t, d, n));
      }
    }
  }
  const dt = out[0]?.dtype ?? X!.dtype;
  return [Y, H, C].slice(0, out.length).map((v, i) => fromFloat64(dt, out[i].shape as number[], v));
};
