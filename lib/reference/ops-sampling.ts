// Reference kernels of the sampling operators, as onnxruntime computes them. RoiAlign: per output bin, a grid of
// bilinear samples (adaptive: ceil(roi size / output size) per side), averaged, or in 'max' mode the largest
// weighted corner of any sample. GridSample: bilinear, nearest (halves to even) or bicubic (a = −0.75 over 4×4
// pixels) at denormalized grid points, with zeros, border or reflection padding.
import { ErrorCode, TensorRTError } from '../errors.js';
import { attrInt } from '../ir/attrs.js';
import { affineBase, gridSampleAttrs, roiAlignAttrs } from '../ir/rules-sampling.js';
import type { Kernel } from './ops-nn.js';
import { asFloat64, fromFloat64, roundHalfEven, toNumbers, type RTensor } from './tensor.js';

/** The four weighted corners of a bilinear sample at (y, x) of an h×w plane, or none outside [-1, h] × [-1, w]. */
function corners(y: number, x: number, h: number, w: number): [number, number][] {
  if (y < -1 || y > h || x < -1 || x > w) return [];
  y = Math.max(y, 0);
  x = Math.max(x, 0);
  let y0 = Math.floor(y), x0 = Math.floor(x), y1: number, x1: number;
  if (y0 >= h - 1) (y1 = y0 = h - 1), (y = y0);
  else y1 = y0 + 1;
  if (x0 >= w - 1) (x1 = x0 = w - 1), (x = x0);
  else x1 = x0 + 1;
  const ly = y - y0, lx = x - x0, hy = 1 - ly, hx = 1 - lx;
  return [[y0 * w + x0, hy * hx], [y0 * w + x1, hy * lx], [y1 * w + x0, ly * hx], [y1 * w + x1, ly * lx]];
}

export const roiAlign: Kernel = (node, inputs, out, opset) => {
  const [x, roisT, idxT] = inputs as RTensor[];
  const a = roiAlignAttrs(node, opset);
  if (typeof a === 'string') throw new TensorRTError(ErrorCode.INVALID_MODEL, `RoiAlign '${node.name}': ${a}`);
  const [n, c, h, w] = x.dims;
  const xv = asFloat64(x);
  const rois = asFloat64(roisT);
  const batch = toNumbers(idxT);
  const r = batch.length;
  const { outH, outW } = a;
  const y = new Float64Array(r * c * outH * outW);
  const offset = a.halfPixel ? 0.5 : 0;
  for (let i = 0; i < r; i++) {
    const b = batch[i];
    if (!(b >= 0 && b < n)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `RoiAlign '${node.name}': batch_indices[${i}] = ${b} is outside [0, ${n})`);
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => rois[i * 4 + k] * a.spatialScale - offset);
    let rw = x2 - x1, rh = y2 - y1;
    if (!a.halfPixel) (rw = Math.max(rw, 1)), (rh = Math.max(rh, 1));
    const bh = rh / outH, bw = rw / outW;
    const gh = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(rh / outH);
    const gw = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(rw / outW);
    const count = Math.max(gh * gw, 1);
    for (let ph = 0; ph < outH; ph++) {
      for (let pw = 0; pw < outW; pw++) {
        // The samples' corners, shared by every channel.
        const samples: [number, number][][] = [];
        for (let iy = 0; iy < gh; iy++) {
          const sy = y1 + ph * bh + ((iy + 0.5) * bh) / gh;
          for (let ix = 0; ix < gw; ix++) samples.push(corners(sy, x1 + pw * bw + ((ix + 0.5) * bw) / gw, h, w));
        }
        for (let ch = 0; ch < c; ch++) {
          const plane = (b * c + ch) * h * w;
          let acc = 0;
          let first = true;
          for (const s of samples) {
            if (a.mode === 'avg') {
              for (const [p, wt] of s) acc += wt * xv[plane + p];
            } else {
              // A sample outside the map weighs its corners 0: its value is 0.
              const v = s.length ? Math.max(...s.map(([p, wt]) => wt * xv[plane + p])) : 0;
              acc = first ? v : Math.max(acc, v);
              first = false;
            }
          }
          y[((i * c + ch) * outH + ph) * outW + pw] = a.mode === 'avg' ? acc / count : acc;
        }
      }
    }
  }
  return [fromFloat64(out[0].dtype, [r, c, outH, outW], y)];
};

/** x reflected into [lo, hi] (as many times as it takes). */
function reflect(x: number, lo: number, hi: number): number {
  const range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const d = lo - x, k = Math.floor(d / range), r = d - k * range;
    return k % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const d = x - hi, k = Math.floor(d / range), r = d - k * range;
    return k % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

/** The cubic convolution weights (a = −0.75) of the four taps around a point at fraction t past the second. */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  const far = (d: number) => ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;  // 1 ≤ d < 2
  const near = (d: number) => ((A + 2) * d - (A + 3)) * d * d + 1;  // 0 ≤ d < 1
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

export const gridSample: Kernel = (node, inputs, out) => {
  const [x, gridT] = inputs as RTensor[];
  const a = gridSampleAttrs(node);
  if (!('mode' in a)) throw new TensorRTError(ErrorCode.INVALID_MODEL, `GridSample '${node.name}': ${'invalid' in a ? a.invalid : a.unsupported}`);
  const [n, c, h, w] = x.dims;
  const [, oh, ow] = gridT.dims;
  const xv = asFloat64(x);
  const grid = asFloat64(gridT);
  const y = new Float64Array(n * c * oh * ow);
  const [xMin, xMax, yMin, yMax] = a.alignCorners ? [0, w - 1, 0, h - 1] : [-0.5, w - 0.5, -0.5, h - 0.5];
  const denorm = (v: number, len: number) => (a.alignCorners ? ((v + 1) / 2) * (len - 1) : ((v + 1) * len - 1) / 2);
  // The pixel at integer (r, col) of a plane under the padding mode.
  const pixel = (plane: number, r: number, col: number): number => {
    if (a.padding === 'zeros') return r >= 0 && r < h && col >= 0 && col < w ? xv[plane + r * w + col] : 0;
    if (a.padding === 'border') return xv[plane + Math.min(Math.max(r, 0), h - 1) * w + Math.min(Math.max(col, 0), w - 1)];
    return xv[plane + Math.trunc(reflect(r, yMin, yMax)) * w + Math.trunc(reflect(col, xMin, xMax))];
  };
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh * ow; i++) {
      const g = (b * oh * ow + i) * 2;
      let sx = denorm(grid[g], w), sy = denorm(grid[g + 1], h);
      if (a.mode === 'nearest') (sx = roundHalfEven(sx)), (sy = roundHalfEven(sy));
      if (sx < xMin || sx > xMax || sy < yMin || sy > yMax) {
        // Bicubic keeps the point and clamps its 16 taps instead (onnxruntime's border semantics).
        if (a.padding === 'border' && a.mode !== 'cubic') (sx = Math.min(Math.max(sx, 0), w - 1)), (sy = Math.min(Math.max(sy, 0), h - 1));
        else if (a.padding === 'reflection') (sx = reflect(sx, xMin, xMax)), (sy = reflect(sy, yMin, yMax));
      }
      for (let ch = 0; ch < c; ch++) {
        const plane = (b * c + ch) * h * w;
        let v: number;
        if (a.mode === 'nearest') {
          v = pixel(plane, sy, sx);
        } else if (a.mode === 'cubic') {
          const x0 = Math.floor(sx) - 1, y0 = Math.floor(sy) - 1;
          const wx = cubicWeights(sx - x0 - 1), wy = cubicWeights(sy - y0 - 1);
          v = 0;
          for (let r = 0; r < 4; r++) {
            let row = 0;
            for (let q = 0; q < 4; q++) row += wx[q] * pixel(plane, y0 + r, x0 + q);
            v += wy[r] * row;
          }
        } else {
          const x1 = Math.floor(sx), y1 = Math.floor(sy), dx = sx - x1, dy = sy - y1;
          v = (1 - dy) * ((1 - dx) * pixel(plane, y1, x1) + dx * pixel(plane, y1, x1 + 1)) + dy * ((1 - dx) * pixel(plane, y1 + 1, x1) + dx * pixel(plane, y1 + 1, x1 + 1));
        }
        y[(b * c + ch) * oh * ow + i] = v;
      }
    }
  }
  return [fromFloat64(out[0].dtype, [n, c, oh, ow], y)];
};

/** AffineGrid: grid[n, p, :] = theta[n] · (x, y, (z,) 1) of base point p, in float64. */
export const affineGrid: Kernel = (node, inputs, out) => {
  const theta = asFloat64(inputs[0]!);
  const dims = out[0].shape as number[];
  const spatial = dims.slice(1, -1);
  const k = spatial.length;
  const base = affineBase(spatial, attrInt(node, 'align_corners', 0) === 1);
  const points = base.length / (k + 1);
  const y = new Float64Array(dims[0] * points * k);
  for (let n = 0; n < dims[0]; n++)
    for (let p = 0; p < points; p++)
      for (let r = 0; r < k; r++) {
        let acc = 0;
        for (let c = 0; c <= k; c++) acc += theta[(n * k + r) * (k + 1) + c] * base[p * (k + 1) + c];
        y[(n * points + p) * k + r] = acc;
      }
  return [fromFloat64(out[0].dtype, dims, y)];
};
