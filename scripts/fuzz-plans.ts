// The plan fuzzer's long offline run: mutants of small real builtin plans with fresh checksums, each refused with a
// coded error or accepted and checked in bounds by an independent checker. No GPU needed (the addon must load).
// Usage: node dist/scripts/fuzz-plans.js [--cases 200000] [--seed 1]
import { parseArgs } from 'node:util';
import { fuzzCase, type Outcome } from './fuzz/mutate.js';
import { seeds } from './fuzz/seeds.js';

const { values } = parseArgs({ options: { cases: { type: 'string', default: '200000' }, seed: { type: 'string', default: '1' } } });
const cases = Number(values.cases);
const first = Number(values.seed);
const all = seeds();
const counts: Record<Outcome | 'hang', number> = { accepted: 0, refused: 0, crash: 0, escape: 0, hang: 0 };
const HANG_MS = 1000; // one validation takes well under a millisecond; a case this slow counts as a hang
const t0 = performance.now();
for (let i = 0; i < cases; i++) {
  const t = performance.now();
  const c = fuzzCase(all[i % all.length], first + i);
  if (performance.now() - t > HANG_MS) {
    // Slow once may be the machine (GC, other processes): a hang is a case that is slow again.
    const t2 = performance.now();
    fuzzCase(all[i % all.length], first + i);
    const again = performance.now() - t2;
    if (again > HANG_MS) {
      counts.hang++;
      console.log(`case ${first + i} hangs: ${again.toFixed(0)} ms: ${c.mutations.join(', ')}`);
    }
  }
  counts[c.outcome]++;
  if (c.outcome === 'crash' || c.outcome === 'escape') console.log(`case ${first + i} ${c.outcome}: ${c.mutations.join(', ')}: ${c.detail}`);
  if ((i + 1) % 20000 === 0) console.log(`${i + 1} cases, ${JSON.stringify(counts)}`);
}
const s = (performance.now() - t0) / 1000;
console.log(`cases ${cases}  refused ${counts.refused}  accepted ${counts.accepted}  crashes ${counts.crash}  escapes ${counts.escape}  hangs ${counts.hang}  (${s.toFixed(1)} s, seeds ${all.map((x) => x.name).join(', ')})`);
process.exitCode = counts.crash + counts.escape + counts.hang ? 1 : 0;
