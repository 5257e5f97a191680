// CumSum on the builtin backend, which has no CumSum kernel: over a static axis it is a MatMul with a triangular
// matrix of ones (exclusive and reverse forms included), with Transposes when the axis is not the last.
// An integer CumSum runs that way too, in float between two Casts, when its values provably stay within ±2048:
// every integer of that magnitude is exact in float16 and float32, and so is each partial sum (the GEMM accumulates
// in float32), so the result is the integer result whatever precision the engine runs at. The bound comes from an
// interval analysis: bools cast to integers are 0 or 1, constants are what they hold, CumSum multiplies by its axis
// length, and the views and arithmetic in between carry their operands' ranges. RoBERTa-style position ids,
// cumsum(ids != pad) · (ids != pad) + pad, are such a computation. Other integer CumSums stay, and the builtin
// backend names them as unsupported.
import { attrInt } from '../ir/attrs.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { isInt, type DataType, type Node } from '../ir/types.js';
import { fromConstant, toNumbers } from '../reference/tensor.js';
import { Builder } from './rewrite-builder.js';

/** The largest magnitude whose integers and partial sums float16 represents exactly. */
export const EXACT_INT = 2048;
/** The longest CumSum axis written as a MatMul (its L×L matrix of ones). */
export const MAX_CUMSUM_AXIS = 1024;
const VIEWS = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Expand', 'Transpose', 'Slice', 'Tile', 'Gather']);
const ONNX_DTYPE: Record<string, number> = { float32: 1, int32: 6, int64: 7 };

type Range = [number, number];

/**
 * Writes CumSums over static axes as MatMuls (integer ones in float, when bounded), in place.
 * @example
 * cumsumAsMatMul(g); // CumSum(Cast(ids != pad)) → Cast(float) → MatMul(·, triangle of ones) → Cast(int32)
 */
export function cumsumAsMatMul(g: Graph): void {
  // The interval analysis reads every integer constant: only for graphs that have a CumSum.
  if (!g.nodes.some((n) => n.op === 'CumSum' && n.domain === '')) return;
  const ranges = integerRanges(g);
  const bounded = (v: string) => {
    const r = ranges.get(v);
    return r !== undefined && Math.max(-r[0], r[1]) <= EXACT_INT;
  };
  let changed = false;
  g.nodes = g.nodes.flatMap((n) => {
    if (n.domain !== '' || n.op !== 'CumSum') return [n];
    const [x, y] = [n.inputs[0], n.outputs[0]];
    const t = g.typeOf(x);
    const len = cumsumLength(g, n);
    if (len === undefined || len > MAX_CUMSUM_AXIS || t.shape.length === 0) return [n];
    const integer = isInt(t.dtype);
    if (integer ? !(t.dtype in ONNX_DTYPE && bounded(x) && bounded(y)) : t.dtype !== 'float32' && t.dtype !== 'float16') return [n];
    changed = true;
    const b = new Builder(g, n);
    const src = integer ? b.op('Cast', [x], { to: ONNX_DTYPE.float32 }) : x;
    const sum = triangleMatMul(b, n, src, len, integer ? 'float32' : t.dtype);
    b.done(integer ? b.op('Cast', [sum], { to: ONNX_DTYPE[t.dtype] }) : sum);
    return b.nodes;
  });
  if (changed) inferShapes(g);
}

/** Value ranges of the integer values that can be bounded. */
export function integerRanges(g: Graph): Map<string, Range> {
  const r = new Map<string, Range>();
  for (const [name, c] of g.initializers) {
    if (!isInt(c.dtype) || c.data.length === 0 || c.data.length > 1 << 20) continue;
    const v = toNumbers(fromConstant(c));
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    r.set(name, [lo, hi]);
  }
  const union = (rs: (Range | undefined)[]): Range | undefined => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of rs) {
      if (!x) return undefined;
      lo = Math.min(lo, x[0]);
      hi = Math.max(hi, x[1]);
    }
    return [lo, hi];
  };
  for (const n of g.nodes) {
    const y = n.outputs[0];
    if (!y || !isInt(g.typeOf(y).dtype) || n.domain !== '') continue;
    const at = (i: number) => r.get(n.inputs[i]);
    const from = (i: number): DataType => g.typeOf(n.inputs[i]).dtype;
    let range: Range | undefined;
    const [a, b] = [at(0), at(1)];
    switch (n.op) {
      case 'Cast':
        range = from(0) === 'bool' ? [0, 1] : isInt(from(0)) ? a : undefined;
        break;
      case 'Add':
        range = a && b ? [a[0] + b[0], a[1] + b[1]] : undefined;
        break;
      case 'Sub':
        range = a && b ? [a[0] - b[1], a[1] - b[0]] : undefined;
        break;
      case 'Mul': {
        const p = a && b ? [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]] : undefined;
        range = p ? [Math.min(...p), Math.max(...p)] : undefined;
        break;
      }
      case 'Max':
      case 'Min':
        range = union(n.inputs.map((_, i) => at(i)));
        break;
      case 'Neg':
        range = a ? [-a[1], -a[0]] : undefined;
        break;
      case 'Abs':
        range = a ? [a[0] >= 0 ? a[0] : a[1] <= 0 ? -a[1] : 0, Math.max(-a[0], a[1])] : undefined;
        break;
      case 'CumSum': {
        const len = cumsumLength(g, n);
        range = a && len !== undefined ? [Math.min(0, a[0] * len), Math.max(0, a[1] * len)] : undefined;
        break;
      }
      case 'Where':
        range = union([at(1), at(2)]);
        break;
      case 'Concat':
        range = union(n.inputs.map((_, i) => at(i)));
        break;
      default:
        // Views and selections of one tensor hold some of its values (Gather's data is input 0).
        range = VIEWS.has(n.op) ? a : undefined;
    }
    if (range && Number.isFinite(range[0]) && Number.isFinite(range[1])) r.set(y, range);
  }
  return r;
}

/** The static length of a CumSum's axis, when the axis is a constant and its extent a number. */
function cumsumLength(g: Graph, n: Node): number | undefined {
  const axisC = g.initializers.get(n.inputs[1]);
  if (!axisC || axisC.data.length !== 1) return undefined;
  const shape = g.typeOf(n.inputs[0]).shape;
  let axis = Number(toNumbers(fromConstant(axisC))[0]);
  if (axis < 0) axis += shape.length;
  const d = shape[axis];
  return typeof d === 'number' ? d : undefined;
}

/**
 * CumSum of the float value x over the node's static axis (len ≤ MAX_CUMSUM_AXIS) as MatMul(x, U), U a triangle of
 * ones in `dtype`, with Transposes when the axis is not the last. Every output of a row multiplies every input by 0
 * or 1, so one infinite input makes the whole row NaN (inf · 0), where a running sum would leave the outputs before
 * it finite.
 */
function triangleMatMul(b: Builder, n: Node, x: string, len: number, dtype: DataType): string {
  const rank = b.g.typeOf(n.inputs[0]).shape.length;
  let axis = Number(toNumbers(fromConstant(b.g.initializers.get(n.inputs[1])!))[0]);
  if (axis < 0) axis += rank;
  const exclusive = attrInt(n, 'exclusive', 0) === 1;
  const reverse = attrInt(n, 'reverse', 0) === 1;
  // y[j] = Σ_i x[i]·U[i][j]: forward sums i ≤ j (i < j exclusive), reverse i ≥ j (i > j).
  const u = new Float32Array(len * len);
  for (let i = 0; i < len; i++) {
    for (let j = 0; j < len; j++) {
      const d = reverse ? i - j : j - i;
      u[i * len + j] = d > 0 || (d === 0 && !exclusive) ? 1 : 0;
    }
  }
  const ones = b.floats('triangle', [len, len], u, dtype);
  if (axis === rank - 1) return b.op('MatMul', [x, ones]);
  const perm = Array.from({ length: rank }, (_, i) => (i === axis ? rank - 1 : i === rank - 1 ? axis : i));
  return b.op('Transpose', [b.op('MatMul', [b.op('Transpose', [x], { perm }), ones])], { perm });
}
