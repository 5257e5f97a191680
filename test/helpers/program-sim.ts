// A CPU simulator of the builtin program: runs the lowered layers with plain loops, so CI checks the lowering
// (layouts, strides, offsets, weight packing) against the reference interpreter without a GPU.
import { Act, OP_NAMES, paramsAt, type Program } from '../../lib/builtin/program.js';
import { matmulNd, simulateTransformerOp } from './program-sim-nd.js';
import { erf } from '../../lib/reference/ops-math.js';
import { efficientNms } from '../../lib/reference/efficient-nms.js';
import { rankCompare } from '../../lib/reference/ops-vision.js';
import { fromHalfBits, roundToHalf } from '../../lib/util/half.js';

type Store = Map<number, Float64Array>;

function act(kind: number, x: number, a: number, b: number): number {
  switch (kind) {
    case Act.relu: return Math.max(x, 0);
    case Act.clip: return Math.min(Math.max(x, a), b);
    case Act.leakyrelu: return x < 0 ? a * x : x;
    case Act.sigmoid: return 1 / (1 + Math.exp(-x));
    case Act.hardsigmoid: return Math.min(Math.max(a * x + b, 0), 1);
    case Act.hardswish: return x * Math.min(Math.max(x / 6 + 0.5, 0), 1);
    case Act.tanh: return Math.tanh(x);
    case Act.erf: return erf(x);
    case Act.gelu: return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case Act.gelutanh: return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case Act.sqrt: return Math.sqrt(x);
    case Act.exp: return Math.exp(x);
    case Act.log: return Math.log(x);
    case Act.neg: return -x;
    case Act.abs: return Math.abs(x);
    case Act.reciprocal: return 1 / x;
    case Act.scale: return a * x + b;
    case Act.silu: return x / (1 + Math.exp(-x));
    case Act.none: return x;
    default: throw new Error(`program-sim: no activation ${kind}`);
  }
}

interface ConvShape {
  n: number; h: number; w: number; c: number; k: number; r: number; s: number; p: number; q: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; g: number; act: number; alpha: number; beta: number;
}

/** A direct NHWC convolution (KRSC weights, RSC when depthwise) with the fused epilogue; `put(offset, value)`. */
function convLoop(cs: ConvShape, x: Float64Array, w: Float64Array, bias: Float64Array | null, res: Float64Array | null, put: (o: number, v: number) => void): void {
  const { n, h, w: W, c, k, r, s, p: P, q: Q, sh, sw, ph, pw, dh, dw, g } = cs;
  const cg = c / g;
  const kg = k / g;
  const depthwise = g === c && g === k && g > 1;
  for (let ni = 0; ni < n; ni++)
    for (let pi = 0; pi < P; pi++)
      for (let qi = 0; qi < Q; qi++)
        for (let ki = 0; ki < k; ki++) {
          const gi = Math.floor(ki / kg);
          let acc = 0;
          for (let ri = 0; ri < r; ri++) {
            const hi = pi * sh - ph + ri * dh;
            if (hi < 0 || hi >= h) continue;
            for (let si = 0; si < s; si++) {
              const wi = qi * sw - pw + si * dw;
              if (wi < 0 || wi >= W) continue;
              for (let ci = 0; ci < cg; ci++) {
                const xv = x[((ni * h + hi) * W + wi) * c + gi * cg + ci];
                const wv = depthwise ? w[(ri * s + si) * c + ki] : w[((ki * r + ri) * s + si) * cg + ci];
                acc += xv * wv;
              }
            }
          }
          const o = ((ni * P + pi) * Q + qi) * k + ki;
          if (bias) acc += bias[ki];
          if (res) acc += res[o];
          put(o, act(cs.act, acc, cs.alpha, cs.beta));
        }
}

/** Runs `program` at `batch` on the CPU. Inputs/outputs by I/O name, as float arrays. */
export function simulate(program: Program, weights: Uint8Array, feeds: Record<string, ArrayLike<number | bigint>>, batch: number): Record<string, Float64Array> {
  const store: Store = new Map();
  const scaleOf = (batched: boolean) => (batched ? batch : 1);
  const elems = (id: number) => {
    const t = program.tensors[id];
    const size = t.dtype === 1 ? 2 : t.dtype === 3 ? 8 : t.dtype === 4 || t.dtype === 5 || t.dtype === 6 ? 1 : 4;
    return (t.bytes / size) * (t.loc === 0 && t.batched ? batch : 1);
  };
  const get = (id: number): Float64Array => {
    let a = store.get(id);
    if (a) return a;
    const t = program.tensors[id];
    if (t.loc === 1) {
      const n = elems(id);
      a = new Float64Array(n);
      const dv = new DataView(weights.buffer, weights.byteOffset + t.offset, t.bytes);
      for (let i = 0; i < n; i++) {
        a[i] = t.dtype === 1 ? fromHalfBits(dv.getUint16(i * 2, true)) : t.dtype === 0 ? dv.getFloat32(i * 4, true)
          : t.dtype === 2 ? dv.getInt32(i * 4, true) : t.dtype === 3 ? Number(dv.getBigInt64(i * 8, true))
          : t.dtype === 5 ? dv.getInt8(i) : dv.getUint8(i);
      }
    } else {
      a = new Float64Array(elems(id)).fill(NaN); // poisoned: unwritten elements show
    }
    store.set(id, a);
    return a;
  };
  // Stores as the tensor's type would hold it: fp16/fp32 rounding, integer truncation, bool as 0/1.
  const put = (id: number, i: number, v: number) => {
    const dt = program.tensors[id].dtype;
    get(id)[i] = dt === 1 ? roundToHalf(v) : dt === 0 ? Math.fround(v) : dt === 6 ? (v !== 0 ? 1 : 0) : Number.isFinite(v) ? Math.trunc(v) : v;
  };
  for (const io of program.io.filter((x) => x.isInput)) {
    const f = feeds[io.name];
    const a = get(io.tensor);
    for (let i = 0; i < a.length; i++) a[i] = Number(f[i]);
  }
  for (const l of program.layers) {
    const p = paramsAt(l, batch) as Record<string, number & number[]>;
    const sc = scaleOf(l.batched);
    const x = l.inputs[0] >= 0 ? get(l.inputs[0]) : new Float64Array(0);
    const y = l.outputs[0];
    const op = OP_NAMES[l.op];
    if (op === 'conv') {
      const bias = l.inputs[2] >= 0 ? get(l.inputs[2]) : null;
      const res = l.inputs[3] >= 0 ? get(l.inputs[3]) : null;
      convLoop({ ...(p as unknown as ConvShape), n: p.n * sc }, x, get(l.inputs[1]), bias, res, (o, v) => put(y, o, v));
    } else if (op === 'mbconv') {
      // Three convolutions through the chain's intermediate tensors, stored (rounded) in the layer's dtype.
      const n = p.n * sc;
      const opt = (i: number) => (l.inputs[i] >= 0 ? get(l.inputs[i]) : null);
      // An identity expand (id1) is skipped, as the chain tactic does: the depthwise stage reads x.
      const e = p.id1 ? x : get(l.outputs[1]);
      const d = get(l.outputs[2]);
      const one = { sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, g: 1, r: 1, s: 1 };
      if (!p.id1) convLoop({ ...one, n, h: p.h, w: p.w, c: p.c, k: p.e, p: p.h, q: p.w, act: p.act1, alpha: p.alpha1, beta: p.beta1 }, x, get(l.inputs[1]), opt(2), null, (o, v) => put(l.outputs[1], o, v));
      convLoop({ n, h: p.h, w: p.w, c: p.e, k: p.e, r: p.ks, s: p.ks, p: p.p, q: p.q, sh: p.st, sw: p.st, ph: p.ph, pw: p.pw, dh: 1, dw: 1, g: p.e, act: p.act2, alpha: p.alpha2, beta: p.beta2 }, e, get(l.inputs[3]), opt(4), null, (o, v) => put(l.outputs[2], o, v));
      convLoop({ ...one, n, h: p.p, w: p.q, c: p.e, k: p.k, p: p.p, q: p.q, act: p.act, alpha: p.alpha, beta: p.beta }, d, get(l.inputs[5]), opt(6), opt(7), (o, v) => put(y, o, v));
    } else if (op === 'pool') {
      const { h, w: W, c, r, s, p: P, q: Q, sh, sw, ph, pw } = p;
      const n = p.n * sc;
      for (let ni = 0; ni < n; ni++)
        for (let pi = 0; pi < P; pi++)
          for (let qi = 0; qi < Q; qi++)
            for (let ci = 0; ci < c; ci++) {
              let acc = p.max ? -Infinity : 0;
              let cnt = 0;
              for (let ri = 0; ri < r; ri++)
                for (let si = 0; si < s; si++) {
                  const hi = pi * sh - ph + ri;
                  const wi = qi * sw - pw + si;
                  const inside = hi >= 0 && hi < h && wi >= 0 && wi < W;
                  if (!inside) {
                    if (p.cip && hi < h + ph && wi < W + pw) cnt++;
                    continue;
                  }
                  const v = x[((ni * h + hi) * W + wi) * c + ci];
                  acc = p.max ? Math.max(acc, v) : acc + v;
                  cnt++;
                }
              put(y, ((ni * P + pi) * Q + qi) * c + ci, p.max ? acc : acc / cnt);
            }
    } else if (op === 'reduce' || op === 'softmax') {
      const outer = p.outer * sc;
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < p.inner; i++) {
          const at = (j: number) => (o * p.len + j) * p.inner + i;
          if (op === 'reduce') {
            let acc = p.mode === 2 ? -Infinity : p.mode === 3 ? Infinity : 0;
            for (let j = 0; j < p.len; j++) {
              const v = x[at(j)];
              acc = p.mode === 2 ? Math.max(acc, v) : p.mode === 3 ? Math.min(acc, v) : acc + v;
            }
            put(y, o * p.inner + i, p.mode === 0 ? acc / p.len : acc);
          } else {
            let m = -Infinity;
            for (let j = 0; j < p.len; j++) m = Math.max(m, x[at(j)]);
            let sum = 0;
            for (let j = 0; j < p.len; j++) sum += Math.exp(x[at(j)] - m);
            for (let j = 0; j < p.len; j++) put(y, at(j), p.log ? x[at(j)] - m - Math.log(sum) : Math.exp(x[at(j)] - m) / sum);
          }
        }
    } else if (op === 'binary' || op === 'copy') {
      const dims = [...p.dims];
      dims[0] *= sc;
      const b = op === 'binary' ? get(l.inputs[1]) : null;
      const xs = op === 'binary' ? p.sa : p.xs;
      const total = dims.reduce((a, d) => a * d, 1);
      const idx = new Array<number>(dims.length).fill(0);
      for (let e = 0; e < total; e++) {
        let xo = op === 'copy' ? p.xoff : 0;
        let bo = 0;
        let yo = op === 'copy' ? p.yoff : e;
        for (let d = 0; d < dims.length; d++) {
          xo += idx[d] * xs[d];
          if (b) bo += idx[d] * p.sb[d];
          if (op === 'copy') yo += idx[d] * p.ys[d];
        }
        if (b) {
          const A = x[xo];
          const B = b[bo];
          const v = [A + B, A - B, A * B, A / B, Math.max(A, B), Math.min(A, B), A ** B][p.op];
          put(y, yo, act(p.act, v, p.alpha, p.beta));
        } else {
          put(y, yo, x[xo]);
        }
        for (let d = dims.length - 1; d >= 0; d--) {
          if (++idx[d] < dims[d]) break;
          idx[d] = 0;
        }
      }
    } else if (op === 'unary') {
      for (let i = 0; i < p.n * sc; i++) put(y, i, act(p.act, x[i], p.alpha, p.beta));
    } else if (op === 'pad') {
      // Constant (0), reflect (1) or edge (2) padding over the physical dims; the batch axis scales, unpadded.
      const inD = [...p.in];
      const outD = [...p.out];
      inD[0] *= sc;
      outD[0] *= sc;
      const r = outD.length;
      const idx = new Array<number>(r).fill(0);
      for (let o = 0, total = outD.reduce((a, b) => a * b, 1); o < total; o++) {
        let rem = o;
        for (let d = r - 1; d >= 0; d--) {
          idx[d] = rem % outD[d];
          rem = Math.floor(rem / outD[d]);
        }
        let src = 0;
        let inside = true;
        for (let d = 0; d < r && inside; d++) {
          const n = inD[d];
          let i = idx[d] - p.before[d];
          if (i < 0 || i >= n) {
            if (p.mode === 0) inside = false;
            else if (p.mode === 1) {
              const period = 2 * (n - 1);
              i = n === 1 ? 0 : ((i % period) + period) % period;
              if (i >= n) i = period - i;
            } else i = Math.min(Math.max(i, 0), n - 1);
          }
          src = src * n + i;
        }
        put(y, o, inside ? x[src] : p.value);
      }
    } else if (op === 'fill') {
      for (let i = 0; i < p.n * sc; i++) put(y, i, p.value + i * (p.step ?? 0));
    } else if (op === 'matmul' && p.bd) {
      matmulNd(p, x, get(l.inputs[1]), (i, v) => put(y, i, v));
    } else if (op === 'layernorm' || op === 'gather' || op === 'compare' || op === 'predicate' || op === 'where' || op === 'attention') {
      simulateTransformerOp(op, p, l.inputs.map((t) => (t >= 0 ? get(t) : null)), (i, v) => put(y, i, v), l.outputs[1] !== undefined ? (i, v) => put(l.outputs[1], i, v) : undefined);
    } else if (op === 'matmul') {
      const b = get(l.inputs[1]);
      for (let bi = 0; bi < p.bc * sc; bi++)
        for (let i = 0; i < p.m; i++)
          for (let j = 0; j < p.n; j++) {
            let acc = 0;
            for (let kk = 0; kk < p.k; kk++) acc += x[bi * p.sa + i * p.k + kk] * b[bi * p.sb + kk * p.n + j];
            put(y, bi * p.sc + i * p.n + j, acc);
          }
    } else if (op === 'resize') {
      simulateResize(p, sc, x, get(l.inputs[1]), (i, v) => put(y, i, v));
    } else if (op === 'deconv') {
      simulateDeconv(p, sc, x, get(l.inputs[1]), l.inputs[2] >= 0 ? get(l.inputs[2]) : null, (i, v) => put(y, i, v));
    } else if (op === 'nms') {
      const anchors = l.inputs[2] >= 0 ? get(l.inputs[2]) : undefined;
      const r = efficientNms(x, get(l.inputs[1]), anchors, p.b * sc, p.n, p.c, {
        boxFormat: p.fmt ? 'cxcywh' : 'xyxy', maxOutput: p.k, scoreThreshold: p.score, iouThreshold: p.iou, classAgnostic: p.agnostic !== 0,
      });
      [r.count, r.boxes, r.scores, r.classes].forEach((a, k) => a.forEach((v, i) => put(l.outputs[k], i, v)));
    } else if (op === 'topk') {
      const order = Array.from({ length: p.len }, (_, j) => j);
      for (let o = 0; o < p.outer * sc; o++)
        for (let i = 0; i < p.inner; i++) {
          const at = (j: number) => x[(o * p.len + j) * p.inner + i];
          const sorted = [...order].sort((a, b) => (p.largest ? rankCompare(at(b), at(a)) : rankCompare(at(a), at(b))) || a - b);
          for (let j = 0; j < p.k; j++) {
            put(y, (o * p.k + j) * p.inner + i, at(sorted[j]));
            put(l.outputs[1], (o * p.k + j) * p.inner + i, sorted[j]);
          }
        }
    } else if (op === 'argmax') {
      for (let o = 0; o < p.outer * sc; o++)
        for (let i = 0; i < p.inner; i++) {
          let best = 0;
          for (let j = 1; j < p.len; j++) {
            const c = rankCompare(x[(o * p.len + j) * p.inner + i], x[(o * p.len + best) * p.inner + i]);
            if ((p.max ? c > 0 : c < 0) || (p.last && c === 0)) best = j;
          }
          put(y, o * p.inner + i, best);
        }
    } else {
      throw new Error(`simulate: op ${op} not simulated`);
    }
  }
  const out: Record<string, Float64Array> = {};
  for (const io of program.io.filter((x) => !x.isInput)) out[io.name] = get(io.tensor);
  return out;
}

type Params = Record<string, number & number[]>;

/** resize: NHWC gather over per-axis taps [H idx | H weights | W idx | W weights]. */
function simulateResize(p: Params, sc: number, x: Float64Array, tab: Float64Array, put: (i: number, v: number) => void): void {
  const { h, w: W, c, p: P, q: Q, taps: T } = p;
  const hw = P * T;
  const ww = 2 * P * T;
  for (let ni = 0; ni < p.n * sc; ni++)
    for (let oy = 0; oy < P; oy++)
      for (let ox = 0; ox < Q; ox++)
        for (let ci = 0; ci < c; ci++) {
          let acc = 0;
          for (let ky = 0; ky < T; ky++) {
            const iy = tab[oy * T + ky];
            const wy = tab[hw + oy * T + ky];
            for (let kx = 0; kx < T; kx++) {
              const ix = tab[ww + ox * T + kx];
              const wx = tab[ww + Q * T + ox * T + kx];
              acc += wy * wx * x[((ni * h + iy) * W + ix) * c + ci];
            }
          }
          put(p.nchw ? ((ni * c + ci) * P + oy) * Q + ox : ((ni * P + oy) * Q + ox) * c + ci, acc);
        }
}

/** deconv: gather form of the transposed convolution, NHWC, weights [M][R][S][C/g]. */
function simulateDeconv(p: Params, sc: number, x: Float64Array, w: Float64Array, bias: Float64Array | null, put: (i: number, v: number) => void): void {
  const { h, w: W, c, k, r, s, p: P, q: Q, sh, sw, ph, pw, dh, dw, g } = p;
  const cg = c / g;
  const kg = k / g;
  for (let ni = 0; ni < p.n * sc; ni++)
    for (let oy = 0; oy < P; oy++)
      for (let ox = 0; ox < Q; ox++)
        for (let mi = 0; mi < k; mi++) {
          const gi = Math.floor(mi / kg);
          let acc = bias ? bias[mi] : 0;
          for (let ky = 0; ky < r; ky++) {
            const ty = oy + ph - ky * dh;
            if (ty < 0 || ty % sh !== 0 || ty / sh >= h) continue;
            for (let kx = 0; kx < s; kx++) {
              const tx = ox + pw - kx * dw;
              if (tx < 0 || tx % sw !== 0 || tx / sw >= W) continue;
              for (let ci = 0; ci < cg; ci++) acc += x[((ni * h + ty / sh) * W + tx / sw) * c + gi * cg + ci] * w[((mi * r + ky) * s + kx) * cg + ci];
            }
          }
          put(((ni * P + oy) * Q + ox) * k + mi, acc);
        }
}

/** Checks the memory plan: tensors alive at the same time never share arena bytes. */
export function overlappingTensors(program: Program, capacity: number): string[] {
  const live = new Map<number, [number, number]>();
  const pinned = new Set(program.io.map((i) => i.tensor));
  program.layers.forEach((l, i) => {
    for (const t of [...l.inputs, ...l.outputs]) {
      if (t < 0 || program.tensors[t].loc !== 0) continue;
      const cur = live.get(t);
      live.set(t, cur ? [cur[0], i] : [i, i]);
    }
  });
  for (const t of pinned) live.set(t, [-1, program.layers.length]);
  const range = (id: number): [number, number] => {
    const t = program.tensors[id];
    const lo = t.batched ? program.fixedArenaBytes + t.offset * capacity : t.offset;
    return [lo, lo + t.bytes * (t.batched ? capacity : 1)];
  };
  const ids = [...live.keys()];
  const bad: string[] = [];
  for (let i = 0; i < ids.length; i++)
    for (let j = i + 1; j < ids.length; j++) {
      const [a0, a1] = live.get(ids[i])!;
      const [b0, b1] = live.get(ids[j])!;
      if (a0 > b1 || b0 > a1) continue;
      const [x0, x1] = range(ids[i]);
      const [y0, y1] = range(ids[j]);
      if (x0 < y1 && y0 < x1) bad.push(`${program.tensors[ids[i]].name} / ${program.tensors[ids[j]].name}`);
    }
  return bad;
}
