// The structure-aware plan fuzzer in CI: seeded mutants of small real plans (fresh checksums) are either refused
// with a coded error or accepted, and every accepted mutant is in bounds by an independent checker (scripts/fuzz/bounds.ts).
import { describe, expect, it } from 'vitest';
import { fuzzPlans } from '../../scripts/fuzz/mutate.js';
import { seeds } from '../../scripts/fuzz/seeds.js';

describe('plan fuzzer', () => {
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
