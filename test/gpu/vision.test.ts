// The builtin backend on the vision operators: the torchvision segmentation fixtures (LRASPP, DeepLabV3, FCN) and small
// Resize / ConvTranspose / ArgMax graphs, FP32 and FP16, against the reference interpreter; TopK / ArgMax / ArgMin on
// hostile values (NaN, ±Inf, ±0).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { parseModel } from '../../lib/onnx/index.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';
import { relL2 } from '../helpers/metrics.js';
import { Graph } from '../../lib/ir/graph.js';
import { hostileRows } from '../../scripts/sanitize/feeds.js';
import { selectModel } from '../../scripts/sanitize/specs.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { AttrValue, Constant, Dim } from '../../lib/ir/types.js';

// Local helpers: test/unit/reference-helpers.ts loads onnxruntime-node, which the GPU machine may lack.
interface OpCase {
  op: string;
  inputs: { name: string; shape: Dim[] }[];
  nodeInputs?: string[];
  constants?: Constant[];
  attrs?: Record<string, AttrValue>;
}
const f32 = (name: string, dims: number[], data: ArrayLike<number>): Constant => ({ name, dtype: 'float32', dims, data: Float32Array.from(data) });
const int64 = (name: string, v: number[]): Constant => ({ name, dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v, BigInt) });
const randn = (n: number, seed: number) => fillUniform(new Float32Array(n), seed).map((v) => v * 2 - 1);
function opGraph(c: OpCase): Graph {
  const g = new Graph({
    opset: 17,
    inputs: c.inputs.map((i) => ({ name: i.name, type: { dtype: 'float32', shape: i.shape } })),
    outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
    nodes: [{ name: 'n', op: c.op, domain: '', inputs: c.nodeInputs ?? c.inputs.map((i) => i.name), outputs: ['y'], attrs: c.attrs ?? {} }],
    initializers: new Map((c.constants ?? []).map((k) => [k.name, k])),
  });
  inferShapes(g);
  return g;
}

/** Share of pixels whose argmax over channels (NCHW) agrees. */
function argmaxAgreement(a: ArrayLike<number>, b: ArrayLike<number>, [n, c, h, w]: number[]): number {
  let same = 0;
  for (let i = 0; i < n; i++)
    for (let p = 0; p < h * w; p++) {
      let ba = 0;
      let bb = 0;
      for (let k = 1; k < c; k++) {
        if (a[(i * c + k) * h * w + p] > a[(i * c + ba) * h * w + p]) ba = k;
        if (b[(i * c + k) * h * w + p] > b[(i * c + bb) * h * w + p]) bb = k;
      }
      if (ba === bb) same++;
    }
  return same / (n * h * w);
}

describe.skipIf(!hasGpu)(gpuSuite('builtin vision operators on the GPU'), () => {
  const engines: Engine[] = [];
  afterAll(() => engines.forEach((e) => e.dispose({ contexts: true })));
  const build = async (model: Uint8Array, precision: 'fp16' | 'fp32', shapes?: Record<string, { min: number[]; opt: number[]; max: number[] }>) => {
    const e = await buildEngine(model, { backend: 'builtin', precision, shapes });
    engines.push(e);
    return e;
  };

  // The three torchvision segmentation classes as trained fixtures, and torchvision's whole fcn_resnet50 (132 MB, so
  // never in the repository) where the GPU machine has trained it into models/.
  const FULL_FCN = 'models/fcn_resnet50.onnx';
  const segmenters = [
    ...['lraspp_mbv3', 'deeplabv3_mbv3', 'fcn_resnet50_slim'].map((name) => ({ name, path: `test/fixtures/models/${name}.onnx`, why: '' })),
    { name: 'fcn_resnet50', path: FULL_FCN, why: existsSync(FULL_FCN) ? '' : ` (skipped: no ${FULL_FCN}; make it with python3 scripts/train_shapes_segmenters.py --only fcn_resnet50 --out models)` },
  ];
  for (const { name, path, why } of segmenters) {
    it.skipIf(why !== '')(`${name}: fp32 within 1e-4, fp16 within 1e-2 and ≥ 99% argmax pixel agreement (batch 1 and 4)${why}`, async () => {
      const bytes = new Uint8Array(readFileSync(path));
      const g = parseModel(bytes);
      const input = g.inputs[0].name;
      const shapes = { [input]: { min: [1, 3, 96, 96], opt: [4, 3, 96, 96], max: [8, 3, 96, 96] } };
      const e32 = await build(bytes, 'fp32', shapes);
      const e16 = await build(bytes, 'fp16', shapes);
      for (const batch of [1, 4]) {
        const x = fillUniform(new Float32Array(batch * 3 * 96 * 96), 30 + batch).map((v) => v * 4 - 2);
        const want = runReference(g, { [input]: x });
        const c32 = await e32.createContext();
        const c16 = await e16.createContext();
        const got32 = await c32.infer({ [input]: x });
        const got16 = await c16.infer({ [input]: x });
        for (const o of g.outputs) {
          const w = want[o.name] as Float32Array;
          const e32r = relL2(got32[o.name] as Float32Array, w);
          const e16r = relL2(got16[o.name] as Float32Array, w);
          const agree = argmaxAgreement(got16[o.name] as Float32Array, w, [batch, w.length / (batch * 96 * 96), 96, 96]);
          console.log(`${name} ${o.name} batch ${batch}: fp32 ${e32r.toExponential(2)}, fp16 ${e16r.toExponential(2)}, fp16 argmax agreement ${(agree * 100).toFixed(2)}%`);
          expect(e32r).toBeLessThan(1e-4);
          expect(e16r).toBeLessThan(1e-2);
          expect(agree).toBeGreaterThanOrEqual(0.99);
        }
        c32.dispose();
        c16.dispose();
      }
    }, 600_000);
  }

  const w = (nm: string, dims: number[]) => f32(nm, dims, randn(dims.reduce((a, b) => a * b, 1), 3));
  const SMALL: Record<string, OpCase> = {
    'Resize linear pytorch_half_pixel ×4 (40 channels)': { op: 'Resize', inputs: [{ name: 'x', shape: [2, 40, 12, 12] }], nodeInputs: ['x', '', 'scales'], constants: [f32('scales', [4], [1, 1, 4, 4])], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' } },
    'Resize nearest asymmetric floor to 25×31': { op: 'Resize', inputs: [{ name: 'x', shape: [1, 3, 10, 9] }], nodeInputs: ['x', '', '', 'sizes'], constants: [int64('sizes', [1, 3, 25, 31])], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
    'Resize cubic align_corners to 7×13': { op: 'Resize', inputs: [{ name: 'x', shape: [1, 5, 10, 9] }], nodeInputs: ['x', '', '', 'sizes'], constants: [int64('sizes', [1, 5, 7, 13])], attrs: { mode: 'cubic', coordinate_transformation_mode: 'align_corners' } },
    'ConvTranspose k4 s2 p1, 32→16': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [2, 32, 9, 11] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [32, 16, 4, 4]), w('b', [16])], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
    'ConvTranspose groups 3 output_padding, 6→9': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 6, 7, 7] }], nodeInputs: ['x', 'w'], constants: [w('w', [6, 3, 3, 3])], attrs: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } },
  };
  it('postprocess.nms: builtin detections identical to the reference (ties, > 4096 candidates, empty images)', async () => {
    // A raw YOLO-style output [B, 4+C, N] passed through: the stage alone decides the detections.
    const c = 3;
    const n = 2000;
    const g = opGraph({ op: 'Identity', inputs: [{ name: 'x', shape: ['B', 4 + c, n] }] });
    const bytes = writeModel(g);
    for (const classAgnostic of [false, true]) {
      const nms = { maxOutput: 300, scoreThreshold: 0.1, iouThreshold: 0.5, classAgnostic };
      const eg = await buildEngine(bytes, { backend: 'builtin', precision: 'fp32', postprocess: { nms }, shapes: { x: { min: [1, 4 + c, n], opt: [4, 4 + c, n], max: [4, 4 + c, n] } } });
      const er = await buildEngine(bytes, { backend: 'reference', precision: 'fp32', postprocess: { nms } });
      engines.push(eg, er);
      const x = new Float32Array(3 * (4 + c) * n);
      const u = fillUniform(new Float32Array(x.length), 12);
      for (let b = 0; b < 3; b++)
        for (let i = 0; i < n; i++) {
          const at = (k: number) => (b * (4 + c) + k) * n + i;
          x[at(0)] = Math.floor(u[at(0)] * 20) * 16 + u[at(1)] * 8;
          x[at(1)] = Math.floor(u[at(1)] * 20) * 16 + u[at(0)] * 8;
          x[at(2)] = 8 + u[at(2)] * 24;
          x[at(3)] = 8 + u[at(3)] * 24;
          // Image 0: coarse scores (ties, > 4096 candidates per image); image 1: all under the threshold.
          for (let k = 0; k < c; k++) x[at(4 + k)] = b === 1 ? 0.05 : b === 0 ? 0.2 + Math.round(u[at(4 + k)] * 4) / 5 : u[at(4 + k)];
        }
      const cg = await eg.createContext();
      const cr = await er.createContext();
      for (let rep = 0; rep < 3; rep++) {
        const got = await cg.infer({ x });
        const want = await cr.infer({ x });
        for (const o of ['num_detections', 'det_boxes', 'det_scores', 'det_classes']) expect(Array.from(got[o] as Float32Array), `${o} agnostic=${classAgnostic}`).toEqual(Array.from(want[o] as Float32Array));
        expect((got.num_detections as Int32Array)[1]).toBe(0);
      }
      cg.dispose();
      cr.dispose();
    }
  }, 300_000);

  it('TopK / ArgMax / ArgMin on NaN, ±Inf, all-NaN and signed-zero rows pick exactly what the reference picks', async () => {
    // Values exact in float16 (quarters, ±Inf, NaN, ±0), so both precisions must agree with the reference bit for bit.
    const bytes = selectModel();
    const g = parseModel(bytes);
    const want = (x: Float32Array) => runReference(g, { x });
    for (const precision of ['fp32', 'fp16'] as const) {
      const e = await build(bytes, precision, { x: { min: [1, 7, 6, 5], opt: [4, 7, 6, 5], max: [4, 7, 6, 5] } });
      const ctx = await e.createContext();
      for (const batch of [1, 4]) {
        const x = hostileRows(fillUniform(new Float32Array(batch * 210), 6 + batch).map((v) => Math.round(v * 4) / 4), 5);
        const got = await ctx.infer({ x });
        const ref = want(x);
        for (const o of g.outputs) expect(Array.from(got[o.name] as ArrayLike<number | bigint>, Number), `${precision} batch ${batch} ${o.name}`).toEqual(Array.from(ref[o.name] as ArrayLike<number | bigint>, Number));
      }
      ctx.dispose();
    }
  }, 120_000);

  for (const [label, c] of Object.entries(SMALL)) {
    it(`${label}: fp32 within 1e-4, fp16 within 1e-2`, async () => {
      const g = opGraph(c);
      const bytes = writeModel(g);
      const dims = c.inputs[0].shape as number[];
      const x = fillUniform(new Float32Array(dims.reduce((a, b) => a * b, 1)), 4).map((v) => v * 2 - 1);
      const want = runReference(g, { x }).y as Float32Array;
      for (const precision of ['fp32', 'fp16'] as const) {
        const e = await build(bytes, precision);
        const ctx = await e.createContext();
        const got = (await ctx.infer({ x })).y as Float32Array;
        expect(relL2(got, want)).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
        ctx.dispose();
      }
    }, 120_000);
  }
});
