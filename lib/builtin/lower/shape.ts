// Lowering of the data-movement ops transformers add: Expand (a copy with zero strides), Gather (embedding
// lookups and row picks), ConstantOfShape (a fill), Range (an iota), Split (strided copies), Tile (a copy over a
// repeated view).
// Shape-only uses of these ops never get here: lowerGraph skips nodes whose outputs only feed shapes.
import { attrTensor } from '../../ir/attrs.js';
import type { Node } from '../../ir/types.js';
import { floatValues } from '../weights.js';
import { LowerContext, logicalStrides, prod, rowStrides } from '../lower-context.js';
import { broadcastStrides, constFloats, constInts, ints, num } from './util.js';

function expand(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  const x = cx.value(n.inputs[0], n, t.dtype);
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'rowmajor');
  cx.emit(n.name, 'copy', [x.tensor], [y.tensor], {
    dims: t.shape, xs: broadcastStrides(x, t.shape), ys: rowStrides(t.shape), xoff: 0, yoff: 0,
  }, t.batched);
}

function gather(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  const x = cx.convert(cx.value(n.inputs[0], n), 'rowmajor');
  const ids = cx.value(n.inputs[1], n);
  if (ids.dtype !== 'int64' && ids.dtype !== 'int32') cx.unsupported(n, `indices of type ${ids.dtype}`);
  const rank = x.shape.length;
  let axis = num(n, 'axis', 0);
  if (axis < 0) axis += rank;
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'rowmajor');
  cx.emit(n.name, 'gather', [x.tensor, ids.tensor], [y.tensor], {
    outer: prod(x.shape.slice(0, axis)), len: x.shape[axis], inner: prod(x.shape.slice(axis + 1)), n: prod(ids.shape),
  }, t.batched);
}

function constantOfShape(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  const v = attrTensor(n, 'value');
  const value = v ? floatValues(v.dtype, v.data)[0] : 0;
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'rowmajor');
  cx.emit(n.name, 'fill', [], [y.tensor], { n: prod(t.shape), value }, t.batched);
}

/** Range on the data path (its limit follows the batch): start + i · delta over the inferred length. */
function range(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  const start = constFloats(cx, n.inputs[0]);
  const delta = constFloats(cx, n.inputs[2]);
  if (!start || !delta) cx.unsupported(n, 'start and delta must be constants');
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'rowmajor');
  cx.emit(n.name, 'fill', [], [y.tensor], { n: prod(t.shape), value: start[0], step: delta[0] }, t.batched);
}

function split(cx: LowerContext, n: Node): void {
  const x = cx.convert(cx.value(n.inputs[0], n), 'rowmajor');
  const rank = x.shape.length;
  let axis = num(n, 'axis', 0);
  if (axis < 0) axis += rank;
  const xs = logicalStrides(x);
  let at = 0;
  n.outputs.forEach((o, i) => {
    const t = cx.typeOf(o, n);
    if (o) {
      const y = cx.define(o, t.dtype, t.shape, t.batched, 'rowmajor');
      cx.emit(`${n.name}[${i}]`, 'copy', [x.tensor], [y.tensor], { dims: t.shape, xs, ys: rowStrides(t.shape), xoff: at * xs[axis], yoff: 0 }, t.batched);
    }
    at += t.shape[axis];
  });
}

/** Tile as one copy: the output viewed as [r0, d0, r1, d1, ...] reads x with stride 0 along each r axis. */
function tile(cx: LowerContext, n: Node): void {
  const x = cx.convert(cx.value(n.inputs[0], n), 'rowmajor');
  const reps = constInts(cx, n.inputs[1]) ?? ints(n, 'repeats');
  if (!reps) cx.unsupported(n, 'repeats must be constant');
  const t = cx.typeOf(n.outputs[0], n);
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'rowmajor');
  const xs = logicalStrides(x);
  const dims: number[] = [];
  const sx: number[] = [];
  x.shape.forEach((d, i) => {
    if (reps[i] !== 1) dims.push(reps[i]), sx.push(0);
    dims.push(d), sx.push(xs[i]);
  });
  if (dims.length > 6) cx.unsupported(n, 'more than 6 tiled axes and repeats');
  cx.emit(n.name, 'copy', [x.tensor], [y.tensor], { dims, xs: sx, ys: rowStrides(dims), xoff: 0, yoff: 0 }, t.batched);
}

export const SHAPE_LOWERINGS: Record<string, (cx: LowerContext, n: Node) => void> = {
  Expand: expand,
  Gather: gather,
  ConstantOfShape: constantOfShape,
  Split: split,
  Range: range,
  Tile: tile,
};
