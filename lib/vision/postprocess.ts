// buildEngine's `postprocess.nms`: validated options, and the graph rewrite that appends the EfficientNMS stage to a
// model whose outputs are raw boxes and scores (separate outputs, or one YOLO-style [B, 4+C, N] / [B, N, 4+C]).
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { FUSED_DOMAIN, shapeToString, type Dim, type Node } from '../ir/types.js';
import { NMS_MAX_OUTPUT, type EfficientNmsParams } from '../reference/efficient-nms.js';
import { boolean, finiteNumber, invalid, knownKeys, nonEmptyString, oneOf, plainObject, positiveInteger } from '../validate.js';

export interface NmsOptions {
  /** Output holding boxes [B, N, 4]; with `scores`. Omitted: found from the model's outputs. */
  boxes?: string;
  /** Output holding scores [B, N, C]. */
  scores?: string;
  /** For a single combined output: 'channels-first' is [B, 4+C, N] (YOLOv8), 'channels-last' [B, N, 4+C]. */
  layout?: 'auto' | 'channels-first' | 'channels-last';
  /** Box coding: corners or centre-size (YOLO). Default 'cxcywh' for a combined output, else 'xyxy'. */
  boxFormat?: 'xyxy' | 'cxcywh';
  /** Anchors [N, 4] in `boxFormat`: boxes are then offsets (corners) or SSD-style deltas (centre-size). */
  anchors?: Float32Array;
  /** Detections per image (fixed size K of the outputs); default 100. */
  maxOutput?: number;
  scoreThreshold?: number;
  iouThreshold?: number;
  classAgnostic?: boolean;
}

export interface PostprocessOptions {
  nms?: NmsOptions;
}

/** The names of the stage's outputs, as the engine reports them. */
export const NMS_OUTPUTS = ['num_detections', 'det_boxes', 'det_scores', 'det_classes'] as const;

/**
 * Checks `postprocess` options like every build option (coded ERR_INVALID_ARGUMENT messages).
 * @example resolvePostprocess({ nms: { maxOutput: 100, scoreThreshold: 0.25 } })
 */
export function resolvePostprocess(v: unknown): { nms?: NmsOptions & EfficientNmsParams } {
  const o = plainObject(v, 'postprocess');
  knownKeys(o, 'postprocess', ['nms']);
  if (o.nms === undefined) return {};
  const n = plainObject(o.nms, 'postprocess.nms');
  knownKeys(n, 'postprocess.nms', ['boxes', 'scores', 'layout', 'boxFormat', 'anchors', 'maxOutput', 'scoreThreshold', 'iouThreshold', 'classAgnostic']);
  const boxes = n.boxes === undefined ? undefined : nonEmptyString(n.boxes, 'postprocess.nms.boxes');
  const scores = n.scores === undefined ? undefined : nonEmptyString(n.scores, 'postprocess.nms.scores');
  if ((boxes === undefined) !== (scores === undefined)) invalid('both boxes and scores output names (or neither)', 'postprocess.nms.boxes', boxes ?? scores);
  const maxOutput = n.maxOutput === undefined ? 100 : positiveInteger(n.maxOutput, 'postprocess.nms.maxOutput');
  if (maxOutput > NMS_MAX_OUTPUT) invalid(`an integer from 1 to ${NMS_MAX_OUTPUT}`, 'postprocess.nms.maxOutput', maxOutput);
  const unit = (x: unknown, name: string, def: number) => {
    const f = x === undefined ? def : finiteNumber(x, name);
    if (f < 0 || f > 1) invalid('a number from 0 to 1', name, f);
    return f;
  };
  if (n.anchors !== undefined && !(n.anchors instanceof Float32Array)) invalid('a Float32Array', 'postprocess.nms.anchors', n.anchors);
  return {
    nms: {
      boxes,
      scores,
      layout: n.layout === undefined ? 'auto' : oneOf(n.layout, 'postprocess.nms.layout', ['auto', 'channels-first', 'channels-last'] as const),
      boxFormat: n.boxFormat === undefined ? (boxes ? 'xyxy' : 'cxcywh') : oneOf(n.boxFormat, 'postprocess.nms.boxFormat', ['xyxy', 'cxcywh'] as const),
      anchors: n.anchors as Float32Array | undefined,
      maxOutput,
      scoreThreshold: unit(n.scoreThreshold, 'postprocess.nms.scoreThreshold', 0.25),
      iouThreshold: unit(n.iouThreshold, 'postprocess.nms.iouThreshold', 0.45),
      classAgnostic: n.classAgnostic === undefined ? false : boolean(n.classAgnostic, 'postprocess.nms.classAgnostic'),
    },
  };
}

function fail(msg: string): never {
  throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `postprocess.nms: ${msg}`);
}

/**
 * A copy of `graph` whose outputs are the NMS stage's num_detections [B, 1] (int32), det_boxes [B, K, 4],
 * det_scores [B, K] and det_classes [B, K] (int32), computed from the model's raw boxes and scores.
 * @example const g = appendNms(parseModel(bytes), resolvePostprocess({ nms: {} }).nms!);
 */
export function appendNms(source: Graph, o: NmsOptions & EfficientNmsParams): Graph {
  const g = source.clone();
  inferShapes(g);
  const shapeOf = (name: string): Dim[] => {
    const t = g.types.get(name);
    if (!t) fail(`the model has no output '${name}'; its outputs are ${g.outputs.map((x) => `'${x.name}'`).join(', ')}`);
    if (t.dtype !== 'float32' && t.dtype !== 'float16') fail(`output '${name}' is ${t.dtype}; boxes and scores must be float`);
    return t.shape;
  };
  const nodes: Node[] = [];
  const node = (op: string, inputs: string[], attrs: Node['attrs'] = {}, domain = ''): string => {
    const out = g.uniqueName(`nms_${op.toLowerCase()}`);
    nodes.push({ name: g.uniqueName(`postprocess_${op}`), op, domain, inputs, outputs: [out], attrs });
    return out;
  };
  const int64 = (name: string, v: number[]): string => {
    const n = g.uniqueName(name);
    g.initializers.set(n, { name: n, dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v, BigInt) });
    return n;
  };
  let boxes: string;
  let scores: string;
  let count: Dim;
  if (o.boxes && o.scores) {
    const bs = shapeOf(o.boxes);
    const ss = shapeOf(o.scores);
    if (bs.length !== 3 || bs[2] !== 4) fail(`boxes output '${o.boxes}' must be [batch, boxes, 4], got ${shapeToString(bs)}`);
    if (ss.length !== 3 || ss[1] !== bs[1]) fail(`scores output '${o.scores}' must be [batch, ${bs[1]}, classes], got ${shapeToString(ss)}`);
    [boxes, scores, count] = [o.boxes, o.scores, bs[1]];
  } else if (g.outputs.length === 1) {
    const name = g.outputs[0].name;
    const s = shapeOf(name);
    if (s.length !== 3 || typeof s[1] !== 'number' || typeof s[2] !== 'number') fail(`output '${name}' ${shapeToString(s)} is not [batch, 4+classes, boxes] or [batch, boxes, 4+classes]`);
    const first = o.layout === 'channels-first' || (o.layout === 'auto' && (s[1] as number) < (s[2] as number));
    const ch = (first ? s[1] : s[2]) as number;
    count = first ? s[2] : s[1];
    if (ch < 5) fail(`output '${name}' ${shapeToString(s)} has ${ch} channels; it needs 4 box values and at least one class`);
    const rows = first ? node('Transpose', [name], { perm: [0, 2, 1] }) : name;
    const [ax, zero, four, end] = [int64('nms_axis', [2]), int64('nms_0', [0]), int64('nms_4', [4]), int64('nms_end', [ch])];
    boxes = node('Slice', [rows, zero, four, ax]);
    scores = node('Slice', [rows, four, end, ax]);
  } else {
    const cands = g.outputs.filter((x) => shapeOf(x.name).length === 3);
    const b = cands.filter((x) => shapeOf(x.name)[2] === 4);
    const s = cands.filter((x) => shapeOf(x.name)[2] !== 4);
    if (b.length !== 1 || s.length !== 1) fail(`cannot tell the boxes and scores outputs apart among ${g.outputs.map((x) => `'${x.name}'`).join(', ')}; name them with boxes and scores`);
    [boxes, scores, count] = [b[0].name, s[0].name, shapeOf(b[0].name)[1]];
  }
  const inputs = [boxes, scores];
  if (o.anchors) {
    const n = count;
    if (typeof n !== 'number' || o.anchors.length !== n * 4) fail(`anchors hold ${o.anchors.length} values; the model has ${String(n)} boxes (${Number(n) * 4} values)`);
    const name = g.uniqueName('nms_anchors');
    g.initializers.set(name, { name, dtype: 'float32', dims: [n, 4], data: o.anchors });
    inputs.push(name);
  }
  const outs = NMS_OUTPUTS.map((x) => g.uniqueName(x));
  nodes.push({
    name: g.uniqueName('postprocess_nms'), op: 'EfficientNMS', domain: FUSED_DOMAIN, inputs, outputs: outs,
    attrs: { box_format: o.boxFormat, max_output: o.maxOutput, score_threshold: o.scoreThreshold, iou_threshold: o.iouThreshold, class_agnostic: o.classAgnostic ? 1 : 0 },
  });
  g.nodes.push(...nodes);
  g.outputs = outs.map((name, i) => ({ name, type: { dtype: i === 1 || i === 2 ? 'float32' : 'int32', shape: [] } }));
  inferShapes(g);
  return g;
}
