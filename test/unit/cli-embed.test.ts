// `node-tensorrt embed` on the reference backend with the BERT fixture and its tokenizer.json.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { textShapes } from '../../lib/cli/commands/embed.js';
import { runCli } from '../../lib/cli/program.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const MODEL = here('../fixtures/models/bert_tiny.onnx');
const TOKENIZER = here('../fixtures/models/bert_tiny.tokenizer.json');
const cacheDir = mkdtempSync(path.join(tmpdir(), 'ntrt-embed-'));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('node-tensorrt embed', () => {
  it('prints vectors and the cosine similarity matrix; --json gives full unit vectors', async () => {
    const r = await cli('embed', MODEL, '--tokenizer', TOKENIZER, '--backend', 'reference', '--fp32', '--cache-dir', cacheDir, '-q', 'the cat sat', 'a cat sat down', 'markets fell');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^engine: reference FP32 on CPU, built and cached at /);
    expect(r.out).toContain('[1] "the cat sat" (');
    expect(r.out).toMatch(/cosine similarity:\n\s+\[1\]\s+\[2\]\s+\[3\]\n\s+\[1\]\s+1\.0000/);
    const j = await cli('embed', MODEL, '--tokenizer', TOKENIZER, '--backend', 'reference', '--fp32', '--cache-dir', cacheDir, '--json', 'the cat sat', 'a cat sat down');
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.out);
    expect(doc.engine.source).toMatch(/^cached at /);
    expect(doc.embeddings).toHaveLength(2);
    expect(doc.embeddings[0].vector).toHaveLength(64);
    expect(Math.hypot(...doc.embeddings[0].vector)).toBeCloseTo(1, 5);
    expect(doc.similarity[0][1]).toBeCloseTo(doc.embeddings[0].vector.reduce((s: number, x: number, k: number) => s + x * doc.embeddings[1].vector[k], 0), 5);
  });

  it('usage and coded errors', async () => {
    expect(await cli('embed', MODEL, 'x')).toMatchObject({ code: 1, err: expect.stringContaining("required option '--tokenizer <file>' not specified") });
    expect(await cli('embed', MODEL, '--tokenizer', here('nope.json'), '--backend', 'reference', 'x')).toMatchObject({ code: 1, err: expect.stringMatching(/^error \[ERR_IO\]: Could not read the tokenizer/) });
    expect(await cli('embed', MODEL, '--tokenizer', TOKENIZER, '--max-length', '0', 'x')).toMatchObject({ code: 1, err: expect.stringContaining('--max-length') });
  });

  it('derives a batch × sequence profile for dynamic text inputs', () => {
    expect(textShapes([{ name: 'ids', shape: ['batch', 'sequence'] }], 64)).toEqual({ ids: { min: [1, 1], opt: [8, 64], max: [32, 64] } });
    expect(textShapes([{ name: 'ids', shape: [1, 8] }], 64)).toBeUndefined();
  });
});
