// Reference kernels for the neural-network operators.
import { attrFloat, attrInt, attrString } from '../ir/attrs.js';
import { NodeContext } from '../ir/context.js';
import { windowGeometry } from '../ir/geometry.js';
import type { Activation } from '../ir/rules-nn.js';
import type { Node, TensorType } from '../ir/types.js';
import { mbconvStages } from '../ir/fused.js';
import { applyActivation, opActivation } from './activations.js';
import { conv2d, type ConvParams } from './conv.js';
import { gemmPacked, packA, packB } from './gemm.js';
import { roundToHalfInPlace } from './half.js';
import { alloc, size, type RTensor } from './tensor.js';

export type Kernel = (node: Node, inputs: (RTensor | undefined)[], out: TensorType[], opset: number) => RTensor[];

const dimsOf = (t: TensorType) => t.shape as number[];

/** Float data as float32 (float64 tensors are computed in float32 by the heavy kernels). */
export function f32(t: RTensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}

function result(type: TensorType, data: Float32Array): RTensor {
  const dims = dimsOf(type);
  if (type.dtype === 'float64') return { dtype: type.dtype, dims, data: Float64Array.from(data) };
  return { dtype: type.dtype, dims, data };
}

function ctxFor(node: Node, inputs: (RTensor | undefined)[], opset: number): NodeContext {
  return new NodeContext(node, opset, inputs.map((t) => (t ? { dtype: t.dtype, shape: t.dims } : undefined)), []);
}

/** 1-D windows run as 2-D ones with a height of 1. */
function as2d(dims: number[]): number[] {
  return dims.length === 3 ? [dims[0], dims[1], 1, dims[2]] : dims;
}

function convParams(node: Node, x: RTensor, w: RTensor, opset: number, inputs: (RTensor | undefined)[]): ConvParams {
  const g = windowGeometry(ctxFor(node, inputs, opset), x.dims.slice(2), w.dims.slice(2));
  const group = attrInt(node, 'group', 1);
  if (g.kernel.length === 1) {
    return { group, kernel: [1, g.kernel[0]], strides: [1, g.strides[0]], dilations: [1, g.dilations[0]], pads: [0, g.pads[0], 0, g.pads[1]] };
  }
  return { group, kernel: [g.kernel[0], g.kernel[1]], strides: [g.strides[0], g.strides[1]], dilations: [g.dilations[0], g.dilations[1]], pads: [g.pads[0], g.pads[1], g.pads[2], g.pads[3]] };
}

/** y += residual, then the activation (the bias is added by the convolution itself). */
function epilogue(y: Float32Array, residual: Float32Array | undefined, act: Activation, alpha: number, beta: number): void {
  if (residual) for (let i = 0; i < y.length; i++) y[i] += residual[i];
  applyActivation(y, act, alpha, beta);
}

export const conv: Kernel = (node, inputs, out, opset) => {
  const [x, w, b, r] = inputs as RTensor[];
  const p = convParams(node, x, w, opset, inputs);
  const yd = as2d(dimsOf(out[0]));
  const wd = as2d(w.dims);
  const y = conv2d(f32(x), as2d(x.dims), f32(w), wd, p, yd, b && f32(b));
  const fused = node.op === 'FusedConv';
  const act = (fused ? attrString(node, 'activation', 'none') : 'none') as Activation;
  epilogue(y, fused && r ? f32(r) : undefined, act, attrFloat(node, 'act_alpha', 0), attrFloat(node, 'act_beta', 0));
  return [result(out[0], y)];
};

export const batchNorm: Kernel = (node, inputs, out) => {
  const [x, scale, bias, mean, variance] = inputs as RTensor[];
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const xd = f32(x);
  const y = new Float32Array(xd.length);
  const n = x.dims[0];
  const c = x.dims[1];
  const p = size(x.dims.slice(2));
  const s = f32(scale), bb = f32(bias), mu = f32(mean), v = f32(variance);
  for (let ch = 0; ch < c; ch++) {
    const k = s[ch] / Math.sqrt(v[ch] + eps);
    const sh = bb[ch] - mu[ch] * k;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * p;
      for (let i = o; i < o + p; i++) y[i] = xd[i] * k + sh;
    }
  }
  return [result(out[0], y)];
};

export const pool: Kernel = (node, inputs, out, opset) => {
  const x = inputs[0]!;
  const g = windowGeometry(ctxFor(node, inputs, opset), x.dims.slice(2), (node.attrs.kernel_shape as number[]) ?? []);
  const two = g.kernel.length === 2;
  const [kh, kw] = two ? g.kernel : [1, g.kernel[0]];
  const [sh, sw] = two ? g.strides : [1, g.strides[0]];
  const [dh, dw] = two ? g.dilations : [1, g.dilations[0]];
  const [pt, pl, pb, pr] = two ? g.pads : [0, g.pads[0], 0, g.pads[1]];
  const [n, c, h, wd] = as2d(x.dims);
  const [, , oh, ow] = as2d(dimsOf(out[0]));
  const xd = f32(x);
  const y = new Float32Array(n * c * oh * ow);
  const max = node.op === 'MaxPool';
  // LpPool: (Σ |x|^p)^(1/p) over the window.
  const lp = node.op === 'LpPool' ? attrInt(node, 'p', 2) : 0;
  const includePad = attrInt(node, 'count_include_pad', 0) !== 0;
  for (let plane = 0; plane < n * c; plane++) {
    const xo = plane * h * wd;
    const yo = plane * oh * ow;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = max ? -Infinity : 0;
        let count = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= wd) continue;
            const v = xd[xo + iy * wd + ix];
            if (max) {
              if (v > acc || Number.isNaN(v)) acc = v;
            } else acc += lp ? Math.abs(v) ** lp : v;
            count++;
          }
        }
        if (lp) {
          acc = acc ** (1 / lp);
        } else if (!max) {
          if (includePad) {
            // The window clipped to the padded input (ceil_mode windows may run past it).
            const y0 = oy * sh - pt, x0 = ox * sw - pl;
            const rows = Math.min(y0 + (kh - 1) * dh, h - 1 + pb) - y0;
            const cols = Math.min(x0 + (kw - 1) * dw, wd - 1 + pr) - x0;
            count = (Math.floor(rows / dh) + 1) * (Math.floor(cols / dw) + 1);
          }
          acc = count ? acc / count : 0;
        }
        y[yo + oy * ow + ox] = acc;
      }
    }
  }
  return [result(out[0], y)];
};

export const globalPool: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const xd = f32(x);
  const planes = x.dims[0] * x.dims[1];
  const p = size(x.dims.slice(2));
  const y = new Float32Array(planes);
  const max = node.op === 'GlobalMaxPool';
  const lp = node.op === 'GlobalLpPool' ? attrInt(node, 'p', 2) : 0;
  for (let i = 0; i < planes; i++) {
    let acc = max ? -Infinity : 0;
    for (let j = i * p; j < (i + 1) * p; j++) acc = max ? Math.max(acc, xd[j]) : acc + (lp ? Math.abs(xd[j]) ** lp : xd[j]);
    y[i] = max ? acc : lp ? acc ** (1 / lp) : acc / p;
  }
  return [result(out[0], y)];
};

const packedB = new WeakMap<Float32Array, { trans: boolean; panels: Float32Array }>();

function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

export const gemm: Kernel = (node, inputs, out) => {
  const [a, b, c] = inputs;
  const ta = attrInt(node, 'transA', 0) !== 0;
  const tb = attrInt(node, 'transB', 0) !== 0;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const [m, n] = dimsOf(out[0]);
  const k = ta ? a!.dims[0] : a!.dims[1];
  const ad = ta ? transposed(f32(a!), a!.dims[0], a!.dims[1]) : f32(a!);
  const bd = f32(b!);
  let cache = packedB.get(bd);
  if (!cache || cache.trans !== tb) {
    cache = { trans: tb, panels: packB(tb ? transposed(bd, n, k) : bd, k, n) };
    packedB.set(bd, cache);
  }
  const y = new Float32Array(m * n);
  gemmPacked(packA(ad, m, k), cache.panels, y, m, n, k, n);
  if (alpha !== 1) for (let i = 0; i < y.length; i++) y[i] *= alpha;
  if (c && beta !== 0) {
    const cd = f32(c);
    const cr = c.dims.length === 2 ? c.dims[0] : 1;
    const cc = c.dims.length >= 1 ? c.dims[c.dims.length - 1] : 1;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j] += beta * cd[(cr === 1 ? 0 : i) * cc + (cc === 1 ? 0 : j)];
  }
  return [result(out[0], y)];
};

export const matmul: Kernel = (_node, inputs, out) => {
  const [a, b] = inputs as RTensor[];
  const ad = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
  const bd = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
  const m = ad[ad.length - 2], k = ad[ad.length - 1], n = bd[bd.length - 1];
  const yd = dimsOf(out[0]);
  const batchDims = yd.slice(0, yd.length - (a.dims.length > 1 ? 1 : 0) - (b.dims.length > 1 ? 1 : 0));
  const batches = size(batchDims);
  const abat = ad.slice(0, -2), bbat = bd.slice(0, -2);
  const offset = (bat: number[], i: number, mat: number) => {
    let o = 0, s = 1, rem = i;
    for (let d = batchDims.length - 1; d >= 0; d--) {
      const coord = rem % batchDims[d];
      rem = (rem - coord) / batchDims[d];
      const bi = d - (batchDims.length - bat.length);
      if (bi >= 0) {
        if (bat[bi] !== 1) o += coord * s;
        s *= bat[bi];
      }
    }
    return o * mat;
  };
  const A = f32(a), B = f32(b);
  const y = new Float32Array(batches * m * n);
  for (let i = 0; i < batches; i++) {
    gemmPacked(packA(A, m, k, k, offset(abat, i, m * k)), packB(B, k, n, n, offset(bbat, i, k * n)), y, m, n, k, n, i * m * n);
  }
  return [result(out[0], y)];
};

export const softmax: Kernel = (node, inputs, out, opset) => {
  const x = inputs[0]!;
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', opset >= 13 ? -1 : 1);
  if (axis < 0) axis += r;
  // Before opset 13: softmax over the flattened [prod(:axis), prod(axis:)] rows.
  const outer = size(x.dims.slice(0, axis));
  const len = opset >= 13 ? x.dims[axis] : size(x.dims.slice(axis));
  const inner = opset >= 13 ? size(x.dims.slice(axis + 1)) : 1;
  const xd = f32(x);
  const y = new Float32Array(xd.length);
  const tmp = new Float64Array(len);
  const log = node.op === 'LogSoftmax';
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let mx = -Infinity;
      for (let j = 0; j < len; j++) mx = Math.max(mx, xd[base + j * inner]);
      let sum = 0;
      for (let j = 0; j < len; j++) sum += tmp[j] = Math.exp(xd[base + j * inner] - mx);
      if (log) {
        const ls = Math.log(sum);
        for (let j = 0; j < len; j++) y[base + j * inner] = xd[base + j * inner] - mx - ls;
      } else for (let j = 0; j < len; j++) y[base + j * inner] = tmp[j] / sum;
    }
  }
  return [result(out[0], y)];
};

export const activation: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const a = opActivation(node.op, { alpha: node.attrs.alpha as number | undefined, beta: node.attrs.beta as number | undefined })!;
  const y = x.data instanceof Float64Array ? Float64Array.from(x.data) : Float32Array.from(x.data as Float32Array);
  applyActivation(y, a.act, a.alpha, a.beta);
  return [{ dtype: out[0].dtype, dims: dimsOf(out[0]), data: y }];
};

/** Swish (opset 24): x·Sigmoid(alpha·x). */
export const swish: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const alpha = attrFloat(node, 'alpha', 1);
  const y = x.data instanceof Float64Array ? Float64Array.from(x.data) : Float32Array.from(x.data as Float32Array);
  for (let i = 0; i < y.length; i++) y[i] = y[i] / (1 + Math.exp(-alpha * y[i]));
  return [{ dtype: out[0].dtype, dims: dimsOf(out[0]), data: y }];
};

export const clip: Kernel = (_node, inputs, out) => {
  const [x, lo, hi] = inputs;
  const num = (t: RTensor | undefined, def: number) => (t ? Number(t.data[0]) : def);
  const min = num(lo, -Infinity), max = num(hi, Infinity);
  const minAttr = _node.attrs.min, maxAttr = _node.attrs.max;
  const a = typeof minAttr === 'number' && !lo ? minAttr : min;
  const b = typeof maxAttr === 'number' && !hi ? maxAttr : max;
  const y = alloc(out[0].dtype, dimsOf(out[0]));
  const xd = x!.data;
  if (y.data instanceof BigInt64Array) {
    const src = xd as BigInt64Array;
    for (let i = 0; i < src.length; i++) y.data[i] = BigInt(Math.min(Math.max(Number(src[i]), a), b));
  } else {
    const dst = y.data as Float32Array, src = xd as Float32Array;
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      dst[i] = v < a ? a : v > b ? b : v;
    }
  }
  return [y];
};

/** FusedMBConv: its three FusedConv stages in turn, the intermediates stored (and rounded) in the output dtype. */
export const mbconv: Kernel = (node, inputs, out, opset) => {
  const [x, w1, b1, wd, bd, w2, b2, r] = inputs;
  const [expand, dw, project] = mbconvStages(node, ['expanded', 'depthwise']);
  const y = out[0];
  const e = w1!.dims[0];
  const stage = (n: Node, ins: (RTensor | undefined)[], shape: number[]): RTensor => {
    const t = conv(n, ins, [{ dtype: y.dtype, shape }], opset)[0];
    if (t.dtype === 'float16') roundToHalfInPlace(t.data as Float32Array);
    return t;
  };
  const xe = stage(expand, [x, w1, b1], [x!.dims[0], e, x!.dims[2], x!.dims[3]]);
  const xd = stage(dw, [xe, wd, bd], [x!.dims[0], e, ...(y.shape.slice(2) as number[])]);
  return conv(project, [xd, w2, b2, r], out, opset);
};
