// What scripts/sanitize-gpu.ts builds in its prepare phase: the models test/gpu exercises (the real-model fixtures,
// MobileNetV2 torchvision and generated, an EfficientNMS head, TopK / ArgMax / ArgMin, Resize / ConvTranspose), each
// at a small batch profile, and how its run phase feeds each of them.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Constant, Dim, Node } from '../../lib/ir/types.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { writeModel } from '../../lib/onnx/writer.js';
import type { Precision, ShapeProfile } from '../../lib/types.js';
import { uniformRandom } from '../../lib/util/random.js';
import type { PostprocessOptions } from '../../lib/vision/postprocess.js';
import { mobilenetV2 } from '../gen-models.js';

/** How the run phase feeds a plan: float inputs, BERT ids and masks, a detection head, or selection rows. */
export type FeedKind = 'float' | 'bert' | 'nms' | 'select';

/** A plan rewritten after its build: every inverted-residual layer on a fused kernel the validator accepts. */
export type Variant = 'mbconv-fused';

export interface PlanSpec {
  name: string;
  /** ONNX bytes (read or generated when the prepare phase gets to this spec). */
  model: () => Uint8Array;
  precisions: Precision[];
  shapes?: Record<string, ShapeProfile>;
  postprocess?: PostprocessOptions;
  feed: FeedKind;
  variants?: Variant[];
  /** Facts the run phase needs (e.g. the BERT vocabulary size). */
  extra?: (model: Uint8Array) => Record<string, number>;
}

/** Largest batch of every profile: small, so builds stay quick and runs under memcheck stay affordable. */
export const MAX_BATCH = 4;

const B: Dim = 'B';
const profile = (dims: number[], max = MAX_BATCH): ShapeProfile => ({ min: [1, ...dims], opt: [max, ...dims], max: [max, ...dims] });
const node = (op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name: `${op}_${outputs[0]}`, op, domain: '', inputs, outputs, attrs });
const ints = (name: string, v: number[]): Constant => ({ name, dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v, BigInt) });
function floats(name: string, dims: number[], seed: number, scale = 0.5): Constant {
  const r = uniformRandom(seed);
  return { name, dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * scale) };
}

function graph(nodes: Node[], inputs: [string, Dim[]][], outputs: [string, 'float32' | 'int64'][], constants: Constant[] = []): Uint8Array {
  const g = new Graph({
    opset: 17,
    inputs: inputs.map(([name, shape]) => ({ name, type: { dtype: 'float32', shape } })),
    outputs: outputs.map(([name, dtype]) => ({ name, type: { dtype, shape: [] } })),
    nodes,
    initializers: new Map(constants.map((c) => [c.name, c])),
  });
  inferShapes(g);
  return writeModel(g);
}

/**
 * TopK (largest over the channels, smallest over a whole row: k = its length), ArgMax and ArgMin (last index).
 * @example const bytes = selectModel(); // input x [B, 7, 6, 5]
 */
export function selectModel(): Uint8Array {
  return graph(
    [
      node('TopK', ['x', 'k3'], ['tv', 'ti'], { axis: 1, largest: 1 }),
      node('TopK', ['x', 'k5'], ['sv', 'si'], { axis: -1, largest: 0 }),
      node('ArgMax', ['x'], ['am'], { axis: 1, keepdims: 1 }),
      node('ArgMin', ['x'], ['an'], { axis: -1, keepdims: 0, select_last_index: 1 }),
    ],
    [['x', [B, 7, 6, 5]]],
    [['tv', 'float32'], ['ti', 'int64'], ['sv', 'float32'], ['si', 'int64'], ['am', 'int64'], ['an', 'int64']],
    [ints('k3', [3]), ints('k5', [5])],
  );
}

/**
 * test/gpu/vision.test.ts's Resize and ConvTranspose cases in one graph, at a dynamic batch.
 * @example const bytes = visionOpsModel(); // inputs r1, r2, r3 (Resize), d1, d2 (ConvTranspose)
 */
export function visionOpsModel(): Uint8Array {
  const f = (name: string, v: number[]): Constant => ({ name, dtype: 'float32', dims: [v.length], data: Float32Array.from(v) });
  return graph(
    [
      node('Resize', ['r1', '', 'scales'], ['y1'], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }),
      node('Resize', ['r2', '', 'up'], ['y2'], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
      node('Resize', ['r3', '', 'down'], ['y3'], { mode: 'cubic', coordinate_transformation_mode: 'align_corners' }),
      node('ConvTranspose', ['d1', 'w1', 'b1'], ['y4'], { strides: [2, 2], pads: [1, 1, 1, 1] }),
      node('ConvTranspose', ['d2', 'w2'], ['y5'], { group: 3, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }),
    ],
    [['r1', [B, 40, 12, 12]], ['r2', [B, 3, 10, 9]], ['r3', [B, 5, 10, 9]], ['d1', [B, 32, 9, 11]], ['d2', [B, 6, 7, 7]]],
    [['y1', 'float32'], ['y2', 'float32'], ['y3', 'float32'], ['y4', 'float32'], ['y5', 'float32']],
    [f('scales', [1, 1, 4, 4]), f('up', [1, 1, 2.5, 3.5]), f('down', [1, 1, 0.7, 1.5]), floats('w1', [32, 16, 4, 4], 3), floats('b1', [16], 4), floats('w2', [6, 3, 3, 3], 5)],
  );
}

/** Classes and boxes of the detection head: a raw YOLO-style output [B, 4 + C, N] passed through. */
export const NMS_CLASSES = 3;
export const NMS_BOXES = 2000;

function nmsHead(): Uint8Array {
  return graph([node('Identity', ['x'], ['y'])], [['x', [B, 4 + NMS_CLASSES, NMS_BOXES]]], [['y', 'float32']]);
}

/**
 * The fixture directory (test/fixtures), from the repository root or from dist/.
 * @example fixturesDir() // '/repo/test/fixtures'
 */
export function fixturesDir(root = process.cwd()): string {
  for (const dir of [path.join(root, 'test/fixtures'), path.join(root, '../test/fixtures')]) if (existsSync(dir)) return dir;
  return path.join(root, 'test/fixtures');
}

/**
 * Every plan the prepare phase builds, in FP32 and FP16.
 * @example planSpecs().map((s) => s.name) // ['vit_tiny', 'swin_tiny', ...]
 */
export function planSpecs(fixtures = fixturesDir()): PlanSpec[] {
  const file = (name: string) => () => new Uint8Array(readFileSync(path.join(fixtures, name)));
  const both: Precision[] = ['fp32', 'fp16'];
  const image = (size: number, max = MAX_BATCH) => ({ input: profile([3, size, size], max) });
  const seq = 16;
  return [
    // Attention (ViT, Swin, BERT), LayerNorm, GELU, windowed attention, ConvNeXt's depthwise 7×7.
    ...['vit_tiny', 'swin_tiny', 'convnext_tiny'].map((name): PlanSpec => ({ name, model: file(`models/${name}.onnx`), precisions: both, shapes: image(64), feed: 'float' })),
    {
      name: 'bert_tiny', model: file('models/bert_tiny.onnx'), precisions: both, feed: 'bert',
      shapes: { input_ids: profile([seq]), attention_mask: profile([seq]) },
      extra: (m) => ({ vocab: parseModel(m).initializers.get('bert.embeddings.word_embeddings.weight')!.dims[0], sequence: seq }),
    },
    // Segmentation heads: Resize, ArgMax-free logits at 96×96; a batch of 2 keeps memcheck affordable.
    ...['lraspp_mbv3', 'deeplabv3_mbv3', 'fcn_resnet50_slim'].map((name): PlanSpec => ({ name, model: file(`models/${name}.onnx`), precisions: both, shapes: image(96, 2), feed: 'float' })),
    ...['oldops_opset9', 'oldops_opset10'].map((name): PlanSpec => ({ name, model: file(`models/${name}.onnx`), precisions: both, shapes: image(16), feed: 'float' })),
    { name: 'torchvision_mobilenet_v2', model: file('torchvision_mobilenet_v2.onnx'), precisions: both, shapes: image(224, 2), feed: 'float' },
    // The generated MobileNetV2 at 64×64 (test/gpu/mbconv.test.ts); its FP16 plan also with every block forced fused.
    { name: 'mobilenet_v2_gen', model: () => mobilenetV2({ seed: 5, size: 64 }), precisions: both, shapes: image(64), feed: 'float', variants: ['mbconv-fused'] },
    {
      name: 'nms_per_class', model: nmsHead, precisions: both, feed: 'nms', shapes: { x: profile([4 + NMS_CLASSES, NMS_BOXES]) },
      postprocess: { nms: { maxOutput: 300, scoreThreshold: 0.1, iouThreshold: 0.5, classAgnostic: false } },
    },
    {
      name: 'nms_agnostic', model: nmsHead, precisions: ['fp32'], feed: 'nms', shapes: { x: profile([4 + NMS_CLASSES, NMS_BOXES]) },
      postprocess: { nms: { maxOutput: 100, scoreThreshold: 0.05, iouThreshold: 0.45, classAgnostic: true } },
    },
    { name: 'select_topk_argmax', model: selectModel, precisions: both, feed: 'select', shapes: { x: profile([7, 6, 5]) } },
    {
      name: 'vision_ops', model: visionOpsModel, precisions: both, feed: 'float',
      shapes: { r1: profile([40, 12, 12]), r2: profile([3, 10, 9]), r3: profile([5, 10, 9]), d1: profile([32, 9, 11]), d2: profile([6, 7, 7]) },
    },
  ];
}

/** A prepared plan, as manifest.json lists it. */
export interface ManifestEntry {
  /** spec name, precision and variant, e.g. 'mobilenet_v2_gen-fp16-mbconv-fused' */
  name: string;
  file: string;
  feed: FeedKind;
  maxBatch: number;
  extra?: Record<string, number>;
  /** What a variant changed (e.g. 'fused 12 of 16 blocks'). */
  note?: string;
}

export interface Manifest {
  createdAt: string;
  device: string;
  computeCapability: string;
  plans: ManifestEntry[];
  /** Specs that could not be built here, with the reason (e.g. an op the builtin backend lacks). */
  skipped: { name: string; reason: string }[];
}

/**
 * Whether a --only filter lets `name` through (a comma-separated list of substrings; empty lets all through).
 * @example selected('bert_tiny-fp16', 'vit,bert') // true
 */
export function selected(name: string, only: string | undefined): boolean {
  if (!only) return true;
  return only.split(',').some((s) => s.trim() !== '' && name.includes(s.trim()));
}
