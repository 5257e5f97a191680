// A packed, register-blocked float32 GEMM: C[M×N] = A[M×K] · B[K×N], all row-major.
// A is packed into 6-row panels and B into 8-column panels so the 6×8 micro-kernel streams both
// contiguously; that is what makes plain JS reach a few GMAC/s. (6×8 measured ~30% faster than 4×8.)
export const MR = 6;
export const NR = 8;
const tail = new Float64Array(MR * NR);

/** Packs A [M×K] (row stride lda) into panels: [ceil(M/6)][K][6], zero padded. */
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
  // Panel-major: each panel is written sequentially while reading 32 bytes from each of K rows.
  const full = Math.floor(n / NR);
  let o = 0;
  for (let nb = 0; nb < full; nb++) {
    let src = offset + nb * NR;
    for (let kk = 0; kk < k; kk++, src += ldb, o += NR) {
      out[o] = b[src]; out[o + 1] = b[src + 1]; out[o + 2] = b[src + 2]; out[o + 3] = b[src + 3];
      out[o + 4] = b[src + 4]; out[o + 5] = b[src + 5]; out[o + 6] = b[src + 6]; out[o + 7] = b[src + 7];
    }
  }
  if (full < np) {
    const rem = n - full * NR;
    for (let kk = 0; kk < k; kk++, o += NR) {
      const src = offset + kk * ldb + full * NR;
      for (let j = 0; j < NR; j++) out[o + j] = j < rem ? b[src + j] : 0;
    }
  }
  return out;
}

/**
 * C = Ap · Bp (+ bias[row]) for packed panels; `ldc` is C's row stride and `cOff` the offset of C[0][0].
 * Rows beyond m and columns beyond n are computed on zero padding and not stored. Tiles run so
 * that the smaller packed operand is the one re-read from cache.
 */
export function gemmPacked(ap: Float32Array, bp: Float32Array, c: Float32Array, m: number, n: number, k: number, ldc: number, cOff = 0, bias?: Float32Array, biasOff = 0): void {
  const mp = Math.ceil(m / MR);
  const np = Math.ceil(n / NR);
  const aOuter = mp * MR > np * NR;
  const tiles = mp * np;
  for (let tile = 0; tile < tiles; tile++) {
    const mb = aOuter ? (tile / np) | 0 : tile % mp;
    const nb = aOuter ? tile % np : (tile / mp) | 0;
    const pb0 = nb * k * NR;
    {
      const i0 = bias && mb * MR + 0 < m ? bias[biasOff + mb * MR + 0] : 0;
      let c00 = i0, c01 = i0, c02 = i0, c03 = i0, c04 = i0, c05 = i0, c06 = i0, c07 = i0;
      const i1 = bias && mb * MR + 1 < m ? bias[biasOff + mb * MR + 1] : 0;
      let c10 = i1, c11 = i1, c12 = i1, c13 = i1, c14 = i1, c15 = i1, c16 = i1, c17 = i1;
      const i2 = bias && mb * MR + 2 < m ? bias[biasOff + mb * MR + 2] : 0;
      let c20 = i2, c21 = i2, c22 = i2, c23 = i2, c24 = i2, c25 = i2, c26 = i2, c27 = i2;
      const i3 = bias && mb * MR + 3 < m ? bias[biasOff + mb * MR + 3] : 0;
      let c30 = i3, c31 = i3, c32 = i3, c33 = i3, c34 = i3, c35 = i3, c36 = i3, c37 = i3;
      const i4 = bias && mb * MR + 4 < m ? bias[biasOff + mb * MR + 4] : 0;
      let c40 = i4, c41 = i4, c42 = i4, c43 = i4, c44 = i4, c45 = i4, c46 = i4, c47 = i4;
      const i5 = bias && mb * MR + 5 < m ? bias[biasOff + mb * MR + 5] : 0;
      let c50 = i5, c51 = i5, c52 = i5, c53 = i5, c54 = i5, c55 = i5, c56 = i5, c57 = i5;
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
        a = ap[pa + 4];
        c40 += a * b0; c41 += a * b1; c42 += a * b2; c43 += a * b3; c44 += a * b4; c45 += a * b5; c46 += a * b6; c47 += a * b7;
        a = ap[pa + 5];
        c50 += a * b0; c51 += a * b1; c52 += a * b2; c53 += a * b3; c54 += a * b4; c55 += a * b5; c56 += a * b6; c57 += a * b7;
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
        o += ldc;
        c[o] = c40; c[o + 1] = c41; c[o + 2] = c42; c[o + 3] = c43; c[o + 4] = c44; c[o + 5] = c45; c[o + 6] = c46; c[o + 7] = c47;
        o += ldc;
        c[o] = c50; c[o + 1] = c51; c[o + 2] = c52; c[o + 3] = c53; c[o + 4] = c54; c[o + 5] = c55; c[o + 6] = c56; c[o + 7] = c57;
      } else {
        const t = tail;
        t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c04; t[5] = c05; t[6] = c06; t[7] = c07;
        t[8] = c10; t[9] = c11; t[10] = c12; t[11] = c13; t[12] = c14; t[13] = c15; t[14] = c16; t[15] = c17;
        t[16] = c20; t[17] = c21; t[18] = c22; t[19] = c23; t[20] = c24; t[21] = c25; t[22] = c26; t[23] = c27;
        t[24] = c30; t[25] = c31; t[26] = c32; t[27] = c33; t[28] = c34; t[29] = c35; t[30] = c36; t[31] = c37;
        t[32] = c40; t[33] = c41; t[34] = c42; t[35] = c43; t[36] = c44; t[37] = c45; t[38] = c46; t[39] = c47;
        t[40] = c50; t[41] = c51; t[42] = c52; t[43] = c53; t[44] = c54; t[45] = c55; t[46] = c56; t[47] = c57;
        for (let i = 0; i < MR && m0 + i < m; i++) {
          for (let j = 0; j < NR && n0 + j < n; j++) c[cOff + (m0 + i) * ldc + n0 + j] = t[i * NR + j];
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
