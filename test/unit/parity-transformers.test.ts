// The transformer and old-opset fixtures (exported from PyTorch classes) on the reference backend
// against onnxruntime-node: loaded, shape-inferred, optimized, written back, and run. BERT runs at
// several batch sizes and sequence lengths from one loaded graph, with padding in the mask.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ONNX_OPS } from '../../lib/ir/infer.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { randn, relErr, runOrt } from './reference-helpers.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/models/${name}.onnx`, import.meta.url)));

/** Largest |a − b| relative to the largest |b|: a stricter, element-wise companion to relErr. */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / (m || 1);
}

describe.each(['vit_tiny', 'swin_tiny', 'convnext_tiny'])('%s on the reference backend', (name) => {
  const bytes = fixture(name);

  it('matches onnxruntime at batch 2, as loaded and optimized (and written back)', async () => {
    const g = parseModel(bytes);
    expect(g.outputs[0].type.shape).toEqual(['batch', 10]);
    const x = randn(2 * 3 * 64 * 64, 5);
    const ort = (await runOrt(bytes, { input: { data: x, dims: [2, 3, 64, 64] } })).logits as Float32Array;
    const ref = runReference(g, { input: x }).logits as Float32Array;
    expect(relErr(ref, ort)).toBeLessThan(1e-5);
    expect(maxRel(ref, ort)).toBeLessThan(1e-4);
    const opt = optimize(g, { fuse: true, precision: 'fp32' });
    expect(opt.nodes.length).toBeLessThan(g.nodes.length);
    const o = runReference(opt, { input: x }).logits as Float32Array;
    expect(maxRel(o, ort)).toBeLessThan(1e-4);
    const back = (await runOrt(writeModel(opt), { input: { data: x, dims: [2, 3, 64, 64] } })).logits as Float32Array;
    expect(maxRel(back, ort)).toBeLessThan(1e-4);
    // The FP16 graph the GPU backends get (autocast, float16 emulated on the CPU) stays within 1e-2.
    const half = runReference(optimize(g, { fuse: true, precision: 'fp16' }), { input: x }).logits as Float32Array;
    expect(maxRel(half, ort)).toBeLessThan(1e-2);
  });
});

describe('bert_tiny on the reference backend', () => {
  const bytes = fixture('bert_tiny');
  const g = parseModel(bytes);
  const vocab = g.initializers.get('bert.embeddings.word_embeddings.weight')!.dims[0];

  /** ids and a mask with `pad[b]` padding tokens at the end of row b. */
  const batchOf = (b: number, s: number, pad: number[]) => {
    const ids = new BigInt64Array(b * s);
    const mask = new BigInt64Array(b * s);
    for (let r = 0; r < b; r++) {
      for (let t = 0; t < s; t++) {
        const real = t < s - pad[r];
        ids[r * s + t] = real ? BigInt(1 + ((r * 131 + t * 17) % (vocab - 1))) : 0n;
        mask[r * s + t] = real ? 1n : 0n;
      }
    }
    return { ids, mask };
  };

  it('has dynamic batch and sequence', () => {
    expect(g.inputs.map((i) => [i.name, i.type.dtype, i.type.shape])).toEqual([
      ['input_ids', 'int64', ['batch', 'sequence']],
      ['attention_mask', 'int64', ['batch', 'sequence']],
    ]);
    expect(g.outputs[0].type.shape).toEqual(['batch', 'sequence', 64]);
  });

  it.each([
    [1, 5, [0]],
    [2, 12, [0, 4]],
    [3, 33, [10, 0, 31]],
  ])('batch %i × sequence %i with padding %j matches onnxruntime, as loaded and optimized', async (b, s, pad) => {
    const { ids, mask } = batchOf(b, s, pad);
    const ort = (await runOrt(bytes, { input_ids: { data: ids, dims: [b, s], dtype: 'int64' }, attention_mask: { data: mask, dims: [b, s], dtype: 'int64' } })).last_hidden_state as Float32Array;
    const feeds = { input_ids: { data: ids, dims: [b, s] }, attention_mask: { data: mask, dims: [b, s] } };
    const ref = runReference(g, feeds).last_hidden_state as Float32Array;
    expect(ref.length).toBe(b * s * 64);
    expect(maxRel(ref, ort)).toBeLessThan(1e-4);
    const opt = optimize(g, { fuse: true, precision: 'fp32' });
    expect(maxRel(runReference(opt, feeds).last_hidden_state as Float32Array, ort)).toBeLessThan(1e-4);
    const half = optimize(g, { fuse: true, precision: 'fp16' });
    expect(maxRel(runReference(half, feeds).last_hidden_state as Float32Array, ort)).toBeLessThan(1e-2);
    // The sequence can also be named instead of passing shapes: the batch then follows from the lengths.
    expect(runReference(g, { input_ids: ids, attention_mask: mask }, { dims: { sequence: s } }).last_hidden_state).toEqual(ref);
  });

  it('padding does not change the real tokens’ states', () => {
    const short = batchOf(1, 5, [0]);
    const long = batchOf(1, 12, [7]);
    const a = runReference(g, { input_ids: { data: short.ids, dims: [1, 5] }, attention_mask: { data: short.mask, dims: [1, 5] } }).last_hidden_state as Float32Array;
    const c = runReference(g, { input_ids: { data: long.ids, dims: [1, 12] }, attention_mask: { data: long.mask, dims: [1, 12] } }).last_hidden_state as Float32Array;
    expect(maxRel(c.subarray(0, 5 * 64), a)).toBeLessThan(1e-5);
  });
});

// Upsample (opset 9) and Resize (opset 10) belong to the vision op set; the rest of these models
// exercises the old forms (Slice-1, Pad-2, Squeeze/Unsqueeze/ReduceMean axes attributes, Clip-6).
describe.each([
  ['oldops_opset9', 'Upsample'],
  ['oldops_opset10', 'Resize'],
])('%s', (name, vision) => {
  it.skipIf(!Object.hasOwn(ONNX_OPS, vision))(`matches onnxruntime at batch 2 (needs ${vision})`, async () => {
    const bytes = fixture(name);
    const g = parseModel(bytes);
    const x = randn(2 * 3 * 16 * 16, 9);
    const ort = (await runOrt(bytes, { input: { data: x, dims: [2, 3, 16, 16] } })).logits as Float32Array;
    expect(maxRel(runReference(g, { input: x }).logits as Float32Array, ort)).toBeLessThan(1e-4);
    const opt = optimize(g, { fuse: true, precision: 'fp32' });
    expect(maxRel(runReference(opt, { input: x }).logits as Float32Array, ort)).toBeLessThan(1e-4);
  });
});
