// Shape/dtype rules of the sampling operators: RoiAlign (Mask R-CNN style region features: X [N, C, H, W], rois
// [R, 4] as (x1, y1, x2, y2), batch_indices int64 [R] → [R, C, output_height, output_width]) and GridSample (X
// [N, C, H, W] sampled at grid [N, H_out, W_out, 2] of normalized (x, y) → [N, C, H_out, W_out]), and AffineGrid,
// which makes such grids: theta [N, 2, 3] (or [N, 3, 4]) applied to the normalized pixel centres of a size.
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

/** GridSample's attributes: opset 16's mode names (bilinear, bicubic) are opset 20's linear and cubic. */
export interface GridSampleAttrs {
  mode: 'linear' | 'nearest' | 'cubic';
  padding: 'zeros' | 'border' | 'reflection';
  alignCorners: boolean;
}

/** GridSample's attributes of `node`, or the message saying what is wrong (a mode this project does not run). */
export function gridSampleAttrs(node: NodeContext['node']): GridSampleAttrs | { invalid: string } | { unsupported: string } {
  const raw = attrString(node, 'mode', 'bilinear');
  const mode = raw === 'bilinear' ? 'linear' : raw === 'bicubic' ? 'cubic' : raw;
  if (mode !== 'linear' && mode !== 'nearest' && mode !== 'cubic') return { invalid: `unknown mode '${raw}'` };
  const padding = attrString(node, 'padding_mode', 'zeros');
  if (padding !== 'zeros' && padding !== 'border' && padding !== 'reflection') return { invalid: `unknown padding_mode '${padding}'` };
  return { mode, padding, alignCorners: attrInt(node, 'align_corners', 0) !== 0 };
}

/** GridSample(X, grid): X [N, C, H, W] sampled at grid [N, H_out, W_out, 2] → [N, C, H_out, W_out]. */
export function gridSample(ctx: NodeContext): InferResult {
  const x = ctx.float(0);
  const grid = ctx.float(1);
  if (x.shape.length !== 4) ctx.unsupported(`a ${x.shape.length}-D input (only [N, C, H, W] is supported)`);
  if (grid.shape.length !== 4 || grid.shape[3] !== 2) ctx.mismatch(`grid must be [N, H_out, W_out, 2], got ${shapeToString(grid.shape)}`);
  const [n, gn] = [x.shape[0], grid.shape[0]];
  if (typeof n === 'number' && typeof gn === 'number' && n !== gn) ctx.mismatch(`grid has ${gn} batch entries for an input of ${n}`);
  const a = gridSampleAttrs(ctx.node);
  if ('invalid' in a) ctx.invalid(a.invalid);
  if ('unsupported' in a) ctx.unsupported(a.unsupported);
  return { types: [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], grid.shape[1], grid.shape[2]] }] };
}

/** The largest AffineGrid made (its base grid is built on the host: 2²⁴ points, 256 MiB as float64 for 3-D). */
const MAX_GRID_POINTS = 1 << 24;

/** AffineGrid's output sizes [H, W] or [D, H, W] from its size input [N, C, (D,) H, W] (static). */
export function affineGridSize(ctx: NodeContext): number[] {
  const size = ctx.dims(1, 'size');
  if (size.length !== 4 && size.length !== 5) ctx.mismatch(`size must hold 4 or 5 values, got ${size.length}`);
  const spatial = size.slice(2);
  if (!spatial.every((d): d is number => typeof d === 'number' && d >= 1)) ctx.unsupported(`spatial sizes ${spatial.join(', ')}: they must be static and positive`);
  const points = (spatial as number[]).reduce((a, b) => a * b, 1);
  if (points > MAX_GRID_POINTS) ctx.unsupported(`a grid of ${points} points (at most ${MAX_GRID_POINTS})`);
  return spatial as number[];
}

/** AffineGrid(theta, size) (opset 20): grid [N, H, W, 2] from theta [N, 2, 3], or [N, D, H, W, 3] from [N, 3, 4]. */
export function affineGrid(ctx: NodeContext): InferResult {
  const theta = ctx.float(0);
  const spatial = affineGridSize(ctx);
  const k = spatial.length;
  if (theta.shape.length !== 3 || (typeof theta.shape[1] === 'number' && theta.shape[1] !== k) || (typeof theta.shape[2] === 'number' && theta.shape[2] !== k + 1)) {
    ctx.mismatch(`theta must be [N, ${k}, ${k + 1}] for a ${k}-D size, got ${shapeToString(theta.shape)}`);
  }
  const n = ctx.dims(1, 'size')[0];
  if (typeof n === 'number' && typeof theta.shape[0] === 'number' && n !== theta.shape[0]) ctx.mismatch(`size's batch ${n} differs from theta's ${theta.shape[0]}`);
  const ac = attrInt(ctx.node, 'align_corners', 0);
  if (ac !== 0 && ac !== 1) ctx.invalid(`align_corners must be 0 or 1, got ${ac}`);
  return { types: [{ dtype: theta.dtype, shape: [theta.shape[0], ...spatial, k] }] };
}

/** The normalized coordinate of pixel i of n in [−1, 1]: its centre, or its corner grid with align_corners. */
export function gridCoordinate(i: number, n: number, alignCorners: boolean): number {
  if (alignCorners) return n === 1 ? -1 : -1 + (2 * i) / (n - 1);
  return -1 + (2 * i + 1) / n;
}

/** The homogeneous base grid of AffineGrid, [points][k + 1]: (x, y, (z,) 1) with x fastest, as a flat array. */
export function affineBase(spatial: number[], alignCorners: boolean): Float64Array {
  const k = spatial.length;
  const points = spatial.reduce((a, b) => a * b, 1);
  const out = new Float64Array(points * (k + 1));
  for (let p = 0; p < points; p++) {
    let rest = p;
    // Coordinates are listed x (the last, fastest dim) first.
    for (let d = k - 1, c = 0; d >= 0; d--, c++) {
      out[p * (k + 1) + c] = gridCoordinate(rest % spatial[d], spatial[d], alignCorners);
      rest = Math.floor(rest / spatial[d]);
    }
    out[p * (k + 1) + k] = 1;
  }
  return out;
}
