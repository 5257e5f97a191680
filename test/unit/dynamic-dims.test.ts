// Dynamic dims beyond the batch on the reference backend through the Engine/Context API: a BERT
// engine built once for a range of batch × sequence, int64 inputs over the context's buffers, and
// the coded errors for shapes outside the profile, mismatched inputs and bad ids.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildEngine, loadEngine } from '../../lib/builder.js';
import { ErrorCode } from '../../lib/errors.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { runReference } from '../../lib/reference/index.js';
import { bindInputDims, resolveShapeProfile } from '../../lib/shapes.js';
import { relErr } from './reference-helpers.js';
import { thrownError } from '../helpers/errors.js';
import { graphOf, node } from '../helpers/graphs.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { writeModel } from '../../lib/onnx/writer.js';

const bytes = readFileSync(fileURLToPath(new URL('../fixtures/models/bert_tiny.onnx', import.meta.url)));
const range = (min: number[], opt: number[], max: number[]) => ({ min, opt, max });
const SHAPES = { input_ids: range([1, 1], [2, 16], [4, 40]), attention_mask: range([1, 1], [2, 16], [4, 40]) };
const failure = async (p: Promise<unknown>) => p.then(() => ({ code: 'no error', message: '' }), (e) => e as { code: string; message: string });

function tokens(b: number, s: number, vocab = 238) {
  const ids = BigInt64Array.from({ length: b * s }, (_, i) => BigInt(1 + ((i * 29) % (vocab - 1))));
  const mask = BigInt64Array.from({ length: b * s }, (_, i) => (i % s < s - (i / s | 0) * 3 ? 1n : 0n));
  return { ids, mask };
}

describe('shape profiles over any dimension', () => {
  const inputs = [{ name: 'input_ids', shape: ['batch', 'sequence'] }, { name: 'attention_mask', shape: ['batch', 'sequence'] }];

  it('resolves the batch and the named dims', () => {
    expect(resolveShapeProfile(inputs, SHAPES)).toEqual({ batch: { min: 1, opt: 2, max: 4 }, batchSymbol: 'batch', dims: { sequence: { min: 1, opt: 16, max: 40 } } });
  });

  it('refuses inputs that give a shared dim different ranges, and a dynamic dim without a range', () => {
    const e = thrownError(() => resolveShapeProfile(inputs, { ...SHAPES, attention_mask: range([1, 1], [2, 16], [4, 64]) }));
    expect(e.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(e.message).toBe("Inputs 'input_ids' and 'attention_mask' share the dimension 'sequence' but give it different ranges (1..40 and 1..64)");
    expect(thrownError(() => resolveShapeProfile(inputs)).message).toMatch(/dynamic dimension 'sequence' at axis 1 .*give its range in shapes/);
  });

  it('binds dims from lengths, given values and shaped feeds; mismatches name both inputs', () => {
    expect(bindInputDims(inputs, { input_ids: { length: 24 }, attention_mask: { length: 24 } }, { sequence: 12 })).toEqual(new Map([['sequence', 12], ['batch', 2]]));
    expect(bindInputDims(inputs, { input_ids: { dims: [3, 5] }, attention_mask: { length: 15 } })).toEqual(new Map([['batch', 3], ['sequence', 5]]));
    const e = thrownError(() => bindInputDims(inputs, { input_ids: { dims: [2, 12] }, attention_mask: { dims: [2, 10] } }));
    expect(e.code).toBe(ErrorCode.SHAPE_MISMATCH);
    expect(e.message).toBe("Dimension 'sequence' is 12 for input 'input_ids' but 10 for input 'attention_mask'");
    const flat = thrownError(() => bindInputDims(inputs, { input_ids: { length: 24 }, attention_mask: { length: 20 } }, { batch: 2 }));
    expect(flat.code).toBe(ErrorCode.SHAPE_MISMATCH);
    expect(flat.message).toBe("Input 'attention_mask' has 20 elements; shape [batch=2, sequence=12] needs 24 ('batch' from dims, 'sequence' from input 'input_ids')");
    expect(thrownError(() => bindInputDims(inputs, { input_ids: { length: 24 }, attention_mask: { length: 24 } })).message).toMatch(/several dynamic dimensions \(batch, sequence\)/);
    // One input's length solves the batch, which then lets another's solve the sequence.
    const chained = [{ name: 'ids', shape: ['batch', 'sequence'] }, { name: 'lengths', shape: ['batch'] }];
    expect(bindInputDims(chained, { ids: { length: 36 }, lengths: { length: 3 } })).toEqual(new Map([['batch', 3], ['sequence', 12]]));
    expect(thrownError(() => bindInputDims(chained, { ids: { length: 36 }, lengths: { length: 3 } }, { beam: 2 })).message).toBe("dims names 'beam', which is no dynamic dimension of the inputs (batch, sequence)");
  });
});

describe('a BERT engine with dynamic batch and sequence (reference backend)', () => {
  it('runs several batch × sequence shapes from one engine, int64 inputs in place, and survives save/load', async () => {
    const engine = await buildEngine(bytes, { backend: 'reference', precision: 'fp32', shapes: SHAPES });
    expect(engine.dims).toEqual({ sequence: { min: 1, opt: 16, max: 40 } });
    expect(engine.profile).toEqual({ min: 1, opt: 2, max: 4 });
    const g = parseModel(bytes);
    const ctx = await engine.createContext();
    expect(ctx.inputs.input_ids).toBeInstanceOf(BigInt64Array);
    expect(ctx.inputs.input_ids.length).toBe(4 * 40);
    for (const [b, s] of [[1, 5], [2, 12], [3, 33]]) {
      const { ids, mask } = tokens(b, s);
      const want = runReference(g, { input_ids: { data: ids, dims: [b, s] }, attention_mask: { data: mask, dims: [b, s] } }).last_hidden_state as Float32Array;
      (ctx.inputs.input_ids as BigInt64Array).set(ids);
      (ctx.inputs.attention_mask as BigInt64Array).set(mask);
      await ctx.run({ batch: b, dims: { sequence: s } });
      // The engine runs the optimized graph (fused LayerNorm/GELU): equal to float rounding.
      expect(relErr(ctx.outputs.last_hidden_state.subarray(0, b * s * 64) as Float32Array, want)).toBeLessThan(1e-6);
      const out = await ctx.infer({ input_ids: ids, attention_mask: mask }, { dims: { sequence: s } });
      expect(out.last_hidden_state.length).toBe(b * s * 64);
      expect(Array.from(out.last_hidden_state as Float32Array)).toEqual(Array.from(ctx.outputs.last_hidden_state.subarray(0, b * s * 64) as Float32Array));
    }
    const again = await loadEngine(engine.serialize());
    expect(again.dims).toEqual(engine.dims);
    const c2 = await again.createContext();
    const { ids, mask } = tokens(2, 12);
    const a = await ctx.infer({ input_ids: ids, attention_mask: mask }, { dims: { sequence: 12 } });
    const b = await c2.infer({ input_ids: ids, attention_mask: mask }, { dims: { sequence: 12 } });
    expect(Array.from(b.last_hidden_state as Float32Array)).toEqual(Array.from(a.last_hidden_state as Float32Array));
    c2.dispose();
    again.dispose();
    ctx.dispose();
    engine.dispose();
  });

  it('coded errors: sequence outside the profile, mismatched lengths, wrong array type, ids outside the table, missing dims', async () => {
    const engine = await buildEngine(bytes, { backend: 'reference', precision: 'fp32', shapes: SHAPES });
    const ctx = await engine.createContext();
    const long = tokens(1, 41);
    let e = await failure(ctx.infer({ input_ids: long.ids, attention_mask: long.mask }, { dims: { sequence: 41 } }));
    expect(e.code).toBe(ErrorCode.SHAPE_OUT_OF_RANGE);
    expect(e.message).toBe("Dimension 'sequence' (input 'input_ids' axis 1, input 'attention_mask' axis 1) is 41, outside the engine's profile 1..40");
    e = await failure(ctx.run({ batch: 1, dims: { sequence: 50 } }));
    expect(e.code).toBe(ErrorCode.SHAPE_OUT_OF_RANGE);
    e = await failure(ctx.run({ batch: 5, dims: { sequence: 8 } }));
    expect(e.code).toBe(ErrorCode.BATCH_OUT_OF_RANGE);
    const t = tokens(2, 8);
    e = await failure(ctx.infer({ input_ids: t.ids, attention_mask: t.mask.subarray(0, 12) }, { dims: { sequence: 8 } }));
    expect(e.code).toBe(ErrorCode.SHAPE_MISMATCH);
    expect(e.message).toContain("'attention_mask'");
    expect(e.message).toContain("input 'input_ids'");
    e = await failure(ctx.infer({ input_ids: new Float32Array(16) as never, attention_mask: t.mask }, { dims: { sequence: 8 } }));
    expect(e.code).toBe(ErrorCode.INVALID_INPUT);
    expect(e.message).toBe("Expected a BigInt64Array for input 'input_ids' (int64) but received a Float32Array of length 16");
    const bad = t.ids.slice();
    bad[5] = 238n;
    e = await failure(ctx.infer({ input_ids: bad, attention_mask: t.mask }, { dims: { sequence: 8 } }));
    expect(e.code).toBe(ErrorCode.INVALID_INPUT);
    expect(e.message).toMatch(/index 238 out of range for dimension 238/);
    bad[5] = -239n;
    expect((await failure(ctx.infer({ input_ids: bad, attention_mask: t.mask }, { dims: { sequence: 8 } }))).code).toBe(ErrorCode.INVALID_INPUT);
    e = await failure(ctx.run({ batch: 2 }));
    expect(e.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(e.message).toBe("run() needs dims.sequence: the engine's profile lets it vary (1..40)");
    e = await failure(ctx.run({ batch: 2, dims: { seq: 8 } }));
    expect(e.message).toBe("dims names 'seq', which is no dynamic dimension of this engine (sequence)");
    ctx.dispose();
    engine.dispose();
  });

  it('a profile that fixes the sequence needs no dims', async () => {
    const fixed = { input_ids: range([1, 8], [2, 8], [2, 8]), attention_mask: range([1, 8], [2, 8], [2, 8]) };
    const engine = await buildEngine(bytes, { backend: 'reference', precision: 'fp32', shapes: fixed });
    const ctx = await engine.createContext();
    const t = tokens(2, 8);
    const out = await ctx.infer({ input_ids: t.ids, attention_mask: t.mask });
    expect(out.last_hidden_state.length).toBe(2 * 8 * 64);
    ctx.dispose();
    engine.dispose();
  });
});

describe('outputs whose size composes the dims', () => {
  it("infer() sizes an output of ['batch*sequence', 4] from the batch and the sequence", async () => {
    const g = graphOf([node('Reshape', ['x', 'shape'], ['y'])], [['x', ['batch', 'sequence', 4]]], ['y'], [{ name: 'shape', dtype: 'int64', dims: [2], data: BigInt64Array.of(-1n, 4n) }]);
    inferShapes(g);
    const r = (b: number, s: number) => [b, s, 4];
    const engine = await buildEngine(writeModel(g), { backend: 'reference', precision: 'fp32', shapes: { x: { min: r(1, 1), opt: r(2, 4), max: r(3, 8) } } });
    expect(engine.outputs[0].shape).toEqual(['batch*sequence', 4]);
    const ctx = await engine.createContext();
    const x = Float32Array.from({ length: 2 * 5 * 4 }, (_, i) => i);
    const out = await ctx.infer({ x }, { dims: { sequence: 5 } });
    expect(Array.from(out.y as Float32Array)).toEqual(Array.from(x));
  });
});

describe('what a context hands its native backend for a run with dims', () => {
  it('the dims and every input\'s full shape in I/O order (the tensorrt backend sets them on its execution context)', async () => {
    const engine = await buildEngine(bytes, { backend: 'reference', precision: 'fp32', shapes: SHAPES });
    const calls: unknown[][] = [];
    const native = engine.native as unknown as { createContext: (...a: unknown[]) => Promise<{ run: (...a: unknown[]) => Promise<void>; profile: (...a: unknown[]) => Promise<unknown> }> };
    const create = native.createContext.bind(native);
    native.createContext = async (...a: unknown[]) => {
      const c = await create(...a);
      const run = c.run.bind(c);
      const profile = c.profile.bind(c);
      c.run = (...r: unknown[]) => (calls.push(['run', ...r]), run(...r));
      c.profile = (...r: unknown[]) => (calls.push(['profile', ...r]), profile(...r));
      return c;
    };
    const ctx = await engine.createContext();
    const { ids, mask } = tokens(3, 7);
    (ctx.inputs.input_ids as BigInt64Array).set(ids);
    (ctx.inputs.attention_mask as BigInt64Array).set(mask);
    await ctx.run({ batch: 3, dims: { sequence: 7 } });
    await ctx.infer({ input_ids: ids.subarray(0, 14), attention_mask: mask.subarray(0, 14) }, { dims: { sequence: 7 } });
    await ctx.profileLayers({ batch: 2, iterations: 1 });
    // (The reference backend's profile runs the graph itself: its own run calls follow.)
    expect(calls.slice(0, 3)).toEqual([
      ['run', 3, true, { sequence: 7 }, [[3, 7], [3, 7]]],
      ['run', 2, true, { sequence: 7 }, [[2, 7], [2, 7]]],
      // A profile is of one shape: the dims' opt unless given.
      ['profile', 2, 1, { sequence: 16 }, [[2, 16], [2, 16]]],
    ]);
  });
});
