// CPU simulation of the builtin backend's transformer layers (general matmul, layernorm, gather, compare,
// predicate, where, attention), with the kernels' documented semantics: zero rows for out-of-range ids, zeros for
// a fully masked attention row, float32 statistics.
type P = Record<string, number & number[]>;
type Put = (i: number, v: number) => void;

/** C[z] = alpha · A[z]·B[z] over up to 3 right-aligned batch levels with their own strides. */
export function matmulNd(p: P, a: Float64Array, b: Float64Array, put: Put): void {
  const r = p.bd.length;
  const dims = [1, 1, 1].map((_, i) => (i - (3 - r) >= 0 ? p.bd[i - (3 - r)] : 1));
  const st = (s: number[]) => [0, 1, 2].map((i) => (i - (3 - r) >= 0 ? s[i - (3 - r)] : 0));
  const sa = st(p.bsa);
  const sb = st(p.bsb);
  const sc = st(p.bsc);
  const alpha = p.alpha ?? 1;
  for (let z0 = 0; z0 < dims[0]; z0++)
    for (let z1 = 0; z1 < dims[1]; z1++)
      for (let z2 = 0; z2 < dims[2]; z2++) {
        const oa = z0 * sa[0] + z1 * sa[1] + z2 * sa[2];
        const ob = z0 * sb[0] + z1 * sb[1] + z2 * sb[2];
        const oc = z0 * sc[0] + z1 * sc[1] + z2 * sc[2];
        for (let i = 0; i < p.m; i++)
          for (let j = 0; j < p.n; j++) {
            let acc = 0;
            for (let k = 0; k < p.k; k++) acc += a[oa + i * p.am + k * p.ak] * b[ob + k * p.bk + j * p.bn];
            put(oc + i * p.cm + j, alpha * acc);
          }
      }
}

/** Walks `dims` (row-major output order), calling f(outputIndex, offsets per stride set). */
function walk(dims: number[], strides: number[][], f: (e: number, offs: number[]) => void): void {
  const total = dims.reduce((x, d) => x * d, 1);
  const idx = new Array<number>(dims.length).fill(0);
  for (let e = 0; e < total; e++) {
    f(e, strides.map((s) => idx.reduce((acc, v, d) => acc + v * s[d], 0)));
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

const COMPARE = [
  (a: number, b: number) => a === b,
  (a: number, b: number) => a < b,
  (a: number, b: number) => a <= b,
  (a: number, b: number) => a > b,
  (a: number, b: number) => a >= b,
  (a: number, b: number) => a !== 0 && b !== 0,
  (a: number, b: number) => a !== 0 || b !== 0,
  (a: number, b: number) => (a !== 0) !== (b !== 0),
];

export function simulateTransformerOp(op: string, p: P, ins: (Float64Array | null)[], put: Put, put2?: Put): void {
  const [x] = ins;
  if (op === 'layernorm') {
    const [, gamma, beta, res] = ins;
    for (let r = 0; r < p.rows; r++) {
      const h = new Float64Array(p.cols);
      let mean = 0;
      for (let c = 0; c < p.cols; c++) {
        h[c] = x![r * p.cols + c] + (res ? res[r * p.cols + c] : 0);
        if (put2) put2(r * p.cols + c, h[c]);
        mean += h[c];
      }
      mean /= p.cols;
      let v = 0;
      for (let c = 0; c < p.cols; c++) v += (h[c] - mean) ** 2;
      const rstd = 1 / Math.sqrt(v / p.cols + p.eps);
      for (let c = 0; c < p.cols; c++) put(r * p.cols + c, (h[c] - mean) * rstd * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0));
    }
  } else if (op === 'gather') {
    const ids = ins[1]!;
    for (let o = 0; o < p.outer; o++)
      for (let j = 0; j < p.n; j++) {
        let id = ids[j];
        if (id < 0) id += p.len;
        const ok = id >= 0 && id < p.len;
        for (let i = 0; i < p.inner; i++) put((o * p.n + j) * p.inner + i, ok ? x![(o * p.len + id) * p.inner + i] : 0);
      }
  } else if (op === 'compare') {
    walk(p.dims, [p.sa, p.sb], (e, [oa, ob]) => put(e, COMPARE[p.op](x![oa], ins[1]![ob]) ? 1 : 0));
  } else if (op === 'predicate') {
    for (let i = 0; i < p.n; i++) put(i, p.mode === 0 ? (x![i] === 0 ? 1 : 0) : p.mode === 1 ? (Number.isNaN(x![i]) ? 1 : 0) : Math.abs(x![i]) === Infinity ? 1 : 0);
  } else if (op === 'where') {
    walk(p.dims, [p.sc, p.sa, p.sb], (e, [oc, oa, ob]) => put(e, x![oc] !== 0 ? ins[1]![oa] : ins[2]![ob]));
  } else if (op === 'attention') {
    const [q, k, v, mask] = ins;
    const [qo, ko, vo] = [p.qo ?? 0, p.ko ?? 0, p.vo ?? 0];
    const s = new Float64Array(p.sk);
    for (let b = 0; b < p.b; b++)
      for (let h = 0; h < p.h; h++)
        for (let i = 0; i < p.sq; i++) {
          let mx = -Infinity;
          for (let j = 0; j < p.sk; j++) {
            let acc = 0;
            for (let d = 0; d < p.d; d++) acc += q![qo + b * p.qs[0] + h * p.qs[1] + i * p.qs[2] + d * p.qs[3]] * k![ko + b * p.ks[0] + h * p.ks[1] + j * p.ks[2] + d * p.ks[3]];
            s[j] = acc * p.scale + (mask ? mask[b * p.ms[0] + h * p.ms[1] + i * p.ms[2] + j * p.ms[3]] : 0);
            mx = Math.max(mx, s[j]);
          }
          let sum = 0;
          for (let j = 0; j < p.sk; j++) sum += s[j] === -Infinity ? 0 : Math.exp(s[j] - mx);
          for (let d = 0; d < p.dv; d++) {
            let acc = 0;
            if (mx !== -Infinity) for (let j = 0; j < p.sk; j++) if (s[j] !== -Infinity) acc += (Math.exp(s[j] - mx) / sum) * v![vo + b * p.vs[0] + h * p.vs[1] + j * p.vs[2] + d * p.vs[3]];
            put(b * p.os[0] + h * p.os[1] + i * p.os[2] + d * p.os[3], acc);
          }
        }
  }
}
