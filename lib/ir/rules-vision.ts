// Shape/dtype rules for the vision operators: Resize / Upsample, ConvTranspose, TopK, ArgMax / ArgMin and
// NonMaxSuppression. The geometry helpers here are shared by the reference kernels and the builtin lowering.
import { attrFloat, attrInt, attrInts, attrFloats, attrString } from './attrs.js';
import type { InferResult, NodeContext } from './context.js';
import { allStatic, normAxis } from './dims.js';
import { spatialInts } from './geometry.js';
import { numel, shapeToString, type Dim, type Node } from './types.js';

export const COORDINATE_MODES = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'tf_crop_and_resize'] as const;
export type CoordinateMode = (typeof COORDINATE_MODES)[number];
export const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil', 'simple'] as const;
export type NearestMode = (typeof NEAREST_MODES)[number];
export type ResizeMode = 'nearest' | 'linear' | 'cubic';

/** A Resize or Upsample node's attributes, resolved for its opset. */
export interface ResizeAttrs {
  mode: ResizeMode;
  coord: CoordinateMode;
  /** 'simple' is Resize-10 and Upsample: floor when upsampling, ceil when downsampling. */
  nearest: NearestMode;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
}

/** Reads and checks the interpolation attributes of Resize (any opset) or Upsample. */
export function resizeAttrs(ctx: NodeContext): ResizeAttrs {
  const n = ctx.node;
  const old = n.op === 'Upsample' || ctx.opset < 11;
  let mode = attrString(n, 'mode', 'nearest');
  if (n.op === 'Upsample' && mode === 'bilinear') mode = 'linear';
  if (mode !== 'nearest' && mode !== 'linear' && (mode !== 'cubic' || old)) ctx.invalid(`unknown mode '${mode}'`);
  const coord = old ? 'asymmetric' : attrString(n, 'coordinate_transformation_mode', 'half_pixel');
  if (!(COORDINATE_MODES as readonly string[]).includes(coord) || (coord === 'half_pixel_symmetric' && ctx.opset < 19)) {
    ctx.invalid(`unknown coordinate_transformation_mode '${coord}'`);
  }
  const nearest = old ? 'simple' : attrString(n, 'nearest_mode', 'round_prefer_floor');
  if (!(NEAREST_MODES as readonly string[]).includes(nearest) || nearest === 'simple' && !old) ctx.invalid(`unknown nearest_mode '${nearest}'`);
  if (attrInt(n, 'antialias', 0) !== 0 && mode !== 'nearest') ctx.unsupported('antialias=1 (export with antialias=False)');
  return {
    mode: mode as ResizeMode,
    coord: coord as CoordinateMode,
    nearest: nearest as NearestMode,
    cubicA: attrFloat(n, 'cubic_coeff_a', -0.75),
    excludeOutside: attrInt(n, 'exclude_outside', 0) !== 0,
    extrapolation: attrFloat(n, 'extrapolation_value', 0),
  };
}

/** Output shape and per-axis scales of a Resize; scales are undefined where the output size came from `sizes`. */
export interface ResizeShape {
  out: Dim[];
  /** The scale of each axis as the coordinate transform uses it (given, or out/in when sizes were given). */
  scales: number[] | undefined;
  /** tf_crop_and_resize region: [starts..., ends...] over all axes. */
  roi: number[] | undefined;
}

const f32 = Math.fround;

/** The input indexes of Resize's scales and sizes at this opset (Upsample-9 takes scales at 1). */
function resizeInputs(ctx: NodeContext): { roi: number; scales: number; sizes: number } {
  if (ctx.node.op === 'Upsample' || ctx.opset < 11) return { roi: -1, scales: 1, sizes: -1 };
  return { roi: 1, scales: 2, sizes: 3 };
}

/** Resize / Upsample: output shape from constant (or shape-computed) sizes or scales. */
export function resize(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.dtype === 'bool') ctx.invalid('Resize of a bool tensor');
  const a = resizeAttrs(ctx);
  const r = resizeShape(ctx, x.shape, a);
  return { types: [{ dtype: x.dtype, shape: r.out }] };
}

/** Resolves the output shape of a Resize / Upsample node from its inputs' known values. */
export function resizeShape(ctx: NodeContext, inShape: Dim[], a: ResizeAttrs): ResizeShape {
  const rank = inShape.length;
  const n = ctx.node;
  const idx = resizeInputs(ctx);
  const axesAttr = ctx.opset >= 18 ? attrInts(n, 'axes') : undefined;
  const axes = (axesAttr ?? inShape.map((_, i) => i)).map((ax) => normAxis(ax, rank) ?? ctx.invalid(`axis ${ax} out of range for rank ${rank}`));
  if (new Set(axes).size !== axes.length) ctx.invalid(`repeated axes [${axes.join(', ')}]`);
  const policy = ctx.opset >= 18 ? attrString(n, 'keep_aspect_ratio_policy', 'stretch') : 'stretch';
  if (!['stretch', 'not_larger', 'not_smaller'].includes(policy)) ctx.invalid(`unknown keep_aspect_ratio_policy '${policy}'`);
  let roi: number[] | undefined;
  if (a.coord === 'tf_crop_and_resize') {
    const rv = idx.roi >= 0 && ctx.has(idx.roi) ? ctx.floatValues(idx.roi) : undefined;
    if (!rv) ctx.unsupported(`tf_crop_and_resize needs a constant roi`);
    if (rv.length !== 2 * axes.length) ctx.invalid(`roi has ${rv.length} values for ${axes.length} axes`);
    roi = [...inShape.map(() => 0), ...inShape.map(() => 1)];
    axes.forEach((ax, i) => {
      roi![ax] = rv[i];
      roi![ax + rank] = rv[i + axes.length];
    });
  }
  const hasSizes = idx.sizes >= 0 && ctx.has(idx.sizes) && numel(ctx.input(idx.sizes).shape) !== 0;
  const hasScales = ctx.node.op === 'Upsample' && ctx.opset < 9 ? true : ctx.has(idx.scales) && numel(ctx.input(idx.scales).shape) !== 0;
  if (hasSizes === hasScales) ctx.invalid(`exactly one of scales and sizes must be given`);
  const out: Dim[] = [...inShape];
  if (hasSizes) {
    const sz = ctx.values[idx.sizes];
    if (!sz) {
      // Sizes that depend on data: the output spatial size is only known at run time.
      axes.forEach((ax) => (out[ax] = `${n.outputs[0]}_d${ax}`));
      return { out, scales: undefined, roi };
    }
    if (sz.length !== axes.length) ctx.mismatch(`sizes has ${sz.length} values for ${axes.length} axes`);
    if (policy === 'stretch') {
      axes.forEach((ax, i) => (out[ax] = sz[i]));
      const scales = allStatic(out) && allStatic(inShape) ? inShape.map((d, i) => (out[i] as number) / d) : undefined;
      return { out, scales, roi };
    }
    if (!allStatic(sz) || !allStatic(axes.map((ax) => inShape[ax]))) ctx.unsupported(`keep_aspect_ratio_policy '${policy}' with dynamic sizes`);
    const ratios = axes.map((ax, i) => (sz[i] as number) / (inShape[ax] as number));
    const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
    const scales = inShape.map(() => 1);
    axes.forEach((ax) => {
      scales[ax] = s;
      out[ax] = Math.round(s * (inShape[ax] as number));
    });
    return { out, scales, roi };
  }
  const sv = ctx.node.op === 'Upsample' && ctx.opset < 9 ? attrFloats(n, 'scales') : ctx.floatValues(idx.scales);
  if (!sv) {
    axes.forEach((ax) => (out[ax] = `${n.outputs[0]}_d${ax}`));
    return { out, scales: undefined, roi };
  }
  if (sv.length !== axes.length) ctx.mismatch(`scales has ${sv.length} values for ${axes.length} axes`);
  if (sv.some((s) => !(s > 0))) ctx.invalid(`scales must be positive, got [${sv.join(', ')}]`);
  const scales = inShape.map(() => 1);
  axes.forEach((ax, i) => {
    scales[ax] = f32(sv[i]);
    const d = inShape[ax];
    if (scales[ax] === 1) out[ax] = d;
    // onnxruntime sizes tf_crop_and_resize outputs from the scales alone, not the roi's extent.
    else if (typeof d === 'number') out[ax] = Math.floor(f32(d * scales[ax]));
    else out[ax] = `${n.outputs[0]}_d${ax}`;
  });
  return { out, scales, roi };
}

/**
 * The source coordinate of output index `x` along one axis (in double precision, as onnxruntime 1.2x computes it).
 * @example originalCoordinate('half_pixel', 3, 2, 8, 4) // (3 + 0.5) / 2 − 0.5 = 1.25
 */
export function originalCoordinate(coord: CoordinateMode, x: number, scale: number, outLen: number, inLen: number, roiStart = 0, roiEnd = 1): number {
  switch (coord) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      // onnxruntime's order of float32 and double steps, which decides nearest indexes at exact ties.
      const s = f32(scale);
      const adj = f32(outLen / f32(s * inLen));
      const offset = f32((inLen / 2) * f32(1 - adj));
      return f32(offset + (x + 0.5) / s - 0.5);
    }
    case 'pytorch_half_pixel':
      return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outLen === 1 ? 0 : (x * (inLen - 1)) / (outLen - 1);
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
    case 'tf_crop_and_resize':
      // float32 steps, as onnxruntime: 0.1 × 5 must land on the tie 0.5.
      return outLen > 1
        ? f32(f32(roiStart * (inLen - 1)) + f32(f32(f32(x * f32(roiEnd - roiStart)) * (inLen - 1)) / (outLen - 1)))
        : f32(0.5 * f32(roiStart + roiEnd) * (inLen - 1));
  }
}

/** The nearest input index of a source coordinate (before clamping). */
export function nearestIndex(mode: NearestMode, v: number, downsampling: boolean): number {
  switch (mode) {
    case 'round_prefer_floor':
      return v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v);
    case 'round_prefer_ceil':
      return v < 0 ? -Math.round(-v) : Math.round(v); // std::round: halves away from zero
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'simple':
      return downsampling ? Math.ceil(v) : Math.trunc(v);
  }
}

/** Resolved ConvTranspose geometry for 1-D or 2-D (and N-D) spatial inputs. */
export interface DeconvGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  outputPadding: number[];
  /** ONNX order: begins, then ends. */
  pads: number[];
  out: number[];
  group: number;
}

/** ConvTranspose attributes resolved against static spatial sizes (pads from output_shape / auto_pad as ORT does). */
export function deconvGeometry(ctx: NodeContext, inSpatial: number[], kernel: number[]): DeconvGeometry {
  const n = inSpatial.length;
  const node = ctx.node;
  const list = (name: string, def: number, min: number): number[] => spatialInts(ctx, name, n, def, min);
  const strides = list('strides', 1, 1);
  const dilations = list('dilations', 1, 1);
  const outputPadding = list('output_padding', 0, 0);
  outputPadding.forEach((p, i) => {
    if (p >= Math.max(strides[i], dilations[i])) ctx.invalid(`output_padding ${p} must be smaller than the stride or dilation of axis ${i}`);
  });
  const group = attrInt(node, 'group', 1);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) ctx.invalid(`unknown auto_pad '${autoPad}'`);
  const extent = kernel.map((k, i) => (k - 1) * dilations[i] + 1);
  let outputShape = attrInts(node, 'output_shape');
  if (outputShape && outputShape.length === n + 2) outputShape = outputShape.slice(2);
  if (outputShape && outputShape.length !== n) ctx.invalid(`output_shape has ${outputShape.length} entries for ${n} spatial dimensions`);
  let pads = autoPad === 'NOTSET' ? (attrInts(node, 'pads') ?? new Array(2 * n).fill(0)) : new Array(2 * n).fill(0);
  if (pads.length !== 2 * n) ctx.invalid(`'pads' has ${pads.length} entries for ${n} spatial dimensions`);
  if (pads.some((p) => p < 0)) ctx.unsupported(`negative pads [${pads.join(', ')}]`);
  let out: number[];
  if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    out = outputShape ?? inSpatial.map((d, i) => d * strides[i]);
    pads = new Array(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const total = Math.max(0, (inSpatial[i] - 1) * strides[i] + outputPadding[i] + extent[i] - out[i]);
      const small = Math.floor(total / 2);
      // As onnxruntime: the odd unit goes at the start unless auto_pad is SAME_UPPER.
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i];
    }
  } else {
    out = inSpatial.map((d, i) => strides[i] * (d - 1) + outputPadding[i] + extent[i] - pads[i] - pads[i + n]);
  }
  if (out.some((o) => o < 1)) ctx.mismatch(`ConvTranspose computes an empty output [${out.join(', ')}]`);
  return { kernel, strides, dilations, outputPadding, pads, out, group };
}

/** ConvTranspose: [N, C, spatial...] with weight [C, M/group, k...] → [N, M, out...]. */
export function convTranspose(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  const w = ctx.float(1);
  ctx.sameDtype(0, 1, 2);
  const rank = x.shape.length;
  if (rank < 3) ctx.mismatch(`input must be [N, C, spatial...], got ${shapeToString(x.shape)}`);
  if (w.shape.length !== rank) ctx.mismatch(`weight ${shapeToString(w.shape)} does not match the ${rank}-D input`);
  if (!allStatic(w.shape)) ctx.unsupported(`weight with a dynamic shape ${shapeToString(w.shape)}`);
  const ws = w.shape;
  const group = attrInt(ctx.node, 'group', 1);
  if (group < 1) ctx.invalid(`group must be ≥ 1, got ${group}`);
  if (x.shape[1] !== ws[0]) ctx.mismatch(`input has ${x.shape[1]} channels but the weight ${shapeToString(ws)} expects ${ws[0]}`);
  if (ws[0] % group !== 0) ctx.mismatch(`${ws[0]} input channels are not divisible by group ${group}`);
  const m = ws[1] * group;
  const ks = attrInts(ctx.node, 'kernel_shape');
  if (ks && ks.join() !== ws.slice(2).join()) ctx.mismatch(`kernel_shape [${ks.join(', ')}] differs from the weight's [${ws.slice(2).join(', ')}]`);
  if (ctx.has(2)) {
    const b = ctx.input(2).shape;
    if (b.length !== 1 || b[0] !== m) ctx.mismatch(`bias ${shapeToString(b)} must be [${m}]`);
  }
  const g = deconvGeometry(ctx, ctx.staticSpatial(0), ws.slice(2));
  return { types: [{ dtype: x.dtype, shape: [x.shape[0], m, ...g.out] }] };
}

/** The axis and K of a TopK node (K from the input at opset ≥ 10, else the attribute). */
export function topkParams(ctx: NodeContext, shape: Dim[]): { axis: number; k: Dim | undefined } {
  const axis = normAxis(attrInt(ctx.node, 'axis', -1), shape.length) ?? ctx.invalid(`axis ${attrInt(ctx.node, 'axis', -1)} out of range for rank ${shape.length}`);
  if (ctx.opset < 10) return { axis, k: attrInt(ctx.node, 'k') ?? ctx.invalid(`'k' is required`) };
  const kt = ctx.input(1);
  if (kt.dtype !== 'int64') ctx.invalid(`K must be int64, got ${kt.dtype}`);
  if (numel(kt.shape) !== 1) ctx.mismatch(`K must hold one value, got ${shapeToString(kt.shape)}`);
  const v = ctx.values[1];
  return { axis, k: v ? v[0] : undefined };
}

export function topk(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.dtype === 'bool') ctx.invalid('TopK of a bool tensor');
  const { axis, k } = topkParams(ctx, x.shape);
  if (typeof k === 'number') {
    if (k < 0) ctx.invalid(`K must be ≥ 0, got ${k}`);
    if (typeof x.shape[axis] === 'number' && k > (x.shape[axis] as number)) ctx.mismatch(`K = ${k} exceeds the axis length ${x.shape[axis]}`);
  }
  const shape = [...x.shape];
  shape[axis] = k ?? `${ctx.node.outputs[0]}_k`;
  return { types: [{ dtype: x.dtype, shape }, { dtype: 'int64', shape: [...shape] }] };
}

export function argReduce(ctx: NodeContext): InferResult {
  const x = ctx.input(0);
  if (x.dtype === 'bool') ctx.invalid(`${ctx.op} of a bool tensor`);
  const rank = x.shape.length;
  const raw = attrInt(ctx.node, 'axis', 0);
  const axis = normAxis(raw, rank) ?? ctx.invalid(`axis ${raw} out of range for rank ${rank}`);
  if (x.shape[axis] === 0) ctx.mismatch(`${ctx.op} over an empty axis`);
  const keep = attrInt(ctx.node, 'keepdims', 1) !== 0;
  const shape = keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
  return { types: [{ dtype: 'int64', shape }] };
}

/** NonMaxSuppression: boxes [B, N, 4], scores [B, C, N] → selected [num_selected, 3] (data-dependent). */
export function nonMaxSuppression(ctx: NodeContext): InferResult {
  const boxes = ctx.rank(0, 3);
  const scores = ctx.rank(1, 3);
  ctx.sameDtype(0, 1);
  ctx.float(0);
  const [b, nb, four] = boxes.shape;
  if (four !== 4 && typeof four === 'number') ctx.mismatch(`boxes must be [batch, boxes, 4], got ${shapeToString(boxes.shape)}`);
  const [sb, , sn] = scores.shape;
  if ((typeof b === 'number' && typeof sb === 'number' && b !== sb) || (typeof nb === 'number' && typeof sn === 'number' && nb !== sn)) {
    ctx.mismatch(`scores ${shapeToString(scores.shape)} do not match boxes ${shapeToString(boxes.shape)} (expected [batch, classes, boxes])`);
  }
  if (ctx.has(2) && (ctx.input(2).dtype !== 'int64' || numel(ctx.input(2).shape) > 1)) ctx.invalid(`max_output_boxes_per_class must be an int64 scalar`);
  for (const i of [3, 4]) if (ctx.has(i) && (ctx.input(i).dtype !== 'float32' || numel(ctx.input(i).shape) > 1)) ctx.invalid(`input ${i} must be a float32 scalar`);
  const cpb = attrInt(ctx.node, 'center_point_box', 0);
  if (cpb !== 0 && cpb !== 1) ctx.invalid(`center_point_box must be 0 or 1, got ${cpb}`);
  return { types: [{ dtype: 'int64', shape: [`${ctx.node.outputs[0]}_count`, 3] }] };
}

/** EfficientNMS (our domain): boxes [B, N, 4], scores [B, N, C], anchors [N, 4]? → count [B, 1], boxes [B, K, 4], scores [B, K], classes [B, K]. */
export function efficientNms(ctx: NodeContext): InferResult {
  const boxes = ctx.rank(0, 3);
  const scores = ctx.rank(1, 3);
  ctx.float(0);
  ctx.float(1);
  const [b, n, four] = boxes.shape;
  if (four !== 4) ctx.mismatch(`boxes must be [batch, boxes, 4], got ${shapeToString(boxes.shape)}`);
  if (scores.shape[0] !== b || scores.shape[1] !== n) ctx.mismatch(`scores ${shapeToString(scores.shape)} must be [batch, boxes, classes] for boxes ${shapeToString(boxes.shape)}`);
  if (ctx.has(2) && shapeToString(ctx.input(2).shape) !== shapeToString([n, 4])) ctx.mismatch(`anchors must be [${n}, 4], got ${shapeToString(ctx.input(2).shape)}`);
  const k = attrInt(ctx.node, 'max_output', 100);
  if (k < 1) ctx.invalid(`max_output must be ≥ 1, got ${k}`);
  const fmt = attrString(ctx.node, 'box_format', 'xyxy');
  if (fmt !== 'xyxy' && fmt !== 'cxcywh') ctx.invalid(`unknown box_format '${fmt}'`);
  return {
    types: [
      { dtype: 'int32', shape: [b, 1] },
      { dtype: 'float32', shape: [b, k, 4] },
      { dtype: 'float32', shape: [b, k] },
      { dtype: 'int32', shape: [b, k] },
    ],
  };
}

/** Whether a node is one of this family's (for callers that route by family). */
export function isVisionOp(node: Node): boolean {
  return ['Resize', 'Upsample', 'ConvTranspose', 'TopK', 'ArgMax', 'ArgMin', 'NonMaxSuppression'].includes(node.op);
}
