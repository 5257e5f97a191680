// The attention-mask pass (lib/optimize/attention-mask.ts) on the BERT fixture: the mask transformers builds as
// Where(Expand(And(all-true per query, key padding)), 0, min) reaches FusedAttention at [batch, 1, 1, seq], the
// outputs do not change, and a per-query constant that is not all true keeps the full mask.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../lib/ir/graph.js';
import { parseModel } from '../../lib/onnx/index.js';
import { optimize } from '../../lib/optimize/index.js';
import { foldStaticDims } from '../../lib/optimize/shape-fold.js';
import { runReference } from '../../lib/reference/index.js';
import { relL2 } from '../helpers/metrics.js';

const SEQ = 12;
const source = () => foldStaticDims(parseModel(new Uint8Array(readFileSync('test/fixtures/models/bert_tiny.onnx'))), { sequence: { min: SEQ, opt: SEQ, max: SEQ } });

const maskShapes = (g: Graph) => g.nodes.filter((n) => n.op === 'FusedAttention').map((n) => g.types.get(n.inputs[3])?.shape);

function feeds(batch: number) {
  const ids = new BigInt64Array(batch * SEQ).map((_, i) => BigInt((i * 37) % 200));
  // Row b ends with 3·b padding tokens, so the mask matters.
  const mask = new BigInt64Array(batch * SEQ).map((_, i) => (i % SEQ < SEQ - 3 * Math.floor(i / SEQ) ? 1n : 0n));
  return { input_ids: { data: ids, dims: [batch, SEQ] }, attention_mask: { data: mask, dims: [batch, SEQ] } };
}

describe('attention masks read at the shape they carry information in', () => {
  it('BERT: the key-padding mask reaches attention as [batch, 1, 1, seq], with the same outputs', () => {
    const g = source();
    const opt = optimize(g, { fuse: true, precision: 'fp32' });
    expect(maskShapes(opt)).toEqual([['batch', 1, 1, SEQ], ['batch', 1, 1, SEQ]]);
    const f = feeds(3);
    const name = g.outputs[0].name;
    const want = runReference(g, f)[name] as Float32Array;
    expect(relL2(runReference(opt, f)[name] as Float32Array, want)).toBeLessThan(1e-5);
  });

  it('keeps the full mask when the per-query constant it is combined with is not all true', () => {
    const g = source();
    // The And's constant operand: make one query row false, so the mask really depends on the query.
    const and = g.nodes.find((n) => n.op === 'And' && n.inputs.some((i) => g.initializers.get(i)?.dtype === 'bool'))!;
    const c = g.initializers.get(and.inputs.find((i) => g.initializers.get(i)?.dtype === 'bool')!)!;
    expect(Array.from(c.data as Uint8Array).every((x) => x !== 0)).toBe(true);
    const changed = Uint8Array.from(c.data as Uint8Array);
    changed[1] = 0;
    g.initializers.set(c.name, { ...c, data: changed });
    const opt = optimize(g, { fuse: true, precision: 'fp32' });
    expect(maskShapes(opt)).toEqual([['batch', 1, SEQ, SEQ], ['batch', 1, SEQ, SEQ]]);
    const f = feeds(2);
    const name = g.outputs[0].name;
    expect(relL2(runReference(opt, f)[name] as Float32Array, runReference(g, f)[name] as Float32Array)).toBeLessThan(1e-5);
  });
});
