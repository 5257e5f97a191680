// `node-tensorrt detect model image -o out.png` and `node-tensorrt segment model image -o out.png`: build (cached)
// or load the engine, run one image, draw the answer, print the table (or JSON).
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { BuildOptions } from '../../types.js';
import type { Engine } from '../../engine.js';
import { ErrorCode, TensorRTError } from '../../errors.js';
import { decodeImage } from '../../image/decode.js';
import { loadLabels } from '../../image/labels.js';
import { isPlan } from '../../plan.js';
import { readInputFile } from '../../util/fs.js';
import { drawDetections, drawMask, encodePng } from '../../vision/draw.js';
import { parseIntegerArg } from '../args.js';
import { addBuildFlags, resolveBuildFlags, type RawBuildFlags } from '../build-flags.js';
import { addCacheFlags, openEngine } from '../cache.js';
import { formatMs, table } from '../format.js';
import { println, type CliIO } from '../io.js';

interface VisionFlags extends RawBuildFlags {
  output?: string;
  labels?: string;
  score?: string;
  iou?: string;
  max?: string;
  nms?: string;
  cacheDir?: string;
  cache?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function unitArg(v: string, name: string): number {
  const f = Number(v);
  if (!Number.isFinite(f) || f < 0 || f > 1) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a number from 0 to 1 for ${name} but received '${v}'`);
  return f;
}

/** The engine for `model`: a plan is loaded; ONNX is built (with `extra` options) through the cache. */
async function engineFor(model: string, flags: VisionFlags, io: CliIO, extra: Partial<BuildOptions>): Promise<{ engine: Engine; source: string }> {
  const bytes = await readInputFile(model, 'model');
  return openEngine(model, bytes, { ...resolveBuildFlags(flags), ...extra }, { ...flags, quiet: flags.quiet || flags.json }, io);
}

/** A shipped label set for an ONNX detector's raw [batch, 4+classes, boxes] output (the NMS stage hides the count). */
async function labelsFromModel(model: string): Promise<string[] | undefined> {
  const bytes = await readInputFile(model, 'model');
  if (isPlan(bytes)) return undefined;
  const { parseModel } = await import('../../onnx/index.js');
  const { labelsForClasses } = await import('../../vision/labels.js');
  const s = parseModel(bytes).outputs[0]?.type.shape ?? [];
  if (s.length !== 3 || typeof s[1] !== 'number' || typeof s[2] !== 'number') return undefined;
  return labelsForClasses(Math.min(s[1], s[2]) - 4);
}

function common(cmd: Command): Command {
  cmd
    .option('-o, --output <file>', 'write the picture (PNG) here')
    .option('--labels <file>', 'class labels (default: COCO, VOC or ImageNet, chosen by the class count)')
    .option('--json', 'print JSON');
  addBuildFlags(cmd);
  addCacheFlags(cmd);
  return cmd;
}

/**
 * The `detect` command.
 * @example program.addCommand(detectCommand(processIO()));
 */
export function detectCommand(io: CliIO): Command {
  const cmd = new Command('detect')
    .description('detect objects in an image with a YOLO-style detector (raw [batch, 4+classes, boxes] output); draws boxes with labels')
    .argument('<model>', 'ONNX model or plan file')
    .argument('<image>', 'JPEG or PNG file')
    .option('--score <t>', 'score threshold', '0.25')
    .option('--iou <t>', 'NMS IoU threshold', '0.45')
    .option('--max <n>', 'detections at most', '100')
    .option('--nms <where>', "'device' (the engine's NMS stage) or 'host'", 'device');
  return common(cmd).action(async (model: string, image: string, flags: VisionFlags) => {
    const scoreThreshold = unitArg(flags.score ?? '0.25', '--score');
    const iouThreshold = unitArg(flags.iou ?? '0.45', '--iou');
    const max = parseIntegerArg(flags.max ?? '100', '--max');
    if (flags.nms !== 'device' && flags.nms !== 'host' && flags.nms !== undefined) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected 'device' or 'host' for --nms but received '${flags.nms}'`);
    const rgba = await decodeImage(image);
    const labels = flags.labels === undefined ? await labelsFromModel(model) : await loadLabels(flags.labels);
    const onDevice = (flags.nms ?? 'device') === 'device';
    const extra: Partial<BuildOptions> = onDevice ? { postprocess: { nms: { maxOutput: Math.min(max, 1024), scoreThreshold, iouThreshold } } } : {};
    const t0 = performance.now();
    const { engine, source } = await engineFor(model, flags, io, extra);
    const engineMs = performance.now() - t0;
    const { detect } = await import('../../vision/pipeline.js');
    const ctx = await engine.createContext({ maxBatch: 1 });
    try {
      const t1 = performance.now();
      const dets = await detect(ctx, rgba, { labels, scoreThreshold, iouThreshold, maxDetections: max });
      const ms = performance.now() - t1;
      if (flags.output) await writeFile(flags.output, await encodePng(await drawDetections(rgba, dets)));
      if (flags.json) {
        println(io.out, JSON.stringify({ model, image, engine: { backend: engine.backend, precision: engine.precision, source }, detections: dets, ms }, null, 2));
        return;
      }
      println(io.out, `engine: ${engine.backend} ${engine.precision.toUpperCase()}, ${source} (${formatMs(engineMs)})`);
      println(io.out, `${image}: ${dets.length} detection${dets.length === 1 ? '' : 's'} (${formatMs(ms)})`);
      const rows = dets.map((d, i) => [`${i + 1}.`, d.label, d.score.toFixed(3), d.box.map((v) => v.toFixed(1)).join(', ')]);
      for (const l of table([['#', 'label', 'score', 'box x1, y1, x2, y2'], ...rows], '  ')) println(io.out, l);
      if (flags.output) println(io.out, `wrote ${flags.output}`);
    } finally {
      ctx.dispose();
      engine.dispose({ contexts: true });
    }
  });
}

/**
 * The `segment` command.
 * @example program.addCommand(segmentCommand(processIO()));
 */
export function segmentCommand(io: CliIO): Command {
  const cmd = new Command('segment')
    .description('segment an image with a semantic-segmentation model ([batch, classes, H, W] scores); draws a coloured mask')
    .argument('<model>', 'ONNX model or plan file')
    .argument('<image>', 'JPEG or PNG file');
  return common(cmd).action(async (model: string, image: string, flags: VisionFlags) => {
    const rgba = await decodeImage(image);
    const labels = flags.labels === undefined ? undefined : await loadLabels(flags.labels);
    const t0 = performance.now();
    const { engine, source } = await engineFor(model, flags, io, {});
    const engineMs = performance.now() - t0;
    const { segment } = await import('../../vision/pipeline.js');
    const ctx = await engine.createContext({ maxBatch: 1 });
    try {
      const t1 = performance.now();
      const seg = await segment(ctx, rgba, { labels });
      const ms = performance.now() - t1;
      if (flags.output) await writeFile(flags.output, await encodePng(drawMask(rgba, seg)));
      const total = seg.width * seg.height;
      if (flags.json) {
        println(io.out, JSON.stringify({ model, image, engine: { backend: engine.backend, precision: engine.precision, source }, width: seg.width, height: seg.height, classes: seg.classes, ms }, null, 2));
        return;
      }
      println(io.out, `engine: ${engine.backend} ${engine.precision.toUpperCase()}, ${source} (${formatMs(engineMs)})`);
      println(io.out, `${image}: ${seg.width}x${seg.height}, ${seg.classes.length} class${seg.classes.length === 1 ? '' : 'es'} (${formatMs(ms)})`);
      const rows = seg.classes.map((c) => [c.label, `${((100 * c.pixels) / total).toFixed(1)}%`]);
      for (const l of table([['class', 'pixels'], ...rows], '  ')) println(io.out, l);
      if (flags.output) println(io.out, `wrote ${flags.output}`);
    } finally {
      ctx.dispose();
      engine.dispose({ contexts: true });
    }
  });
}
