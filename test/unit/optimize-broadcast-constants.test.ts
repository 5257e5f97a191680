// The broadcast-constants pass (lib/optimize/broadcast-constants.ts): a constant lookup expanded over the batch and
// two constant addends in a row, on hand-built graphs; the outputs stay those of the source graph, and the forms it
// must not touch are left alone. BERT's embeddings (one gather and one add) are asserted in lower-transformers.test.ts.
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { broadcastConstants } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { graphOf, node } from '../helpers/graphs.js';

const E = 4, S = 3;
const table = { name: 'table', dtype: 'float32' as const, dims: [5, E], data: fillUniform(new Float32Array(5 * E), 3) };
const ids = { name: 'ids', dtype: 'int64' as const, dims: [1, S], data: BigInt64Array.from([2n, 0n, 4n]) };
const pos = { name: 'pos', dtype: 'float32' as const, dims: [1, S, E], data: fillUniform(new Float32Array(S * E), 4) };

// y = (x + Gather(table, Expand(ids, shape(x)[:2]))) + pos, with x [batch, S, E].
function embeddings(extra: (g: Graph) => void = () => {}): Graph {
  const g = graphOf(
    [
      node('Shape', ['x'], ['sx'], { end: 2 }),
      node('Expand', ['ids', 'sx'], ['tt']),
      node('Gather', ['table', 'tt'], ['rows']),
      node('Add', ['x', 'rows'], ['a1']),
      node('Add', ['a1', 'pos'], ['y']),
    ],
    [['x', ['batch', S, E]]],
    ['y'],
    [table, ids, pos],
  );
  extra(g);
  inferShapes(g);
  return g;
}

function outputsAfter(g: Graph): { before: Float32Array; after: Float32Array; ops: string[] } {
  const x = fillUniform(new Float32Array(2 * S * E), 9);
  const feeds = { x: { data: x, dims: [2, S, E] } };
  const before = runReference(g, feeds).y as Float32Array;
  const opt = g.clone();
  broadcastConstants(opt);
  return { before, after: runReference(opt, feeds).y as Float32Array, ops: opt.nodes.map((n) => n.op) };
}

describe('broadcast constants', () => {
  it('folds the expanded constant lookup and the two constant addends into one Add', () => {
    const { before, after, ops } = outputsAfter(embeddings());
    expect(ops).toEqual(['Add']);
    for (let i = 0; i < before.length; i++) expect(after[i]).toBeCloseTo(before[i], 5);
  });

  it('keeps the lookup when its consumer does not broadcast it against a full-shape operand', () => {
    // The lookup is the graph's only contribution to a Mul with another lookup: nothing to broadcast against.
    const { before, after, ops } = outputsAfter(embeddings((g) => {
      g.nodes[3] = node('Mul', ['rows', 'rows'], ['a1']);
    }));
    expect(ops).toContain('Gather');
    expect(ops).toContain('Expand');
    expect(Array.from(after)).toEqual(Array.from(before));
  });

  it('keeps two Adds when the inner sum is read elsewhere too', () => {
    const { before, after, ops } = outputsAfter(embeddings((g) => {
      g.nodes.push(node('Mul', ['a1', 'y'], ['z']));
      g.outputs.push({ name: 'z', type: { dtype: 'float32', shape: [] } });
    }));
    expect(ops.filter((o) => o === 'Add')).toHaveLength(2);
    expect(Array.from(after)).toEqual(Array.from(before));
  });

  it('keeps two constant addends apart when their sum would outgrow them ([n, 1] + [1, n])', () => {
    const n = 64;
    const col = { name: 'col', dtype: 'float32' as const, dims: [n, 1], data: fillUniform(new Float32Array(n), 5) };
    const row = { name: 'row', dtype: 'float32' as const, dims: [1, n], data: fillUniform(new Float32Array(n), 6) };
    const g = graphOf([node('Add', ['x', 'col'], ['a1']), node('Add', ['a1', 'row'], ['y'])], [['x', ['batch', n, n]]], ['y'], [col, row]);
    inferShapes(g);
    const opt = g.clone();
    broadcastConstants(opt);
    expect(opt.nodes.map((m) => m.inputs.join())).toEqual(['x,col', 'a1,row']);
    expect([...opt.initializers.values()].every((c) => c.data.length <= n)).toBe(true);
  });
});
