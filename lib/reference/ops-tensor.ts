// Reference kernels for element-wise arithmetic, casts, constants and layout operators.
import { attrInt, attrInts, attrString, attrTensor } from '../ir/attrs.js';
import { fullPads, sliceRange } from '../ir/rules-tensor.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import { isFloat, type TensorType } from '../ir/types.js';
import type { Kernel } from './ops-nn.js';
import { alloc, asFloat64, bcastStrides, fromConstant, fromFloat64, size, toNumbers, type RData, type RTensor } from './tensor.js';

const dimsOf = (t: TensorType) => t.shape as number[];

/** Merges adjacent output dims where both operands stay contiguous (or both broadcast). */
function coalesce(dims: number[], sa: number[], sb: number[]): { dims: number[]; sa: number[]; sb: number[] } {
  const d: number[] = [], a: number[] = [], b: number[] = [];
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] === 1) continue;
    const k = d.length - 1;
    if (k >= 0 && a[k] === sa[i] * dims[i] && b[k] === sb[i] * dims[i]) {
      d[k] *= dims[i];
      a[k] = sa[i];
      b[k] = sb[i];
    } else {
      d.push(dims[i]);
      a.push(sa[i]);
      b.push(sb[i]);
    }
  }
  if (d.length === 0) return { dims: [1], sa: [0], sb: [0] };
  return { dims: d, sa: a, sb: b };
}

type Num = Float32Array | Float64Array;

function binaryRows(op: string, A: Num, B: Num, Y: Num, dims: number[], sa: number[], sb: number[]): void {
  const r = dims.length;
  const len = dims[r - 1];
  const ia = sa[r - 1], ib = sb[r - 1];
  const rows = size(dims) / len;
  const idx = new Array(r).fill(0);
  let oa = 0, ob = 0;
  for (let row = 0, oy = 0; row < rows; row++, oy += len) {
    switch (op) {
      case 'Add':
        for (let i = 0; i < len; i++) Y[oy + i] = A[oa + i * ia] + B[ob + i * ib];
        break;
      case 'Sub':
        for (let i = 0; i < len; i++) Y[oy + i] = A[oa + i * ia] - B[ob + i * ib];
        break;
      case 'Mul':
        for (let i = 0; i < len; i++) Y[oy + i] = A[oa + i * ia] * B[ob + i * ib];
        break;
      default:
        for (let i = 0; i < len; i++) Y[oy + i] = A[oa + i * ia] / B[ob + i * ib];
    }
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < dims[d]) break;
      oa -= sa[d] * idx[d];
      ob -= sb[d] * idx[d];
      idx[d] = 0;
    }
  }
}

export const binary: Kernel = (node, inputs, out) => {
  const [a, b] = inputs as RTensor[];
  const yd = dimsOf(out[0]);
  const c = coalesce(yd, bcastStrides(a.dims, yd), bcastStrides(b.dims, yd));
  if (isFloat(a.dtype)) {
    const y = alloc(out[0].dtype, yd);
    binaryRows(node.op, a.data as Num, b.data as Num, y.data as Num, c.dims, c.sa, c.sb);
    return [y];
  }
  const y = new Float64Array(size(yd));
  binaryRows(node.op, asFloat64(a), asFloat64(b), y, c.dims, c.sa, c.sb);
  if (node.op === 'Div') for (let i = 0; i < y.length; i++) y[i] = Math.trunc(y[i]);
  return [fromFloat64(out[0].dtype, yd, y)];
};

/** Same data, new dims: Identity, Dropout, Reshape, Flatten, Squeeze, Unsqueeze. */
export const view: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const res: RTensor[] = [{ dtype: x.dtype, dims: dimsOf(out[0]), data: x.data }];
  if (node.op === 'Dropout' && out.length > 1) res.push({ dtype: 'bool', dims: dimsOf(out[1]), data: new Uint8Array(x.data.length).fill(1) });
  return res;
};

export const cast: Kernel = (_node, inputs, out) => {
  const x = inputs[0]!;
  const to = out[0].dtype;
  const dims = dimsOf(out[0]);
  if (to === x.dtype || (to === 'float32' && x.dtype === 'float16')) return [{ dtype: to, dims, data: x.data.slice() as RData }];
  if (to === 'float32' || to === 'float16' || to === 'float64') {
    const y = alloc(to, dims);
    (y.data as Float32Array).set(x.data instanceof BigInt64Array ? asFloat64(x) : (x.data as Float32Array));
    return [y];
  }
  const v = asFloat64(x);
  if (to !== 'bool') for (let i = 0; i < v.length; i++) if (Number.isNaN(v[i])) v[i] = 0;
  return [fromFloat64(to, dims, v)];
};

export const constant: Kernel = (node, _inputs, out) => {
  const t = attrTensor(node, 'value');
  const dims = dimsOf(out[0]);
  if (t) {
    const c = fromConstant(t);
    return [{ dtype: c.dtype, dims, data: c.data }];
  }
  const v = Object.values(node.attrs)[0] as number | number[];
  const list = Array.isArray(v) ? v : [v];
  if (out[0].dtype === 'int64') return [{ dtype: 'int64', dims, data: BigInt64Array.from(list, (x) => BigInt(x)) }];
  return [{ dtype: 'float32', dims, data: Float32Array.from(list) }];
};

export const shape: Kernel = (_node, inputs, out) => {
  const r = inputs[0]!.dims.length;
  const start = attrInt(_node, 'start', 0);
  const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
  const s = clamp(start);
  const dims = inputs[0]!.dims.slice(s, Math.max(s, clamp(attrInt(_node, 'end', r))));
  return [{ dtype: 'int64', dims: dimsOf(out[0]), data: BigInt64Array.from(dims, (d) => BigInt(d)) }];
};

/** Copies from x into a new tensor, mapping each output index along every axis through `maps` (-1 = fill). */
function remap(x: RTensor, outDims: number[], maps: Int32Array[], dtype = x.dtype, fill = 0): RTensor {
  const y = alloc(dtype, outDims);
  const r = outDims.length;
  const xs = new Array(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    xs[i] = s;
    s *= x.dims[i];
  }
  const src = x.data as Float32Array, dst = y.data as Float32Array;
  const big = y.data instanceof BigInt64Array;
  const fillv = big ? BigInt(fill) : fill;
  if (fill !== 0 || big) (dst as unknown as { fill(v: unknown): void }).fill(fillv);
  if (r === 0) {
    dst[0] = src[0];
    return y;
  }
  const last = r - 1;
  const len = outDims[last];
  const lastMap = maps[last];
  const idx = new Array(r).fill(0);
  const rows = size(outDims) / Math.max(1, len);
  for (let row = 0, o = 0; row < rows; row++, o += len) {
    let base = 0;
    let valid = true;
    for (let d = 0; d < last; d++) {
      const m = maps[d][idx[d]];
      if (m < 0) {
        valid = false;
        break;
      }
      base += m * xs[d];
    }
    if (valid) {
      for (let i = 0; i < len; i++) {
        const m = lastMap[i];
        if (m >= 0) dst[o + i] = src[base + m];
      }
    }
    for (let d = last - 1; d >= 0; d--) {
      if (++idx[d] < outDims[d]) break;
      idx[d] = 0;
    }
  }
  return y;
}

export const transpose: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const r = x.dims.length;
  const perm = attrInts(node, 'perm') ?? x.dims.map((_, i) => r - 1 - i);
  const yd = dimsOf(out[0]);
  const xs: number[] = new Array(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    xs[i] = s;
    s *= x.dims[i];
  }
  const y = alloc(x.dtype, yd);
  const src = x.data as Float32Array, dst = y.data as Float32Array;
  const ps = perm.map((p) => xs[p]);
  const idx = new Array(r).fill(0);
  let o = 0;
  for (let i = 0; i < dst.length; i++) {
    dst[i] = src[o];
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      o += ps[d];
      if (idx[d] < yd[d]) break;
      o -= ps[d] * idx[d];
      idx[d] = 0;
    }
  }
  return [y];
};

export const concat: Kernel = (node, inputs, out) => {
  const yd = dimsOf(out[0]);
  const r = yd.length;
  let axis = attrInt(node, 'axis', 0);
  if (axis < 0) axis += r;
  const y = alloc(out[0].dtype, yd);
  const outer = size(yd.slice(0, axis));
  const inner = size(yd.slice(axis + 1));
  const dst = y.data as Float32Array;
  let off = 0;
  for (const t of inputs as RTensor[]) {
    const chunk = t.dims[axis] * inner;
    const src = t.data as Float32Array;
    for (let o = 0; o < outer; o++) dst.set(src.subarray(o * chunk, (o + 1) * chunk), o * yd[axis] * inner + off);
    off += chunk;
  }
  return [y];
};

export const gather: Kernel = (node, inputs, out) => {
  const [x, ind] = inputs as RTensor[];
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', 0);
  if (axis < 0) axis += r;
  const idx = toNumbers(ind);
  const dim = x.dims[axis];
  const outer = size(x.dims.slice(0, axis));
  const inner = size(x.dims.slice(axis + 1));
  const y = alloc(x.dtype, dimsOf(out[0]));
  const src = x.data as Float32Array, dst = y.data as Float32Array;
  for (let o = 0; o < outer; o++) {
    idx.forEach((i, k) => {
      const j = i < 0 ? i + dim : i;
      if (j < 0 || j >= dim) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Gather index ${i} out of range for dimension ${dim} (node '${node.name}')`);
      dst.set(src.subarray((o * dim + j) * inner, (o * dim + j + 1) * inner), (o * idx.length + k) * inner);
    });
  }
  return [y];
};

export const slice: Kernel = (_node, inputs, out) => {
  const [x, starts, ends, axesT, stepsT] = inputs;
  const r = x!.dims.length;
  // Opset < 10 carries starts/ends/axes as attributes.
  const st = starts ? toNumbers(starts) : attrInts(_node, 'starts')!;
  const en = ends ? toNumbers(ends) : attrInts(_node, 'ends')!;
  const axes = axesT ? toNumbers(axesT) : (attrInts(_node, 'axes') ?? st.map((_, i) => i));
  const steps = stepsT ? toNumbers(stepsT) : st.map(() => 1);
  const yd = dimsOf(out[0]);
  const maps = x!.dims.map((d) => Int32Array.from({ length: d }, (_, i) => i));
  axes.forEach((a, i) => {
    const axis = a < 0 ? a + r : a;
    const rg = sliceRange(st[i], en[i], steps[i], x!.dims[axis]);
    maps[axis] = Int32Array.from({ length: rg.len }, (_, k) => rg.start + k * rg.step);
  });
  return [remap(x!, yd, maps)];
};

export const pad: Kernel = (node, inputs, out) => {
  const [x, padsT, cv, axesT] = inputs;
  const r = x!.dims.length;
  const raw = padsT ? toNumbers(padsT) : attrInts(node, 'pads')!;
  const pads = fullPads(r, raw, axesT ? toNumbers(axesT) : undefined);
  const mode = attrString(node, 'mode', 'constant');
  const yd = dimsOf(out[0]);
  const maps = yd.map((len, d) => {
    const n = x!.dims[d];
    return Int32Array.from({ length: len }, (_, o) => {
      let i = o - pads[d];
      if (i >= 0 && i < n) return i;
      if (mode === 'constant') return -1;
      if (mode === 'edge') return i < 0 ? 0 : n - 1;
      // reflect (pads < n is checked by inference)
      if (i < 0) i = -i;
      if (i >= n) i = 2 * (n - 1) - i;
      return i;
    });
  });
  const fill = cv ? Number(cv.data[0]) : typeof node.attrs.value === 'number' ? node.attrs.value : 0;
  return [remap(x!, yd, maps, x!.dtype, fill)];
};

