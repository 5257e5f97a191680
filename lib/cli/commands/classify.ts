// `node-tensorrt classify model image…`: decode, preprocess into the pinned input, infer, print top-k and timings.
import { open } from 'node:fs/promises';
import { Command } from 'commander';
import type { Engine } from '../../engine.js';
import { ErrorCode, TensorRTError } from '../../errors.js';
import { decodeImage, imageFormat } from '../../image/decode.js';
import { loadLabels } from '../../image/labels.js';
import { normalize, PRESETS, type Preset } from '../../image/normalize.js';
import { imageInputSpec } from '../../image/preprocess.js';
import { topK, type Prediction } from '../../image/topk.js';
import { RESAMPLES, resolveResizeCrop, transform, type Resample } from '../../image/transform.js';
import { labelsForClasses } from '../../vision/labels.js';
import { rowElements } from '../../tensor.js';
import { readInputFile } from '../../util/fs.js';
import { parseChoice, parseIntegerArg } from '../args.js';
import { addBuildFlags, resolveBuildFlags, type RawBuildFlags } from '../build-flags.js';
import { addCacheFlags, openEngine } from '../cache.js';
import { formatMs, table } from '../format.js';
import { println, type CliIO } from '../io.js';

interface ClassifyFlags extends RawBuildFlags {
  labels?: string;
  top?: string;
  preset?: string;
  resize?: string;
  resample?: string;
  batch?: string;
  cacheDir?: string;
  cache?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** One image's result. */
export interface Classification {
  image: string;
  predictions: Prediction[];
}

/**
 * The `classify` command.
 * @example program.addCommand(classifyCommand(processIO()));
 */
export function classifyCommand(io: CliIO): Command {
  const cmd = new Command('classify')
    .description('classify images with an image-classification model (ONNX, built and cached, or a plan file)')
    .argument('<model>', 'ONNX model or plan file')
    .argument('<images...>', 'JPEG or PNG files')
    .option('--labels <file>', 'class labels: one per line, ImageNet synset lines, or JSON')
    .option('--top <k>', 'classes to show per image', '5')
    .option('--preset <name>', `normalization: ${PRESETS.join(', ')}`, 'imagenet')
    .option('--resize <px>', 'shorter side before the centre crop (default: crop / 0.875, e.g. 256 for 224)')
    .option('--resample <filter>', `resize filter: ${RESAMPLES.join(', ')}`, 'bilinear')
    .option('--batch <n>', 'images per inference (default: as many as the engine takes)')
    .option('--json', 'print JSON');
  addBuildFlags(cmd);
  addCacheFlags(cmd);
  return cmd.action(async (model: string, images: string[], flags: ClassifyFlags) => {
    const k = parseIntegerArg(flags.top ?? '5', '--top');
    const preset = parseChoice(flags.preset ?? 'imagenet', '--preset', PRESETS) as Preset;
    const resample = parseChoice(flags.resample ?? 'bilinear', '--resample', RESAMPLES) as Resample;
    const resize = flags.resize === undefined ? undefined : parseIntegerArg(flags.resize, '--resize');
    const batchFlag = flags.batch === undefined ? undefined : parseIntegerArg(flags.batch, '--batch');
    const buildOptions = resolveBuildFlags(flags);
    const modelBytes = await readInputFile(model, 'model');
    const labels = flags.labels === undefined ? undefined : await loadLabels(flags.labels);
    // Refuse files that are not images before spending a build on them.
    for (const image of images) await sniffImage(image);

    const t0 = performance.now();
    // From the model's path: external data beside it is read.
    const { engine, source } = await openEngine(model, modelBytes, buildOptions, { ...flags, quiet: flags.quiet || flags.json }, io, true);
    const engineMs = performance.now() - t0;
    try {
      const results = await classifyImages(engine, images, { k, preset, resample, resize, batch: batchFlag, labels, warn: (m) => println(io.err, `warning: ${m}`) });
      const engineLine = `${engine.backend} ${engine.precision.toUpperCase()}${engine.device >= 0 ? ` on GPU ${engine.device}` : ' on CPU'}, ${source} (${formatMs(engineMs)})`;
      if (flags.json) {
        println(io.out, JSON.stringify({ model, engine: { backend: engine.backend, precision: engine.precision, device: engine.device, source, ms: engineMs }, ...results }, null, 2));
        return;
      }
      println(io.out, `engine: ${engineLine}`);
      for (const r of results.images) {
        println(io.out, r.image);
        const rows = r.predictions.map((p, i) => [`${i + 1}.`, p.label ?? `class ${p.index}`, `${(100 * p.probability).toFixed(2)}%`.padStart(7)]);
        for (const l of table(rows, '  ')) println(io.out, l);
      }
      const t = results.timing;
      println(
        io.out,
        `${results.images.length} image${results.images.length === 1 ? '' : 's'} (batch ${t.batch}): preprocess ${formatMs(t.preprocessMsPerImage)}/image, ` +
          `inference ${formatMs(t.inferenceMsPerImage)}/image (${engine.device >= 0 ? 'GPU ' : ''}compute ${formatMs(t.computeMsPerImage)}/image)`,
      );
    } finally {
      engine.dispose({ contexts: true });
    }
  });
}

/** ERR_IMAGE_DECODE (or ERR_IO) now for a file that does not even start like an image. */
async function sniffImage(file: string): Promise<void> {
  const head = new Uint8Array(16);
  let n: number;
  try {
    const fh = await open(file, 'r');
    try {
      n = (await fh.read(head, 0, head.length, 0)).bytesRead;
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new TensorRTError(ErrorCode.IO, `Could not read the image ${file}: ${(e as Error).message}`, { cause: e });
  }
  // decodeImage words the error (what was expected, what the file starts with).
  if (!imageFormat(head.subarray(0, n))) await decodeImage(head.subarray(0, n), { name: file });
}

export interface ClassifyTiming {
  batch: number;
  preprocessMsPerImage: number;
  /** Wall time of ctx.run (copies in, compute, copies out) per image. */
  inferenceMsPerImage: number;
  /** Device compute time per image, from the context's events. */
  computeMsPerImage: number;
}

/**
 * Classifies image files with an engine whose only input is an RGB image and whose first output holds the
 * class scores: batches them into a context's pinned input, then ranks each row. Times exclude one warm-up run.
 * @example const { images } = await classifyImages(engine, ['cat.jpg'], { k: 3, preset: 'imagenet', labels });
 */
export async function classifyImages(
  engine: Engine,
  images: readonly string[],
  o: { k: number; preset: Preset; resample?: Resample; resize?: number; batch?: number; labels?: readonly string[]; warn?: (m: string) => void },
): Promise<{ images: Classification[]; timing: ClassifyTiming }> {
  if (engine.inputs.length !== 1) {
    throw new TensorRTError(ErrorCode.INVALID_INPUT, `classify needs a model with one image input; this one has ${engine.inputs.length} (${engine.inputs.map((t) => t.name).join(', ')})`);
  }
  const input = engine.inputs[0];
  if (input.dtype !== 'float32') throw new TensorRTError(ErrorCode.INVALID_INPUT, `classify needs a float32 image input; '${input.name}' is ${input.dtype}`);
  const spec = imageInputSpec(input);
  const geometry = resolveResizeCrop({ size: spec.size, resize: o.resize, resample: o.resample });
  const output = engine.outputs[0];
  const classes = rowElements(output.shape);
  // Without --labels, a shipped set that fits the class count (1000 or 1001: ImageNet).
  o = { ...o, labels: o.labels ?? labelsForClasses(classes) };
  let labelOffset = 0;
  if (o.labels && o.labels.length !== classes) {
    if (o.labels.length === classes - 1) labelOffset = 1;
    else o.warn?.(`the labels have ${o.labels.length} entries but '${output.name}' has ${classes} classes`);
  }
  const batch = Math.min(o.batch ?? engine.profile.max, engine.profile.max, images.length);
  if (batch < engine.profile.min) {
    throw new TensorRTError(ErrorCode.BATCH_OUT_OF_RANGE, `The engine needs batches of at least ${engine.profile.min} but there ${images.length === 1 ? 'is 1 image' : `are ${images.length} images`}`);
  }
  const ctx = await engine.createContext({ maxBatch: batch });
  try {
    const pinned = ctx.inputs[input.name] as Float32Array;
    const scores = ctx.outputs[output.name];
    if (!(scores instanceof Float32Array)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `classify needs float32 scores; '${output.name}' is ${output.dtype}`);
    const results: Classification[] = [];
    let preMs = 0;
    let runMs = 0;
    let computeMs = 0;
    for (let first = 0; first < images.length; first += batch) {
      const chunk = images.slice(first, first + batch);
      const tp = performance.now();
      for (let row = 0; row < chunk.length; row++) {
        const rgba = await transform(await decodeImage(chunk[row]), geometry);
        normalize(rgba, { preset: o.preset, layout: spec.layout, out: pinned, row });
      }
      preMs += performance.now() - tp;
      if (first === 0) await ctx.run({ batch: chunk.length });
      const tr = performance.now();
      await ctx.run({ batch: chunk.length });
      runMs += performance.now() - tr;
      computeMs += ctx.lastTimings.computeMs;
      for (let row = 0; row < chunk.length; row++) {
        const predictions = topK(scores, o.k, { labels: o.labels, labelOffset, row, classes, softmax: 'auto' });
        results.push({ image: chunk[row], predictions });
      }
    }
    const n = images.length;
    return { images: results, timing: { batch, preprocessMsPerImage: preMs / n, inferenceMsPerImage: runMs / n, computeMsPerImage: computeMs / n } };
  } finally {
    ctx.dispose();
  }
}
