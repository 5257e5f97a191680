// ConvTranspose, TopK, ArgMax / ArgMin and NonMaxSuppression on the reference backend against onnxruntime-node.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lib/errors.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { runReference, type TensorData } from '../../lib/reference/index.js';
import { rankCompare } from '../../lib/reference/ops-vision.js';
import type { Constant } from '../../lib/ir/types.js';
import { fillUniform } from '../../lib/util/random.js';
import { f32, int64, opGraph, randn, relErr, runOrt, type OpCase } from './reference-helpers.js';

const w = (name: string, dims: number[], seed = 7) => f32(name, dims, randn(dims.reduce((a, b) => a * b, 1), seed));

const DECONV: Record<string, OpCase> = {
  'stride 2, k 4, pad 1 (the ×2 upsampling layer)': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: ['N', 4, 5, 6] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [4, 3, 4, 4]), w('b', [3])], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  'stride 1, k 3, no pads': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 4] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 5, 3, 3])] },
  'k 2 stride 2 (non-overlapping)': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [2, 6, 3, 5] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [6, 4, 2, 2]), w('b', [4])], attrs: { strides: [2, 2] } },
  'groups 2, stride 2, asymmetric pads': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 4, 5, 5] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [4, 3, 3, 3]), w('b', [6])], attrs: { group: 2, strides: [2, 2], pads: [0, 1, 2, 1] } },
  'depthwise (groups = channels)': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 5, 4, 4] }], nodeInputs: ['x', 'w'], constants: [w('w', [5, 1, 3, 3])], attrs: { group: 5, strides: [2, 2], pads: [1, 1, 1, 1] } },
  'dilations 2': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 2, 3, 3])], attrs: { dilations: [2, 2], pads: [1, 0, 1, 2] } },
  'output_padding 1 (stride 2) and 1×0 (stride 3×2)': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 2, 3, 3])], attrs: { strides: [3, 2], pads: [1, 1, 1, 1], output_padding: [1, 0] } },
  'output_shape (pads computed)': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 2, 3, 3])], attrs: { strides: [2, 2], output_shape: [8, 10] } },
  'output_shape odd padding': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 2, 3, 3])], attrs: { strides: [2, 2], output_shape: [8, 9] } },
  'auto_pad SAME_UPPER': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 2, 4, 3])], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' } },
  'auto_pad SAME_LOWER': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 2, 4, 3])], attrs: { strides: [2, 2], auto_pad: 'SAME_LOWER' } },
  'auto_pad VALID': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 2, 3, 3])], attrs: { strides: [2, 2], auto_pad: 'VALID' } },
  '1-D': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [2, 3, 7] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [3, 4, 5]), w('b', [4])], attrs: { strides: [3], pads: [1, 2] } },
};

const SELECT: Record<string, OpCase> = {
  'TopK largest sorted, last axis': { op: 'TopK', inputs: [{ name: 'x', shape: ['N', 3, 10] }], nodeInputs: ['x', 'k'], constants: [int64('k', [4])], outputs: [{ name: 'v' }, { name: 'i', dtype: 'int64' }] },
  'TopK smallest, axis 1': { op: 'TopK', inputs: [{ name: 'x', shape: [2, 9, 3] }], nodeInputs: ['x', 'k'], constants: [int64('k', [3])], attrs: { axis: 1, largest: 0 }, outputs: [{ name: 'v' }, { name: 'i', dtype: 'int64' }] },
  'TopK K = axis length': { op: 'TopK', inputs: [{ name: 'x', shape: [2, 5] }], nodeInputs: ['x', 'k'], constants: [int64('k', [5])], outputs: [{ name: 'v' }, { name: 'i', dtype: 'int64' }] },
  'TopK-1 k attribute': { op: 'TopK', opset: 9, inputs: [{ name: 'x', shape: [3, 8] }], attrs: { k: 2 }, outputs: [{ name: 'v' }, { name: 'i', dtype: 'int64' }] },
  'ArgMax axis 1 keepdims': { op: 'ArgMax', inputs: [{ name: 'x', shape: ['N', 21, 4, 5] }], attrs: { axis: 1 }, outputs: [{ name: 'y', dtype: 'int64' }] },
  'ArgMax axis -1 no keepdims': { op: 'ArgMax', inputs: [{ name: 'x', shape: [3, 7] }], attrs: { axis: -1, keepdims: 0 }, outputs: [{ name: 'y', dtype: 'int64' }] },
  'ArgMin axis 0': { op: 'ArgMin', inputs: [{ name: 'x', shape: [6, 4] }], outputs: [{ name: 'y', dtype: 'int64' }] },
};

async function compare(c: OpCase, feeds: Record<string, { data: TensorData; dims: number[] }>, tol = 1e-5): Promise<void> {
  const g = opGraph(c);
  const mine = runReference(g, Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.data])));
  const theirs = await runOrt(writeModel(g), feeds);
  for (const o of g.outputs) {
    const a = mine[o.name];
    const b = theirs[o.name];
    expect(a.length, o.name).toBe(b.length);
    if (o.type.dtype === 'float32') expect(relErr(a as Float32Array, b as Float32Array)).toBeLessThan(tol);
    else expect(Array.from(a as BigInt64Array, Number), o.name).toEqual(Array.from(b as BigInt64Array, Number));
  }
}

function feedOf(c: OpCase, seed: number, ties = false) {
  const dims = c.inputs[0].shape.map((d) => (typeof d === 'number' ? d : 2));
  let data = randn(dims.reduce((a, b) => a * b, 1), seed);
  // Coarse values make ties: the lower index must win, as in onnxruntime.
  if (ties) data = data.map((v) => Math.round(v * 2) / 2);
  return { x: { data, dims } };
}

describe('ConvTranspose reference vs onnxruntime-node', () => {
  for (const [name, c] of Object.entries(DECONV)) it(name, () => compare(c, feedOf(c, 3)));
  it('refuses output_padding not smaller than the stride', () => {
    const c = { ...DECONV['stride 1, k 3, no pads'], attrs: { output_padding: [1, 1] } };
    expect(() => opGraph(c)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_MODEL, message: expect.stringMatching(/output_padding 1 must be smaller/) }));
  });
});

describe('TopK / ArgMax / ArgMin reference vs onnxruntime-node', () => {
  for (const [name, c] of Object.entries(SELECT)) {
    it(name, () => compare(c, feedOf(c, 9)));
    it(`${name}, with ties`, () => compare(c, feedOf(c, 9, true)));
  }
  it('ArgMax select_last_index with ties', () => {
    const c: OpCase = { op: 'ArgMax', opset: 13, inputs: [{ name: 'x', shape: [4, 6] }], attrs: { axis: 1, select_last_index: 1 }, outputs: [{ name: 'y', dtype: 'int64' }] };
    return compare(c, feedOf(c, 4, true));
  });
  it('refuses K larger than the axis', () => {
    const c = { ...SELECT['TopK K = axis length'], constants: [int64('k', [6])] };
    expect(() => opGraph(c)).toThrow(expect.objectContaining({ code: ErrorCode.SHAPE_MISMATCH, message: expect.stringMatching(/K = 6 exceeds/) }));
  });
});

const N = NaN;
const I = Infinity;
/** Rows of hostile values [6, 8]: NaNs among numbers, all NaN, NaN at the start, ±Inf with NaN, signed zeros, ties. */
const HOSTILE = [
  [1, N, 3, 2, N, -I, I, 0],
  [N, N, N, N, N, N, N, N],
  [N, 1, N, 1, 2, N, 2, N],
  [I, -I, N, I, -I, N, 0, -0],
  [5, 4, 3, 2, 1, 0, -1, N],
  [-0, 0, 0, -0, 0, -0, 0, 0],
];

/** The documented rule by selection (not by sorting, as the reference does): NaN above +Inf, ties to the lower index. */
function selectByRule(row: number[], k: number, largest: boolean): number[] {
  const key = (v: number) => (Number.isNaN(v) ? 2 : v === I ? 1 : v === -I ? -1 : Math.tanh(v) * 0.5);
  const left = row.map((_, j) => j);
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    let best = 0;
    for (let q = 1; q < left.length; q++) if (largest ? key(row[left[q]]) > key(row[left[best]]) : key(row[left[q]]) < key(row[left[best]])) best = q;
    out.push(left.splice(best, 1)[0]);
  }
  return out;
}

describe('TopK / ArgMax / ArgMin with NaN, ±Inf and signed zeros', () => {
  const topkCase = (k: number, largest: number): OpCase => ({ op: 'TopK', inputs: [{ name: 'x', shape: [6, 8] }], nodeInputs: ['x', 'k'], constants: [int64('k', [k])], attrs: { largest }, outputs: [{ name: 'v' }, { name: 'i', dtype: 'int64' }] });
  const argCase = (op: string, last: number): OpCase => ({ op, opset: 13, inputs: [{ name: 'x', shape: [6, 8] }], attrs: { axis: 1, select_last_index: last }, outputs: [{ name: 'y', dtype: 'int64' }] });
  const data = Float32Array.from(HOSTILE.flat());

  it('rankCompare orders NaN above +Infinity and -0 equal to +0', () => {
    expect([3, NaN, -Infinity, Infinity, 1].sort(rankCompare)).toEqual([-Infinity, 1, 3, Infinity, NaN]);
    expect(rankCompare(NaN, NaN)).toBe(0);
    expect(rankCompare(-0, 0)).toBe(0);
  });

  for (const largest of [1, 0]) {
    for (const k of [1, 3, 8]) {
      it(`TopK largest=${largest} k=${k} follows the rule (NaN ${largest ? 'first' : 'last'})`, () => {
        const r = runReference(opGraph(topkCase(k, largest)), { x: data });
        const idx = Array.from(r.i as BigInt64Array, Number);
        const vals = Array.from(r.v as Float32Array);
        HOSTILE.forEach((row, o) => {
          const want = selectByRule(row, k, largest === 1);
          expect(idx.slice(o * k, (o + 1) * k), `row ${o}`).toEqual(want);
          // Values are the picked elements themselves (NaN stays NaN, -0 stays -0).
          want.forEach((j, q) => expect(Object.is(vals[o * k + q], Math.fround(row[j])), `row ${o} pick ${q}`).toBe(true));
        });
      });
    }
  }

  it('ArgMax / ArgMin agree with TopK k=1, first or last among equals', () => {
    const y = (op: string, last: number) => Array.from(runReference(opGraph(argCase(op, last)), { x: data }).y as BigInt64Array, Number);
    expect(y('ArgMax', 0)).toEqual(HOSTILE.map((r) => selectByRule(r, 1, true)[0]));
    expect(y('ArgMin', 0)).toEqual(HOSTILE.map((r) => selectByRule(r, 1, false)[0]));
    expect(y('ArgMax', 0)).toEqual([1, 0, 0, 2, 7, 0]);
    expect(y('ArgMax', 1)).toEqual([4, 7, 7, 5, 7, 7]);
    expect(y('ArgMin', 0)).toEqual([5, 0, 1, 1, 6, 0]);
    expect(y('ArgMin', 1)).toEqual([5, 7, 3, 4, 6, 7]);
  });

  it('without NaN, matches onnxruntime on ±Inf, signed zeros and ties', async () => {
    const finite = Float32Array.from(HOSTILE.flat().map((v, i) => (Number.isNaN(v) ? (i % 3) - 1 : v)));
    const cases = [[1, 1], [3, 1], [8, 1], [1, 0], [3, 0], [8, 0]].map(([k, largest]) => topkCase(k, largest));
    for (const op of ['ArgMax', 'ArgMin']) for (const last of [0, 1]) cases.push(argCase(op, last));
    for (const c of cases) {
      const g = opGraph(c);
      const mine = runReference(g, { x: finite });
      const theirs = await runOrt(writeModel(g), { x: { data: finite, dims: [6, 8] } });
      // Exact, infinities and the sign of zero included.
      for (const o of g.outputs) expect(Array.from(mine[o.name] as Float32Array), `${c.op} ${o.name}`).toEqual(Array.from(theirs[o.name] as Float32Array));
    }
  });
});

/** Seeded boxes [B, N, 4] around a few centres (so they overlap) in corner or centre coding, scores [B, C, N]. */
function detections(b: number, n: number, c: number, seed: number, opts: { center?: boolean; coarseScores?: boolean } = {}) {
  const u = fillUniform(new Float32Array(b * n * 8 + b * c * n), seed);
  const boxes = new Float32Array(b * n * 4);
  for (let i = 0; i < b * n; i++) {
    const cx = Math.floor(u[i * 8] * 4) * 20 + u[i * 8 + 1] * 6;
    const cy = Math.floor(u[i * 8 + 2] * 3) * 20 + u[i * 8 + 3] * 6;
    const bw = 8 + u[i * 8 + 4] * 10;
    const bh = 8 + u[i * 8 + 5] * 10;
    if (opts.center) boxes.set([cx, cy, bw, bh], i * 4);
    // ONNX corner coding is [y1, x1, y2, x2]; some corners come flipped, which NMS must accept.
    else if (u[i * 8 + 6] < 0.2) boxes.set([cy + bh / 2, cx + bw / 2, cy - bh / 2, cx - bw / 2], i * 4);
    else boxes.set([cy - bh / 2, cx - bw / 2, cy + bh / 2, cx + bw / 2], i * 4);
  }
  const scores = u.slice(b * n * 8).map((v) => (opts.coarseScores ? Math.round(v * 4) / 4 : v));
  return { boxes, scores };
}

function nmsCase(b: number, n: number, c: number, params: { max?: number; iou?: number; score?: number; center?: boolean }): OpCase {
  const constants: Constant[] = [];
  const inputs = ['boxes', 'scores', '', '', ''];
  if (params.max !== undefined) {
    constants.push(int64('max', [params.max], [1]));
    inputs[2] = 'max';
  }
  if (params.iou !== undefined) {
    constants.push(f32('iou', [1], [params.iou]));
    inputs[3] = 'iou';
  }
  if (params.score !== undefined) {
    constants.push(f32('score', [1], [params.score]));
    inputs[4] = 'score';
  }
  while (inputs[inputs.length - 1] === '') inputs.pop();
  return {
    op: 'NonMaxSuppression', inputs: [{ name: 'boxes', shape: [b, n, 4] }, { name: 'scores', shape: [b, c, n] }], nodeInputs: inputs, constants,
    attrs: params.center ? { center_point_box: 1 } : {}, outputs: [{ name: 'y', dtype: 'int64' }],
  };
}

describe('NonMaxSuppression reference vs onnxruntime-node (identical selections)', () => {
  const runs: [string, OpCase, { center?: boolean; coarseScores?: boolean }, number, number, number][] = [
    ['2 images, 3 classes, 40 boxes', nmsCase(2, 40, 3, { max: 10, iou: 0.5, score: 0.2 }), {}, 2, 40, 3],
    ['score ties (coarse scores): lower index first', nmsCase(1, 60, 2, { max: 50, iou: 0.3, score: 0 }), { coarseScores: true }, 1, 60, 2],
    ['center_point_box = 1', nmsCase(2, 30, 2, { max: 5, iou: 0.4, score: 0.1, center: true }), { center: true }, 2, 30, 2],
    ['no score threshold, iou 0', nmsCase(1, 25, 1, { max: 100, iou: 0 }), {}, 1, 25, 1],
    ['iou 1 keeps everything above the score', nmsCase(1, 25, 2, { max: 100, iou: 1, score: 0.5 }), {}, 1, 25, 2],
    ['more candidates than the maximum', nmsCase(1, 200, 1, { max: 3, iou: 0.7 }), {}, 1, 200, 1],
    ['all scores under the threshold (empty result)', nmsCase(2, 20, 3, { max: 10, iou: 0.5, score: 1.5 }), {}, 2, 20, 3],
    ['max_output_boxes_per_class omitted (empty result)', nmsCase(1, 20, 1, {}), {}, 1, 20, 1],
    ['max_output_boxes_per_class = 0 (empty result)', nmsCase(1, 20, 1, { max: 0, iou: 0.5 }), {}, 1, 20, 1],
    ['zero boxes', nmsCase(1, 0, 2, { max: 10, iou: 0.5, score: 0.1 }), {}, 1, 0, 2],
  ];
  for (const [name, c, opts, b, n, nc] of runs) {
    it(name, async () => {
      for (const seed of [1, 2, 3]) {
        const { boxes, scores } = detections(b, n, nc, seed, opts);
        await compare(c, { boxes: { data: boxes, dims: [b, n, 4] }, scores: { data: scores, dims: [b, nc, n] } });
      }
    });
  }
  it('refuses scores that do not match the boxes', () => {
    const c = { ...nmsCase(1, 5, 1, { max: 2 }), inputs: [{ name: 'boxes', shape: [1, 5, 4] }, { name: 'scores', shape: [1, 1, 6] }] };
    expect(() => opGraph(c)).toThrow(expect.objectContaining({ code: ErrorCode.SHAPE_MISMATCH, message: expect.stringMatching(/do not match boxes/) }));
  });
});
