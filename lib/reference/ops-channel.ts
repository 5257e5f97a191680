// Reference kernels for PRelu, InstanceNormalization, GroupNormalization, LRN, DepthToSpace, SpaceToDepth,
// LpNormalization, MeanVarianceNormalization, QuantizeLinear, DequantizeLinear, CastLike and Size; statistics
// accumulate in float64.
import { attrFloat, attrInt, attrString } from '../ir/attrs.js';
import { mvnAxes } from '../ir/rules-channel.js';
import type { Kernel } from './ops-nn.js';
import { broadcastMap } from './ops-math.js';
import { normalizeRuns } from './ops-norm.js';
import { cast, transpose } from './ops-tensor.js';
import { asFloat64, fromFloat64, roundHalfEven, size, type RTensor } from './tensor.js';

const dimsOf = (t: { shape: readonly (number | string)[] }) => t.shape as number[];

/** PRelu: x < 0 ? slope·x : x, slope broadcast to x. */
export const prelu: Kernel = (_node, inputs, out) => {
  const [x, slope] = inputs as RTensor[];
  return [broadcastMap([x, slope], x.dims, out[0].dtype, ([v, s]) => (v < 0 ? s * v : v))];
};

/** InstanceNormalization: per (n, c) over the spatial dims. */
export const instanceNorm: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const [n, c] = x.dims;
  const s = size(x.dims.slice(2));
  const { y } = normalizeRuns(asFloat64(x), n * c, s, attrFloat(node, 'epsilon', 1e-5), (run) => run % c, asFloat64(inputs[1]!), asFloat64(inputs[2]!));
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};

/** GroupNormalization: per (n, group) over the group's channels and the spatial dims; parameters per group before opset 21, per channel from 21. */
export const groupNorm: Kernel = (node, inputs, out, opset) => {
  const x = inputs[0]!;
  const [n, c] = x.dims;
  const groups = attrInt(node, 'num_groups', 1);
  const s = size(x.dims.slice(2));
  const per = c / groups;
  const len = per * s;
  const param = opset >= 21 ? (run: number, i: number) => (run % groups) * per + Math.floor(i / s) : (run: number) => run % groups;
  const { y } = normalizeRuns(asFloat64(x), n * groups, len, attrFloat(node, 'epsilon', 1e-5), param, asFloat64(inputs[1]!), asFloat64(inputs[2]!));
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};

/** LRN: x / (bias + alpha/size · Σ x² over the channel window)^beta. */
export const lrn: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const xv = asFloat64(x);
  const [n, c] = x.dims;
  const s = size(x.dims.slice(2));
  const sz = attrInt(node, 'size', 1);
  const alpha = attrFloat(node, 'alpha', 1e-4);
  const beta = attrFloat(node, 'beta', 0.75);
  const bias = attrFloat(node, 'bias', 1);
  const lo = Math.floor((sz - 1) / 2);
  const hi = Math.ceil((sz - 1) / 2);
  const y = new Float64Array(xv.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < s; p++) {
        let sum = 0;
        for (let k = Math.max(0, ch - lo); k <= Math.min(c - 1, ch + hi); k++) sum += xv[(b * c + k) * s + p] ** 2;
        const i = (b * c + ch) * s + p;
        y[i] = xv[i] / (bias + (alpha / sz) * sum) ** beta;
      }
    }
  }
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};

/** x viewed as `view`, permuted by `perm`, then read as the output's shape. */
function rearrange(x: RTensor, view: number[], perm: number[], outDims: number[]): RTensor {
  const t = transpose({ name: 'rearrange', op: 'Transpose', domain: '', inputs: [], outputs: [], attrs: { perm } }, [{ ...x, dims: view }], [{ dtype: x.dtype, shape: perm.map((p) => view[p]) }], 0)[0];
  return { ...t, dims: outDims };
}

/** DepthToSpace, DCR (depth, column, row) or CRD order. */
export const depthToSpace: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const b = attrInt(node, 'blocksize', 1);
  const [n, c, h, w] = x.dims;
  const crd = attrString(node, 'mode', 'DCR') === 'CRD';
  const view = crd ? [n, c / (b * b), b, b, h, w] : [n, b, b, c / (b * b), h, w];
  const perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
  return [rearrange(x, view, perm, dimsOf(out[0]))];
};

/** SpaceToDepth: each b×b block becomes b² channels. */
export const spaceToDepth: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const b = attrInt(node, 'blocksize', 1);
  const [n, c, h, w] = x.dims;
  return [rearrange(x, [n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4], dimsOf(out[0]))];
};

/** CastLike: Cast to the second input's dtype. */
export const castLike: Kernel = (node, inputs, out, opset) => cast(node, [inputs[0]], out, opset);

/** LpNormalization: x / ‖x‖ₚ along the axis (p 1 or 2); a zero vector stays zero. */
export const lpNorm: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const xv = asFloat64(x);
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', -1);
  if (axis < 0) axis += r;
  const p = attrInt(node, 'p', 2);
  const len = x.dims[axis];
  const inner = size(x.dims.slice(axis + 1));
  const outer = size(x.dims.slice(0, axis));
  const y = new Float64Array(xv.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let norm = 0;
      for (let k = 0; k < len; k++) norm += p === 1 ? Math.abs(xv[base + k * inner]) : xv[base + k * inner] ** 2;
      if (p === 2) norm = Math.sqrt(norm);
      for (let k = 0; k < len; k++) y[base + k * inner] = norm === 0 ? 0 : xv[base + k * inner] / norm;
    }
  }
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};

/** MeanVarianceNormalization: (x − mean) / (std + 1e-9) over `axes` (the ONNX function's epsilon, added to the
 *  standard deviation), the variance as the mean squared deviation. */
export const meanVarianceNorm: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const xv = asFloat64(x);
  const r = x.dims.length;
  const axes = new Set(mvnAxes(node, r) ?? []);
  // Each element's group: its index over the axes kept (the reduced ones broadcast).
  const kept = x.dims.map((d, i) => (axes.has(i) ? 1 : d));
  const groups = size(kept);
  const ids: RTensor = { dtype: 'float64', dims: kept, data: Float64Array.from({ length: groups }, (_, g) => g) };
  const group = broadcastMap([ids], x.dims, 'int32', ([g]) => g).data as Int32Array;
  const count = groups ? xv.length / groups : 0;
  const mean = new Float64Array(groups);
  const dev = new Float64Array(groups);
  for (let i = 0; i < xv.length; i++) mean[group[i]] += xv[i];
  for (let g = 0; g < groups; g++) mean[g] /= count;
  for (let i = 0; i < xv.length; i++) dev[group[i]] += (xv[i] - mean[group[i]]) ** 2;
  for (let g = 0; g < groups; g++) dev[g] = Math.sqrt(dev[g] / count) + 1e-9;
  const y = new Float64Array(xv.length);
  for (let i = 0; i < xv.length; i++) y[i] = (xv[i] - mean[group[i]]) / dev[group[i]];
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};

/** Size: the element count. */
export const sizeOf: Kernel = (_node, inputs) => [{ dtype: 'int64', dims: [], data: BigInt64Array.from([BigInt(size(inputs[0]!.dims))]) }];

/** Per element, the index of its scale and zero point: 0 for per-tensor parameters, its coordinate along the axis else. */
function paramIndex(node: Parameters<Kernel>[0], x: RTensor, scale: RTensor): (i: number) => number {
  if (scale.dims.length === 0 || size(scale.dims) === 1) return () => 0;
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', 1);
  if (axis < 0) axis += r;
  const inner = size(x.dims.slice(axis + 1));
  const len = x.dims[axis];
  return (i) => Math.floor(i / inner) % len;
}

/** QuantizeLinear: saturate(round(x / scale) + zero_point) into int8 or uint8. */
export const quantize: Kernel = (node, inputs, out) => {
  const [x, scale, zp] = inputs as RTensor[];
  const xv = asFloat64(x), sv = asFloat64(scale);
  const zv = zp ? asFloat64(zp) : new Float64Array(sv.length);
  const [lo, hi] = out[0].dtype === 'int8' ? [-128, 127] : [0, 255];
  const at = paramIndex(node, x, scale);
  const y = new Float64Array(xv.length);
  for (let i = 0; i < xv.length; i++) {
    const k = at(i);
    // The quotient at the scale's precision (float32), as onnxruntime rounds it: 0.35 / 0.1 is a tie there.
    y[i] = Math.min(hi, Math.max(lo, roundHalfEven(Math.fround(xv[i] / sv[k])) + zv[k]));
  }
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};

/** DequantizeLinear: (x − zero_point) · scale. */
export const dequantize: Kernel = (node, inputs, out) => {
  const [x, scale, zp] = inputs as RTensor[];
  const xv = asFloat64(x), sv = asFloat64(scale);
  const zv = zp ? asFloat64(zp) : new Float64Array(sv.length);
  const at = paramIndex(node, x, scale);
  const y = new Float64Array(xv.length);
  for (let i = 0; i < xv.length; i++) y[i] = (xv[i] - zv[at(i)]) * sv[at(i)];
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};
