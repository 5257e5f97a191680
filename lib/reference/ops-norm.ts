// Reference kernels for reductions (any axes) and LayerNormalization; accumulation in float64.
import { attrFloat, attrInt } from '../ir/attrs.js';
import { NodeContext } from '../ir/context.js';
import { reductionAxes } from '../ir/rules-reduce.js';
import type { TensorType } from '../ir/types.js';
import { broadcastMap } from './ops-math.js';
import type { Kernel } from './ops-nn.js';
import { asFloat64, fromFloat64, size, toNumbers, type RTensor } from './tensor.js';

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

/**
 * Normalizes each of `runs` runs of `len` consecutive elements of x (mean 0, variance 1 with eps), then applies
 * scale[k] and bias[k] with k = param(run, i): LayerNormalization, InstanceNormalization, GroupNormalization.
 * Returns y and each run's mean and 1/std, all in float64.
 */
export function normalizeRuns(xv: ArrayLike<number>, runs: number, len: number, eps: number, param: (run: number, i: number) => number, scale: ArrayLike<number>, bias: ArrayLike<number>): { y: Float64Array; mean: Float64Array; inv: Float64Array } {
  const y = new Float64Array(xv.length);
  const means = new Float64Array(runs), invs = new Float64Array(runs);
  for (let r = 0; r < runs; r++) {
    const o = r * len;
    let mean = 0;
    for (let i = 0; i < len; i++) mean += xv[o + i];
    mean /= len;
    let v = 0;
    for (let i = 0; i < len; i++) v += (xv[o + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / len + eps);
    means[r] = mean;
    invs[r] = inv;
    for (let i = 0; i < len; i++) {
      const k = param(r, i);
      y[o + i] = (xv[o + i] - mean) * inv * scale[k] + bias[k];
    }
  }
  return { y, mean: means, inv: invs };
}

/** RMSNormalization over axis..: x / √(mean(x²) + ε) · scale, in float64. */
export const rmsNorm: Kernel = (node, inputs, out) => {
  const [x, scale] = inputs as RTensor[];
  const r = x.dims.length;
  let axis = attrInt(node, 'axis', -1);
  if (axis < 0) axis += r;
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const tail = x.dims.slice(axis);
  const len = size(tail), rows = size(x.dims.slice(0, axis));
  const s = broadcastMap([scale], tail, 'float64', ([v]) => v).data as Float64Array;
  const xv = asFloat64(x);
  const y = new Float64Array(xv.length);
  for (let row = 0; row < rows; row++) {
    const o = row * len;
    let sq = 0;
    for (let i = 0; i < len; i++) sq += xv[o + i] * xv[o + i];
    const inv = 1 / Math.sqrt(sq / len + eps);
    for (let i = 0; i < len; i++) y[o + i] = xv[o + i] * inv * s[i];
  }
  return [fromFloat64(out[0].dtype, dimsOf(out[0]), y)];
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
  // scale and bias broadcast onto the normalized tail.
  const tail = X.dims.slice(axis);
  const len = size(tail);
  const param = (t: RTensor | undefined, def: number) => (t ? (broadcastMap([t], tail, 'float64', ([v]) => v).data as Float64Array) : new Float64Array(len).fill(def));
  const stats = normalizeRuns(X.data as Float32Array, rows, len, eps, (_run, i) => i, param(scale, 1), param(bias, 0));
  const y = fromFloat64(out[0].dtype, dimsOf(out[0]), stats.y);
  const mean = Float32Array.from(stats.mean), inv = Float32Array.from(stats.inv);
  const res: RTensor[] = [y];
  if (out.length > 1) res.push({ dtype: 'float32', dims: dimsOf(out[1]), data: mean });
  if (out.length > 2) res.push({ dtype: 'float32', dims: dimsOf(out[2]), data: inv });
  return res;
};
