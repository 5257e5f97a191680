import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { parseModel } from '../../lib/onnx/reader.js';
import { runReference } from '../../lib/reference/index.js';
import { optimize } from '../../lib/optimize/index.js';
import { randn, relErr, runOrt } from './reference-helpers.js';
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>) { let d = 0, m = 0; for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); } return d / m; }
function maxElemRel(a: ArrayLike<number>, b: ArrayLike<number>) { let d = 0; for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3)); return d; }
it('measure', async () => {
  for (const m of ['vit_tiny', 'swin_tiny', 'convnext_tiny']) {
    const bytes = readFileSync(`test/fixtures/models/${m}.onnx`);
    const g = parseModel(bytes);
    const x = randn(2 * 3 * 64 * 64, 5);
    const ort = (await runOrt(bytes, { input: { data: x, dims: [2, 3, 64, 64] } })).logits as Float32Array;
    const ref = runReference(g, { input: x }).logits as Float32Array;
    const o = runReference(optimize(g, { fuse: true, precision: 'fp32' }), { input: x }).logits as Float32Array;
    const h = runReference(optimize(g, { fuse: true, precision: 'fp16' }), { input: x }).logits as Float32Array;
    console.log('MEASURE', m, 'ref', maxRel(ref, ort).toExponential(2), relErr(ref, ort).toExponential(2), maxElemRel(ref, ort).toExponential(2), 'opt32', maxRel(o, ort).toExponential(2), 'fp16', maxRel(h, ort).toExponential(2), relErr(h, ort).toExponential(2));
  }
  const bytes = readFileSync(`test/fixtures/models/bert_tiny.onnx`);
  const g = parseModel(bytes);
  const o = optimize(g, { fuse: true, precision: 'fp32' });
  const h = optimize(g, { fuse: true, precision: 'fp16' });
  for (const [b, s] of [[1, 5], [2, 12], [3, 33]]) {
    const ids = BigInt64Array.from({ length: b * s }, (_, i) => BigInt((i * 7919) % 237 + 1));
    const mask = BigInt64Array.from({ length: b * s }, (_, i) => BigInt((i % s) < s - (i / s | 0) * 4 ? 1 : 0));
    const feeds = { input_ids: { data: ids, dims: [b, s] }, attention_mask: { data: mask, dims: [b, s] } };
    const ort = (await runOrt(bytes, { input_ids: { data: ids, dims: [b, s], dtype: 'int64' }, attention_mask: { data: mask, dims: [b, s], dtype: 'int64' } })).last_hidden_state as Float32Array;
    const ref = runReference(g, feeds).last_hidden_state as Float32Array;
    const r2 = runReference(o, feeds).last_hidden_state as Float32Array;
    const r3 = runReference(h, feeds).last_hidden_state as Float32Array;
    console.log('MEASURE bert', b, s, 'ref', maxRel(ref, ort).toExponential(2), relErr(ref, ort).toExponential(2), maxElemRel(ref, ort).toExponential(2), 'opt32', maxRel(r2, ort).toExponential(2), 'fp16', maxRel(r3, ort).toExponential(2), relErr(r3, ort).toExponential(2));
  }
});
