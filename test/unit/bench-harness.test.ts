import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchProfiles, batchesFor, pinDims } from '../../lib/bench/engines.js';
import { parseDimsArg } from '../../lib/bench/options.js';
import { fillInputs, measure } from '../../lib/bench/harness.js';
import { onnxGraphIO } from '../../lib/bench/onnx-io.js';
import { loadOrt, ortFeeds, OrtRunnable } from '../../lib/bench/peers/ort.js';
import { isPlan, PLAN_MAGIC } from '../../lib/plan.js';
import { fromHalfBits } from '../../lib/util/half.js';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures');
const digitsBytes = readFileSync(path.join(fixtures, 'digits', 'digits.onnx'));

describe('ONNX graph I/O', () => {
  it('reads the inputs, outputs and opset of a model', () => {
    const io = onnxGraphIO(digitsBytes);
    expect(io).toEqual({
      inputs: [{ name: 'input', elemType: 1, dims: ['batch', 1, 8, 8] }],
      outputs: [{ name: 'logits', elemType: 1, dims: ['batch', 10] }],
      opset: 17,
    });
    const mb = onnxGraphIO(readFileSync(path.join(fixtures, 'torchvision_mobilenet_v2.onnx')));
    expect(mb.inputs).toHaveLength(1);
    expect(mb.inputs[0].dims.slice(1)).toEqual([3, 224, 224]);
    expect(typeof mb.inputs[0].dims[0]).toBe('string');
    expect(mb.outputs[0].dims.slice(1)).toEqual([1000]);
  });

  it('refuses bytes that are not a model, and recognizes plan files', () => {
    expect(() => onnxGraphIO(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MODEL' }));
    expect(() => onnxGraphIO(Buffer.from('just some text that is not protobuf'))).toThrow(/Not a valid ONNX model/);
    expect(isPlan(Buffer.from(`${PLAN_MAGIC}rest of the plan`))).toBe(true);
    expect(isPlan(digitsBytes)).toBe(false);
  });

  it('turns dynamic batch inputs into build profiles', () => {
    expect(batchProfiles(onnxGraphIO(digitsBytes), 4, 8)).toEqual({ input: { min: [1, 1, 8, 8], opt: [4, 1, 8, 8], max: [8, 1, 8, 8] } });
    expect(batchProfiles({ inputs: [{ name: 'x', elemType: 1, dims: [1, 3, 4, 4] }], outputs: [], opset: 17 }, 4, 8)).toEqual({});
    expect(() => batchProfiles({ inputs: [{ name: 'x', elemType: 1, dims: ['n', 3, 'h', 'w'] }], outputs: [], opset: 17 }, 1, 1)).toThrow(
      expect.objectContaining({ code: 'ERR_SHAPE_MISMATCH', message: "Input 'x' has dynamic dimensions besides the batch ([n, 3, h, w]); the benchmark varies only the batch: pin them with --dims (e.g. --dims h=128,w=128)" }),
    );
    expect(batchesFor({ profile: { min: 1, opt: 8, max: 16 } }, [1, 32, 8])).toEqual({ ok: [1, 8], skipped: [32] });
  });

  it('pins symbolic dims with --dims for engines and peers alike', () => {
    expect(parseDimsArg('sequence=128, height = 640')).toEqual({ sequence: 128, height: 640 });
    for (const bad of ['sequence', 'sequence=0', 'sequence=1.5', 'a=1,a=2', '=3']) expect(() => parseDimsArg(bad), bad).toThrow(/--dims/);
    const io = { inputs: [{ name: 'ids', elemType: 7, dims: ['batch', 'sequence'] }, { name: 'mask', elemType: 7, dims: ['batch', 'sequence'] }], outputs: [{ name: 'h', elemType: 1, dims: ['batch', 'sequence', 64] }], opset: 17 };
    const pinned = pinDims(io, { sequence: 128 });
    expect([...pinned.inputs, ...pinned.outputs].map((v) => v.dims)).toEqual([['batch', 128], ['batch', 128], ['batch', 128, 64]]);
    expect(batchProfiles(pinned, 4, 8)).toEqual({ ids: { min: [1, 128], opt: [4, 128], max: [8, 128] }, mask: { min: [1, 128], opt: [4, 128], max: [8, 128] } });
    expect(() => pinDims(io, { seq: 128 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: "--dims names 'seq', which no input of the model has (its symbolic dims: batch, sequence)" }));
  });
});

describe('input filling', () => {
  it('fills every input with seeded, non-zero data of its type', () => {
    const make = () => ({ a: new Float32Array(64), h: new Uint16Array(64), i: new BigInt64Array(8), u: new Uint8Array(16) });
    const x = make();
    const y = make();
    fillInputs(x, 5);
    fillInputs(y, 5);
    expect(x).toEqual(y);
    expect(x.a.some((v) => v !== 0)).toBe(true);
    expect([...x.a].every((v) => v >= -1 && v < 1)).toBe(true);
    expect([...x.h].map(fromHalfBits).every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(x.h.some((v) => v !== 0)).toBe(true);
    expect(x.i.some((v) => v !== 0n)).toBe(true);
    const z = make();
    fillInputs(z, 6);
    expect(z.a).not.toEqual(x.a);
    expect(x.a.slice(0, 8)).not.toEqual(x.h.slice(0, 8)); // inputs get different streams
  });
});

describe('measurement loop', () => {
  let ort: typeof Ort;
  const sessions: Ort.InferenceSession[] = [];
  const runnable = async (batch: number): Promise<OrtRunnable> => {
    const s = await ort.InferenceSession.create(path.join(fixtures, 'digits', 'digits.onnx'), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    sessions.push(s);
    return new OrtRunnable(s, ortFeeds(ort, onnxGraphIO(digitsBytes).inputs, batch, 3));
  };
  beforeAll(async () => {
    const m = await loadOrt();
    if (typeof m === 'string') throw new Error(m);
    ort = m;
  });
  afterAll(async () => {
    for (const s of sessions) await s.release();
  });

  it('excludes warm-up and stops once the iterations are reached', async () => {
    const t = await measure([await runnable(2)], { batch: 2, warmUpMs: 20, iterations: 25, durationMs: 0, transfers: true });
    expect(t.warmUpQueries).toBeGreaterThanOrEqual(1);
    expect(t.warmUpMs).toBeGreaterThanOrEqual(20);
    expect(t.queries).toHaveLength(25);
    expect(t.capped).toBe(false);
    for (const q of t.queries) {
      expect(q.enqueueMs).toBeGreaterThanOrEqual(0);
      expect(q.enqueueMs).toBeLessThanOrEqual(q.e2eMs);
      expect(q.computeMs).toBeGreaterThan(0);
      expect(q.latencyMs).toBe(q.h2dMs + q.computeMs + q.d2hMs);
      expect(q.startMs).toBeGreaterThanOrEqual(0);
    }
    const starts = t.queries.map((q) => q.startMs);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(t.walltimeMs).toBeGreaterThanOrEqual(starts[starts.length - 1]);
  });

  it('runs at least the duration when it is the longer requirement', async () => {
    const t = await measure([await runnable(1)], { batch: 1, warmUpMs: 0, iterations: 1, durationMs: 60, transfers: false });
    expect(t.warmUpQueries).toBe(0);
    expect(t.walltimeMs).toBeGreaterThanOrEqual(60);
    expect(t.queries.length).toBeGreaterThan(1);
  });

  it('runs several streams concurrently and counts their queries together', async () => {
    const t = await measure([await runnable(1), await runnable(1)], { batch: 1, warmUpMs: 5, iterations: 20, durationMs: 10, transfers: true });
    expect(t.streams).toBe(2);
    expect(new Set(t.queries.map((q) => q.stream))).toEqual(new Set([0, 1]));
    expect(t.queries.length).toBeGreaterThanOrEqual(20);
    // Both streams are in flight from the start: their first queries begin together.
    const first = [0, 1].map((s) => t.queries.find((q) => q.stream === s)!.startMs);
    expect(Math.max(...first)).toBeLessThan(t.walltimeMs / 2);
  });

  it('stops at the time cap, with at least one query, and says it was capped', async () => {
    const t = await measure([await runnable(1)], { batch: 1, warmUpMs: 0, iterations: 1_000_000, durationMs: 0, transfers: true, capMs: 30 });
    expect(t.capped).toBe(true);
    expect(t.queries.length).toBeGreaterThanOrEqual(1);
    expect(t.walltimeMs).toBeLessThan(2_000);
  });
});
