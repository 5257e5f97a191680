import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decomposeFused } from '../../lib/ir/fused.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { parseModel } from '../../lib/onnx/index.js';
import { fuseAttention, optimize } from '../../lib/optimize/index.js';
import { foldStaticDims } from '../../lib/optimize/shape-fold.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { graphOf, node } from '../helpers/graphs.js';

const fixture = (name: string) => parseModel(new Uint8Array(readFileSync(`test/fixtures/models/${name}.onnx`)));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const fusedCount = (g: { nodes: { op: string }[] }) => g.nodes.filter((n) => n.op === 'FusedAttention').length;

describe('attention fusion', () => {
  it.each([
    ['vit_tiny', 2],
    ['swin_tiny', 2], // the two shifted-window blocks reshape around their mask Add and stay unfused
    ['convnext_tiny', 0],
  ])('finds %s attention blocks (%i) and computes what the source computes', (name, n) => {
    const source = fixture(name as string);
    const g = optimize(source, { fuse: true, precision: 'fp32' });
    expect(fusedCount(g)).toBe(n);
    const x = fillUniform(new Float32Array(2 * 3 * 64 * 64), 5);
    const feeds = { [source.inputs[0].name]: x };
    const out = source.outputs[0].name;
    const want = runReference(source, feeds)[out] as Float32Array;
    expect(maxDiff(runReference(g, feeds)[out] as Float32Array, want)).toBeLessThan(1e-4);
    // Decomposed back to standard ONNX, the graph still computes the same.
    const plain = decomposeFused(g);
    expect(fusedCount(plain)).toBe(0);
    expect(maxDiff(runReference(plain, feeds)[out] as Float32Array, want)).toBeLessThan(1e-4);
  }, 60_000);

  it('fuses BERT attention with its additive mask and NaN guard; padded rows match the source', () => {
    const source = foldStaticDims(fixture('bert_tiny'), { sequence: { min: 8, opt: 8, max: 8 } });
    const g = optimize(source, { fuse: true, precision: 'fp32' });
    expect(fusedCount(g)).toBe(2);
    const fused = g.nodes.find((x) => x.op === 'FusedAttention')!;
    expect(fused.inputs).toHaveLength(4);
    expect(fused.attrs.scale).toBeCloseTo(1 / Math.sqrt(16), 5); // head size 16: the two √scale factors combined
    expect(g.nodes.some((x) => x.op === 'IsNaN')).toBe(false);
    const ids = BigInt64Array.from({ length: 16 }, (_, i) => BigInt(1 + i * 7));
    const mask = BigInt64Array.from({ length: 16 }, (_, i) => (i < 8 || i % 8 < 3 ? 1n : 0n));
    const feeds = { input_ids: { data: ids, dims: [2, 8] }, attention_mask: { data: mask, dims: [2, 8] } };
    const want = runReference(source, feeds).last_hidden_state as Float32Array;
    expect(maxDiff(runReference(g, feeds).last_hidden_state as Float32Array, want)).toBeLessThan(1e-4);
  }, 60_000);

  it('leaves the pattern alone when the scores are read elsewhere or softmax is not over the keys', () => {
    const mk = (axis: number, leak: boolean) => {
      const g = graphOf(
        [
          node('MatMul', ['q', 'kt'], ['s']),
          node('Softmax', ['s'], ['p'], { axis }),
          node('MatMul', ['p', 'v'], ['o']),
          ...(leak ? [node('Relu', ['s'], ['r'])] : []),
        ],
        [['q', [2, 4, 8]], ['kt', [2, 8, 4]], ['v', [2, 4, 8]]],
        leak ? ['o', 'r'] : ['o'],
      );
      inferShapes(g);
      return g;
    };
    const plain = mk(-1, false);
    expect(fuseAttention(plain)).toBe(1);
    expect(plain.nodes.map((n) => n.op)).toEqual(['FusedAttention']);
    expect(fuseAttention(mk(1, false))).toBe(0);
    expect(fuseAttention(mk(-1, true))).toBe(0);
  });
});
