// Shape/dtype rules for layout and shape-computation operators. These also propagate the values
// of small int tensors, symbolically, so Shape→Gather→Concat→Reshape chains resolve when only the
// batch is dynamic.
import { attrInt, attrInts, attrString, attrTensor } from './attrs.js';
import { MAX_VALUE_ELEMENTS, type InferResult, type NodeContext } from './context.js';
import { allStatic, broadcast, broadcastIndex, dimProduct, divideDims, multiplyDims, normAxis, sameProduct } from './dims.js';
import { isInt, numel, shapeToString, type Constant, type DataType, type Dim } from './types.js';

/** ONNX TensorProto.DataType numbers of the dtypes the IR supports. */
export const ONNX_DTYPES: Record<number, DataType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };
export const ONNX_DTYPE_NUMBER: Record<DataType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
const ONNX_DTYPE_NAMES: Record<number, string> = { 4: 'uint16', 5: 'int16', 8: 'string', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16' };

export function onnxDtypeName(n: number): string {
  return ONNX_DTYPES[n] ?? ONNX_DTYPE_NAMES[n] ?? `type ${n}`;
}

/** The (possibly symbolic) values of an int constant, when small enough to track. */
export function constantValues(c: Constant): Dim[] | undefined {
  if (!(isInt(c.dtype) || c.dtype === 'bool') || c.data.length > MAX_VALUE_ELEMENTS) return undefined;
  return Array.from(c.data as ArrayLike<number | bigint>, (v) => Number(v));
}

const out = (dtype: DataType, shape: Dim[], value?: Dim[]): InferResult => ({ types: [{ dtype, shape }], values: [value] });
const pass = (v: Dim[] | undefined): Dim[] | undefined => (v ? [...v] : undefined);

/** The one dim equal to a product of dims, or undefined when symbols would have to be multiplied. */
function productDim(dims: Dim[]): Dim | undefined {
  return divideDims(dimProduct(dims), dimProduct([]));
}

export function binary(ctx: NodeContext): InferResult {
  const a = ctx.input(0);
  const b = ctx.input(1);
  const dtype = ctx.sameDtype(0, 1);
  if (dtype === 'bool') ctx.invalid(`${ctx.op} of bool tensors`);
  const shape = broadcast(a.shape, b.shape);
  if (typeof shape === 'string') ctx.mismatch(shape);
  const [va, vb] = ctx.values;
  let value: Dim[] | undefined;
  if (va && vb && allStatic(shape) && numel(shape) <= MAX_VALUE_ELEMENTS && allStatic(a.shape) && allStatic(b.shape)) {
    const ia = broadcastIndex(shape, a.shape);
    const ib = broadcastIndex(shape, b.shape);
    value = [];
    for (let i = 0; i < numel(shape); i++) {
      const r = binaryValue(ctx.op, va[ia(i)], vb[ib(i)]);
      if (r === undefined) {
        value = undefined;
        break;
      }
      value.push(r);
    }
  }
  return out(dtype, shape, value);
}

function binaryValue(op: string, x: Dim, y: Dim): Dim | undefined {
  if (typeof x === 'number' && typeof y === 'number') {
    switch (op) {
      case 'Add':
        return x + y;
      case 'Sub':
        return x - y;
      case 'Mul':
        return x * y;
      case 'Div':
        return y === 0 ? undefined : Math.trunc(x / y);
    }
  }
  // Symbolic: products and exact quotients of dims, and the additive identities.
  if ((op === 'Add' || op === 'Sub') && y === 0) return x;
  if (op === 'Add' && x === 0) return y;
  if (op === 'Sub' && x === y) return 0;
  if (op === 'Mul') return (typeof x === 'number' && x < 0) || (typeof y === 'number' && y < 0) ? undefined : multiplyDims([x, y]);
  if (op === 'Div') return typeof y === 'number' && y <= 0 ? undefined : divideDims(dimProduct([x]), dimProduct([y]));
  return undefined;
}

export function identity(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  return out(x.dtype, [...x.shape], pass(ctx.values[0]));
}

export function cast(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const to = attrInt(ctx.node, 'to');
  if (to === undefined) ctx.invalid(`'to' is required`);
  const dtype = ONNX_DTYPES[to];
  if (!dtype) ctx.unsupported(`Cast to ${onnxDtypeName(to)}`);
  const v = ctx.values[0];
  if (!v || !(isInt(dtype) || dtype === 'bool')) return out(dtype, [...x.shape]);
  if (dtype === 'bool') return out(dtype, [...x.shape], allStatic(v) ? v.map((d) => (d ? 1 : 0)) : undefined);
  return out(dtype, [...x.shape], [...v]);
}

export function constant(ctx: NodeContext): InferResult {
  const n = ctx.node;
  const keys = Object.keys(n.attrs);
  if (keys.length !== 1) ctx.invalid(`a Constant needs exactly one value attribute, got ${keys.length ? keys.join(', ') : 'none'}`);
  const t = attrTensor(n, 'value');
  if (t) return out(t.dtype, [...t.dims], constantValues(t));
  const v = n.attrs[keys[0]];
  switch (keys[0]) {
    case 'value_float':
      if (typeof v !== 'number') ctx.invalid(`value_float must be a number`);
      return out('float32', []);
    case 'value_floats':
      if (!Array.isArray(v)) ctx.invalid(`value_floats must be a list`);
      return out('float32', [v.length]);
    case 'value_int':
      if (typeof v !== 'number') ctx.invalid(`value_int must be a number`);
      return out('int64', [], [v]);
    case 'value_ints': {
      const ints = attrInts(n, 'value_ints')!;
      return out('int64', [ints.length], ints.length <= MAX_VALUE_ELEMENTS ? [...ints] : undefined);
    }
    default:
      return ctx.unsupported(`Constant with '${keys[0]}'`);
  }
}

export function shape(ctx: NodeContext): InferResult {
  const s = ctx.input(0).shape;
  const r = s.length;
  const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
  const start = clamp(attrInt(ctx.node, 'start', 0));
  const end = clamp(attrInt(ctx.node, 'end', r));
  const v = s.slice(start, Math.max(start, end));
  return out('int64', [v.length], v);
}

export function flatten(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const r = x.shape.length;
  let axis = attrInt(ctx.node, 'axis', 1);
  if (axis < -r || axis > r) ctx.invalid(`axis ${axis} out of range for rank ${r}`);
  if (axis < 0) axis += r;
  const d0 = productDim(x.shape.slice(0, axis));
  const d1 = productDim(x.shape.slice(axis));
  if (d0 === undefined || d1 === undefined) ctx.unsupported(`flattening ${shapeToString(x.shape)} at axis ${axis} would merge the dynamic dimension with others`);
  return out(x.dtype, [d0, d1], pass(ctx.values[0]));
}

export function reshape(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const st = ctx.input(1);
  if (st.dtype !== 'int64') ctx.invalid(`the shape input must be int64, got ${st.dtype}`);
  if (st.shape.length !== 1) ctx.invalid(`the shape input must be 1-D, got ${shapeToString(st.shape)}`);
  const target = ctx.dims(1, 'the target shape');
  const allowZero = attrInt(ctx.node, 'allowzero', 0) !== 0;
  const shape: Dim[] = [];
  let infer = -1;
  target.forEach((t, i) => {
    if (t === -1) {
      if (infer >= 0) ctx.invalid(`the target shape [${target.join(', ')}] has more than one -1`);
      infer = i;
      shape.push(1);
    } else if (t === 0 && !allowZero) {
      if (i >= x.shape.length) ctx.invalid(`target entry ${i} is 0 but the input has rank ${x.shape.length}`);
      shape.push(x.shape[i]);
    } else if (typeof t === 'number' && t < 0) {
      ctx.invalid(`invalid target dimension ${t}`);
    } else shape.push(t);
  });
  const total = dimProduct(x.shape);
  if (infer >= 0) {
    const rest = dimProduct(shape);
    const d = divideDims(total, rest);
    if (d === undefined) {
      if (allStatic(x.shape) && allStatic(shape)) ctx.mismatch(`cannot reshape ${shapeToString(x.shape)} to [${target.join(', ')}]`);
      ctx.unsupported(`reshaping ${shapeToString(x.shape)} to [${target.join(', ')}] would merge the dynamic dimension with others`);
    }
    shape[infer] = d;
  } else if (!sameProduct(total, dimProduct(shape))) {
    ctx.mismatch(`cannot reshape ${shapeToString(x.shape)} to ${shapeToString(shape)}`);
  }
  return out(x.dtype, shape, pass(ctx.values[0]));
}

/** Axes given as an attribute before opset 13 and as an input from 13 on. */
function axesArg(ctx: NodeContext, required: boolean): number[] | undefined {
  if (ctx.opset >= 13 && ctx.has(1)) return ctx.ints(1, 'axes');
  const a = attrInts(ctx.node, 'axes');
  if (!a && required) ctx.invalid(`'axes' is required`);
  return a;
}

export function squeeze(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const r = x.shape.length;
  const axes = axesArg(ctx, false);
  let shape: Dim[];
  if (axes === undefined) shape = x.shape.filter((d) => d !== 1);
  else {
    const set = new Set(axes.map((a) => normAxis(a, r) ?? ctx.invalid(`axis ${a} out of range for rank ${r}`)));
    for (const a of set) if (x.shape[a] !== 1) ctx.mismatch(`cannot squeeze axis ${a} of ${shapeToString(x.shape)}`);
    shape = x.shape.filter((_, i) => !set.has(i));
  }
  return out(x.dtype, shape, pass(ctx.values[0]));
}

export function unsqueeze(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const axes = axesArg(ctx, true)!;
  const r = x.shape.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, r) ?? ctx.invalid(`axis ${a} out of range for rank ${r}`)));
  if (set.size !== axes.length) ctx.invalid(`duplicate axes [${axes.join(', ')}]`);
  const shape: Dim[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) shape.push(set.has(i) ? 1 : x.shape[j++]);
  return out(x.dtype, shape, pass(ctx.values[0]));
}

export function transpose(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const r = x.shape.length;
  const perm = attrInts(ctx.node, 'perm') ?? x.shape.map((_, i) => r - 1 - i);
  if (perm.length !== r || new Set(perm).size !== r || perm.some((p) => p < 0 || p >= r)) ctx.invalid(`perm [${perm.join(', ')}] is no permutation of rank ${r}`);
  const shape = perm.map((p) => x.shape[p]);
  const xv = ctx.values[0];
  if (!xv || r <= 1 || !allStatic(x.shape)) return out(x.dtype, shape, r <= 1 ? pass(xv) : undefined);
  // Small static int tensors (e.g. Swin's pads computed as a [2, n] matrix) keep their values.
  const xs = x.shape;
  const strides = xs.map((_, i) => xs.slice(i + 1).reduce((a, b) => a * b, 1));
  return out(x.dtype, shape, mapValues(xv, shape as number[], (c) => c.reduce((j, v, d) => j + v * strides[perm[d]], 0)));
}

export function concat(ctx: NodeContext): InferResult {
  const n = ctx.node.inputs.length;
  if (n === 0) ctx.invalid('Concat needs inputs');
  const first = ctx.input(0);
  const dtype = ctx.sameDtype(...ctx.node.inputs.map((_, i) => i));
  const r = first.shape.length;
  const a = attrInt(ctx.node, 'axis');
  if (a === undefined) ctx.invalid(`'axis' is required`);
  const axis = normAxis(a, r) ?? ctx.invalid(`axis ${a} out of range for rank ${r}`);
  const parts: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const s = ctx.input(i).shape;
    if (s.length !== r || s.some((d, k) => k !== axis && d !== first.shape[k])) {
      ctx.mismatch(`input ${i} ${shapeToString(s)} does not match input 0 ${shapeToString(first.shape)} outside axis ${axis}`);
    }
    parts.push(s[axis]);
  }
  let size: Dim;
  if (allStatic(parts)) size = parts.reduce((p, q) => p + q, 0);
  else if (parts.filter((p) => p !== 0).length === 1) size = parts.find((p) => p !== 0)!;
  // A sum of dynamic sizes has no Dim form: a symbol that the run-time shapes resolve.
  else size = `${ctx.node.outputs[0]}:${axis}`;
  const shape = [...first.shape];
  shape[axis] = size;
  let value: Dim[] | undefined;
  if (r === 1 && ctx.values.every((v) => v !== undefined) && ctx.values.length === n) value = ctx.values.flatMap((v) => v!);
  return out(dtype, shape, value && value.length <= MAX_VALUE_ELEMENTS ? value : undefined);
}

export function gather(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const idx = ctx.input(1);
  if (idx.dtype !== 'int64' && idx.dtype !== 'int32') ctx.invalid(`indices must be int32 or int64, got ${idx.dtype}`);
  const r = x.shape.length;
  const a = attrInt(ctx.node, 'axis', 0);
  const axis = normAxis(a, r) ?? ctx.invalid(`axis ${a} out of range for rank ${r}`);
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  const iv = ctx.values[1];
  const dim = x.shape[axis];
  if (iv && typeof dim === 'number') {
    for (const i of iv) if (typeof i === 'number' && (i < -dim || i >= dim)) ctx.mismatch(`index ${i} out of range for dimension ${axis} of size ${dim}`);
  }
  let value: Dim[] | undefined;
  const xv = ctx.values[0];
  if (xv && iv && r === 1 && allStatic(iv)) value = iv.map((i) => xv[i < 0 ? i + xv.length : i]);
  return out(x.dtype, shape, value);
}

const INT_BIG = 2 ** 53;

/** Values of a small static output whose element at coords c is xv[index(c)]. */
function mapValues(xv: Dim[], shape: number[], index: (c: number[]) => number): Dim[] | undefined {
  const n = numel(shape);
  if (n > MAX_VALUE_ELEMENTS) return undefined;
  const res: Dim[] = [];
  const c = shape.map(() => 0);
  for (let i = 0; i < n; i++) {
    res.push(xv[index(c)]);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
  return res;
}

/** Slice's starts/ends/axes/steps: attributes before opset 10, inputs from 10 on (possibly symbolic). */
export function sliceArgs(ctx: NodeContext): { starts: Dim[]; ends: Dim[]; axes: number[]; steps: number[] } {
  if (ctx.opset < 10) {
    const starts = attrInts(ctx.node, 'starts');
    const ends = attrInts(ctx.node, 'ends');
    if (!starts || !ends) ctx.invalid(`'starts' and 'ends' are required`);
    return { starts, ends, axes: attrInts(ctx.node, 'axes') ?? starts.map((_, i) => i), steps: starts.map(() => 1) };
  }
  if (ctx.node.inputs.length < 3) ctx.invalid('Slice takes starts and ends as inputs from opset 10');
  const starts = ctx.dims(1, 'starts');
  const ends = ctx.dims(2, 'ends');
  return {
    starts,
    ends,
    axes: ctx.has(3) ? ctx.ints(3, 'axes') : starts.map((_, i) => i),
    steps: ctx.has(4) ? ctx.ints(4, 'steps') : starts.map(() => 1),
  };
}

export function slice(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const r = x.shape.length;
  const { starts, ends, axes, steps } = sliceArgs(ctx);
  if (starts.length !== ends.length) ctx.invalid(`starts and ends differ in length`);
  if (axes.length !== starts.length || steps.length !== starts.length) ctx.invalid(`starts, ends, axes and steps differ in length`);
  const shape = [...x.shape];
  const ranges: { axis: number; start: number; step: number; len: number }[] = [];
  const seen = new Set<number>();
  axes.forEach((a, i) => {
    const axis = normAxis(a, r) ?? ctx.invalid(`axis ${a} out of range for rank ${r}`);
    if (seen.has(axis)) ctx.invalid(`axis ${axis} is sliced twice`);
    seen.add(axis);
    const step = steps[i];
    if (step === 0) ctx.invalid('a slice step is 0');
    const dim = x.shape[axis];
    const st = starts[i], en = ends[i];
    if (typeof dim === 'number' && typeof st === 'number' && typeof en === 'number') {
      const res = sliceRange(st, en, step, dim);
      shape[axis] = res.len;
      ranges.push({ axis, ...res });
      return;
    }
    // The whole dim, or [0, s) with s a symbolic size that the profile keeps within the dim.
    if (st === 0 && step === 1 && (en === dim || (typeof en === 'number' && en >= 2 ** 31 - 1))) return;
    if (st === 0 && step === 1 && typeof en === 'string') {
      shape[axis] = en;
      return;
    }
    shape[axis] = `${ctx.node.outputs[0]}:${axis}`;
  });
  let value: Dim[] | undefined;
  const xv = ctx.values[0];
  if (xv && allStatic(x.shape) && allStatic(shape)) {
    const xs = x.shape;
    const strides = xs.map((_, i) => xs.slice(i + 1).reduce((a, b) => a * b, 1));
    const rg = xs.map((_, d) => ranges.find((q) => q.axis === d) ?? { start: 0, step: 1 });
    value = mapValues(xv, shape, (c) => c.reduce((j, v, d) => j + (rg[d].start + v * rg[d].step) * strides[d], 0));
  }
  return out(x.dtype, shape, value);
}

/** ONNX Slice clamping semantics for one axis of a static size. */
export function sliceRange(start: number, end: number, step: number, dim: number): { start: number; step: number; len: number } {
  const s0 = Math.max(-INT_BIG, Math.min(INT_BIG, start));
  const e0 = Math.max(-INT_BIG, Math.min(INT_BIG, end));
  let s = s0 < 0 ? s0 + dim : s0;
  let e = e0 < 0 ? e0 + dim : e0;
  let len: number;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
    len = Math.max(0, Math.ceil((e - s) / step));
  } else {
    s = Math.min(Math.max(s, 0), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
    len = Math.max(0, Math.ceil((s - e) / -step));
  }
  return { start: s, step, len };
}

export function pad(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  const r = x.shape.length;
  const mode = attrString(ctx.node, 'mode', 'constant');
  if (!['constant', 'reflect', 'edge'].includes(mode)) ctx.unsupported(`mode '${mode}'`);
  const pads = ctx.node.attrs.pads !== undefined && !ctx.has(1) ? attrInts(ctx.node, 'pads')! : ctx.ints(1, 'pads');
  if (ctx.has(2)) {
    const cv = ctx.input(2);
    if (cv.dtype !== x.dtype) ctx.invalid(`constant_value is ${cv.dtype} but the data is ${x.dtype}`);
    if (numel(cv.shape) !== 1) ctx.mismatch(`constant_value must be a scalar, got ${shapeToString(cv.shape)}`);
  }
  let axes = x.shape.map((_, i) => i);
  if (ctx.has(3)) axes = ctx.ints(3, 'axes').map((a) => normAxis(a, r) ?? ctx.invalid(`axis ${a} out of range for rank ${r}`));
  const k = axes.length;
  if (pads.length !== 2 * k) ctx.invalid(`pads has ${pads.length} entries for ${k} axes`);
  if (pads.some((p) => p < 0)) ctx.unsupported(`negative pads [${pads.join(', ')}]`);
  const shape = [...x.shape];
  axes.forEach((axis, i) => {
    const add = pads[i] + pads[i + k];
    if (add === 0) return;
    const d = shape[axis];
    if (typeof d !== 'number') {
      shape[axis] = `${ctx.node.outputs[0]}:${axis}`;
      return;
    }
    if (mode === 'reflect' && (pads[i] >= d || pads[i + k] >= d)) ctx.mismatch(`reflect pads [${pads.join(', ')}] must be smaller than dimension ${axis} (${d})`);
    if (mode === 'edge' && d === 0) ctx.mismatch(`edge padding of an empty dimension`);
    shape[axis] = d + add;
  });
  return out(x.dtype, shape);
}

/** The full pads of a Pad node over every axis, [begins..., ends...] (axes input resolved). */
export function fullPads(rank: number, pads: number[], axes?: number[]): number[] {
  const all = new Array(2 * rank).fill(0);
  const ax = axes ?? Array.from({ length: rank }, (_, i) => i);
  ax.forEach((a, i) => {
    const axis = a < 0 ? a + rank : a;
    all[axis] = pads[i];
    all[axis + rank] = pads[i + ax.length];
  });
  return all;
}

