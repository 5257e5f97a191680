// 2-D convolution on the CPU: depthwise convolutions run a direct loop (3×3 interior unrolled);
// everything else runs im2col written straight into the GEMM's packed panels, with the 1×1/stride-1
// case packing the input directly.
import { gemmPacked, packA, packB, NR } from './gemm.js';

export interface ConvParams {
  group: number;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
}

const packedWeights = new WeakMap<Float32Array, Float32Array[]>();
let scratch = new Float32Array(0);

function weightPanels(w: Float32Array, m: number, group: number, k: number): Float32Array[] {
  let p = packedWeights.get(w);
  if (!p || p.length !== group) {
    const mg = m / group;
    p = [];
    for (let g = 0; g < group; g++) p.push(packA(w, mg, k, k, g * mg * k));
    packedWeights.set(w, p);
  }
  return p;
}

/** im2col of one image's channel group into B panels [ceil(P/8)][K][8]. */
function im2colPacked(x: Float32Array, xOff: number, cg: number, h: number, wd: number, oh: number, ow: number, p: ConvParams, out: Float32Array): void {
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.strides;
  const [dh, dw] = p.dilations;
  const [pt, pl] = p.pads;
  const K = cg * kh * kw;
  const P = oh * ow;
  out.fill(0, 0, Math.ceil(P / NR) * K * NR);
  for (let c = 0; c < cg; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const k = (c * kh + ky) * kw + kx;
        const xoff = kx * dw - pl;
        // Output columns whose input column is inside the image.
        const oxLo = Math.max(0, Math.ceil(-xoff / sw));
        const oxHi = Math.min(ow - 1, Math.floor((wd - 1 - xoff) / sw));
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh + ky * dh - pt;
          if (iy < 0 || iy >= h) continue;
          const row = xOff + (c * h + iy) * wd + xoff;
          const p0 = oy * ow;
          for (let ox = oxLo; ox <= oxHi; ox++) {
            const pp = p0 + ox;
            out[((pp >> 3) * K + k) * NR + (pp & 7)] = x[row + ox * sw];
          }
        }
      }
    }
  }
}

/** One depthwise output pixel with bounds checks (edges and kernels other than 3×3). */
function dwPixel(x: Float32Array, xo: number, h: number, wd: number, w: Float32Array, wo: number, p: ConvParams, oy: number, ox: number): number {
  const [kh, kw] = p.kernel;
  const [dh, dw] = p.dilations;
  const iy0 = oy * p.strides[0] - p.pads[0];
  const ix0 = ox * p.strides[1] - p.pads[1];
  let acc = 0;
  for (let ky = 0; ky < kh; ky++) {
    const iy = iy0 + ky * dh;
    if (iy < 0 || iy >= h) continue;
    const row = xo + iy * wd;
    for (let kx = 0; kx < kw; kx++) {
      const ix = ix0 + kx * dw;
      if (ix >= 0 && ix < wd) acc += x[row + ix] * w[wo + ky * kw + kx];
    }
  }
  return acc;
}

/** The 3×3 interior columns [lo, hi] of one output row; rows outside the image get zero weights. */
function dw3Row(x: Float32Array, xo: number, h: number, wd: number, w: Float32Array, wo: number, sw: number, pl: number, iy0: number, y: Float32Array, yi: number, lo: number, hi: number): void {
  const v0 = iy0 >= 0 && iy0 < h, v1 = iy0 + 1 >= 0 && iy0 + 1 < h, v2 = iy0 + 2 >= 0 && iy0 + 2 < h;
  const r0 = xo + (v0 ? iy0 : 0) * wd - pl, r1 = xo + (v1 ? iy0 + 1 : 0) * wd - pl, r2 = xo + (v2 ? iy0 + 2 : 0) * wd - pl;
  const w00 = v0 ? w[wo] : 0, w01 = v0 ? w[wo + 1] : 0, w02 = v0 ? w[wo + 2] : 0;
  const w10 = v1 ? w[wo + 3] : 0, w11 = v1 ? w[wo + 4] : 0, w12 = v1 ? w[wo + 5] : 0;
  const w20 = v2 ? w[wo + 6] : 0, w21 = v2 ? w[wo + 7] : 0, w22 = v2 ? w[wo + 8] : 0;
  for (let ox = lo, ix = lo * sw; ox <= hi; ox++, ix += sw, yi++) {
    y[yi] =
      x[r0 + ix] * w00 + x[r0 + ix + 1] * w01 + x[r0 + ix + 2] * w02 +
      x[r1 + ix] * w10 + x[r1 + ix + 1] * w11 + x[r1 + ix + 2] * w12 +
      x[r2 + ix] * w20 + x[r2 + ix + 1] * w21 + x[r2 + ix + 2] * w22;
  }
}

function depthwise(x: Float32Array, n: number, c: number, h: number, wd: number, w: Float32Array, oh: number, ow: number, p: ConvParams, y: Float32Array): void {
  const [kh, kw] = p.kernel;
  const sw = p.strides[1];
  const pl = p.pads[1];
  const fast3 = kh === 3 && kw === 3 && p.dilations[0] === 1 && p.dilations[1] === 1;
  // Columns where every kx tap is inside the image.
  const lo = fast3 ? Math.max(0, Math.ceil(pl / sw)) : ow;
  const hi = fast3 ? Math.min(ow - 1, Math.floor((wd - kw + pl) / sw)) : ow - 1;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const xo = (b * c + ch) * h * wd;
      const wo = ch * kh * kw;
      const yo = (b * c + ch) * oh * ow;
      for (let oy = 0; oy < oh; oy++) {
        const yr = yo + oy * ow;
        if (lo > hi) {
          for (let ox = 0; ox < ow; ox++) y[yr + ox] = dwPixel(x, xo, h, wd, w, wo, p, oy, ox);
          continue;
        }
        for (let ox = 0; ox < lo; ox++) y[yr + ox] = dwPixel(x, xo, h, wd, w, wo, p, oy, ox);
        dw3Row(x, xo, h, wd, w, wo, sw, pl, oy * p.strides[0] - p.pads[0], y, yr + lo, lo, hi);
        for (let ox = hi + 1; ox < ow; ox++) y[yr + ox] = dwPixel(x, xo, h, wd, w, wo, p, oy, ox);
      }
    }
  }
}

/**
 * y[N,M,OH,OW] = conv(x[N,C,H,W], w[M,C/group,kh,kw]) + bias[M].
 * @example
 * const y = conv2d(x, [1, 3, 8, 8], w, [4, 3, 3, 3], params, [1, 4, 8, 8]);
 */
export function conv2d(x: Float32Array, xd: number[], w: Float32Array, wdims: number[], p: ConvParams, yd: number[], bias?: Float32Array): Float32Array {
  const [n, c, h, wd] = xd;
  const m = wdims[0];
  const [, , oh, ow] = yd;
  const y = new Float32Array(n * m * oh * ow);
  const g = p.group;
  if (g === c && m === c && wdims[1] === 1) {
    depthwise(x, n, c, h, wd, w, oh, ow, p, y);
    if (bias) {
      const plane = oh * ow;
      for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
        const bv = bias[ch];
        for (let i = (b * c + ch) * plane; i < (b * c + ch + 1) * plane; i++) y[i] += bv;
      }
    }
    return y;
  }
  const cg = c / g;
  const mg = m / g;
  const [kh, kw] = p.kernel;
  const K = cg * kh * kw;
  const P = oh * ow;
  const panels = weightPanels(w, m, g, K);
  const direct = kh === 1 && kw === 1 && p.strides[0] === 1 && p.strides[1] === 1 && p.pads.every((v) => v === 0);
  const need = Math.ceil(P / NR) * K * NR;
  if (scratch.length < need) scratch = new Float32Array(need);
  for (let b = 0; b < n; b++) {
    for (let gi = 0; gi < g; gi++) {
      const xOff = (b * c + gi * cg) * h * wd;
      if (direct) packB(x, K, P, P, xOff, scratch);
      else im2colPacked(x, xOff, cg, h, wd, oh, ow, p, scratch);
      gemmPacked(panels[gi], scratch, y, mg, P, K, P, (b * m + gi * mg) * P, bias, gi * mg);
    }
  }
  return y;
}
