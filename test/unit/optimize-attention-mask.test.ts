// The attention-mask pass (lib/optimize/attention-mask.ts) on the BERT fixture: the mask transformers builds as
// Where(Expand(And(all-true per query, key padding)), 0, min) reaches FusedAttention at [batch, 1, 1, seq], the
// outputs do not change, and a per-query constant that is not all true keeps the full mask. A causal mask expanded
// over the batch folds to one constant.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
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

  it('a causal mask expanded over the batch becomes one constant that attention reads with batch stride 0', () => {
    const S = 8, H = 2, D = 16;
    const node = (op: string, inputs: string[], outputs: string[], attrs = {}) => ({ name: `${op}_${outputs[0]}`, op, domain: '', inputs, outputs, attrs });
    const causal = { name: 'causal', dtype: 'bool' as const, dims: [1, 1, S, S], data: Uint8Array.from({ length: S * S }, (_, i) => (i % S <= Math.floor(i / S) ? 1 : 0)) };
    const consts = [
      causal,
      { name: 'rest', dtype: 'int64' as const, dims: [3], data: BigInt64Array.from([1n, BigInt(S), BigInt(S)]) },
      { name: 'zero', dtype: 'float32' as const, dims: [], data: Float32Array.from([0]) },
      { name: 'neg', dtype: 'float32' as const, dims: [], data: Float32Array.from([-1e9]) },
      { name: 'sc', dtype: 'float32' as const, dims: [], data: Float32Array.from([0.25]) },
    ];
    const type = { dtype: 'float32' as const, shape: ['batch', H, S, D] };
    const g = new Graph({
      opset: 17,
      inputs: ['q', 'k', 'v'].map((name) => ({ name, type })),
      outputs: [{ name: 'o', type: { dtype: 'float32', shape: [] } }],
      nodes: [
        node('Shape', ['q'], ['sq'], { end: 1 }), node('Concat', ['sq', 'rest'], ['shp'], { axis: 0 }), node('Expand', ['causal', 'shp'], ['ce']),
        node('Where', ['ce', 'zero', 'neg'], ['mask']), node('Transpose', ['k'], ['kt'], { perm: [0, 1, 3, 2] }), node('MatMul', ['q', 'kt'], ['s']),
        node('Mul', ['s', 'sc'], ['s2']), node('Add', ['s2', 'mask'], ['a']), node('Softmax', ['a'], ['p'], { axis: -1 }), node('MatMul', ['p', 'v'], ['o']),
      ],
      initializers: new Map(consts.map((c) => [c.name, c])),
    });
    inferShapes(g);
    const opt = optimize(g, { fuse: true, precision: 'fp32' });
    const attention = opt.nodes.find((n) => n.op === 'FusedAttention')!;
    expect(opt.initializers.get(attention.inputs[3])?.dims).toEqual([1, 1, S, S]);
    const { program } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
    expect(program.layers.map((l) => OP_NAMES[l.op])).toEqual(['attention']);
    expect(program.layers[0].params.ms).toEqual([0, 0, S, 1]);
    const data = (j: number) => Float32Array.from({ length: 2 * H * S * D }, (_, i) => Math.sin(i * 1.7) + j);
    const feeds = { q: { data: data(0), dims: [2, H, S, D] }, k: { data: data(1), dims: [2, H, S, D] }, v: { data: data(2), dims: [2, H, S, D] } };
    expect(relL2(runReference(opt, feeds).o as Float32Array, runReference(g, feeds).o as Float32Array)).toBeLessThan(1e-6);
  });
});
