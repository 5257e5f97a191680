// The EfficientNMS stage: its reference implementation against onnxruntime's NonMaxSuppression (per class and
// class-agnostic), edge cases, buildEngine's postprocess option on the reference backend, and its builtin lowering
// simulated on the CPU.
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { ErrorCode } from '../../lib/errors.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { optimize } from '../../lib/optimize/index.js';
import { efficientNms, NMS_MAX_CANDIDATES, type EfficientNmsParams } from '../../lib/reference/efficient-nms.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { appendNms, resolvePostprocess } from '../../lib/vision/postprocess.js';
import { simulate } from '../helpers/program-sim.js';
import { f32, int64, opGraph, runOrt } from './reference-helpers.js';

/** Seeded overlapping boxes [B, N, 4] (corners) and scores [B, N, C]; `coarse` rounds scores to make ties. */
function scene(b: number, n: number, c: number, seed: number, coarse = false) {
  const u = fillUniform(new Float32Array(b * n * 6 + b * n * c), seed);
  const boxes = new Float32Array(b * n * 4);
  for (let i = 0; i < b * n; i++) {
    const cx = Math.floor(u[i * 6] * 5) * 30 + u[i * 6 + 1] * 10;
    const cy = Math.floor(u[i * 6 + 2] * 4) * 30 + u[i * 6 + 3] * 10;
    const w = 10 + u[i * 6 + 4] * 20;
    const h = 10 + u[i * 6 + 5] * 20;
    boxes.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], i * 4);
  }
  const scores = u.slice(b * n * 6).map((v) => (coarse ? Math.round(v * 5) / 5 : v));
  return { boxes, scores };
}

/** EfficientNMS through onnxruntime: per-class NonMaxSuppression, merged best first (ties: lower box·C + class), top K. */
async function viaOrt(boxes: Float32Array, scores: Float32Array, b: number, n: number, c: number, p: EfficientNmsParams) {
  const agn = p.classAgnostic;
  const cls = agn ? 1 : c;
  const best = new Int32Array(b * n);
  const t = new Float32Array(b * cls * n); // [B, C, N]
  for (let i = 0; i < b; i++)
    for (let j = 0; j < n; j++) {
      let bc = 0;
      for (let k = 1; k < c; k++) if (scores[(i * n + j) * c + k] > scores[(i * n + j) * c + bc]) bc = k;
      best[i * n + j] = bc;
      for (let k = 0; k < cls; k++) t[(i * cls + k) * n + j] = agn ? scores[(i * n + j) * c + bc] : scores[(i * n + j) * c + k];
    }
  const g = opGraph({
    op: 'NonMaxSuppression', inputs: [{ name: 'boxes', shape: [b, n, 4] }, { name: 'scores', shape: [b, cls, n] }],
    nodeInputs: ['boxes', 'scores', 'max', 'iou', 'score'],
    constants: [int64('max', [p.maxOutput], [1]), f32('iou', [1], [p.iouThreshold]), f32('score', [1], [p.scoreThreshold])],
    outputs: [{ name: 'y', dtype: 'int64' }],
  });
  const sel = Array.from((await runOrt(writeModel(g), { boxes: { data: boxes, dims: [b, n, 4] }, scores: { data: t, dims: [b, cls, n] } })).y as BigInt64Array, Number);
  const per: { score: number; pair: number; box: number; cls: number }[][] = Array.from({ length: b }, () => []);
  for (let r = 0; r < sel.length; r += 3) {
    const [bi, ci, box] = sel.slice(r, r + 3);
    const k = agn ? best[bi * n + box] : ci;
    per[bi].push({ score: t[(bi * cls + ci) * n + box], pair: agn ? box : box * c + k, box, cls: k });
  }
  return per.map((l) => l.sort((x, y) => (x.score === y.score ? x.pair - y.pair : y.score - x.score)).slice(0, p.maxOutput));
}

const P: EfficientNmsParams = { boxFormat: 'xyxy', maxOutput: 20, scoreThreshold: 0.3, iouThreshold: 0.45, classAgnostic: false };

describe('EfficientNMS reference vs onnxruntime NonMaxSuppression', () => {
  const runs: [string, number, number, number, Partial<EfficientNmsParams>, boolean][] = [
    ['per class, 2 images, 60 boxes, 4 classes', 2, 60, 4, {}, false],
    ['per class, score ties', 1, 80, 3, {}, true],
    ['class-agnostic', 2, 60, 5, { classAgnostic: true }, false],
    ['class-agnostic, ties', 1, 70, 2, { classAgnostic: true, iouThreshold: 0.3 }, true],
    ['more candidates than the maximum (K = 5)', 1, 200, 2, { maxOutput: 5, scoreThreshold: 0 }, false],
    ['all scores under the threshold', 2, 30, 3, { scoreThreshold: 1 }, false],
  ];
  for (const [name, b, n, c, over, coarse] of runs) {
    it(name, async () => {
      const p = { ...P, ...over };
      for (const seed of [1, 2, 3]) {
        const { boxes, scores } = scene(b, n, c, seed, coarse);
        const mine = efficientNms(boxes, scores, undefined, b, n, c, p);
        const want = await viaOrt(boxes, scores, b, n, c, p);
        for (let i = 0; i < b; i++) {
          expect(mine.count[i]).toBe(want[i].length);
          const got = Array.from({ length: mine.count[i] }, (_, j) => [mine.classes[i * p.maxOutput + j], mine.scores[i * p.maxOutput + j]]);
          expect(got).toEqual(want[i].map((d) => [d.cls, d.score]));
          for (const [j, d] of want[i].entries()) expect(Array.from(mine.boxes.subarray((i * p.maxOutput + j) * 4, (i * p.maxOutput + j + 1) * 4))).toEqual(Array.from(boxes.subarray((i * n + d.box) * 4, (i * n + d.box + 1) * 4)));
          // Fixed-size outputs: rows past the count are zero with class -1.
          for (let j = mine.count[i]; j < p.maxOutput; j++) expect([mine.classes[i * p.maxOutput + j], mine.scores[i * p.maxOutput + j]]).toEqual([-1, 0]);
        }
      }
    });
  }

  it('zero boxes give zero detections', () => {
    const r = efficientNms(new Float32Array(0), new Float32Array(0), undefined, 2, 0, 3, P);
    expect(Array.from(r.count)).toEqual([0, 0]);
    expect(r.classes.every((v) => v === -1)).toBe(true);
  });

  it(`keeps only the ${NMS_MAX_CANDIDATES} best candidates per image`, () => {
    const n = NMS_MAX_CANDIDATES + 500;
    // Disjoint boxes, all above the threshold: the detections are exactly the best scores.
    const boxes = new Float32Array(n * 4);
    for (let i = 0; i < n; i++) boxes.set([i * 10, 0, i * 10 + 5, 5], i * 4);
    const scores = fillUniform(new Float32Array(n), 9).map((v) => 0.5 + v / 2);
    const r = efficientNms(boxes, scores, undefined, 1, n, 1, { ...P, maxOutput: 1024, scoreThreshold: 0.4 });
    const sorted = Array.from(scores).sort((a, b) => b - a);
    expect(r.count[0]).toBe(1024);
    expect(Array.from(r.scores)).toEqual(sorted.slice(0, 1024));
  });

  it('hostile values: NaN scores are never detections, NaN boxes neither suppress nor are suppressed, -0 scores as +0', () => {
    // Box 0 and 1 overlap fully; box 2 has a NaN corner; box 3 an infinite one. Scores [N, C = 2].
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10, 0, NaN, 10, 10, -Infinity, 0, 10, 10, 20, 20, 30, 30]);
    const scores = Float32Array.from([NaN, 0.9, 0.8, NaN, 0.95, 0.7, Infinity, NaN, -0, 0]);
    const p = { ...P, maxOutput: 10, scoreThreshold: -1, iouThreshold: 0.5 };
    const per = efficientNms(boxes, scores, undefined, 1, 5, 2, p);
    // Candidates: (3,0) Inf, (2,0) .95, (0,1) .9, (1,0) .8, (2,1) .7, (4,0) 0 and (4,1) 0 (the -0 first by index).
    expect(per.count[0]).toBe(7);
    expect(Array.from(per.scores.subarray(0, 7))).toEqual([Infinity, 0.95, 0.9, 0.8, 0.7, 0, 0].map(Math.fround));
    expect(Object.is(per.scores[5], -0)).toBe(false);
    expect(Array.from(per.classes.subarray(0, 8))).toEqual([0, 0, 1, 0, 1, 0, 1, -1]);
    // Class-agnostic: each box's best non-NaN class; box 1 (0.8) is suppressed by box 0 (0.9), box 2 by nothing.
    const agn = efficientNms(boxes, scores, undefined, 1, 5, 2, { ...p, classAgnostic: true });
    expect(agn.count[0]).toBe(4);
    expect(Array.from(agn.scores.subarray(0, 4))).toEqual([Infinity, 0.95, 0.9, 0].map(Math.fround));
    expect(Array.from(agn.classes.subarray(0, 5))).toEqual([0, 0, 1, 0, -1]);
    // All-NaN scores: nothing, whatever the threshold.
    const none = efficientNms(boxes, new Float32Array(10).fill(NaN), undefined, 1, 5, 2, { ...p, scoreThreshold: -Infinity });
    expect(none.count[0]).toBe(0);
  });

  it('decodes centre-size boxes and anchors', () => {
    const boxes = Float32Array.from([10, 10, 4, 6, 0.5, -0.5, 0, Math.log(2)]);
    const scores = Float32Array.from([0.9, 0.8]);
    const plain = efficientNms(boxes, scores, undefined, 1, 2, 1, { ...P, boxFormat: 'cxcywh', maxOutput: 2 });
    expect(Array.from(plain.boxes.subarray(0, 4))).toEqual([8, 7, 12, 13]);
    const anchors = Float32Array.from([0, 0, 1, 1, 20, 20, 10, 10]);
    const dec = efficientNms(boxes, scores, anchors, 1, 2, 1, { ...P, boxFormat: 'cxcywh', maxOutput: 2, scoreThreshold: 0 });
    expect(Array.from(dec.boxes.subarray(4, 8))).toEqual([20, 5, 30, 25]); // cx 25, cy 15, w 10, h 20
  });
});

/** A stand-in detector: x [B, 4+C, N] → Identity → the raw YOLO-style output. */
function rawDetector(c: number, n: number): Uint8Array {
  const g = new Graph({
    opset: 17,
    inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['B', 4 + c, n] } }],
    outputs: [{ name: 'output0', type: { dtype: 'float32', shape: [] } }],
    nodes: [{ name: 'id', op: 'Identity', domain: '', inputs: ['x'], outputs: ['output0'], attrs: {} }],
    initializers: new Map(),
  });
  inferShapes(g);
  return writeModel(g);
}

function yoloInput(b: number, c: number, n: number, seed: number): Float32Array {
  const { boxes, scores } = scene(b, n, c, seed);
  const x = new Float32Array(b * (4 + c) * n);
  for (let i = 0; i < b; i++)
    for (let j = 0; j < n; j++) {
      const [x1, y1, x2, y2] = boxes.subarray((i * n + j) * 4, (i * n + j + 1) * 4);
      const v = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, ...scores.subarray((i * n + j) * c, (i * n + j + 1) * c)];
      v.forEach((val, k) => (x[(i * (4 + c) + k) * n + j] = val));
    }
  return x;
}

describe('buildEngine postprocess.nms', () => {
  it('appends the stage to a YOLO-style [B, 4+C, N] output (reference backend)', async () => {
    const e = await buildEngine(rawDetector(3, 50), { backend: 'reference', precision: 'fp32', postprocess: { nms: { maxOutput: 10, scoreThreshold: 0.2 } } });
    expect(e.outputs.map((o) => [o.name, o.dtype, o.shape])).toEqual([
      ['num_detections', 'int32', ['B', 1]], ['det_boxes', 'float32', ['B', 10, 4]], ['det_scores', 'float32', ['B', 10]], ['det_classes', 'int32', ['B', 10]],
    ]);
    const ctx = await e.createContext();
    const x = yoloInput(2, 3, 50, 4);
    const out = await ctx.infer({ x });
    const { boxes, scores } = scene(2, 50, 3, 4);
    const want = efficientNms(boxes, scores, undefined, 2, 50, 3, { ...P, maxOutput: 10, scoreThreshold: 0.2 });
    expect(Array.from(out.num_detections as Int32Array)).toEqual(Array.from(want.count));
    expect(Array.from(out.det_classes as Int32Array)).toEqual(Array.from(want.classes));
    const got = out.det_boxes as Float32Array;
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want.boxes[i], 3);
    e.dispose({ contexts: true });
  });

  it('lowers to the builtin nms layer (CPU simulation equals the reference)', () => {
    for (const classAgnostic of [false, true]) {
      for (const precision of ['fp32', 'fp16'] as const) {
        const nms = resolvePostprocess({ nms: { maxOutput: 8, scoreThreshold: 0.25, classAgnostic } }).nms!;
        const src = appendNms(opGraph({ op: 'Identity', inputs: [{ name: 'x', shape: ['B', 7, 40] }] }), nms);
        const opt = optimize(src, { fuse: true, precision });
        const { program, weights } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
        const x = yoloInput(2, 3, 40, 6);
        const got = simulate(program, weights, { x }, 2);
        const want = runReference(opt, { x });
        expect(Array.from(want.num_detections as Int32Array).every((v) => v > 0)).toBe(true);
        for (const o of src.outputs) expect(Array.from(got[o.name]), `${o.name} agnostic=${classAgnostic} ${precision}`).toEqual(Array.from(want[o.name] as Float32Array));
      }
    }
  });

  it('validates its options with coded errors', async () => {
    const bad = async (nms: unknown, re: RegExp, code: string = ErrorCode.INVALID_ARGUMENT) =>
      expect(buildEngine(rawDetector(2, 10), { backend: 'reference', postprocess: { nms } as never })).rejects.toMatchObject({ code, message: expect.stringMatching(re) });
    await bad({ maxOutput: 0 }, /Expected a positive integer for postprocess.nms.maxOutput but received 0/);
    await bad({ maxOutput: 5000 }, /from 1 to 1024/);
    await bad({ iouThreshold: 1.5 }, /Expected a number from 0 to 1 for postprocess.nms.iouThreshold but received 1.5/);
    await bad({ boxFormat: 'xywh' }, /postprocess.nms.boxFormat/);
    await bad({ colour: 1 }, /Unknown option 'colour' in postprocess.nms/);
    await bad({ boxes: 'output0' }, /both boxes and scores/);
    await bad({ boxes: 'nope', scores: 'output0' }, /has no output 'nope'/);
    await bad({ anchors: new Float32Array(3) }, /anchors hold 3 values; the model has 10 boxes/);
  });
});
