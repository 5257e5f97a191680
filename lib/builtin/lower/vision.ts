// Lowering of the vision operators to builtin layers: Resize / Upsample (a separable gather over precomputed
// taps, so the GPU uses exactly the reference's coordinate arithmetic), ConvTranspose (a gather-style direct
// kernel), ArgMax / ArgMin and the EfficientNMS post-processing stage.
import { attrInt } from '../../ir/attrs.js';
import { NodeContext } from '../../ir/context.js';
import type { Graph } from '../../ir/graph.js';
import { deconvGeometry, resizeAttrs } from '../../ir/rules-vision.js';
import type { Node } from '../../ir/types.js';
import { nmsParams, resizeTaps } from '../../reference/ops-vision.js';
import { floatValues } from '../weights.js';
import { physicalOrder, prod, type LowerContext } from '../lower-context.js';

/** A NodeContext over the lowering's static per-unit shapes (batch as 1) and the graph's constants. */
function staticCtx(cx: LowerContext, n: Node): NodeContext {
  const types = n.inputs.map((i) => (i ? { dtype: cx.typeOf(i, n).dtype, shape: cx.typeOf(i, n).shape } : undefined));
  const ints = n.inputs.map((i) => {
    const c = i ? cx.constant(i) : undefined;
    return c && (c.dtype === 'int64' || c.dtype === 'int32') ? Array.from(c.data as ArrayLike<number | bigint>, Number) : undefined;
  });
  const floats = n.inputs.map((i) => {
    const c = i ? cx.constant(i) : undefined;
    return c && (c.dtype === 'float32' || c.dtype === 'float64') ? Array.from(c.data as Float32Array) : undefined;
  });
  return new NodeContext(n, cx.graph.opset, types, ints, floats);
}

/** Resize / Upsample over H and W of a 4-D tensor, NHWC; the taps of both axes travel as one float32 table. */
function resize(cx: LowerContext, n: Node): void {
  const xIn = cx.value(n.inputs[0], n);
  const t = cx.typeOf(n.outputs[0], n);
  if (xIn.shape.length !== 4) cx.unsupported(n, `only 4-D (NCHW) inputs are supported, got rank ${xIn.shape.length}`);
  if (t.dtype !== 'float32' && t.dtype !== 'float16') cx.unsupported(n, `dtype ${t.dtype}`);
  const ctx = staticCtx(cx, n);
  const a = resizeAttrs(ctx);
  if (a.coord === 'tf_crop_and_resize') cx.unsupported(n, `coordinate_transformation_mode 'tf_crop_and_resize'`);
  const [nb, c, h, w] = xIn.shape;
  const [ob, oc, p, q] = t.shape;
  if (ob !== nb || oc !== c || xIn.batched !== t.batched) cx.unsupported(n, 'resizing the batch or channel axis');
  // The scales the coordinate transform uses: given ones when constant, else out / in (sizes or shape-computed).
  const sv = n.op === 'Upsample' || cx.graph.opset < 11 ? ctx.floatValues(1) : ctx.floatValues(2);
  const given = sv && sv.length === 4 ? sv.map(Math.fround) : undefined;
  const sh = given ? given[2] : p / h;
  const sw = given ? given[3] : q / w;
  const th = resizeTaps(a, h, p, sh);
  const tw = resizeTaps(a, w, q, sw);
  const taps = th.width;
  const table = new Float32Array(2 * taps * (p + q));
  table.set(Float32Array.from(th.index), 0);
  table.set(Float32Array.from(th.weight), p * taps);
  table.set(Float32Array.from(tw.index), 2 * p * taps);
  table.set(Float32Array.from(tw.weight), 2 * p * taps + q * taps);
  const tabTensor = cx.packWeights(`${n.name}:taps`, table, 'float32', [table.length]);
  const x = cx.convert(xIn, 'nhwc', t.dtype);
  // A resize that is the model's output (maybe through FP16 autocast's output Cast) writes it as ONNX lays it out,
  // NCHW and in the output's dtype, instead of NHWC followed by a layout-and-dtype copy of the largest tensor.
  const out = nchwOutput(cx, n);
  if (out) {
    const y = cx.define(out.name, out.dtype, t.shape, t.batched, 'rowmajor');
    cx.emit(n.name, 'resize', [x.tensor, tabTensor], [y.tensor], { n: x.shape[0], h, w, c, p, q, taps, nchw: 1 }, x.batched);
    return;
  }
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'nhwc');
  cx.emit(n.name, 'resize', [x.tensor, tabTensor], [y.tensor], { n: x.shape[0], h, w, c, p, q, taps }, x.batched);
}

/** The graph output a resize's result becomes: itself, or through the one Cast (to float32 or its own dtype) reading it. */
function nchwOutput(cx: LowerContext, n: Node): { name: string; dtype: 'float32' | 'float16' } | undefined {
  const name = n.outputs[0];
  const t = cx.typeOf(name, n);
  const isOutput = (v: string) => cx.graph.outputs.some((o) => o.name === v);
  if (isOutput(name)) return cx.readers(name) === 1 ? { name, dtype: t.dtype as 'float32' | 'float16' } : undefined;
  const next = cx.graph.consumers().get(name) ?? [];
  if (cx.readers(name) !== 1 || next.length !== 1 || next[0].op !== 'Cast' || next[0].domain !== '') return undefined;
  const cast = next[0];
  const to = cx.typeOf(cast.outputs[0], cast).dtype;
  if (!isOutput(cast.outputs[0]) || cx.readers(cast.outputs[0]) !== 1 || (to !== 'float32' && to !== t.dtype)) return undefined;
  return { name: cast.outputs[0], dtype: to as 'float32' | 'float16' };
}

/** ConvTranspose (2-D, or 1-D as a height of 1), NHWC; weights packed [M][R][S][C/group]. */
function convTranspose(cx: LowerContext, n: Node): void {
  const xIn = cx.value(n.inputs[0], n);
  const t = cx.typeOf(n.outputs[0], n);
  const rank = xIn.shape.length;
  if (rank !== 4) cx.unsupported(n, `only 2-D ConvTranspose (4-D tensors) is supported, got rank ${rank}`);
  if (t.dtype !== 'float32' && t.dtype !== 'float16') cx.unsupported(n, `dtype ${t.dtype}`);
  const wc = cx.constant(n.inputs[1]);
  if (!wc) cx.unsupported(n, 'the weights must be constant');
  const [cin, mg, r, s] = wc.dims;
  const g = deconvGeometry(staticCtx(cx, n), xIn.shape.slice(2), [r, s]);
  const groups = g.group;
  const cg = cin / groups;
  const m = mg * groups;
  const wv = floatValues(wc.dtype, wc.data);
  const packed = new Float32Array(m * r * s * cg);
  for (let ci = 0; ci < cin; ci++) {
    const gi = Math.floor(ci / cg);
    for (let mi = 0; mi < mg; mi++)
      for (let ky = 0; ky < r; ky++)
        for (let kx = 0; kx < s; kx++) packed[(((gi * mg + mi) * r + ky) * s + kx) * cg + (ci % cg)] = wv[((ci * mg + mi) * r + ky) * s + kx];
  }
  const wTensor = cx.packWeights(`${wc.name}:deconv_mrsc`, packed, t.dtype as 'float32' | 'float16', [m, r, s, cg]);
  let bTensor = -1;
  if (n.inputs[2]) {
    const bc = cx.constant(n.inputs[2]);
    if (!bc) cx.unsupported(n, 'the bias must be constant');
    bTensor = cx.packWeights(`${bc.name}:bias32`, floatValues(bc.dtype, bc.data), 'float32', [m]);
  }
  const x = cx.convert(xIn, 'nhwc', t.dtype);
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'nhwc');
  const [, , h, w] = x.shape;
  const [, , p, q] = t.shape;
  cx.emit(n.name, 'deconv', [x.tensor, wTensor, bTensor], [y.tensor], {
    n: x.shape[0], h, w, c: cin, k: m, r, s, p, q,
    sh: g.strides[0], sw: g.strides[1], ph: g.pads[0], pw: g.pads[1], dh: g.dilations[0], dw: g.dilations[1], g: groups,
  }, x.batched);
}

/** ArgMax / ArgMin over one axis → int64, on [outer, len, inner] of the input's physical layout. */
function argReduce(cx: LowerContext, n: Node): void {
  let x = cx.value(n.inputs[0], n);
  const rank = x.shape.length;
  let axis = attrInt(n, 'axis', 0);
  if (axis < 0) axis += rank;
  if (x.batched && axis === 0) cx.unsupported(n, 'reducing over the batch');
  const t = cx.typeOf(n.outputs[0], n);
  const keep = attrInt(n, 'keepdims', 1) !== 0;
  // Without keepdims (or for non-4-D shapes) the output is row-major, so the input must be too.
  if (!keep || rank !== 4) x = cx.convert(x, 'rowmajor');
  const order = physicalOrder(x);
  const pos = order.indexOf(axis);
  const dims = order.map((a) => x.shape[a]);
  const y = cx.define(n.outputs[0], 'int64', t.shape, t.batched, keep ? x.layout : 'rowmajor');
  cx.emit(n.name, 'argmax', [x.tensor], [y.tensor], {
    outer: prod(dims.slice(0, pos)), len: dims[pos], inner: prod(dims.slice(pos + 1)),
    max: n.op === 'ArgMax' ? 1 : 0, last: attrInt(n, 'select_last_index', 0),
  }, x.batched);
}

/** TopK over one axis (sorted, ties to the lower index) on [outer, len, inner] of the row-major input. */
function topk(cx: LowerContext, n: Node): void {
  const x = cx.convert(cx.value(n.inputs[0], n), 'rowmajor');
  const rank = x.shape.length;
  let axis = attrInt(n, 'axis', -1);
  if (axis < 0) axis += rank;
  if (x.batched && axis === 0) cx.unsupported(n, 'TopK over the batch');
  const tv = cx.typeOf(n.outputs[0], n);
  const k = tv.shape[axis];
  const values = cx.define(n.outputs[0], tv.dtype, tv.shape, tv.batched, 'rowmajor');
  const ti = cx.typeOf(n.outputs[1], n);
  const indices = cx.define(n.outputs[1], 'int64', ti.shape, ti.batched, 'rowmajor');
  cx.emit(n.name, 'topk', [x.tensor], [values.tensor, indices.tensor], {
    outer: prod(x.shape.slice(0, axis)), len: x.shape[axis], inner: prod(x.shape.slice(axis + 1)), k, largest: attrInt(n, 'largest', 1),
  }, x.batched);
}

/** The EfficientNMS stage: fixed-size outputs, plus a scratch tensor for the candidate keys (count + one per pair). */
function efficientNms(cx: LowerContext, n: Node): void {
  const boxes = cx.convert(cx.value(n.inputs[0], n), 'rowmajor', 'float32');
  const scores = cx.convert(cx.value(n.inputs[1], n), 'rowmajor', 'float32');
  const [b, boxCount] = boxes.shape;
  const classes = scores.shape[2];
  let anchors = -1;
  if (n.inputs[2]) {
    const a = cx.constant(n.inputs[2]);
    if (!a) cx.unsupported(n, 'the anchors must be constant');
    anchors = cx.packWeights(`${a.name}:anchors32`, floatValues(a.dtype, a.data), 'float32', [boxCount, 4]);
  }
  const p = nmsParams(n);
  const outs = n.outputs.map((o) => {
    const t = cx.typeOf(o, n);
    return cx.define(o, t.dtype, t.shape, t.batched, 'rowmajor').tensor;
  });
  const pairs = p.classAgnostic ? boxCount : boxCount * classes;
  const scratch = cx.newTensor(`${n.name}:scratch`, 'int64', [b, 1 + pairs], boxes.batched, 'rowmajor');
  cx.emit(n.name, 'nms', [boxes.tensor, scores.tensor, anchors], [...outs, scratch], {
    b, n: boxCount, c: classes, k: p.maxOutput, fmt: p.boxFormat === 'cxcywh' ? 1 : 0, agnostic: p.classAgnostic ? 1 : 0,
    score: p.scoreThreshold, iou: p.iouThreshold,
  }, boxes.batched);
}

/** ONNX NonMaxSuppression has a data-dependent output size, which a fixed-size engine cannot hold. */
function onnxNms(cx: LowerContext, n: Node): void {
  cx.unsupported(n, 'its output size depends on the data; export the model without NMS and build with postprocess: { nms: { ... } }, which gives fixed-size outputs');
}

export const VISION_LOWERINGS: Record<string, (cx: LowerContext, n: Node) => void> = {
  Resize: resize,
  Upsample: resize,
  ConvTranspose: convTranspose,
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: topk,
  EfficientNMS: efficientNms,
  NonMaxSuppression: onnxNms,
};

/**
 * Nodes that only compute Resize / Upsample sizes or scales (Shape → Slice → Concat chains): shape inference
 * already resolved the output sizes, so they are not lowered.
 * @example for (const n of graph.nodes) if (!skip.has(n)) lowerNode(cx, n);
 */
export function shapeOnlyNodes(graph: Graph): Set<Node> {
  const readers = new Map<string, { node: Node; slot: number }[]>();
  for (const node of graph.nodes) node.inputs.forEach((v, slot) => v && readers.set(v, [...(readers.get(v) ?? []), { node, slot }]));
  const skip = new Set<Node>();
  const feedsShape = (r: { node: Node; slot: number }) => ((r.node.op === 'Resize' || r.node.op === 'Upsample') && r.slot >= 1) || skip.has(r.node);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    const outs = node.outputs.filter((o) => o);
    if (outs.length === 0 || outs.some((o) => graph.isOutput(o))) continue;
    if (outs.every((o) => (readers.get(o) ?? []).length > 0 && readers.get(o)!.every(feedsShape))) skip.add(node);
  }
  return skip;
}
