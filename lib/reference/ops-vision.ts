// Reference kernels for the vision operators: Resize / Upsample (separable passes of per-axis taps),
// ConvTranspose, TopK, ArgMax / ArgMin and NonMaxSuppression, with onnxruntime's tie-breaking and rounding, and one
// defined order for NaN where onnxruntime has none (rankCompare).
import { ErrorCode, TensorRTError } from '../errors.js';
import { attrFloat, attrInt, attrString } from '../ir/attrs.js';
import { NodeContext } from '../ir/context.js';
import { deconvGeometry, nearestIndex, originalCoordinate, resizeAttrs, resizeShape, topkParams, type ResizeAttrs } from '../ir/rules-vision.js';
import type { Node } from '../ir/types.js';
import { f32, type Kernel } from './ops-nn.js';
import { alloc, asFloat64, fromFloat64, size, toNumbers, type RTensor } from './tensor.js';
import { efficientNms as runNms, type EfficientNmsParams } from './efficient-nms.js';

const fr = Math.fround;

function runtimeCtx(node: Node, inputs: (RTensor | undefined)[], opset: number): NodeContext {
  const types = inputs.map((t) => (t ? { dtype: t.dtype, shape: t.dims } : undefined));
  const ints = inputs.map((t) => (t && (t.dtype === 'int64' || t.dtype === 'int32') ? toNumbers(t) : undefined));
  const floats = inputs.map((t) => (t && (t.dtype === 'float32' || t.dtype === 'float64') && t.data.length <= 64 ? Array.from(t.data as Float32Array) : undefined));
  return new NodeContext(node, opset, types, ints, floats);
}

/** One output index's source taps along an axis: input indexes and weights; `outside` for tf_crop_and_resize. */
export interface AxisTaps {
  index: Int32Array;
  weight: Float64Array;
  /** Taps per output index (1 nearest, 2 linear, 4 cubic). */
  width: number;
  outside: Uint8Array;
}

/**
 * The taps of one axis of a Resize: for each output index, which input indexes it reads and with what weight.
 * @example resizeTaps(attrs, 4, 8, 2).index // nearest, half_pixel: [0, 0, 1, 1, 2, 2, 3, 3]
 */
export function resizeTaps(a: ResizeAttrs, inLen: number, outLen: number, scale: number, roiStart = 0, roiEnd = 1): AxisTaps {
  const width = a.mode === 'nearest' ? 1 : a.mode === 'linear' ? 2 : 4;
  const index = new Int32Array(outLen * width);
  const weight = new Float64Array(outLen * width);
  const outside = new Uint8Array(outLen);
  const clamp = (i: number) => Math.min(Math.max(i, 0), inLen - 1);
  for (let o = 0; o < outLen; o++) {
    const v = originalCoordinate(a.coord, o, scale, outLen, inLen, roiStart, roiEnd);
    if (a.coord === 'tf_crop_and_resize' && (v < 0 || v > inLen - 1)) outside[o] = 1;
    const t = o * width;
    if (a.mode === 'nearest') {
      index[t] = clamp(nearestIndex(a.nearest, v, scale < 1));
      weight[t] = 1;
    } else if (a.mode === 'linear') {
      const vc = Math.min(Math.max(v, 0), inLen - 1);
      const x1 = Math.min(Math.floor(vc), inLen - 1);
      const x2 = Math.min(x1 + 1, inLen - 1);
      const d1 = x1 === x2 ? 0.5 : fr(vc - x1);
      const d2 = x1 === x2 ? 0.5 : fr(x2 - vc);
      index[t] = x1;
      weight[t] = d2;
      index[t + 1] = x2;
      weight[t + 1] = d1;
    } else {
      const xi = Math.floor(v);
      const s = fr(v - xi);
      const A = a.cubicA;
      const c = [
        ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A,
        ((A + 2) * s - (A + 3)) * s * s + 1,
        ((A + 2) * (1 - s) - (A + 3)) * (1 - s) * (1 - s) + 1,
        ((A * (2 - s) - 5 * A) * (2 - s) + 8 * A) * (2 - s) - 4 * A,
      ];
      let sum = 0;
      for (let k = 0; k < 4; k++) {
        const i = xi - 1 + k;
        if (a.excludeOutside && (i < 0 || i >= inLen)) c[k] = 0;
        sum += c[k];
      }
      for (let k = 0; k < 4; k++) {
        index[t + k] = clamp(xi - 1 + k);
        weight[t + k] = a.excludeOutside ? c[k] / sum : c[k];
      }
    }
  }
  return { index, weight, width, outside };
}

/** Applies one axis's taps: [outer, inLen, inner] → [outer, outLen, inner]. */
function applyTaps(x: Float64Array, outer: number, inLen: number, inner: number, taps: AxisTaps, outLen: number): Float64Array {
  const y = new Float64Array(outer * outLen * inner);
  const { index, weight, width } = taps;
  for (let o = 0; o < outer; o++) {
    const xo = o * inLen * inner;
    const yo = o * outLen * inner;
    for (let j = 0; j < outLen; j++) {
      const yr = yo + j * inner;
      for (let k = 0; k < width; k++) {
        const w = weight[j * width + k];
        if (w === 0) continue;
        const xr = xo + index[j * width + k] * inner;
        for (let i = 0; i < inner; i++) y[yr + i] += x[xr + i] * w;
      }
    }
  }
  return y;
}

export const resize: Kernel = (node, inputs, _out, opset) => {
  const x = inputs[0]!;
  const ctx = runtimeCtx(node, inputs, opset);
  const a = resizeAttrs(ctx);
  const r = resizeShape(ctx, x.dims, a);
  const outDims = r.out.map((d) => (typeof d === 'number' ? d : ctx.unsupported(`could not resolve the output size at run time`)));
  const rank = x.dims.length;
  const scales = r.scales ?? x.dims.map((d, i) => outDims[i] / d);
  if (outDims.some((d, i) => d > 0 && x.dims[i] === 0)) ctx.mismatch('cannot resize an empty axis to a non-empty one');
  let data = asFloat64(x);
  const dims = [...x.dims];
  const outside: (Uint8Array | undefined)[] = new Array(rank);
  for (let ax = 0; ax < rank; ax++) {
    const crop = a.coord === 'tf_crop_and_resize';
    if (!crop && outDims[ax] === dims[ax] && scales[ax] === 1) continue;
    const taps = resizeTaps(a, dims[ax], outDims[ax], scales[ax], r.roi?.[ax], r.roi?.[ax + rank]);
    if (crop) outside[ax] = taps.outside;
    data = applyTaps(data, size(dims.slice(0, ax)), dims[ax], size(dims.slice(ax + 1)), taps, outDims[ax]);
    dims[ax] = outDims[ax];
  }
  if (outside.some((o) => o && o.includes(1))) {
    const strides = dims.map((_, i) => size(dims.slice(i + 1)));
    for (let e = 0; e < data.length; e++) {
      for (let ax = 0; ax < rank; ax++) {
        if (outside[ax]?.[Math.floor(e / strides[ax]) % dims[ax]]) {
          data[e] = a.extrapolation;
          break;
        }
      }
    }
  }
  if (x.dtype !== 'float32' && x.dtype !== 'float16' && x.dtype !== 'float64') data = data.map((v) => Math.round(v));
  return [fromFloat64(x.dtype, dims, data)];
};

export const convTranspose: Kernel = (node, inputs, out, opset) => {
  const [x, w, b] = inputs as RTensor[];
  const ctx = runtimeCtx(node, inputs, opset);
  const rank = x.dims.length;
  if (rank > 4) ctx.unsupported(`${rank - 2}-D ConvTranspose (only 1-D and 2-D are supported)`);
  const g = deconvGeometry(ctx, x.dims.slice(2), w.dims.slice(2));
  const two = rank === 4;
  const [n, c] = x.dims;
  const [h, wd] = two ? x.dims.slice(2) : [1, x.dims[2]];
  const [kh, kw] = two ? g.kernel : [1, g.kernel[0]];
  const [sh, sw] = two ? g.strides : [1, g.strides[0]];
  const [dh, dw] = two ? g.dilations : [1, g.dilations[0]];
  const [pt, pl] = two ? [g.pads[0], g.pads[1]] : [0, g.pads[0]];
  const [oh, ow] = two ? g.out : [1, g.out[0]];
  const mg = w.dims[1];
  const m = mg * g.group;
  const cg = c / g.group;
  const xd = f32(x);
  const wv = f32(w);
  const y = new Float32Array(n * m * oh * ow);
  for (let ni = 0; ni < n; ni++) {
    for (let ci = 0; ci < c; ci++) {
      const gi = Math.floor(ci / cg);
      const xo = (ni * c + ci) * h * wd;
      for (let mi = 0; mi < mg; mi++) {
        const yo = (ni * m + gi * mg + mi) * oh * ow;
        const wo = (ci * mg + mi) * kh * kw;
        for (let iy = 0; iy < h; iy++) {
          for (let ix = 0; ix < wd; ix++) {
            const xv = xd[xo + iy * wd + ix];
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * sh - pt + ky * dh;
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * sw - pl + kx * dw;
                if (ox >= 0 && ox < ow) y[yo + oy * ow + ox] += xv * wv[wo + ky * kw + kx];
              }
            }
          }
        }
      }
    }
  }
  if (b) {
    const bv = f32(b);
    for (let i = 0; i < y.length; i++) y[i] += bv[Math.floor(i / (oh * ow)) % m];
  }
  const dims = out[0].shape as number[];
  return [{ dtype: out[0].dtype, dims, data: out[0].dtype === 'float64' ? Float64Array.from(y) : y }];
};

/** Splits a tensor around `axis` as [outer, len, inner]. */
function around(dims: number[], axis: number): [number, number, number] {
  return [size(dims.slice(0, axis)), dims[axis], size(dims.slice(axis + 1))];
}

/**
 * The order TopK, ArgMax and ArgMin rank values by (the builtin kernels' too): NumPy's and PyTorch's sort order,
 * where NaN is above +Infinity and equal to another NaN, and −0 equals +0. Negative, 0 or positive as a < b, a = b,
 * a > b. (onnxruntime leaves NaN unordered: its TopK results with NaN depend on k.)
 * @example [3, NaN, 1].sort(rankCompare) // [1, 3, NaN]
 */
export function rankCompare(a: number, b: number): number {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const topk: Kernel = (node, inputs, _out, opset) => {
  const x = inputs[0]!;
  const ctx = runtimeCtx(node, inputs, opset);
  const { axis, k: kd } = topkParams(ctx, x.dims);
  const k = kd as number;
  const largest = attrInt(node, 'largest', 1) !== 0;
  const [outer, len, inner] = around(x.dims, axis);
  const v = asFloat64(x);
  const dims = [...x.dims];
  dims[axis] = k;
  const vals = new Float64Array(outer * k * inner);
  const idx = alloc('int64', dims);
  const order = new Array<number>(len);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => v[(o * len + j) * inner + i];
      for (let j = 0; j < len; j++) order[j] = j;
      // Ties keep the lower index first, as onnxruntime does.
      order.sort((p, q) => (largest ? rankCompare(at(q), at(p)) : rankCompare(at(p), at(q))) || p - q);
      for (let j = 0; j < k; j++) {
        vals[(o * k + j) * inner + i] = at(order[j]);
        (idx.data as BigInt64Array)[(o * k + j) * inner + i] = BigInt(order[j]);
      }
    }
  }
  return [fromFloat64(x.dtype, dims, vals), idx];
};

export const argReduce: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const rank = x.dims.length;
  const raw = attrInt(node, 'axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  const last = attrInt(node, 'select_last_index', 0) !== 0;
  const max = node.op === 'ArgMax';
  const [outer, len, inner] = around(x.dims, axis);
  const v = asFloat64(x);
  const y = alloc('int64', out[0].shape as number[]);
  const yd = y.data as BigInt64Array;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = 0;
      for (let j = 1; j < len; j++) {
        const c = rankCompare(v[(o * len + j) * inner + i], v[(o * len + best) * inner + i]);
        if ((max ? c > 0 : c < 0) || (last && c === 0)) best = j;
      }
      yd[o * inner + i] = BigInt(best);
    }
  }
  return [y];
};

/** Corners [x1, y1, x2, y2] of ONNX boxes: [y1, x1, y2, x2] in any corner order, or [xc, yc, w, h]. */
export function boxCorners(b: ArrayLike<number>, at: number, centerPoint: boolean): [number, number, number, number] {
  if (centerPoint) {
    const hw = fr(b[at + 2] / 2), hh = fr(b[at + 3] / 2);
    return [fr(b[at] - hw), fr(b[at + 1] - hh), fr(b[at] + hw), fr(b[at + 1] + hh)];
  }
  return [Math.min(b[at + 1], b[at + 3]), Math.min(b[at], b[at + 2]), Math.max(b[at + 1], b[at + 3]), Math.max(b[at], b[at + 2])];
}

/** Whether IoU(a, b) > threshold, computed in float32 as onnxruntime does (empty boxes never suppress). */
export function iouAbove(a: readonly number[], b: readonly number[], threshold: number): boolean {
  const iw = fr(Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = fr(Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = fr(Math.max(iw, 0) * Math.max(ih, 0));
  if (inter <= 0) return false;
  const areaA = fr(fr(a[2] - a[0]) * fr(a[3] - a[1]));
  const areaB = fr(fr(b[2] - b[0]) * fr(b[3] - b[1]));
  const union = fr(fr(areaA + areaB) - inter);
  if (areaA <= 0 || areaB <= 0 || union <= 0) return false;
  return fr(inter / union) > threshold;
}

/**
 * Greedy NMS of one class: candidates above `scoreThreshold` by descending score (ties: lower index first),
 * each kept unless it overlaps a kept box by more than `iouThreshold`. A NaN score is never a candidate.
 * @example greedyNms(corners, scores, 10, 0.5, -Infinity) // [3, 0, 7]
 */
export function greedyNms(corners: number[][], scores: ArrayLike<number>, maxKeep: number, iouThreshold: number, scoreThreshold: number | undefined): number[] {
  const cand: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scoreThreshold === undefined ? !Number.isNaN(scores[i]) : scores[i] > scoreThreshold) cand.push(i);
  cand.sort((p, q) => (scores[p] === scores[q] ? p - q : scores[q] - scores[p]));
  const kept: number[] = [];
  for (const i of cand) {
    if (kept.length >= maxKeep) break;
    if (!kept.some((j) => iouAbove(corners[i], corners[j], iouThreshold))) kept.push(i);
  }
  return kept;
}

export const nonMaxSuppression: Kernel = (node, inputs) => {
  const [boxes, scores, maxT, iouT, scoreT] = inputs;
  const [nb, n] = boxes!.dims;
  const nc = scores!.dims[1];
  if (scores!.dims[0] !== nb || scores!.dims[2] !== n) {
    throw new TensorRTError(ErrorCode.SHAPE_MISMATCH, `NonMaxSuppression (node '${node.name}'): scores [${scores!.dims.join(', ')}] do not match boxes [${boxes!.dims.join(', ')}]`);
  }
  const maxKeep = maxT && maxT.data.length ? Number(maxT.data[0]) : 0;
  const iou = iouT && iouT.data.length ? Number(iouT.data[0]) : 0;
  const scoreThreshold = scoreT && scoreT.data.length ? Number(scoreT.data[0]) : undefined;
  if (iou < 0 || iou > 1) throw new TensorRTError(ErrorCode.INVALID_INPUT, `NonMaxSuppression (node '${node.name}'): iou_threshold must be in [0, 1], got ${iou}`);
  const center = attrInt(node, 'center_point_box', 0) === 1;
  const bd = f32(boxes!);
  const sd = f32(scores!);
  const rows: number[] = [];
  if (maxKeep > 0) {
    for (let b = 0; b < nb; b++) {
      const corners = Array.from({ length: n }, (_, i) => boxCorners(bd, (b * n + i) * 4, center));
      for (let c = 0; c < nc; c++) {
        const s = sd.subarray((b * nc + c) * n, (b * nc + c + 1) * n);
        for (const i of greedyNms(corners, s, maxKeep, iou, scoreThreshold)) rows.push(b, c, i);
      }
    }
  }
  return [{ dtype: 'int64', dims: [rows.length / 3, 3], data: BigInt64Array.from(rows, (v) => BigInt(v)) }];
};

/** The EfficientNMS post-processing stage (see efficient-nms.ts). */
export function nmsParams(node: Node): EfficientNmsParams {
  return {
    boxFormat: attrString(node, 'box_format', 'xyxy') as EfficientNmsParams['boxFormat'],
    maxOutput: attrInt(node, 'max_output', 100),
    scoreThreshold: attrFloat(node, 'score_threshold', 0.25),
    iouThreshold: attrFloat(node, 'iou_threshold', 0.45),
    classAgnostic: attrInt(node, 'class_agnostic', 0) !== 0,
  };
}

export const efficientNms: Kernel = (node, inputs) => {
  const [boxes, scores, anchors] = inputs;
  const [b, n] = boxes!.dims;
  const c = scores!.dims[2];
  const p = nmsParams(node);
  const r = runNms(f32(boxes!), f32(scores!), anchors ? f32(anchors) : undefined, b, n, c, p);
  return [
    { dtype: 'int32', dims: [b, 1], data: r.count },
    { dtype: 'float32', dims: [b, p.maxOutput, 4], data: r.boxes },
    { dtype: 'float32', dims: [b, p.maxOutput], data: r.scores },
    { dtype: 'int32', dims: [b, p.maxOutput], data: r.classes },
  ];
};
