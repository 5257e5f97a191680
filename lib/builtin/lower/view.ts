// Strided views through data-movement nodes: a value made by Reshape/Flatten/Squeeze/Unsqueeze/Identity, Transpose,
// Slice and Gather with constant indices from a stored tensor is described as that tensor plus an element offset and
// strides, so a layer that takes strides (attention) reads it in place and the copies that made it are dropped.
// Each logical axis is a list of atoms (size, stride), outermost first: a head split that merges batch and heads
// (`[s, b, e] → [s, b·h, d]`) has no single stride for the merged axis, but its atoms carry it until a later reshape
// splits it again, as torch's MultiheadAttention export does.
import type { DataType, Node } from '../../ir/types.js';
import { logicalStrides, type LowerContext, type Val } from '../lower-context.js';
import { constInts } from './util.js';

interface Atom {
  size: number;
  stride: number;
}

interface AtomView {
  root: Val;
  axes: Atom[][];
  offset: number;
}

/** A value as `root`'s elements at `offset + Σ index[i] · strides[i]`, with the given shape. */
export interface StridedView {
  root: Val;
  shape: number[];
  strides: number[];
  offset: number;
}

const isDefault = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

/** The atoms of `axes` regrouped for `shape` (row-major order kept), splitting atoms where sizes divide. */
function reshape(axes: Atom[][], shape: number[]): Atom[][] | undefined {
  if (shape.some((d) => !Number.isInteger(d) || d <= 0)) return undefined;
  const flat = axes.flat().filter((a) => a.size !== 1);
  const out: Atom[][] = [];
  let i = 0;
  for (const n of shape) {
    const axis: Atom[] = [];
    let need = n;
    while (need > 1) {
      if (i >= flat.length) return undefined;
      const a = flat[i];
      if (a.size <= need) {
        if (need % a.size) return undefined;
        axis.push(a);
        need /= a.size;
        i++;
      } else {
        if (a.size % need) return undefined;
        axis.push({ size: need, stride: a.stride * (a.size / need) });
        flat[i] = { size: a.size / need, stride: a.stride };
        need = 1;
      }
    }
    out.push(axis.length ? axis : [{ size: 1, stride: 0 }]);
  }
  return i === flat.length ? out : undefined;
}

/** One view step through node `n` (whose first input `inner` describes), or undefined when it is not a view. */
function step(cx: LowerContext, n: Node, inner: AtomView): AtomView | undefined {
  const outShape = cx.graph.types.get(n.outputs[0])?.shape;
  if (!outShape || outShape.some((d) => typeof d !== 'number')) return undefined;
  const v = stepTo(cx, n, inner, outShape as number[]);
  // Whatever the step computed must have the shape inference gave the node's output, axis by axis (a Slice with
  // non-constant axes, or a Gather whose index shape keeps axes, are refused here rather than misread).
  const sizes = v?.axes.map((a) => a.reduce((x, t) => x * t.size, 1));
  return v && sizes!.length === outShape.length && sizes!.every((d, i) => d === outShape[i]) ? v : undefined;
}

function stepTo(cx: LowerContext, n: Node, inner: AtomView, shape: number[]): AtomView | undefined {
  switch (n.op) {
    case 'Reshape':
    case 'Flatten':
    case 'Squeeze':
    case 'Unsqueeze':
    case 'Identity': {
      const axes = reshape(inner.axes, shape);
      return axes && { ...inner, axes };
    }
    case 'Transpose': {
      const perm = (n.attrs.perm as number[] | undefined) ?? inner.axes.map((_, k) => inner.axes.length - 1 - k);
      if (perm.length !== inner.axes.length) return undefined;
      return { ...inner, axes: perm.map((p) => inner.axes[p]) };
    }
    case 'Gather': {
      const c = cx.constant(n.inputs[1]);
      if (!c || c.dims.reduce((a, b) => a * b, 1) !== 1) return undefined;
      const rank = inner.axes.length;
      const axis = (((n.attrs.axis as number | undefined) ?? 0) % rank + rank) % rank;
      const atoms = inner.axes[axis];
      const len = atoms.reduce((a, b) => a * b.size, 1);
      let idx = constInts(cx, n.inputs[1])![0];
      if (idx < 0) idx += len;
      if (!(idx >= 0 && idx < len)) return undefined;
      // The index in the axis's mixed radix, innermost atom first.
      let offset = inner.offset;
      for (let k = atoms.length - 1; k >= 0; k--) {
        offset += (idx % atoms[k].size) * atoms[k].stride;
        idx = Math.floor(idx / atoms[k].size);
      }
      const axes = c.dims.length === 0 ? inner.axes.filter((_, k) => k !== axis) : inner.axes.map((a, k) => (k === axis ? [{ size: 1, stride: 0 }] : a));
      return { ...inner, axes, offset };
    }
    case 'Slice':
      return slice(cx, n, inner);
    default:
      return undefined;
  }
}

/** Slice with constant starts/ends/axes and positive steps (inputs from opset 10, attributes before). */
function slice(cx: LowerContext, n: Node, inner: AtomView): AtomView | undefined {
  const rank = inner.axes.length;
  const fromInputs = n.inputs.length > 1;
  const starts = fromInputs ? constInts(cx, n.inputs[1]) : (n.attrs.starts as number[] | undefined);
  const ends = fromInputs ? constInts(cx, n.inputs[2]) : (n.attrs.ends as number[] | undefined);
  const axes = (fromInputs ? n.inputs[3] && constInts(cx, n.inputs[3]) : (n.attrs.axes as number[] | undefined)) || starts?.map((_, i) => i);
  const steps = (fromInputs && n.inputs[4] ? constInts(cx, n.inputs[4]) : undefined) ?? starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps || ends.length !== starts.length || axes.length !== starts.length) return undefined;
  const out = inner.axes.map((a) => [...a]);
  let offset = inner.offset;
  for (let i = 0; i < starts.length; i++) {
    const a = ((Number(axes[i]) % rank) + rank) % rank;
    const step = Number(steps[i]);
    const atoms = out[a].filter((t) => t.size !== 1);
    for (let k = 0; k + 1 < atoms.length; k++) if (atoms[k].stride !== atoms[k + 1].size * atoms[k + 1].stride) return undefined;
    const dim = atoms.reduce((x, t) => x * t.size, 1);
    const stride = atoms.length ? atoms[atoms.length - 1].stride : 0;
    if (!(step > 0)) return undefined;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const [s0, e0] = [clamp(Number(starts[i])), clamp(Number(ends[i]))];
    const len = Math.max(0, Math.ceil((e0 - s0) / step));
    if (len === 0) return undefined;
    offset += s0 * stride;
    out[a] = [{ size: len, stride: stride * step }];
  }
  return { ...inner, axes: out, offset };
}

function resolve(cx: LowerContext, name: string, dtype: DataType, depth: number): AtomView | undefined {
  const p = cx.graph.producers().get(name);
  if (p && depth < 32 && isDefault(p) && p.outputs[0] === name) {
    const inner = resolve(cx, p.inputs[0], dtype, depth + 1);
    const v = inner && step(cx, p, inner);
    if (v) return v;
  }
  const v = cx.values.get(name);
  if (!v || v.dtype !== dtype || cx.tensors[v.tensor].loc !== 0) return undefined;
  const s = logicalStrides(v);
  return { root: v, axes: v.shape.map((d, i) => [{ size: d, stride: s[i] }]), offset: 0 };
}

/**
 * `name` as a strided view of a stored activation tensor in `dtype`, read through the data-movement nodes that
 * made it; undefined where some axis has no single stride. Only for fully static lowerings (the batch-merging
 * lowering gives every value concrete shapes).
 */
export function stridedView(cx: LowerContext, name: string, dtype: DataType): StridedView | undefined {
  if (cx.batchSymbol !== null) return undefined;
  const v = resolve(cx, name, dtype, 0);
  if (!v) return undefined;
  const shape: number[] = [];
  const strides: number[] = [];
  for (const axis of v.axes) {
    const atoms = axis.filter((a) => a.size !== 1);
    for (let k = 0; k + 1 < atoms.length; k++) if (atoms[k].stride !== atoms[k + 1].size * atoms[k + 1].stride) return undefined;
    shape.push(atoms.reduce((a, b) => a * b.size, 1));
    strides.push(atoms.length ? atoms[atoms.length - 1].stride : 0);
  }
  return { root: v.root, shape, strides, offset: v.offset };
}
