// A packed, register-blocked float32 GEMM: C[M×N] = A[M×K] · B[K×N], all row-major.
// A is packed into 4-row panels and B into 8-column panels so the 4×8 micro-kernel streams both
// contiguously; that is what makes plain JS reach a few GMAC/s.
export const MR = 4;
export const NR = 8;

/** Packs A [M×K] (row stride lda) into panels: [ceil(M/4)][K][4], zero padded. */
export function packA(a: Float32Array, m: number, k: number, lda = k, offset = 0): Float32Array {
  const mp = Math.ceil(m / MR);
  const out = new Float32Array(mp * k * MR);
  for (let i = 0; i < m; i++) {
    const panel = ((i / MR) | 0) * k * MR + (i % MR);
    const row = offset + i * lda;
    for (let kk = 0; kk < k; kk++) out[panel + kk * MR] = a[row + kk];
  }
  return out;
}

/** Packs B [K×N] (row stride ldb) into panels: [ceil(N/8)][K][8], zero padded. */
export function packB(b: Float32Array, k: number, n: number, ldb = n, offset = 0, out?: Float32Array): Float32Array {
  const np = Math.ceil(n / NR);
  const size = np * k * NR;
  if (!out || out.length < size) out = new Float32Array(size);
  else if (n % NR) out.fill(0, 0, size);
  for (let kk = 0; kk < k; kk++) {
    const row = offset + kk * ldb;
    for (let j = 0; j < n; j++) out[((j >> 3) * k + kk) * NR + (j & 7)] = b[row + j];
  }
  return out;
}

/**
 * C[m0.., n..] = Ap · Bp for packed panels; `ldc` is C's row stride and `cOff` the offset of C[0][0].
 * Rows beyond m and columns beyond n are computed on zero padding and not stored.
 */
export function gemmPacked(ap: Float32Array, bp: Float32Array, c: Float32Array, m: number, n: number, k: number, ldc: number, cOff = 0): void {
  const mp = Math.ceil(m / MR);
  const np = Math.ceil(n / NR);
  const tail = new Float64Array(MR * NR);
  for (let nb = 0; nb < np; nb++) {
    const pb0 = nb * k * NR;
    for (let mb = 0; mb < mp; mb++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
      let pa = mb * k * MR;
      let pb = pb0;
      for (let kk = 0; kk < k; kk++, pa += MR, pb += NR) {
        const b0 = bp[pb], b1 = bp[pb + 1], b2 = bp[pb + 2], b3 = bp[pb + 3];
        const b4 = bp[pb + 4], b5 = bp[pb + 5], b6 = bp[pb + 6], b7 = bp[pb + 7];
        let a = ap[pa];
        c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3; c04 += a * b4; c05 += a * b5; c06 += a * b6; c07 += a * b7;
        a = ap[pa + 1];
        c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3; c14 += a * b4; c15 += a * b5; c16 += a * b6; c17 += a * b7;
        a = ap[pa + 2];
        c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3; c24 += a * b4; c25 += a * b5; c26 += a * b6; c27 += a * b7;
        a = ap[pa + 3];
        c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3; c34 += a * b4; c35 += a * b5; c36 += a * b6; c37 += a * b7;
      }
      const m0 = mb * MR;
      const n0 = nb * NR;
      if (m0 + MR <= m && n0 + NR <= n) {
        let o = cOff + m0 * ldc + n0;
        c[o] = c00; c[o + 1] = c01; c[o + 2] = c02; c[o + 3] = c03; c[o + 4] = c04; c[o + 5] = c05; c[o + 6] = c06; c[o + 7] = c07;
        o += ldc;
        c[o] = c10; c[o + 1] = c11; c[o + 2] = c12; c[o + 3] = c13; c[o + 4] = c14; c[o + 5] = c15; c[o + 6] = c16; c[o + 7] = c17;
        o += ldc;
        c[o] = c20; c[o + 1] = c21; c[o + 2] = c22; c[o + 3] = c23; c[o + 4] = c24; c[o + 5] = c25; c[o + 6] = c26; c[o + 7] = c27;
        o += ldc;
        c[o] = c30; c[o + 1] = c31; c[o + 2] = c32; c[o + 3] = c33; c[o + 4] = c34; c[o + 5] = c35; c[o + 6] = c36; c[o + 7] = c37;
      } else {
        tail.set([c00, c01, c02, c03, c04, c05, c06, c07, c10, c11, c12, c13, c14, c15, c16, c17, c20, c21, c22, c23, c24, c25, c26, c27, c30, c31, c32, c33, c34, c35, c36, c37]);
        for (let i = 0; i < MR && m0 + i < m; i++) {
          for (let j = 0; j < NR && n0 + j < n; j++) c[cOff + (m0 + i) * ldc + n0 + j] = tail[i * NR + j];
        }
      }
    }
  }
}

/**
 * C = A·B for row-major A [M×K] and B [K×N].
 * @example
 * gemm(a, b, c, 4, 5, 6); // c[i*5+j] = Σ_k a[i*6+k]·b[k*5+j]
 */
export function gemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number): void {
  gemmPacked(packA(a, m, k), packB(b, k, n), c, m, n, k, n);
}
