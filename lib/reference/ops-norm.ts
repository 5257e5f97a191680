// Reference kernels for reductions (any axes) and LayerNormalization; accumulation in float64.
import { attrFloat, attrInt } from '../ir/attrs.js';
import { NodeContext } from '../ir/context.js';
import { reductionAxes } from '../ir/rules-reduce.js';
import type { TensorType } from '../ir/types.js';
import type { Kernel } from './ops-nn.js';
import { alloc, asFloat64, fromFloat64, size, toNumbers, type RTensor } from './tensor.js';

const dimsOf = (t: TensorType) => t.shape as number[];

function nodeCtx(node: Parameters<Kernel>[0], inputs: (RTensor | undefined)[], opset: number): NodeContext {
  const types = inputs.map((t) => (t ? { dtype: t.dtype, shape: t.dims } : undefined));
  const values = inputs.map((t) => (t && (t.dtype === 'int64' || t.dtype === 'int32') ? toNumbers(t) : undefined));
  return new NodeContext(node, opset, types, values);
}

/** Calls visit(outIndex, inIndex) for every input element, outIndex being its reduced position. */
function forEachReduced(dims: number[], reduced: Set<number>, visit: (o: number, i: number) => void): number {
  const r = dims.length;
  const os: number[] = new Array(r).fill(0);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    if (!reduced.has(i)) {
      os[i] = s;
      s *= dims[i];
    }
  }
  const n = size(dims);
  const idx = new Array(r).fill(0);
  let o = 0;
  for (let i = 0; i < n; i++) {
    visit(o, i);
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      o += os[d];
      if (idx[d] < dims[d]) break;
      o -= os[d] * idx[d];
      idx[d] = 0;
    }
  }
  return s;
}

const INIT: Record<string, number> = { ReduceMax: -Infinity, ReduceMin: Infinity, ReduceProd: 1 };
/** What a reduction does to one element when it reduces nothing (noop_with_empty_axes). */
const ELEMENTWISE: Record<string, (v: number) => number> = {
  ReduceL1: Math.abs,
  ReduceL2: Math.abs,
  ReduceSumSquare: (v) => v * v,
  ReduceLogSum: Math.log,
};

/** ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp over any axes. */
export const reduce: Kernel = (node, inputs, out, opset) => {
  const x = inputs[0]!;
  const r = x.dims.length;
  const yd = dimsOf(out[0]);
  const axes = reductionAxes(nodeCtx(node, inputs, opset), r);
  if (axes !== undefined && axes.length === 0) {
    // No axes with noop_with_empty_axes: nothing is reduced, but the per-element step still applies.
    const f = ELEMENTWISE[node.op];
    return [f ? fromFloat64(x.dtype, yd, asFloat64(x).map(f)) : { dtype: x.dtype, dims: yd, data: x.data.slice() }];
  }
  const set = new Set(axes ?? x.dims.map((_, i) => i));
  const xv = asFloat64(x);
  const outN = size(yd);
  const acc = new Float64Array(outN).fill(INIT[node.op] ?? 0);
  const op = node.op;
  if (op === 'ReduceLogSumExp') {
    const mx = new Float64Array(outN).fill(-Infinity);
    forEachReduced(x.dims, set, (o, i) => (mx[o] = Math.max(mx[o], xv[i])));
    forEachReduced(x.dims, set, (o, i) => (acc[o] += Math.exp(xv[i] - mx[o])));
    for (let o = 0; o < outN; o++) acc[o] = Number.isFinite(mx[o]) ? mx[o] + Math.log(acc[o]) : mx[o];
  } else {
    const f: (a: number, v: number) => number =
      op === 'ReduceMax'
        ? (a, v) => (v > a || Number.isNaN(v) ? v : a)
        : op === 'ReduceMin'
          ? (a, v) => (v < a || Number.isNaN(v) ? v : a)
          : op === 'ReduceProd'
            ? (a, v) => a * v
            : op === 'ReduceL1'
              ? (a, v) => a + Math.abs(v)
              : op === 'ReduceL2' || op === 'ReduceSumSquare'
                ? (a, v) => a + v * v
                : (a, v) => a + v;
    forEachReduced(x.dims, set, (o, i) => (acc[o] = f(acc[o], xv[i])));
    const count = xv.length / Math.max(1, outN);
    if (op === 'ReduceMean') for (let o = 0; o < outN; o++) acc[o] /= count;
    if (op === 'ReduceL2') for (let o = 0; o < outN; o++) acc[o] = Math.sqrt(acc[o]);
    if (op === 'ReduceLogSum') for (let o = 0; o < outN; o++) acc[o] = Math.log(acc[o]);
  }
  return [fromFloat64(out[0].dtype, yd, acc)];
};

/** LayerNormalization over axis.. with optional Mean and InvStdDev outputs; statistics in float64. */
export const layerNorm: Kernel = (node, inputs, out) => {
  const [x, scale, bias] = inputs as (RTensor | undefined)[];
  const X = x!;
  const r = X.dims.length;
  let axis = attrInt(node, 'axis', -1);
  if (axis < 0) axis += r;
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const rows = size(X.dims.slice(0, axis));
  const len = size(X.dims.slice(axis));
  const xd = X.data as Float32Array;
  const bcast = (t: RTensor | undefined, def: number): Float64Array => {
    const v = new Float64Array(len).fill(def);
    if (!t) return v;
    const src = asFloat64(t);
    const dims = [...new Array(r - axis - t.dims.length).fill(1), ...t.dims];
    const st: number[] = [];
    let s = 1;
    for (let i = dims.length - 1; i >= 0; i--) {
      st[i] = dims[i] === 1 ? 0 : s;
      s *= dims[i];
    }
    const nd = X.dims.slice(axis);
    for (let i = 0; i < len; i++) {
      let rem = i, off = 0;
      for (let d = nd.length - 1; d >= 0; d--) {
        const c = rem % nd[d];
        rem = (rem - c) / nd[d];
        off += c * st[d];
      }
      v[i] = src[off];
    }
    return v;
  };
  const g = bcast(scale, 1), b = bcast(bias, 0);
  const y = alloc(out[0].dtype, dimsOf(out[0]));
  const yv = y.data as Float32Array;
  const mean = new Float32Array(rows), inv = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    const o = row * len;
    let m = 0;
    for (let i = 0; i < len; i++) m += xd[o + i];
    m /= len;
    let v = 0;
    for (let i = 0; i < len; i++) v += (xd[o + i] - m) ** 2;
    const is = 1 / Math.sqrt(v / len + eps);
    mean[row] = m;
    inv[row] = is;
    for (let i = 0; i < len; i++) yv[o + i] = (xd[o + i] - m) * is * g[i] + b[i];
  }
  const res: RTensor[] = [y];
  if (out.length > 1) res.push({ dtype: 'float32', dims: dimsOf(out[1]), data: mean });
  if (out.length > 2) res.push({ dtype: 'float32', dims: dimsOf(out[2]), data: inv });
  return res;
};
