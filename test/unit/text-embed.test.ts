// lib/text: tokenizer.json → padded ids and mask → a BERT engine on the reference backend → mean-pooled,
// L2-normalised vectors, checked against onnxruntime-node with the same pooling.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { ErrorCode } from '../../lib/errors.js';
import { cosineMatrix, embedTexts, encodeTexts, loadTokenizer, meanPool, textModelSpec } from '../../lib/text/index.js';
import { relErr, runOrt } from './reference-helpers.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const MODEL = readFileSync(here('../fixtures/models/bert_tiny.onnx'));
const TOKENIZER = here('../fixtures/models/bert_tiny.tokenizer.json');
const TEXTS = ['The cat sat on the mat.', 'A cat was sitting on a mat', 'Stock markets fell sharply today after the report', 'hello', 'the the the the the the the the the the the the the the the the the the the the the the the the the the the the the the the the the the the'];
const range = (min: number[], opt: number[], max: number[]) => ({ min, opt, max });

describe('encodeTexts', () => {
  it('adds special tokens, pads to the longest text with a zero mask, truncates keeping [CLS] … [SEP]', async () => {
    const tok = await loadTokenizer(TOKENIZER);
    const enc = encodeTexts(tok, ['the cat', 'the cat sat on the mat'], { maxLength: 64 });
    expect(enc.sequence).toBe(enc.lengths[1]);
    expect(enc.lengths[0]).toBeLessThan(enc.lengths[1]);
    const row0 = Array.from(enc.ids.subarray(0, enc.sequence));
    expect(row0[0]).toBe(tok.token_to_id('[CLS]'));
    expect(row0[enc.lengths[0] - 1]).toBe(tok.token_to_id('[SEP]'));
    expect(row0.slice(enc.lengths[0])).toEqual(new Array(enc.sequence - enc.lengths[0]).fill(tok.token_to_id('[PAD]')));
    expect(Array.from(enc.mask.subarray(0, enc.sequence))).toEqual([...new Array(enc.lengths[0]).fill(1), ...new Array(enc.sequence - enc.lengths[0]).fill(0)]);
    const cut = encodeTexts(tok, [TEXTS[4]], { maxLength: 8 });
    expect(cut.sequence).toBe(8);
    expect(cut.truncated).toEqual([true]);
    expect(cut.ids[0]).toBe(tok.token_to_id('[CLS]'));
    expect(cut.ids[7]).toBe(tok.token_to_id('[SEP]'));
    expect(encodeTexts(tok, ['a'], { maxLength: 16, padTo: 16 }).sequence).toBe(16);
    expect(() => encodeTexts(tok, [], { maxLength: 8 })).toThrow(/non-empty array of strings/);
  });

  it('refuses what is not a tokenizer.json', async () => {
    await expect(loadTokenizer(here('../fixtures/models/fixtures-report.json'))).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(loadTokenizer(here('nope.json'))).rejects.toMatchObject({ code: ErrorCode.IO });
  });
});

describe('embedTexts on the reference backend', () => {
  it('matches onnxruntime with the same pooling, over several batches, and ranks the paraphrase closest', async () => {
    const tok = await loadTokenizer(TOKENIZER);
    const engine = await buildEngine(MODEL, { backend: 'reference', precision: 'fp32', shapes: { input_ids: range([1, 1], [2, 16], [2, 24]), attention_mask: range([1, 1], [2, 16], [2, 24]) } });
    const spec = textModelSpec(engine);
    expect([spec.ids.name, spec.mask?.name, spec.output.name, spec.sequenceDim, spec.maxSequence, spec.hidden]).toEqual(['input_ids', 'attention_mask', 'last_hidden_state', 'sequence', 24, 64]);
    const ctx = await engine.createContext();
    const { vectors, truncated } = await embedTexts(ctx, tok, TEXTS);
    expect(vectors).toHaveLength(TEXTS.length);
    expect(truncated).toEqual(TEXTS.map((t) => tok.encode(t).ids.length > 24));
    expect(truncated[4]).toBe(true);
    for (const v of vectors) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    // onnxruntime on the same padded chunks (two texts per run, as the context's maxBatch is 2).
    for (let first = 0; first < TEXTS.length; first += 2) {
      const enc = encodeTexts(tok, TEXTS.slice(first, first + 2), { maxLength: 24 });
      const dims = [enc.batch, enc.sequence];
      const ort = await runOrt(MODEL, {
        input_ids: { data: BigInt64Array.from(enc.ids, (x) => BigInt(x)), dims, dtype: 'int64' },
        attention_mask: { data: BigInt64Array.from(enc.mask, (x) => BigInt(x)), dims, dtype: 'int64' },
      });
      const want = meanPool(ort.last_hidden_state as Float32Array, enc.mask, enc.batch, enc.sequence, 64);
      want.forEach((w, k) => expect(relErr(vectors[first + k], w)).toBeLessThan(1e-5));
    }
    const sim = cosineMatrix(vectors);
    expect(sim[0][0]).toBeCloseTo(1, 6);
    expect(sim[0][1]).toBeGreaterThan(sim[0][2]);
    ctx.dispose();
    engine.dispose();
  });
});
