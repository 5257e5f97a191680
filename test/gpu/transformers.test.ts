import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngine, loadEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { parseModel } from '../../lib/onnx/index.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const bytesOf = (name: string) => new Uint8Array(readFileSync(`test/fixtures/models/${name}.onnx`));

/** max |a − b| / max(max |b|, 1e-6): one misplaced element shows. */
const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    if (!Number.isFinite(a[i])) return Infinity;
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / Math.max(m, 1e-6);
};
const top1 = (v: ArrayLike<number>, classes: number) =>
  Array.from({ length: v.length / classes }, (_, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (v[r * classes + c] > v[r * classes + best]) best = c;
    return best;
  });

// Each transformer fixture built by the builtin backend (fused attention and LayerNorm on the device) against the
// reference interpreter on the source model: FP32 within 1e-4, FP16 within 1e-2, same top-1 class.
describe.skipIf(!hasGpu)(gpuSuite('builtin backend on transformer fixtures'), () => {
  const engines: Engine[] = [];
  afterAll(() => engines.forEach((e) => e.dispose({ contexts: true })));

  for (const name of ['vit_tiny', 'swin_tiny', 'convnext_tiny']) {
    for (const precision of ['fp32', 'fp16'] as const) {
      it(`${name} ${precision}: batches 1 and 5 match the reference`, async () => {
        const dims = [3, 64, 64];
        const engine = await buildEngine(bytesOf(name), { backend: 'builtin', precision, shapes: { input: { min: [1, ...dims], opt: [4, ...dims], max: [8, ...dims] } } });
        engines.push(engine);
        const source = parseModel(bytesOf(name));
        const ctx = await engine.createContext();
        for (const batch of [1, 5]) {
          const x = fillUniform(new Float32Array(batch * 3 * 64 * 64), 40 + batch);
          const got = (await ctx.infer({ input: x })) as Record<string, Float32Array>;
          const outName = source.outputs[0].name;
          const want = runReference(source, { input: x })[outName] as Float32Array;
          expect(maxRel(got[outName], want)).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
          expect(top1(got[outName], want.length / batch)).toEqual(top1(want, want.length / batch));
        }
        const attention = engine.buildInfo!.layers.filter((l) => l.name.endsWith(':attention'));
        if (name !== 'convnext_tiny') expect(attention.length).toBe(2);
        for (const l of attention) expect(l.candidates.map((c) => c.tactic)).toContain('unfused');
        ctx.dispose();
      }, 300_000);
    }
  }

  for (const precision of ['fp32', 'fp16'] as const) {
    it(`bert_tiny ${precision} at a fixed sequence of 16, dynamic batch, with padding`, async () => {
      const seq = 16;
      const shape = (b: number) => [b, seq];
      const engine = await buildEngine(bytesOf('bert_tiny'), {
        backend: 'builtin', precision,
        shapes: { input_ids: { min: shape(1), opt: shape(4), max: shape(8) }, attention_mask: { min: shape(1), opt: shape(4), max: shape(8) } },
      });
      engines.push(engine);
      const source = parseModel(bytesOf('bert_tiny'));
      const vocab = source.initializers.get('bert.embeddings.word_embeddings.weight')!.dims[0];
      const ctx = await engine.createContext();
      for (const batch of [1, 3]) {
        const ids = BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(1 + ((i * 131) % (vocab - 1))));
        const mask = BigInt64Array.from({ length: batch * seq }, (_, i) => (i % seq < seq - (i >= seq ? 6 : 0) ? 1n : 0n));
        const got = (await ctx.infer({ input_ids: ids, attention_mask: mask })) as Record<string, Float32Array>;
        const want = runReference(source, { input_ids: { data: ids, dims: [batch, seq] }, attention_mask: { data: mask, dims: [batch, seq] } })
          .last_hidden_state as Float32Array;
        expect(maxRel(got.last_hidden_state, want)).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
      }
      // Ids outside the embedding table read nothing: their rows are defined (zeros before LayerNorm), never garbage.
      const bad = BigInt64Array.from({ length: seq }, (_, i) => (i === 3 ? BigInt(vocab + 1000) : i === 5 ? -BigInt(vocab) - 7n : 1n));
      const out = (await ctx.infer({ input_ids: bad, attention_mask: new BigInt64Array(seq).fill(1n) })) as Record<string, Float32Array>;
      expect(out.last_hidden_state.every(Number.isFinite)).toBe(true);
      ctx.dispose();
    }, 300_000);
  }

  // One engine for batch 1..4 × sequence 1..48: every length runs the plain program at that length (validated before
  // its first run), with CUDA graphs per (batch, length); lengths the build never sampled included.
  for (const precision of ['fp32', 'fp16'] as const) {
    it(`bert_tiny ${precision} with a dynamic sequence: built once, run at many lengths with padding`, async () => {
      const range = (b: number, s: number) => [b, s];
      const shapes = { min: range(1, 1), opt: range(2, 32), max: range(4, 48) };
      const engine = await buildEngine(bytesOf('bert_tiny'), { backend: 'builtin', precision, shapes: { input_ids: shapes, attention_mask: shapes } });
      engines.push(engine);
      expect(engine.dims).toEqual({ sequence: { min: 1, opt: 32, max: 48 } });
      const source = parseModel(bytesOf('bert_tiny'));
      const vocab = source.initializers.get('bert.embeddings.word_embeddings.weight')!.dims[0];
      const ctx = await engine.createContext();
      const run = async (batch: number, seq: number) => {
        const ids = BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(1 + ((i * 131) % (vocab - 1))));
        const mask = BigInt64Array.from({ length: batch * seq }, (_, i) => (i % seq < seq - (i >= seq ? Math.min(6, seq - 1) : 0) ? 1n : 0n));
        const want = runReference(source, { input_ids: { data: ids, dims: [batch, seq] }, attention_mask: { data: mask, dims: [batch, seq] } })
          .last_hidden_state as Float32Array;
        return { ids, mask, want };
      };
      for (const [batch, seq] of [[1, 1], [2, 5], [4, 17], [3, 32], [2, 47], [4, 48], [2, 5]]) {
        const { ids, mask, want } = await run(batch, seq);
        // In place, over the pinned buffers (rows packed at this length), and through infer().
        (ctx.inputs.input_ids as BigInt64Array).set(ids);
        (ctx.inputs.attention_mask as BigInt64Array).set(mask);
        await ctx.run({ batch, dims: { sequence: seq } });
        expect(maxRel(ctx.outputs.last_hidden_state.subarray(0, want.length) as Float32Array, want)).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
        const got = (await ctx.infer({ input_ids: ids, attention_mask: mask }, { dims: { sequence: seq } })) as Record<string, Float32Array>;
        expect(got.last_hidden_state.length).toBe(want.length);
        expect(maxRel(got.last_hidden_state, want)).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
      }
      expect(ctx.info.cudaGraph.active).toBe(true);
      // Every length of the range on one context: more values than an engine or a context keeps besides min, opt
      // and max (16), so the early ones are dropped, with their graphs, and readied again when they come back.
      for (let seq = 1; seq <= 48; seq++) {
        const { ids, mask } = await run(1, seq);
        await ctx.infer({ input_ids: ids, attention_mask: mask }, { dims: { sequence: seq } });
      }
      for (const seq of [5, 2, 17]) {
        const { ids, mask, want } = await run(2, seq);
        const got = (await ctx.infer({ input_ids: ids, attention_mask: mask }, { dims: { sequence: seq } })) as Record<string, Float32Array>;
        expect(maxRel(got.last_hidden_state, want), `sequence ${seq} after it was dropped`).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
      }
      expect(ctx.info.cudaGraph.active).toBe(true);
      // Bad input keeps its coded errors: a length outside the profile, ids and mask of different lengths.
      const { ids, mask } = await run(1, 8);
      await expect(ctx.run({ batch: 1, dims: { sequence: 49 } })).rejects.toMatchObject({ code: 'ERR_SHAPE_OUT_OF_RANGE' });
      await expect(ctx.infer({ input_ids: ids, attention_mask: mask.subarray(0, 7) }, { dims: { sequence: 8 } })).rejects.toMatchObject({ code: 'ERR_SHAPE_MISMATCH' });
      await expect(ctx.infer({ input_ids: new Float32Array(8) as never, attention_mask: mask })).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
      // The plan keeps its dim through save and load, and a fresh context runs a length the first never saw.
      const again = await loadEngine(engine.serialize());
      engines.push(again);
      expect(again.dims).toEqual(engine.dims);
      const c2 = await again.createContext({ maxBatch: 2 });
      const r = await run(2, 29);
      const out = (await c2.infer({ input_ids: r.ids, attention_mask: r.mask }, { dims: { sequence: 29 } })) as Record<string, Float32Array>;
      expect(maxRel(out.last_hidden_state, r.want)).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
      // Ids outside the embedding table, at a length of their own: defined rows, never an out-of-bounds read.
      const hostile = BigInt64Array.from({ length: 2 * 13 }, (_, i) => (i % 5 === 0 ? BigInt(vocab + 7 * i) : i % 7 === 0 ? -BigInt(vocab) - 3n : 2n));
      const h = (await c2.infer({ input_ids: hostile, attention_mask: new BigInt64Array(2 * 13).fill(1n) }, { dims: { sequence: 13 } })) as Record<string, Float32Array>;
      expect(h.last_hidden_state.length).toBe(2 * 13 * 64);
      expect(h.last_hidden_state.every(Number.isFinite)).toBe(true);
      const layers = await c2.profileLayers({ batch: 2, dims: { sequence: 40 }, iterations: 3 });
      expect(layers.find((l) => l.op === 'attention')).toBeDefined();
      c2.dispose();
      ctx.dispose();
    }, 300_000);
  }
});
