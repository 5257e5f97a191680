// Shape/dtype rule for RoiAlign (Mask R-CNN style region features): X [N, C, H, W], rois [R, 4] as (x1, y1, x2, y2),
// batch_indices int64 [R] → [R, C, output_height, output_width].
import { attrFloat, attrInt, attrString } from './attrs.js';
import type { InferResult, NodeContext } from './context.js';
import { shapeToString } from './types.js';

/** RoiAlign's attributes, with their defaults; the coordinate mode is opset 16's (opset 10 behaves as output_half_pixel). */
export interface RoiAlignAttrs {
  mode: 'avg' | 'max';
  outH: number;
  outW: number;
  samplingRatio: number;
  spatialScale: number;
  halfPixel: boolean;
}

/** RoiAlign's attributes of `node` at `opset`, or the message saying what is wrong with them. */
export function roiAlignAttrs(node: NodeContext['node'], opset: number): RoiAlignAttrs | string {
  const mode = attrString(node, 'mode', 'avg');
  if (mode !== 'avg' && mode !== 'max') return `mode must be 'avg' or 'max', got '${mode}'`;
  const outH = attrInt(node, 'output_height', 1);
  const outW = attrInt(node, 'output_width', 1);
  if (!(outH >= 1 && outW >= 1)) return `output_height and output_width must be positive, got ${outH} and ${outW}`;
  const samplingRatio = attrInt(node, 'sampling_ratio', 0);
  if (!(samplingRatio >= 0)) return `sampling_ratio must be 0 (adaptive) or positive, got ${samplingRatio}`;
  const spatialScale = attrFloat(node, 'spatial_scale', 1);
  if (!(spatialScale > 0 && Number.isFinite(spatialScale))) return `spatial_scale must be positive, got ${spatialScale}`;
  const coord = opset >= 16 ? attrString(node, 'coordinate_transformation_mode', 'half_pixel') : 'output_half_pixel';
  if (coord !== 'half_pixel' && coord !== 'output_half_pixel') return `coordinate_transformation_mode must be 'half_pixel' or 'output_half_pixel', got '${coord}'`;
  return { mode, outH, outW, samplingRatio, spatialScale, halfPixel: coord === 'half_pixel' };
}

/** RoiAlign(X, rois, batch_indices): one [C, output_height, output_width] feature per region. */
export function roiAlign(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  if (x.shape.length !== 4) ctx.mismatch(`X must be [N, C, H, W], got ${shapeToString(x.shape)}`);
  ctx.sameDtype(0, 1);
  const rois = ctx.input(1);
  const idx = ctx.input(2);
  if (idx.dtype !== 'int64') ctx.invalid(`batch_indices must be int64, got ${idx.dtype}`);
  if (rois.shape.length !== 2 || rois.shape[1] !== 4) ctx.mismatch(`rois must be [num_rois, 4], got ${shapeToString(rois.shape)}`);
  if (idx.shape.length !== 1) ctx.mismatch(`batch_indices must be 1-D, got ${shapeToString(idx.shape)}`);
  const [r, n] = [rois.shape[0], idx.shape[0]];
  if (typeof r === 'number' && typeof n === 'number' && r !== n) ctx.mismatch(`${r} rois but ${n} batch_indices`);
  const a = roiAlignAttrs(ctx.node, ctx.opset);
  if (typeof a === 'string') ctx.invalid(a);
  return { types: [{ dtype: x.dtype, shape: [rois.shape[0], x.shape[1], a.outH, a.outW] }] };
}
