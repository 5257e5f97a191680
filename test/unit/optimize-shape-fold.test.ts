// Shape-tensor folding against a profile: the shape and mask subgraphs of real exports fold into
// constants where the dims are known, data-dependent parts stay, and outputs do not change.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../lib/onnx/reader.js';
import { fixedDims, foldConstants, foldShapes, foldStaticDims, optimize } from '../../lib/optimize/index.js';
import { graphOf, node } from '../helpers/graphs.js';
import { thrownError } from '../helpers/errors.js';
import { int64 } from './reference-helpers.js';
import { runReference } from '../../lib/reference/index.js';
import { opCounts, randn, relErr } from './reference-helpers.js';

const fixture = (name: string) => parseModel(readFileSync(fileURLToPath(new URL(`../fixtures/models/${name}.onnx`, import.meta.url))));
const SHAPE_OPS = ['Shape', 'ConstantOfShape', 'Range', 'Equal', 'Where', 'Expand', 'Mod', 'ScatterND', 'Not'];
const shapeOps = (h: Record<string, number>) => SHAPE_OPS.filter((o) => h[o]).map((o) => `${o}×${h[o]}`);

describe('foldShapes', () => {
  it('ViT and Swin with the batch fixed: every shape subgraph folds, outputs unchanged', () => {
    for (const name of ['vit_tiny', 'swin_tiny']) {
      const g = fixture(name);
      const before = opCounts(g);
      expect(shapeOps(before).length).toBeGreaterThan(0);
      const f = foldShapes(g, { batch: 2 });
      expect(f.inputs[0].type.shape).toEqual([2, 3, 64, 64]);
      expect(shapeOps(opCounts(f))).toEqual([]);
      const x = randn(2 * 3 * 64 * 64, 3);
      expect(relErr(runReference(f, { input: x }).logits as Float32Array, runReference(g, { input: x }).logits as Float32Array)).toBeLessThan(1e-6);
      // A feed of another batch no longer fits the folded graph.
      expect(() => runReference(f, { input: randn(3 * 64 * 64, 3) })).toThrow(/needs 24576/);
    }
  });

  it('BERT with the sequence fixed keeps a dynamic batch; with both fixed only the mask (data) remains', () => {
    const g = optimize(fixture('bert_tiny'), { fuse: true, precision: 'fp32' });
    const seq = foldShapes(g, { sequence: 12 });
    expect(seq.inputs[0].type.shape).toEqual(['batch', 12]);
    expect(seq.nodes.length).toBeLessThan(g.nodes.length);
    const both = foldShapes(g, { batch: 2, sequence: 12 });
    const h = opCounts(both);
    expect(h.Shape ?? 0).toBe(0);
    expect(h.Range ?? 0).toBe(0);
    expect(h.ConstantOfShape ?? 0).toBe(0);
    expect(both.nodes.length).toBeLessThan(seq.nodes.length);
    // The attention mask is data: its Cast and the Where that turns it into -inf stay.
    expect(both.nodes.some((n) => n.inputs.includes('attention_mask'))).toBe(true);
    for (const b of [1, 3]) {
      const ids = BigInt64Array.from({ length: b * 12 }, (_, i) => BigInt(1 + ((i * 37) % 200)));
      const mask = BigInt64Array.from({ length: b * 12 }, (_, i) => (i % 12 < 12 - 3 * (i / 12 | 0) ? 1n : 0n));
      const want = runReference(g, { input_ids: ids, attention_mask: mask }, { dims: { sequence: 12 } }).last_hidden_state as Float32Array;
      expect(relErr(runReference(seq, { input_ids: ids, attention_mask: mask }).last_hidden_state as Float32Array, want)).toBeLessThan(1e-6);
    }
    const ids = BigInt64Array.from({ length: 24 }, (_, i) => BigInt(5 + i));
    const mask = BigInt64Array.from({ length: 24 }, (_, i) => (i < 20 ? 1n : 0n));
    const want = runReference(g, { input_ids: ids, attention_mask: mask }, { dims: { sequence: 12 } }).last_hidden_state as Float32Array;
    expect(relErr(runReference(both, { input_ids: ids, attention_mask: mask }).last_hidden_state as Float32Array, want)).toBeLessThan(1e-6);
  });

  it('folds the dims a profile fixes, and only those', () => {
    const profile = { batch: { min: 1, opt: 4, max: 8 }, sequence: { min: 16, opt: 16, max: 16 } };
    expect(fixedDims(profile)).toEqual({ sequence: 16 });
    const g = fixture('bert_tiny');
    expect(foldStaticDims(g, profile).inputs.map((i) => i.type.shape)).toEqual([['batch', 16], ['batch', 16]]);
    expect(foldStaticDims(g, { batch: profile.batch })).toBe(g);
    expect(() => foldShapes(g, { sequence: -1 })).toThrow(/non-negative integer for dimension 'sequence'/);
  });
});

describe('foldConstants on constant subgraphs', () => {
  it('does not materialize a large tensor from a small one, but folds what keeps its size', () => {
    const g = graphOf(
      [node('ConstantOfShape', ['big'], ['z']), node('ConstantOfShape', ['small'], ['s']), node('Add', ['x', 'z'], ['y0']), node('Add', ['x2', 's'], ['y1'])],
      [['x', [2048, 1024]], ['x2', [4, 4]]],
      ['y0', 'y1'],
      [int64('big', [2048, 1024]), int64('small', [4, 4])],
    );
    foldConstants(g);
    expect(g.nodes.map((n) => n.op)).toEqual(['ConstantOfShape', 'Add', 'Add']);
    expect(g.initializers.get('s')?.dims).toEqual([4, 4]);
  });

  it('a bad index inside constants is the model’s error', () => {
    const g = graphOf([node('GatherElements', ['c', 'i'], ['t'], { axis: 0 }, 'ge'), node('Add', ['x', 't'], ['y'])], [['x', [2]]], ['y'], [
      { name: 'c', dtype: 'float32', dims: [3], data: new Float32Array([1, 2, 3]) },
      int64('i', [0, 7]),
    ]);
    const e = thrownError(() => foldConstants(g));
    expect(e.code).toBe('ERR_INVALID_MODEL');
    expect(e.message).toBe("Invalid constant computation at node 'ge' (GatherElements): Index 7 is out of range for axis 0 of size 3 (node 'ge', GatherElements)");
  });
});
