// The structure-aware plan fuzzer in CI: seeded mutants of small real plans (fresh checksums) are either refused
// with a coded error or accepted, and every accepted mutant is in bounds by an independent checker (scripts/fuzz/bounds.ts).
import { describe, expect, it } from 'vitest';
import { outOfBounds } from '../../scripts/fuzz/bounds.js';
import { fuzzPlans } from '../../scripts/fuzz/mutate.js';
import { seeds } from '../../scripts/fuzz/seeds.js';

describe('plan fuzzer', () => {
  it("has a bounds checker that passes the seeds and catches the review's out-of-bounds programs", () => {
    for (const s of seeds()) expect(outOfBounds(s.program, s.weights.byteLength), s.name).toEqual([]);
    const p = structuredClone(seeds()[0].program);
    const fill = p.layers.findIndex((l) => l.op === 7 || l.op === 6);
    const t = p.tensors[p.layers[fill].outputs[0]];
    // The output made unbatched at its batch-1 size while the layer still scales with the batch.
    t.batched = false;
    expect(outOfBounds(p, seeds()[0].weights.byteLength).join()).toMatch(/at batch 3: elements 0\.\./);
    const q = structuredClone(seeds()[0].program);
    const copy = q.layers.find((l) => l.op === 6)!;
    copy.params.yoff = -4;
    expect(outOfBounds(q, seeds()[0].weights.byteLength).join()).toMatch(/copy y at batch 1: elements -4\.\./);
  });

  it('refuses or safely accepts 3000 seeded mutants: no crash, no out-of-bounds acceptance', () => {
    const r = fuzzPlans(seeds(), 3000, 1);
    console.log(`plan fuzzer: ${JSON.stringify(r.counts)} in ${r.ms.toFixed(0)} ms`);
    expect(r.failures.map((f) => `${f.outcome}: ${f.mutations.join(', ')}: ${f.detail}`)).toEqual([]);
    expect(r.counts.crash + r.counts.escape).toBe(0);
    // Both verdicts are exercised: the mutations are neither all fatal nor all harmless.
    expect(r.counts.refused).toBeGreaterThan(1000);
    expect(r.counts.accepted).toBeGreaterThan(100);
  });
});
