// Reference kernels for tensor construction and indexing: ConstantOfShape, Range, Expand, Tile,
// Split, Trilu, CumSum, GatherElements, ScatterND, GatherND, ScatterElements, OneHot, Hardmax. Indices are
// bounds-checked: a bad index is a
// coded ERR_INVALID_INPUT naming the value, never an out-of-bounds read.
import { attrInt, attrInts, attrString, attrTensor } from '../ir/attrs.js';
import { NodeContext } from '../ir/context.js';
import { centerCropPadPlan, splitSizes } from '../ir/rules-shape.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { TensorType } from '../ir/types.js';
import type { Kernel } from './ops-nn.js';
import { alloc, asFloat64, fromConstant, fromFloat64, size, toNumbers, type RTensor } from './tensor.js';

const dimsOf = (t: TensorType) => t.shape as number[];

type Elems = { [i: number]: number | bigint; length: number };

/** Row-major strides. */
export function stridesOf(dims: number[]): number[] {
  const s = new Array(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** A new tensor whose element i is x's element map(coords of i); map returns a flat index of x. */
function gatherCopy(x: RTensor, outDims: number[], map: (coords: number[]) => number): RTensor {
  const y = alloc(x.dtype, outDims);
  const src = x.data as unknown as Elems, dst = y.data as unknown as Elems;
  const n = size(outDims);
  const r = outDims.length;
  const idx = new Array(r).fill(0);
  for (let i = 0; i < n; i++) {
    dst[i] = src[map(idx)];
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < outDims[d]) break;
      idx[d] = 0;
    }
  }
  return y;
}

function badIndex(node: Parameters<Kernel>[0], value: number, dim: number, axis: number): never {
  throw new TensorRTError(ErrorCode.INVALID_INPUT, `Index ${value} is out of range for axis ${axis} of size ${dim} (node '${node.name}', ${node.op})`);
}

export const constantOfShape: Kernel = (node, _inputs, out) => {
  const t = attrTensor(node, 'value');
  const y = alloc(out[0].dtype, dimsOf(out[0]));
  if (t) {
    const v = fromConstant(t).data[0];
    (y.data as unknown as { fill(v: unknown): void }).fill(v);
  }
  return [y];
};

export const range: Kernel = (_node, inputs, out) => {
  const [s, , d] = inputs as RTensor[];
  const n = dimsOf(out[0])[0];
  const y = alloc(out[0].dtype, [n]);
  if (y.data instanceof BigInt64Array) {
    const start = (s.data as BigInt64Array)[0], delta = (d.data as BigInt64Array)[0];
    for (let i = 0; i < n; i++) y.data[i] = start + BigInt(i) * delta;
  } else {
    const start = Number(s.data[0]), delta = Number(d.data[0]);
    const dst = y.data as Float32Array;
    for (let i = 0; i < n; i++) dst[i] = start + i * delta;
  }
  return [y];
};

/** Expand: broadcast x onto the output shape. */
export const expand: Kernel = (_node, inputs, out) => {
  const x = inputs[0]!;
  const yd = dimsOf(out[0]);
  const off = yd.length - x.dims.length;
  const xs = stridesOf(x.dims);
  return [gatherCopy(x, yd, (c) => {
    let j = 0;
    for (let d = 0; d < x.dims.length; d++) if (x.dims[d] !== 1) j += c[d + off] * xs[d];
    return j;
  })];
};

export const tile: Kernel = (_node, inputs, out) => {
  const x = inputs[0]!;
  const xs = stridesOf(x.dims);
  return [gatherCopy(x, dimsOf(out[0]), (c) => c.reduce((j, v, d) => j + (v % x.dims[d]) * xs[d], 0))];
};

export const split: Kernel = (node, inputs, out, opset) => {
  const x = inputs[0]!;
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', 0);
  if (axis < 0) axis += r;
  const types = inputs.map((t) => (t ? { dtype: t.dtype, shape: t.dims } : undefined));
  const values = inputs.map((t) => (t && t.dtype === 'int64' ? toNumbers(t) : undefined));
  const sizes = splitSizes(new NodeContext(node, opset, types, values), x.dims[axis], out.length);
  const outer = size(x.dims.slice(0, axis));
  const inner = size(x.dims.slice(axis + 1));
  const src = x.data as Float32Array;
  let start = 0;
  return sizes.map((len, k) => {
    const y = alloc(x.dtype, dimsOf(out[k]));
    const dst = y.data as Float32Array;
    for (let o = 0; o < outer; o++) dst.set(src.subarray((o * x.dims[axis] + start) * inner, (o * x.dims[axis] + start + len) * inner), o * len * inner);
    start += len;
    return y;
  });
};

export const trilu: Kernel = (node, inputs, out) => {
  const [x, kT] = inputs as (RTensor | undefined)[];
  const k = kT ? Number(kT.data[0]) : 0;
  const upper = attrInt(node, 'upper', 1) !== 0;
  const X = x!;
  const r = X.dims.length;
  const rows = X.dims[r - 2], cols = X.dims[r - 1];
  const y = alloc(X.dtype, dimsOf(out[0]));
  const src = X.data as unknown as Elems, dst = y.data as unknown as Elems;
  const mats = size(X.dims.slice(0, -2));
  for (let m = 0; m < mats; m++) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const keep = upper ? j - i >= k : j - i <= k;
        const o = (m * rows + i) * cols + j;
        if (keep) dst[o] = src[o];
      }
    }
  }
  return [y];
};

export const eyeLike: Kernel = (node, _inputs, out) => {
  const [r, c] = dimsOf(out[0]);
  const k = attrInt(node, 'k', 0);
  const v = new Float64Array(r * c);
  for (let i = 0; i < r; i++) if (i + k >= 0 && i + k < c) v[i * c + i + k] = 1;
  return [fromFloat64(out[0].dtype, [r, c], v)];
};

/** ReverseSequence: for each batch entry b, its first sequence_lens[b] steps along the time axis reversed. */
export const reverseSequence: Kernel = (node, inputs) => {
  const [x, lensT] = inputs as RTensor[];
  const b = attrInt(node, 'batch_axis', 1);
  const t = attrInt(node, 'time_axis', 0);
  const steps = x.dims[t], batch = x.dims[b];
  const inner = size(x.dims.slice(2));
  const lens = toNumbers(lensT);
  const y = alloc(x.dtype, [...x.dims]);
  const src = x.data as unknown as Elems, dst = y.data as unknown as Elems;
  const at = (s: number, n: number) => ((t === 0 ? s * batch + n : n * steps + s) * inner);
  for (let n = 0; n < batch; n++) {
    const len = lens[n];
    if (!(len >= 0 && len <= steps)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `ReverseSequence '${node.name}': sequence_lens[${n}] = ${len} is outside [0, ${steps}]`);
    for (let s = 0; s < steps; s++) {
      const from = at(s < len ? len - 1 - s : s, n), to = at(s, n);
      for (let i = 0; i < inner; i++) dst[to + i] = src[from + i];
    }
  }
  return [y];
};

export const cumsum: Kernel = (node, inputs, out) => {
  const [x, a] = inputs as RTensor[];
  const r = x.dims.length;
  let axis = Number(a.data[0]);
  if (axis < 0) axis += r;
  const exclusive = attrInt(node, 'exclusive', 0) !== 0;
  const reverse = attrInt(node, 'reverse', 0) !== 0;
  const outer = size(x.dims.slice(0, axis));
  const len = x.dims[axis];
  const inner = size(x.dims.slice(axis + 1));
  const xv = asFloat64(x);
  const y = new Float64Array(xv.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = 0;
      for (let t = 0; t < len; t++) {
        const j = reverse ? len - 1 - t : t;
        const p = (o * len + j) * inner + i;
        if (exclusive) {
          y[p] = acc;
          acc += xv[p];
        } else {
          acc += xv[p];
          y[p] = acc;
        }
      }
    }
  }
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};

export const gatherElements: Kernel = (node, inputs, out) => {
  const [x, ind] = inputs as RTensor[];
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', 0);
  if (axis < 0) axis += r;
  const iv = toNumbers(ind);
  const xs = stridesOf(x.dims);
  const dim = x.dims[axis];
  for (const v of iv) if (v < -dim || v >= dim) badIndex(node, v, dim, axis);
  let k = 0;
  return [gatherCopy(x, dimsOf(out[0]), (c) => {
    let j = 0;
    const v = iv[k++];
    for (let d = 0; d < r; d++) j += (d === axis ? (v < 0 ? v + dim : v) : c[d]) * xs[d];
    return j;
  })];
};

export const scatterND: Kernel = (node, inputs) => {
  const [x, ind, upd] = inputs as RTensor[];
  const red = attrString(node, 'reduction', 'none');
  const k = ind.dims[ind.dims.length - 1];
  const tuples = size(ind.dims.slice(0, -1));
  const slice = size(x.dims.slice(k));
  const xs = stridesOf(x.dims);
  const iv = toNumbers(ind);
  const y: RTensor = { dtype: x.dtype, dims: [...x.dims], data: x.data.slice() };
  const dst = y.data as unknown as Elems, src = upd.data as unknown as Elems;
  const big = y.data instanceof BigInt64Array;
  const combine = (a: number | bigint, b: number | bigint): number | bigint => {
    if (red === 'none') return b;
    if (big) {
      const p = a as bigint, q = b as bigint;
      return red === 'add' ? p + q : red === 'mul' ? p * q : red === 'max' ? (q > p ? q : p) : q < p ? q : p;
    }
    const p = a as number, q = b as number;
    return red === 'add' ? p + q : red === 'mul' ? p * q : red === 'max' ? Math.max(p, q) : Math.min(p, q);
  };
  for (let t = 0; t < tuples; t++) {
    let off = 0;
    for (let d = 0; d < k; d++) {
      const v = iv[t * k + d];
      const dim = x.dims[d];
      if (v < -dim || v >= dim) badIndex(node, v, dim, d);
      off += (v < 0 ? v + dim : v) * xs[d];
    }
    for (let i = 0; i < slice; i++) dst[off + i] = combine(dst[off + i], src[t * slice + i]);
  }
  return [y];
};

export const gatherND: Kernel = (node, inputs, out) => {
  const [x, ind] = inputs as RTensor[];
  const b = attrInt(node, 'batch_dims', 0);
  const q = ind.dims.length;
  const k = ind.dims[q - 1];
  const xs = stridesOf(x.dims);
  const iv = toNumbers(ind);
  const outDims = dimsOf(out[0]);
  // Output coords: the batch coords, then the tuple's position among the indices, then the slice.
  const tupleDims = ind.dims.slice(b, q - 1);
  const perBatch = size(tupleDims);
  return [gatherCopy(x, outDims, (c) => {
    let batch = 0;
    for (let d = 0; d < b; d++) batch = batch * ind.dims[d] + c[d];
    let t = 0;
    for (let d = 0; d < tupleDims.length; d++) t = t * tupleDims[d] + c[b + d];
    const base = (batch * perBatch + t) * k;
    let j = 0;
    for (let d = 0; d < b; d++) j += c[d] * xs[d];
    for (let d = 0; d < k; d++) {
      const dim = x.dims[b + d];
      const v = iv[base + d];
      if (v < -dim || v >= dim) badIndex(node, v, dim, b + d);
      j += (v < 0 ? v + dim : v) * xs[b + d];
    }
    for (let d = b + k; d < x.dims.length; d++) j += c[q - 1 + d - b - k] * xs[d];
    return j;
  })];
};

export const scatterElements: Kernel = (node, inputs) => {
  const [x, ind, upd] = inputs as RTensor[];
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', 0);
  if (axis < 0) axis += r;
  const red = attrString(node, 'reduction', 'none');
  const xs = stridesOf(x.dims);
  const iv = toNumbers(ind);
  const y: RTensor = { dtype: x.dtype, dims: [...x.dims], data: x.data.slice() };
  const dst = y.data as unknown as Elems, src = upd.data as unknown as Elems;
  const dim = x.dims[axis];
  const idx = new Array(r).fill(0);
  for (let i = 0; i < iv.length; i++) {
    const v = iv[i];
    if (v < -dim || v >= dim) badIndex(node, v, dim, axis);
    let off = 0;
    for (let d = 0; d < r; d++) off += (d === axis ? (v < 0 ? v + dim : v) : idx[d]) * xs[d];
    const a = dst[off], u = src[i];
    if (red === 'none') dst[off] = u;
    else if (typeof a === 'bigint') {
      const p = a, q = u as bigint;
      dst[off] = red === 'add' ? p + q : red === 'mul' ? p * q : red === 'max' ? (q > p ? q : p) : q < p ? q : p;
    } else {
      const p = a, q = u as number;
      dst[off] = red === 'add' ? p + q : red === 'mul' ? p * q : red === 'max' ? Math.max(p, q) : Math.min(p, q);
    }
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < ind.dims[d]) break;
      idx[d] = 0;
    }
  }
  return [y];
};

/** OneHot: `on` where the index (negative counting from depth) equals the position along axis, else `off`. */
export const oneHot: Kernel = (node, inputs, out) => {
  const [ind, , vals] = inputs as RTensor[];
  const outDims = dimsOf(out[0]);
  const r = outDims.length;
  let axis = attrInt(node, 'axis', -1);
  if (axis < 0) axis += r;
  const depth = outDims[axis];
  const iv = toNumbers(ind);
  const [off, on] = toNumbers(vals);
  const inner = size(outDims.slice(axis + 1));
  const y = (alloc('float64', outDims).data as Float64Array).fill(off); // alloc refuses a crafted depth's size, coded
  for (let i = 0; i < iv.length; i++) {
    const v = Math.trunc(iv[i]);
    const hot = v < 0 ? v + depth : v;
    if (hot < 0 || hot >= depth) continue;  // outside [-depth, depth): all off
    const o = Math.floor(i / inner), w = i % inner;
    y[(o * depth + hot) * inner + w] = on;
  }
  return [fromFloat64(out[0].dtype, outDims, y)];
};

/** Hardmax: 1 at the first maximum along the axis (opset 13), or over the flattened dims from it (before 13). */
export const hardmax: Kernel = (node, inputs, out, opset) => {
  const x = inputs[0]!;
  const xv = asFloat64(x);
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', opset >= 13 ? -1 : 1);
  if (axis < 0) axis += r;
  const flat = opset < 13;
  const len = flat ? size(x.dims.slice(axis)) : x.dims[axis];
  const inner = flat ? 1 : size(x.dims.slice(axis + 1));
  const outer = size(x.dims.slice(0, axis));
  const y = new Float64Array(xv.length);
  for (let o = 0; o < outer; o++) {
    for (let w = 0; w < inner; w++) {
      let best = 0;
      for (let k = 1; k < len; k++) if (xv[(o * len + k) * inner + w] > xv[(o * len + best) * inner + w]) best = k;
      y[(o * len + best) * inner + w] = 1;
    }
  }
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
};

/** The cosine terms of each window (ONNX opset 17): w[n] = Σ a_k·cos(2πkn/N), N = size (periodic) or size − 1. */
const WINDOW_TERMS: Record<string, number[]> = { HannWindow: [0.5, -0.5], HammingWindow: [25 / 46, -21 / 46], BlackmanWindow: [0.42, -0.5, 0.08] };

/** HannWindow, HammingWindow, BlackmanWindow. */
export const window: Kernel = (node, _inputs, out) => {
  const size = dimsOf(out[0])[0];
  const terms = WINDOW_TERMS[node.op];
  const N = attrInt(node, 'periodic', 1) === 1 ? size : size - 1;
  const v = new Float64Array(size);
  for (let i = 0; i < size; i++) v[i] = terms.reduce((acc, a, k) => acc + a * Math.cos((2 * Math.PI * k * i) / N), 0);
  return [fromFloat64(out[0].dtype, [size], v)];
};

/** NonZero: the coordinates of every element that is not zero (NaN counts, as it is not zero), row-major; a scalar
 *  reads as one element of rank 1, as onnxruntime gives it. */
export const nonZero: Kernel = (_node, inputs) => {
  const x = inputs[0]!;
  const dims = x.dims.length ? x.dims : [1];
  const r = dims.length;
  // As float64: float16's bits become values (−0 is zero), and no non-zero integer converts to zero.
  const data = asFloat64(x);
  const hits: number[] = [];
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) hits.push(i);
  const y = new BigInt64Array(r * hits.length);
  hits.forEach((flat, j) => {
    for (let d = r - 1; d >= 0; d--) {
      y[d * hits.length + j] = BigInt(flat % dims[d]);
      flat = Math.floor(flat / dims[d]);
    }
  });
  return [{ dtype: 'int64', dims: [r, hits.length], data: y }];
};

/** CenterCropPad: each output element reads x at its index − before + start, or is zero in the padding. */
export const centerCropPad: Kernel = (node, inputs) => {
  const [x, shapeT] = inputs as RTensor[];
  const r = x.dims.length;
  const axes = (attrInts(node, 'axes') ?? Array.from({ length: r }, (_, i) => i)).map((a) => (a < 0 ? a + r : a));
  const plan = centerCropPadPlan(x.dims, toNumbers(shapeT), axes);
  const dims = plan.map((p) => p.size);
  const y = alloc(x.dtype, dims);
  const n = size(dims);
  const src = x.data as unknown as ArrayLike<unknown> & { [i: number]: unknown };
  const dst = y.data as unknown as { [i: number]: unknown };
  for (let i = 0; i < n; i++) {
    let rest = i, off = 0, stride = 1, inside = true;
    for (let d = r - 1; d >= 0; d--) {
      const o = rest % dims[d];
      rest = Math.floor(rest / dims[d]);
      const k = o - plan[d].before + plan[d].start;
      if (k < 0 || k >= x.dims[d]) inside = false;
      off += k * stride;
      stride *= x.dims[d];
    }
    if (inside) dst[i] = src[off];
  }
  return [y];
};

/** Copies slice `i` of `len` elements (a run of x's data) to slice `j` of y; any element type. */
function copySlice(x: RTensor, y: RTensor, outer: number, xn: number, yn: number, inner: number, i: number, j: number): void {
  const src = x.data as unknown as { [k: number]: unknown }, dst = y.data as unknown as { [k: number]: unknown };
  for (let o = 0; o < outer; o++) for (let e = 0; e < inner; e++) dst[(o * yn + j) * inner + e] = src[(o * xn + i) * inner + e];
}

/** The [outer, n, inner] view of x around `axis` (undefined: x flattened). */
function around(x: RTensor, axis: number | undefined): { outer: number; n: number; inner: number } {
  if (axis === undefined) return { outer: 1, n: size(x.dims), inner: 1 };
  return { outer: size(x.dims.slice(0, axis)), n: x.dims[axis], inner: size(x.dims.slice(axis + 1)) };
}

const axisOf = (node: Parameters<Kernel>[0], r: number): number | undefined => {
  const a = attrInt(node, 'axis');
  return a === undefined ? undefined : a < 0 ? a + r : a;
};

/** Compress: the slices whose condition entry is true, in order. */
export const compress: Kernel = (node, inputs) => {
  const [x, cond] = inputs as RTensor[];
  const axis = axisOf(node, x.dims.length);
  const { outer, n, inner } = around(x, axis);
  const keep: number[] = [];
  for (let i = 0; i < Math.min(n, cond.data.length); i++) if (cond.data[i]) keep.push(i);
  const dims = axis === undefined ? [keep.length] : x.dims.map((d, i) => (i === axis ? keep.length : d));
  const y = alloc(x.dtype, dims);
  keep.forEach((i, j) => copySlice(x, y, outer, n, keep.length, inner, i, j));
  return [y];
};

/** Unique: distinct values (or slices along `axis`), sorted ascending (slices lexicographically) or as first seen. */
export const unique: Kernel = (node, inputs, out) => {
  const x = inputs[0]!;
  const axis = axisOf(node, x.dims.length);
  const { outer, n, inner } = around(x, axis);
  const v = asFloat64(x);
  // Slice i as its values, outer-major, for comparing and keying.
  const slice = (i: number) => Array.from({ length: outer * inner }, (_, k) => v[(Math.floor(k / inner) * n + i) * inner + (k % inner)]);
  const first = new Map<string, number>();
  const order: number[] = [];
  const inverseKey: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = slice(i).join(',');
    inverseKey.push(key);
    if (!first.has(key)) {
      first.set(key, i);
      order.push(i);
    }
  }
  if (attrInt(node, 'sorted', 1) === 1) {
    order.sort((p, q) => {
      const [a, b] = [slice(p), slice(q)];
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] - b[k];
      return 0;
    });
  }
  const rank = new Map(order.map((i, j) => [inverseKey[i], j]));
  const dims = axis === undefined ? [order.length] : x.dims.map((d, i) => (i === axis ? order.length : d));
  const y = alloc(x.dtype, dims);
  order.forEach((i, j) => copySlice(x, y, outer, n, order.length, inner, i, j));
  const counts = new Array<number>(order.length).fill(0);
  for (const key of inverseKey) counts[rank.get(key)!]++;
  const i64 = (a: number[]) => ({ dtype: 'int64' as const, dims: [a.length], data: BigInt64Array.from(a, BigInt) });
  const res: RTensor[] = [y, i64(order), i64(inverseKey.map((k) => rank.get(k)!)), i64(counts)];
  return res.slice(0, out.length);
};
