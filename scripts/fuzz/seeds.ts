// Small real builtin plans made on the CPU (lowering + default tactics), covering every op the lowering emits:
// the seeds of the plan fuzzer and of the validator's tests.
import { lowerForBuiltin } from '../../lib/builder.js';
import { assembleBuiltinPlan, assembleLowered } from '../../lib/builtin/assemble.js';
import { resolveShapeProfile } from '../../lib/shapes.js';
import type { Program } from '../../lib/builtin/program.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { Graph } from '../../lib/ir/graph.js';
import type { Constant, Dim, Node } from '../../lib/ir/types.js';
import { optimize } from '../../lib/optimize/index.js';
import type { PlanHeader } from '../../lib/plan.js';
import { uniformRandom } from '../../lib/util/random.js';
import { appendNms, resolvePostprocess } from '../../lib/vision/postprocess.js';

export interface Seed {
  name: string;
  plan: Uint8Array;
  program: Program;
  weights: Uint8Array;
  header: Omit<PlanHeader, 'payloadBytes'>;
}

function constant(name: string, dims: number[], seed: number, scale = 0.5): Constant {
  const r = uniformRandom(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dtype: 'float32', dims, data: Float32Array.from({ length: n }, () => r() * scale) };
}

const ints = (name: string, values: number[]): Constant => ({ name, dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });

const B: Dim = 'batch';

function node(op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node {
  return { name: `${op}_${outputs[0]}`, op, domain: '', inputs, outputs, attrs };
}

function graphOf(nodes: Node[], inputs: [string, Dim[]][], outputs: string[], constants: Constant[]): Graph {
  return new Graph({
    opset: 17,
    inputs: inputs.map(([name, shape]) => ({ name, type: { dtype: 'float32', shape } })),
    outputs: outputs.map((name) => ({ name, type: { dtype: 'float32', shape: [] } })),
    nodes,
    initializers: new Map(constants.map((c) => [c.name, c])),
  });
}

/** Conv (+bias, relu), depthwise conv, 1×1 conv with residual, max pool, global average pool, Gemm, softmax. */
function cnn() {
  const g = graphOf(
    [
      node('Conv', ['x', 'w1', 'b1'], ['c1'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
      node('Relu', ['c1'], ['r1']),
      node('Conv', ['r1', 'wd'], ['d1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4 }),
      node('Conv', ['d1', 'w2'], ['c2'], { kernel_shape: [1, 1] }),
      node('Add', ['c2', 'r1'], ['a1']),
      node('MaxPool', ['a1'], ['m1'], { kernel_shape: [2, 2], strides: [2, 2] }),
      node('GlobalAveragePool', ['m1'], ['g']),
      node('Flatten', ['g'], ['f'], { axis: 1 }),
      node('Gemm', ['f', 'fc', 'fcb'], ['l'], { transB: 1 }),
      node('Softmax', ['l'], ['y'], { axis: -1 }),
    ],
    [['x', [B, 3, 9, 7]]],
    ['y'],
    [constant('w1', [4, 3, 3, 3], 1), constant('b1', [4], 2), constant('wd', [4, 1, 3, 3], 3), constant('w2', [4, 4, 1, 1], 4), constant('fc', [5, 4], 5), constant('fcb', [5], 6)],
  );
  return g;
}

/** Attention-like: MatMul of activations, Transpose, broadcast Mul/Add, ReduceMean, Pad (constant and reflect), Concat, Slice, Sigmoid. */
function mixer() {
  return graphOf(
    [
      node('Transpose', ['x'], ['xt'], { perm: [0, 2, 1] }),
      node('MatMul', ['x', 'xt'], ['s']),
      node('Mul', ['s', 'scale'], ['ss']),
      node('Softmax', ['ss'], ['p'], { axis: -1 }),
      node('MatMul', ['p', 'x'], ['o']),
      node('Add', ['o', 'bias'], ['ob']),
      node('Sigmoid', ['ob'], ['sg']),
      node('ReduceMean', ['sg'], ['rm'], { axes: [2], keepdims: 1 }),
      node('Pad', ['x', 'pads'], ['px'], { mode: 'constant' }),
      node('Pad', ['x', 'pads'], ['pr'], { mode: 'reflect' }),
      node('Concat', ['px', 'pr'], ['cc'], { axis: 2 }),
      node('Slice', ['cc', 'starts', 'ends', 'axes'], ['sl']),
      node('Sub', ['sl', 'rm'], ['y']),
    ],
    [['x', [B, 5, 6]]],
    ['y'],
    [
      constant('scale', [1], 7),
      constant('bias', [6], 8),
      ints('pads', [0, 1, 2, 0, 1, 2]),
      ints('starts', [1]),
      ints('ends', [6]),
      ints('axes', [1]),
    ],
  );
}

/** Transformer layers: Gather of embeddings by int64 ids, residual Add + LayerNormalization, fused attention,
 * a comparison, Not and Where, and a matmul + softmax the attention fusion leaves alone. */
function encoder(seq: Dim = 4) {
  const g = graphOf(
    [
      node('Gather', ['table', 'ids'], ['e'], { axis: 0 }),
      node('Add', ['e', 'x'], ['h']),
      node('LayerNormalization', ['h', 'gamma', 'beta'], ['ln'], { axis: -1 }),
      node('Transpose', ['ln'], ['lt'], { perm: [0, 2, 1] }),
      node('MatMul', ['ln', 'lt'], ['s']),
      node('Mul', ['s', 'scale'], ['ss']),
      node('Softmax', ['ss'], ['p'], { axis: -1 }),
      node('MatMul', ['p', 'ln'], ['o']),
      node('Less', ['o', 'zero'], ['neg']),
      node('Not', ['neg'], ['pos']),
      node('Where', ['pos', 'o', 'zero'], ['y']),
      // Unfusable: softmax over the queries keeps a plain matmul and softmax.
      node('MatMul', ['ln', 'lt'], ['s2']),
      node('Softmax', ['s2'], ['p2'], { axis: 1 }),
    ],
    [['x', [B, seq, 8]]],
    ['y', 'p2'],
    [constant('table', [10, 8], 9), constant('gamma', [8], 10), constant('beta', [8], 11), constant('scale', [1], 12), { name: 'zero', dtype: 'float32', dims: [], data: new Float32Array([0]) }],
  );
  g.inputs.push({ name: 'ids', type: { dtype: 'int64', shape: [B, seq] } });
  return g;
}

const scalar = (name: string, v: number): Constant => ({ name, dtype: 'float32', dims: [], data: new Float32Array([v]) });

/** A MobileNetV2 inverted-residual block: 1×1 expand + relu6 (Clip), 3×3 depthwise + relu6, 1×1 project + residual;
 * the optimizer's fusion makes it one FusedMBConv (an 'mbconv' layer). */
function mbconv() {
  const [c, e] = [8, 16];
  return graphOf(
    [
      node('Conv', ['x', 'w1', 'b1'], ['e'], { kernel_shape: [1, 1] }),
      node('Clip', ['e', 'lo', 'hi'], ['ea']),
      node('Conv', ['ea', 'wd', 'bd'], ['d'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: e }),
      node('Clip', ['d', 'lo', 'hi'], ['da']),
      node('Conv', ['da', 'w2', 'b2'], ['p'], { kernel_shape: [1, 1] }),
      node('Add', ['p', 'x'], ['y']),
    ],
    [['x', [B, c, 5, 6]]],
    ['y'],
    [
      constant('w1', [e, c, 1, 1], 13),
      constant('b1', [e], 14),
      constant('wd', [e, 1, 3, 3], 15),
      constant('bd', [e], 16),
      constant('w2', [c, e, 1, 1], 17),
      constant('b2', [c], 18),
      scalar('lo', 0),
      scalar('hi', 6),
    ],
  );
}

/** MobileNetV2's first block: 3×3 depthwise + relu6, 1×1 project, no expand: an 'mbconv' layer whose expand is
 * the identity (`id1`), skipped by its chain. */
function mbconvFirst() {
  const [c, k] = [16, 8];
  return graphOf(
    [
      node('Conv', ['x', 'wd', 'bd'], ['d'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: c }),
      node('Clip', ['d', 'lo', 'hi'], ['da']),
      node('Conv', ['da', 'w2', 'b2'], ['y'], { kernel_shape: [1, 1] }),
    ],
    [['x', [B, c, 5, 6]]],
    ['y'],
    [constant('wd', [c, 1, 3, 3], 15), constant('bd', [c], 16), constant('w2', [k, c, 1, 1], 17), constant('b2', [k], 18), scalar('lo', 0), scalar('hi', 6)],
  );
}

/** Vision layers: Resize (linear up, nearest down), ConvTranspose (stride 2, groups), ArgMax over the
 * channels, TopK over the width. */
function vision() {
  const g = graphOf(
    [
      node('Resize', ['x', '', 'scales'], ['up'], { mode: 'linear' }),
      node('ConvTranspose', ['up', 'wt', 'bt'], ['dc'], { strides: [2, 2], pads: [1, 1, 1, 1], group: 2 }),
      node('Resize', ['dc', '', 'down'], ['rs'], { mode: 'nearest' }),
      node('ArgMax', ['rs'], ['am'], { axis: 1, keepdims: 1 }),
      node('TopK', ['rs', 'k'], ['tv', 'ti'], { axis: -1, largest: 1 }),
    ],
    [['x', [B, 4, 3, 4]]],
    ['am', 'tv', 'ti'],
    [constant('scales', [4], 19, 0), constant('wt', [4, 3, 3, 3], 20), constant('bt', [6], 21), constant('down', [4], 23, 0), ints('k', [3])],
  );
  (g.initializers.get('scales')!.data as Float32Array).set([1, 1, 2, 1.5]);
  (g.initializers.get('down')!.data as Float32Array).set([1, 1, 0.5, 0.7]);
  for (const o of g.outputs) if (o.name !== 'tv') o.type.dtype = 'int64';
  return g;
}

/** A detection head ([B, 4+C, N] channels first, YOLO-style) with the EfficientNMS stage appended as buildEngine's
 * `postprocess: { nms }` does: per class in the fp32 seed, class-agnostic with anchors in the fp16 one. */
function detector(precision: 'fp32' | 'fp16') {
  const n = 12;
  const g = graphOf(
    [
      node('Conv', ['x', 'wh'], ['h'], { kernel_shape: [1, 1] }),
      node('Reshape', ['h', 'shape'], ['r']),
      node('Sigmoid', ['r'], ['y']),
    ],
    [['x', [B, 3, 3, 4]]],
    ['y'],
    [constant('wh', [7, 3, 1, 1], 22), ints('shape', [0, 7, n])],
  );
  const anchors = Float32Array.from({ length: n * 4 }, (_, i) => (i % 4 < 2 ? (i >> 2) / n : 0.25));
  const options = precision === 'fp32' ? { maxOutput: 5, scoreThreshold: 0.3 } : { maxOutput: 4, classAgnostic: true, anchors, layout: 'channels-first' };
  return appendNms(g, resolvePostprocess({ nms: options }).nms!);
}

/**
 * The seeds, each assembled at a dynamic batch profile of 1..3, for a device of compute capability `cc`.
 * @example const [cnn] = seeds('9.0'); await loadEngine(cnn.plan)
 */
export function seeds(cc = '9.0'): Seed[] {
  const out: Seed[] = [];
  const families: [string, (precision: 'fp32' | 'fp16') => Graph][] = [['cnn', cnn], ['mixer', mixer], ['encoder', () => encoder()], ['mbconv', mbconv], ['mbconv1', mbconvFirst], ['vision', vision], ['detector', detector]];
  for (const [name, make] of families) {
    for (const precision of ['fp32', 'fp16'] as const) {
      const g = make(precision);
      inferShapes(g);
      const a = assembleBuiltinPlan(optimize(g, { fuse: true, precision }), { min: 1, opt: 2, max: 3 }, precision, cc);
      out.push({ name: `${name}-${precision}`, ...a });
    }
  }
  // The encoder with a dynamic sequence (1..6) besides the batch: a program with a dim (lower-dims.ts).
  for (const precision of ['fp32', 'fp16'] as const) {
    const g = encoder('S');
    inferShapes(g);
    const range = (s: number, b: number) => [b, s];
    const profile = resolveShapeProfile(g.inputs.map((i) => ({ name: i.name, shape: i.type.shape })), {
      x: { min: [1, 1, 8], opt: [2, 4, 8], max: [3, 6, 8] },
      ids: { min: range(1, 1), opt: range(4, 2), max: range(6, 3) },
    });
    out.push({ name: `encoder-dim-${precision}`, ...assembleLowered(lowerForBuiltin(g, profile, precision), precision, cc) });
  }
  return out;
}
