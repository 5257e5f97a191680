// Reference kernel for RoiAlign, as onnxruntime computes it: per output bin, a grid of bilinear samples (adaptive:
// ceil(roi size / output size) per side), averaged, or in 'max' mode the largest weighted corner of any sample.
import { ErrorCode, TensorRTError } from '../errors.js';
import { roiAlignAttrs } from '../ir/rules-roi.js';
import type { Kernel } from './ops-nn.js';
import { asFloat64, fromFloat64, toNumbers, type RTensor } from './tensor.js';

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
