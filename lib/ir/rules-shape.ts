// Shape/dtype rules for the operators that build, expand, split and index tensors: ConstantOfShape,
// Range, Expand, Tile, Split, Trilu, CumSum, GatherElements, ScatterND, GatherND, ScatterElements, OneHot,
// Hardmax and Einsum.
import { attrInt, attrInts, attrString, attrTensor } from './attrs.js';
import { MAX_VALUE_ELEMENTS, type InferResult, type NodeContext } from './context.js';
import { allStatic, broadcast, multiplyDims, normAxis } from './dims.js';
import { broadcastIndex } from './dims.js';
import { ONNX_DTYPES, onnxDtypeName } from './rules-tensor.js';
import { isInt, numel, shapeToString, type DataType, type Dim } from './types.js';

const out = (dtype: DataType, shape: Dim[], value?: Dim[]): InferResult => ({ types: [{ dtype, shape }], values: [value] });

function intInput(ctx: NodeContext, i: number, what: string): void {
  const t = ctx.input(i);
  if (t.dtype !== 'int64' && t.dtype !== 'int32') ctx.invalid(`${what} must be int64 or int32, got ${t.dtype}`);
}

/** ConstantOfShape: a tensor of the shape given by input 0's values, filled with the value attribute. */
export function constantOfShape(ctx: NodeContext): InferResult {
  const s = ctx.input(0);
  if (s.dtype !== 'int64') ctx.invalid(`the shape input must be int64, got ${s.dtype}`);
  if (s.shape.length !== 1) ctx.invalid(`the shape input must be 1-D, got ${shapeToString(s.shape)}`);
  const shape = ctx.dims(0, 'the shape');
  if (shape.some((d) => typeof d === 'number' && d < 0)) ctx.invalid(`negative dimension in [${shape.join(', ')}]`);
  const t = attrTensor(ctx.node, 'value');
  if (t && t.data.length !== 1) ctx.invalid(`value must hold one element, got ${t.data.length}`);
  const dtype = t?.dtype ?? 'float32';
  let value: Dim[] | undefined;
  if ((isInt(dtype) || dtype === 'bool') && allStatic(shape) && numel(shape) <= MAX_VALUE_ELEMENTS) {
    value = new Array(numel(shape)).fill(t ? Number(t.data[0]) : 0);
  }
  return out(dtype, [...shape], value);
}

/** Range(start, limit, delta): 1-D, max(ceil((limit − start) / delta), 0) elements. */
export function range(ctx: NodeContext): InferResult {
  const dtype = ctx.sameDtype(0, 1, 2);
  if (dtype === 'bool' || dtype === 'float16') ctx.invalid(`Range of ${dtype}`);
  for (const i of [0, 1, 2]) if (numel(ctx.input(i).shape) !== 1 || ctx.input(i).shape.length > 1) ctx.invalid(`input ${i} must be a scalar, got ${shapeToString(ctx.input(i).shape)}`);
  const [s, l, d] = [0, 1, 2].map((i) => ctx.values[i]?.[0]);
  if (typeof s === 'number' && typeof l === 'number' && typeof d === 'number') {
    if (d === 0) ctx.invalid('delta is 0');
    const n = Math.max(Math.ceil((l - s) / d), 0);
    const value = isInt(dtype) && n <= MAX_VALUE_ELEMENTS ? Array.from({ length: n }, (_, k) => s + k * d) : undefined;
    return out(dtype, [n], value);
  }
  // 0 .. limit step 1 over a symbolic limit is limit long; anything else depends on data.
  if (s === 0 && d === 1 && l !== undefined) return out(dtype, [l]);
  return out(dtype, [dataDim(ctx, 0)]);
}

/** A symbol for a dimension that only the data decides (e.g. Range over runtime scalars). */
function dataDim(ctx: NodeContext, k: number): string {
  return `${ctx.node.outputs[k] || ctx.node.name}:${k}`;
}

/** Expand(x, shape): numpy broadcast of x's shape with the target. */
export function expand(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const st = ctx.input(1);
  if (st.dtype !== 'int64') ctx.invalid(`the shape input must be int64, got ${st.dtype}`);
  if (st.shape.length !== 1) ctx.invalid(`the shape input must be 1-D, got ${shapeToString(st.shape)}`);
  const target = ctx.dims(1, 'the target shape');
  const shape = broadcast(x.shape, target);
  if (typeof shape === 'string') ctx.mismatch(shape);
  let value: Dim[] | undefined;
  const xv = ctx.values[0];
  if (xv && allStatic(shape) && allStatic(x.shape) && numel(shape) <= MAX_VALUE_ELEMENTS) {
    const m = broadcastIndex(shape, x.shape);
    value = Array.from({ length: numel(shape) }, (_, i) => xv[m(i)]);
  }
  return out(x.dtype, shape, value);
}

/** Tile(x, repeats): each dim times its repeat count. */
export function tile(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const reps = ctx.dims(1, 'repeats');
  if (reps.length !== x.shape.length) ctx.mismatch(`repeats has ${reps.length} entries for rank ${x.shape.length}`);
  const shape = x.shape.map((d, i) => multiplyDims([d, reps[i]]));
  let value: Dim[] | undefined;
  const xv = ctx.values[0];
  if (xv && x.shape.length === 1 && allStatic(reps) && reps[0] * xv.length <= MAX_VALUE_ELEMENTS) value = Array.from({ length: reps[0] }, () => xv).flat();
  return out(x.dtype, shape, value);
}

/** The split sizes of a Split node for a static dim (attribute, input or num_outputs forms). */
export function splitSizes(ctx: NodeContext, dim: number, n: number): number[] {
  let sizes: number[] | undefined;
  if (ctx.opset >= 13 && ctx.has(1)) sizes = ctx.ints(1, 'split');
  else if (ctx.opset < 13) sizes = attrInts(ctx.node, 'split');
  if (sizes) {
    if (sizes.length !== n) ctx.invalid(`split has ${sizes.length} entries for ${n} outputs`);
    if (sizes.some((s) => s < 0) || sizes.reduce((a, b) => a + b, 0) !== dim) ctx.mismatch(`split [${sizes.join(', ')}] does not add up to ${dim}`);
    return sizes;
  }
  const parts = ctx.opset >= 18 ? attrInt(ctx.node, 'num_outputs', n) : n;
  if (parts !== n) ctx.invalid(`num_outputs is ${parts} but the node has ${n} outputs`);
  // Opset 18: ceil(dim / n) each, the last one smaller; before that the dim must divide evenly.
  const each = Math.ceil(dim / n);
  if (ctx.opset < 18 && dim % n !== 0) ctx.mismatch(`dimension ${dim} does not split evenly into ${n}`);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, dim - i * each)));
}

export function split(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const r = x.shape.length;
  const a = attrInt(ctx.node, 'axis', 0);
  const axis = normAxis(a, r) ?? ctx.invalid(`axis ${a} out of range for rank ${r}`);
  const dim = x.shape[axis];
  const n = ctx.node.outputs.length;
  if (typeof dim !== 'number') {
    if (n === 1) return { types: [{ dtype: x.dtype, shape: [...x.shape] }] };
    ctx.unsupported(`splitting the dynamic dimension '${dim}'`);
  }
  const sizes = splitSizes(ctx, dim, n);
  const xv = ctx.values[0];
  let off = 0;
  const values: (Dim[] | undefined)[] = [];
  const types = sizes.map((s) => {
    const shape = [...x.shape];
    shape[axis] = s;
    values.push(xv && r === 1 ? xv.slice(off, off + s) : undefined);
    off += s;
    return { dtype: x.dtype, shape };
  });
  return { types, values };
}

/** Trilu(x, k?): same shape, rank ≥ 2. */
export function trilu(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.shape.length < 2) ctx.mismatch(`input must have rank ≥ 2, got ${shapeToString(x.shape)}`);
  if (ctx.has(1)) {
    intInput(ctx, 1, 'k');
    if (numel(ctx.input(1).shape) !== 1) ctx.mismatch('k must be a scalar');
  }
  return out(x.dtype, [...x.shape]);
}

/** EyeLike(x): x's 2-D shape of `dtype` (x's by default), ones on the k-th diagonal; its value where it is small and
 *  of an integer or bool type, so shape computations fold it. */
export function eyeLike(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.shape.length !== 2) ctx.mismatch(`input must be 2-D, got ${shapeToString(x.shape)}`);
  const to = attrInt(ctx.node, 'dtype');
  const dtype = to === undefined ? x.dtype : ONNX_DTYPES[to];
  if (!dtype) ctx.unsupported(`EyeLike of ${onnxDtypeName(to!)}`);
  const k = attrInt(ctx.node, 'k', 0);
  const [r, c] = x.shape;
  const small = typeof r === 'number' && typeof c === 'number' && r * c <= MAX_VALUE_ELEMENTS && (isInt(dtype) || dtype === 'bool');
  return out(dtype, [...x.shape], small ? Array.from({ length: r * c }, (_, i) => ((i % c) - Math.floor(i / c) === k ? 1 : 0)) : undefined);
}

/** ReverseSequence(x, sequence_lens): same shape; sequence_lens int64 [batch], batch and time two distinct axes. */
export function reverseSequence(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const r = x.shape.length;
  if (r < 2) ctx.mismatch(`input must have rank ≥ 2, got ${shapeToString(x.shape)}`);
  const b = attrInt(ctx.node, 'batch_axis', 1);
  const t = attrInt(ctx.node, 'time_axis', 0);
  if (!((b === 0 && t === 1) || (b === 1 && t === 0))) ctx.invalid(`batch_axis and time_axis must be 0 and 1 in some order, got ${b} and ${t}`);
  const lens = ctx.input(1);
  if (lens.dtype !== 'int64') ctx.invalid(`sequence_lens must be int64, got ${lens.dtype}`);
  if (lens.shape.length !== 1) ctx.mismatch(`sequence_lens must be 1-D, got ${shapeToString(lens.shape)}`);
  const [n, len] = [x.shape[b], lens.shape[0]];
  if (typeof n === 'number' && typeof len === 'number' && n !== len) ctx.mismatch(`sequence_lens has ${len} entries for a batch of ${n}`);
  return out(x.dtype, [...x.shape]);
}

/** CumSum(x, axis): same shape. */
export function cumsum(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.dtype === 'bool') ctx.invalid('CumSum of a bool tensor');
  intInput(ctx, 1, 'axis');
  const a = ctx.ints(1, 'axis');
  if (a.length !== 1 || normAxis(a[0], x.shape.length) === undefined) ctx.invalid(`axis [${a.join(', ')}] is not one axis of rank ${x.shape.length}`);
  return out(x.dtype, [...x.shape]);
}

/** GatherElements(data, indices, axis): the indices' shape, data's dtype. */
export function gatherElements(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const idx = ctx.input(1);
  intInput(ctx, 1, 'indices');
  const r = x.shape.length;
  if (idx.shape.length !== r) ctx.mismatch(`indices ${shapeToString(idx.shape)} must have the data's rank ${r}`);
  const a = attrInt(ctx.node, 'axis', 0);
  const axis = normAxis(a, r);
  if (axis === undefined) ctx.invalid(`axis ${a} out of range for rank ${r}`);
  beyondData(ctx, idx.shape, x.shape, axis);
  let value: Dim[] | undefined;
  const [xv, iv] = ctx.values;
  if (xv && iv && r === 1 && allStatic(iv)) {
    const n = xv.length;
    if (iv.every((i) => i >= -n && i < n)) value = iv.map((i) => xv[i < 0 ? i + n : i]);
  }
  return out(x.dtype, [...idx.shape], value);
}

/** ScatterND(data, indices, updates): data's shape and dtype. */
export function scatterND(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const idx = ctx.input(1);
  const upd = ctx.input(2);
  if (idx.dtype !== 'int64') ctx.invalid(`indices must be int64, got ${idx.dtype}`);
  if (upd.dtype !== x.dtype) ctx.invalid(`updates are ${upd.dtype} but the data is ${x.dtype}`);
  const red = attrString(ctx.node, 'reduction', 'none');
  if (!['none', 'add', 'mul', 'max', 'min'].includes(red)) ctx.invalid(`unknown reduction '${red}'`);
  const q = idx.shape.length;
  const k = idx.shape[q - 1];
  if (q < 1 || typeof k !== 'number' || k > x.shape.length) ctx.mismatch(`indices ${shapeToString(idx.shape)} do not index data ${shapeToString(x.shape)}`);
  const want = [...idx.shape.slice(0, -1), ...x.shape.slice(k)];
  const same = upd.shape.length === want.length && upd.shape.every((d, i) => d === want[i] || typeof d !== 'number' || typeof want[i] !== 'number');
  if (!same) ctx.mismatch(`updates ${shapeToString(upd.shape)} must be ${shapeToString(want)}`);
  return out(x.dtype, [...x.shape]);
}

/** GatherND(data, indices): indices.shape[:-1] + data.shape[batch_dims + k:], k = indices.shape[-1]. */
export function gatherND(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const idx = ctx.input(1);
  if (idx.dtype !== 'int64') ctx.invalid(`indices must be int64, got ${idx.dtype}`);
  const b = attrInt(ctx.node, 'batch_dims', 0);
  const q = idx.shape.length;
  const k = idx.shape[q - 1];
  if (b < 0 || b >= Math.min(q, x.shape.length)) ctx.invalid(`batch_dims ${b} must be below the ranks of data and indices`);
  if (q < 1 || typeof k !== 'number' || b + k > x.shape.length) ctx.mismatch(`indices ${shapeToString(idx.shape)} do not index data ${shapeToString(x.shape)}`);
  for (let i = 0; i < b; i++) {
    const [dx, di] = [x.shape[i], idx.shape[i]];
    if (typeof dx === 'number' && typeof di === 'number' && dx !== di) ctx.mismatch(`batch dim ${i} is ${dx} in the data but ${di} in the indices`);
  }
  return out(x.dtype, [...idx.shape.slice(0, -1), ...x.shape.slice(b + k)]);
}

/** ScatterElements(data, indices, updates): data's shape and dtype; indices and updates of one shape. */
export function scatterElements(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const idx = ctx.input(1);
  const upd = ctx.input(2);
  intInput(ctx, 1, 'indices');
  if (upd.dtype !== x.dtype) ctx.invalid(`updates are ${upd.dtype} but the data is ${x.dtype}`);
  const r = x.shape.length;
  if (idx.shape.length !== r || upd.shape.length !== r) ctx.mismatch(`indices ${shapeToString(idx.shape)} and updates ${shapeToString(upd.shape)} must have the data's rank ${r}`);
  if (idx.shape.some((d, i) => typeof d === 'number' && typeof upd.shape[i] === 'number' && d !== upd.shape[i])) ctx.mismatch(`indices ${shapeToString(idx.shape)} and updates ${shapeToString(upd.shape)} differ`);
  const a = attrInt(ctx.node, 'axis', 0);
  const axis = normAxis(a, r);
  if (axis === undefined) ctx.invalid(`axis ${a} out of range for rank ${r}`);
  beyondData(ctx, idx.shape, x.shape, axis);
  const red = attrString(ctx.node, 'reduction', 'none');
  if (!['none', 'add', 'mul', 'max', 'min'].includes(red)) ctx.invalid(`unknown reduction '${red}'`);
  return out(x.dtype, [...x.shape]);
}

/** GatherElements/ScatterElements: off the axis, an index position is a data position, so indices must fit in the data. */
function beyondData(ctx: NodeContext, idx: readonly Dim[], data: readonly Dim[], axis: number): void {
  idx.forEach((d, i) => {
    if (i !== axis && typeof d === 'number' && typeof data[i] === 'number' && d > (data[i] as number)) {
      ctx.mismatch(`indices ${shapeToString(idx)} reach past the data ${shapeToString(data)} on axis ${i}`);
    }
  });
}

/** OneHot(indices, depth, values): indices' shape with depth inserted at axis, values' dtype. */
export function oneHot(ctx: NodeContext): InferResult {
  const idx = ctx.input(0);
  const vals = ctx.input(2);
  if (numel(vals.shape) !== 2) ctx.mismatch(`values must hold [off, on], got ${shapeToString(vals.shape)}`);
  if (numel(ctx.input(1).shape) !== 1) ctx.mismatch(`depth must be a scalar, got ${shapeToString(ctx.input(1).shape)}`);
  // An integer or a float depth (truncated, as the spec says).
  const f = ctx.floatValues(1)?.[0];
  const depth = ctx.values[1]?.[0] ?? (f !== undefined ? Math.trunc(f) : undefined);
  if (typeof depth === 'number' && depth < 1) ctx.invalid(`depth must be positive, got ${depth}`);
  const r = idx.shape.length + 1;
  const a = attrInt(ctx.node, 'axis', -1);
  const axis = normAxis(a, r);
  if (axis === undefined) ctx.invalid(`axis ${a} out of range for rank ${r}`);
  const shape: Dim[] = [...idx.shape];
  shape.splice(axis, 0, depth ?? `${ctx.node.name}_depth`);
  return out(vals.dtype, shape);
}

/** Hardmax(x): 1 at the first maximum along the axis, 0 elsewhere. */
export function hardmax(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  const a = attrInt(ctx.node, 'axis', ctx.opset >= 13 ? -1 : 1);
  if (normAxis(a, x.shape.length) === undefined) ctx.invalid(`axis ${a} out of range for rank ${x.shape.length}`);
  return out(x.dtype, [...x.shape]);
}

export interface EinsumSpec {
  /** Labels per input, ellipsis dims as '0', '1', … (right-aligned). */
  inputs: string[][];
  output: string[];
}

/**
 * Parses an einsum equation for inputs of the given ranks ('bij,bjk->bik'; '...' and the implicit
 * output form included).
 * @example
 * parseEinsum('bhqd,bhkd->bhqk', [4, 4]).output; // ['b', 'h', 'q', 'k']
 */
export function parseEinsum(eq: string, ranks: number[], fail: (msg: string) => never): EinsumSpec {
  const [lhs, rhs] = eq.replace(/\s+/g, '').split('->');
  const terms = lhs.split(',');
  if (terms.length !== ranks.length) fail(`the equation has ${terms.length} operands but the node has ${ranks.length} inputs`);
  let ell = 0;
  const expand = (term: string, rank?: number): string[] => {
    const parts = term.split('...');
    if (parts.length > 2) fail(`'${term}' has more than one ellipsis`);
    for (const c of parts.join('')) if (!/[a-zA-Z]/.test(c)) fail(`invalid label '${c}' in '${eq}'`);
    if (parts.length === 1) {
      if (rank !== undefined && term.length !== rank) fail(`'${term}' has ${term.length} labels for an input of rank ${rank}`);
      return [...term];
    }
    const n = rank === undefined ? ell : rank - parts[0].length - parts[1].length;
    if (n < 0) fail(`'${term}' has too many labels for an input of rank ${rank}`);
    ell = Math.max(ell, n);
    return [...parts[0], ...Array.from({ length: n }, (_, i) => String(ell - n + i)), ...parts[1]];
  };
  const inputs = terms.map((t, i) => expand(t, ranks[i]));
  // Ellipsis labels are numbered from the right, so shorter ellipses broadcast against longer ones.
  for (const t of inputs) {
    const e = t.filter((l) => /\d/.test(l)).length;
    let k = ell - e;
    for (let i = 0; i < t.length; i++) if (/\d/.test(t[i])) t[i] = String(k++);
  }
  let output: string[];
  if (rhs !== undefined) output = expand(rhs);
  else {
    const count = new Map<string, number>();
    for (const t of inputs) for (const l of t) if (!/\d/.test(l)) count.set(l, (count.get(l) ?? 0) + 1);
    output = [...Array.from({ length: ell }, (_, i) => String(i)), ...[...count].filter(([, n]) => n === 1).map(([l]) => l).sort()];
  }
  const all = new Set(inputs.flat());
  for (const l of output) if (!all.has(l)) fail(`output label '${l}' appears in no input`);
  if (new Set(output).size !== output.length) fail(`an output label repeats in '${eq}'`);
  return { inputs, output };
}

/** The size of every einsum label; ellipsis dims of 1 broadcast. */
export function einsumSizes(spec: EinsumSpec, shapes: Dim[][], fail: (msg: string) => never): Map<string, Dim> {
  const size = new Map<string, Dim>();
  spec.inputs.forEach((t, i) =>
    t.forEach((l, k) => {
      const d = shapes[i][k];
      const had = size.get(l);
      if (had === undefined || had === 1) size.set(l, d);
      else if (d !== had && !(d === 1 && /\d/.test(l))) fail(`label '${/\d/.test(l) ? '...' : l}' is ${had} in one operand and ${d} in another`);
    }),
  );
  return size;
}

export function einsum(ctx: NodeContext): InferResult {
  const eq = attrString(ctx.node, 'equation', '');
  if (!eq) ctx.invalid(`'equation' is required`);
  const idx = ctx.node.inputs.map((_, i) => i);
  const dtype = ctx.sameDtype(...idx);
  if (dtype === 'bool') ctx.invalid('Einsum of bool tensors');
  const shapes = idx.map((i) => ctx.input(i).shape);
  const fail = (m: string): never => ctx.invalid(m);
  const spec = parseEinsum(eq, shapes.map((s) => s.length), fail);
  const size = einsumSizes(spec, shapes, fail);
  return out(dtype, spec.output.map((l) => size.get(l)!));
}

/** HannWindow, HammingWindow, BlackmanWindow(size) (opset 17): a 1-D window of `size` values of output_datatype
 *  (float32 by default); a size that depends on data gives a length only the data decides. */
export function window(ctx: NodeContext): InferResult {
  const size = ctx.input(0);
  if ((size.dtype !== 'int64' && size.dtype !== 'int32') || numel(size.shape) !== 1 || size.shape.length > 1) {
    ctx.invalid(`size must be an int32 or int64 scalar, got ${size.dtype} ${shapeToString(size.shape)}`);
  }
  const to = attrInt(ctx.node, 'output_datatype', 1);
  const dtype = ONNX_DTYPES[to];
  if (!dtype || dtype === 'bool') ctx.unsupported(`a window of ${onnxDtypeName(to)}`);
  const periodic = attrInt(ctx.node, 'periodic', 1);
  if (periodic !== 0 && periodic !== 1) ctx.invalid(`periodic must be 0 or 1, got ${periodic}`);
  const n = ctx.values[0]?.[0];
  if (typeof n === 'number' && n < 0) ctx.invalid(`size must not be negative, got ${n}`);
  return out(dtype, [n ?? dataDim(ctx, 0)]);
}

/** NonZero(x) (opset 9): the int64 indices [rank, count] of x's non-zero elements, row-major; the count is the data's. */
export function nonZero(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  return out('int64', [Math.max(x.shape.length, 1), dataDim(ctx, 0)]);
}

/** CenterCropPad's per-axis plan: for each of x's axes, the [start, before, after] that crop it from `start` and pad
 *  it with zeros to its target (`start` 0 where it pads, before/after 0 where it crops). */
export function centerCropPadPlan(dims: number[], target: number[], axes: number[]): { start: number; before: number; after: number; size: number }[] {
  return dims.map((d, i) => {
    const k = axes.indexOf(i);
    const t = k < 0 ? d : target[k];
    if (t <= d) return { start: Math.floor((d - t) / 2), before: 0, after: 0, size: t };
    const before = Math.floor((t - d) / 2);
    return { start: 0, before, after: t - d - before, size: t };
  });
}

/** CenterCropPad(x, shape) (opset 18): x cropped or zero-padded, centred, to `shape` on `axes` (all by default). */
export function centerCropPad(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const r = x.shape.length;
  const target = ctx.ints(1, 'shape');
  const given = attrInts(ctx.node, 'axes');
  const axes = (given ?? Array.from({ length: r }, (_, i) => i)).map((a) => (a < 0 ? a + r : a));
  if (axes.some((a) => a < 0 || a >= r) || new Set(axes).size !== axes.length) ctx.invalid(`axes ${JSON.stringify(given)} must be distinct axes of a rank-${r} input`);
  if (target.length !== axes.length) ctx.mismatch(`shape holds ${target.length} sizes for ${axes.length} axes`);
  if (target.some((t) => t < 0)) ctx.invalid(`shape ${JSON.stringify(target)} has a negative size`);
  const shape = x.shape.map((d, i) => (axes.includes(i) ? target[axes.indexOf(i)] : d));
  return out(x.dtype, shape);
}

/** Compress(x, condition) (opset 11): the slices of x along `axis` (of flattened x without one) where the 1-D bool
 *  condition holds; the count is the condition's when it is known, the data's otherwise. */
export function compress(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const c = ctx.input(1);
  if (c.dtype !== 'bool' || c.shape.length !== 1) ctx.invalid(`condition must be a 1-D bool tensor, got ${c.dtype} ${shapeToString(c.shape)}`);
  const a = attrInt(ctx.node, 'axis');
  const axis = a === undefined ? undefined : (normAxis(a, x.shape.length) ?? ctx.invalid(`axis ${a} out of range for rank ${x.shape.length}`));
  const extent = axis === undefined ? multiplyDims(x.shape) : x.shape[axis];
  if (typeof extent === 'number' && typeof c.shape[0] === 'number' && c.shape[0] > extent) ctx.mismatch(`condition has ${c.shape[0]} entries for ${extent} slices`);
  const cv = ctx.values[1];
  const count = cv && allStatic(cv) ? cv.filter((v) => v).length : dataDim(ctx, 0);
  return out(x.dtype, axis === undefined ? [count] : x.shape.map((d, i) => (i === axis ? count : d)));
}

/** Unique(x) (opset 11): Y (the distinct values, or slices along `axis`, sorted or in first-seen order), and int64
 *  indices of their first occurrence, the inverse map and the counts; the number of distinct ones is the data's. */
export function unique(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const a = attrInt(ctx.node, 'axis');
  const axis = a === undefined ? undefined : (normAxis(a, x.shape.length) ?? ctx.invalid(`axis ${a} out of range for rank ${x.shape.length}`));
  const sorted = attrInt(ctx.node, 'sorted', 1);
  if (sorted !== 0 && sorted !== 1) ctx.invalid(`sorted must be 0 or 1, got ${sorted}`);
  const k = dataDim(ctx, 0);
  const y = axis === undefined ? [k] : x.shape.map((d, i) => (i === axis ? k : d));
  const n = axis === undefined ? multiplyDims(x.shape) : x.shape[axis];
  const types = [{ dtype: x.dtype, shape: y }, { dtype: 'int64' as const, shape: [k] }, { dtype: 'int64' as const, shape: [n] }, { dtype: 'int64' as const, shape: [k] }];
  return { types: types.slice(0, Math.max(1, ctx.node.outputs.length)) };
}
