// Detection and segmentation on one image through an inference context: letterbox or resize into the pinned input,
// run, then boxes in the original image's pixels (NMS on the device when the engine has the stage, else on the
// host with the same rules) or a class map at the image's size.
import type { InferenceContext } from '../context.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import { decodeImage, type ImageSource, type RgbaImage } from '../image/decode.js';
import { normalize, type Preset } from '../image/normalize.js';
import { imageInputSpec } from '../image/preprocess.js';
import { transform } from '../image/transform.js';
import { efficientNms, type NmsResult } from '../reference/efficient-nms.js';
import { boolean, finiteNumber, knownKeys, oneOf, plainObject, positiveInteger } from '../validate.js';
import { labelsForClasses } from './labels.js';
import { letterbox, unletterbox } from './letterbox.js';
import { NMS_OUTPUTS } from './postprocess.js';

/** One detected object, in the original image's pixels. */
export interface Detection {
  box: [number, number, number, number];
  score: number;
  label: string;
  classIndex: number;
}

export interface DetectOptions {
  /** Class names (default: a shipped set chosen by the class count, else "class N"). */
  labels?: readonly string[];
  scoreThreshold?: number;
  /** Used when the engine has no NMS stage (raw YOLO-style output): NMS then runs on the host. */
  iouThreshold?: number;
  maxDetections?: number;
  classAgnostic?: boolean;
  /** Pixel normalization (default 'none': RGB / 255, as YOLO models take). */
  preset?: Preset;
}

function inputOf(ctx: InferenceContext) {
  const inputs = ctx.engine.inputs;
  if (inputs.length !== 1) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Expected a model with one image input; this one has ${inputs.length} (${inputs.map((t) => t.name).join(', ')})`);
  if (inputs[0].dtype !== 'float32') throw new TensorRTError(ErrorCode.INVALID_INPUT, `Expected a float32 image input; '${inputs[0].name}' is ${inputs[0].dtype}`);
  return { info: inputs[0], spec: imageInputSpec(inputs[0]) };
}

function labelOf(labels: readonly string[] | undefined, i: number): string {
  return labels?.[i] ?? `class ${i}`;
}

/**
 * Detects objects in one image: [{ box: [x1, y1, x2, y2], score, label }] in the image's pixels, best first.
 * @example const dets = await detect(ctx, 'street.jpg', { scoreThreshold: 0.3 }); // [{ box: [12, 40, 200, 310], score: 0.91, label: 'person', classIndex: 0 }]
 */
export async function detect(ctx: InferenceContext, image: ImageSource, options: DetectOptions = {}): Promise<Detection[]> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'detect options', ['labels', 'scoreThreshold', 'iouThreshold', 'maxDetections', 'classAgnostic', 'preset']);
  const unit = (v: unknown, name: string, def: number) => {
    const f = v === undefined ? def : finiteNumber(v, name);
    if (f < 0 || f > 1) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a number from 0 to 1 for ${name} but received ${f}`);
    return f;
  };
  const scoreThreshold = unit(o.scoreThreshold, 'scoreThreshold', 0.25);
  const iouThreshold = unit(o.iouThreshold, 'iouThreshold', 0.45);
  const maxDetections = o.maxDetections === undefined ? 100 : positiveInteger(o.maxDetections, 'maxDetections');
  const classAgnostic = o.classAgnostic === undefined ? false : boolean(o.classAgnostic, 'classAgnostic');
  const preset = o.preset === undefined ? 'none' : (o.preset as Preset);
  const { info, spec } = inputOf(ctx);
  const rgba = await decodeImage(image);
  const [h, w] = spec.size;
  const { image: boxed, geometry } = await letterbox(rgba, w, h);
  normalize(boxed, { preset, layout: spec.layout, out: ctx.inputs[info.name] as Float32Array, row: 0 });
  await ctx.run({ batch: 1 });
  const names = ctx.engine.outputs.map((t) => t.name);
  let r: NmsResult;
  let classes: number;
  if (NMS_OUTPUTS.every((n, i) => names[i]?.startsWith(n))) {
    // The engine ends in the NMS stage: its fixed-size outputs, row 0.
    const k = (ctx.outputs[names[2]] as Float32Array).length / ctx.maxBatch;
    r = {
      count: (ctx.outputs[names[0]] as Int32Array).slice(0, 1),
      boxes: (ctx.outputs[names[1]] as Float32Array).slice(0, k * 4),
      scores: (ctx.outputs[names[2]] as Float32Array).slice(0, k),
      classes: (ctx.outputs[names[3]] as Int32Array).slice(0, k),
    };
    classes = 0; // the stage hides the class count: labels come from the caller
  } else {
    const out = ctx.engine.outputs[0];
    const raw = ctx.outputs[out.name];
    const [, a, b] = out.shape as number[];
    if (out.shape.length !== 3 || !(raw instanceof Float32Array)) {
      throw new TensorRTError(ErrorCode.INVALID_INPUT, `detect needs an engine built with postprocess.nms, or a raw YOLO-style output [batch, 4+classes, boxes]; '${out.name}' is ${out.dtype} [${out.shape.join(', ')}]`);
    }
    const first = a < b;
    const [ch, n] = first ? [a, b] : [b, a];
    classes = ch - 4;
    const boxes = new Float32Array(n * 4);
    const scores = new Float32Array(n * classes);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < ch; k++) {
        const v = first ? raw[k * n + i] : raw[i * ch + k];
        if (k < 4) boxes[i * 4 + k] = v;
        else scores[i * classes + k - 4] = v;
      }
    r = efficientNms(boxes, scores, undefined, 1, n, classes, { boxFormat: 'cxcywh', maxOutput: Math.min(maxDetections, 1024), scoreThreshold, iouThreshold, classAgnostic });
  }
  const labels = (o.labels as readonly string[] | undefined) ?? labelsForClasses(classes);
  const dets: Detection[] = [];
  for (let j = 0; j < r.count[0] && dets.length < maxDetections; j++) {
    if (r.scores[j] < scoreThreshold) continue;
    dets.push({ box: unletterbox(r.boxes.subarray(j * 4, j * 4 + 4), geometry), score: r.scores[j], label: labelOf(labels, r.classes[j]), classIndex: r.classes[j] });
  }
  return dets;
}

export interface Segmentation {
  width: number;
  height: number;
  /** Class index per pixel of the original image, row-major. */
  classMap: Uint16Array;
  /** Pixels per class present, with its label, most first. */
  classes: { classIndex: number; label: string; pixels: number }[];
}

/**
 * Segments one image with a model whose first output is per-class scores [1, C, H, W]: a class map at the image's
 * size (the argmax at the model's size, scaled back by nearest neighbour).
 * @example const { classMap, classes } = await segment(ctx, 'street.jpg'); // classes[0].label === 'background'
 */
export async function segment(ctx: InferenceContext, image: ImageSource, options: { labels?: readonly string[]; preset?: Preset } = {}): Promise<Segmentation> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'segment options', ['labels', 'preset']);
  const preset = o.preset === undefined ? 'imagenet' : oneOf(o.preset, 'preset', ['imagenet', 'mobilenet', 'keras', 'caffe', 'none'] as const);
  const { info, spec } = inputOf(ctx);
  const rgba: RgbaImage = await decodeImage(image);
  const [h, w] = spec.size;
  const resized = await transform(rgba, { size: [h, w], resize: 'stretch', resample: 'bilinear' });
  normalize(resized, { preset, layout: spec.layout, out: ctx.inputs[info.name] as Float32Array, row: 0 });
  await ctx.run({ batch: 1 });
  const out = ctx.engine.outputs[0];
  const scores = ctx.outputs[out.name];
  const [, c, oh, ow] = out.shape as number[];
  if (out.shape.length !== 4 || !(scores instanceof Float32Array)) {
    throw new TensorRTError(ErrorCode.INVALID_INPUT, `segment needs float32 scores [batch, classes, height, width]; '${out.name}' is ${out.dtype} [${out.shape.join(', ')}]`);
  }
  const small = new Uint16Array(oh * ow);
  for (let p = 0; p < oh * ow; p++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (scores[k * oh * ow + p] > scores[best * oh * ow + p]) best = k;
    small[p] = best;
  }
  const classMap = new Uint16Array(rgba.width * rgba.height);
  const counts = new Map<number, number>();
  for (let y = 0; y < rgba.height; y++) {
    const sy = Math.min(oh - 1, Math.floor(((y + 0.5) * oh) / rgba.height));
    for (let x = 0; x < rgba.width; x++) {
      const v = small[sy * ow + Math.min(ow - 1, Math.floor(((x + 0.5) * ow) / rgba.width))];
      classMap[y * rgba.width + x] = v;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  const labels = (o.labels as readonly string[] | undefined) ?? labelsForClasses(c);
  const classes = [...counts].sort((a, b) => b[1] - a[1]).map(([classIndex, pixels]) => ({ classIndex, label: labelOf(labels, classIndex), pixels }));
  return { width: rgba.width, height: rgba.height, classMap, classes };
}
