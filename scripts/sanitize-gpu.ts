// compute-sanitizer coverage of what test/gpu runs, in two phases. vitest's forked workers escape the sanitizer, and
// under it the builder's tactic timing (thousands of launches) would take hours; so plans are built first, without
// the sanitizer, and one plain process then loads and runs them all under memcheck and racecheck:
//   node dist/scripts/sanitize-gpu.js --prepare build/sanitize                       (no sanitizer; < 2 min on an H200)
//   compute-sanitizer --tool memcheck --error-exitcode 1 node dist/scripts/sanitize-gpu.js --run build/sanitize
//   compute-sanitizer --tool racecheck --error-exitcode 1 node dist/scripts/sanitize-gpu.js --run build/sanitize --quick
// --run loads every plan of manifest.json (real-model fixtures, MobileNetV2 with fused blocks forced, an NMS head,
// TopK / ArgMax, Resize / ConvTranspose; FP32 and FP16) and runs it in every completion mode, with and without CUDA
// graphs, through infer(), run(), runImages() and profileLayers() at batch 1 and the maximum, with hostile inputs
// (token ids outside the table, padded masks, NaN and ±Inf rows, NaN scores and boxes), then the plan fuzzer's
// accepted mutants (fixed seed). It prints one line per plan and a summary; exit 1 on any error. The sanitizer's own
// verdict is its "ERROR SUMMARY" line.
// Options: --only <a,b> (substrings of plan names, or 'mutants'), --quick (one context per plan: for racecheck),
// --mutants <n> (default 200, 40 with --quick; 0 for none).
import { capabilities } from '../lib/capabilities.js';
import { parseSanitizeArgs, type SanitizeArgs } from './sanitize/args.js';
import { prepare } from './sanitize/prepare.js';
import { runAll } from './sanitize/run.js';

async function main(): Promise<number> {
  let args: SanitizeArgs;
  try {
    args = parseSanitizeArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const cuda = capabilities().cuda;
  if (!cuda.available) {
    console.log(`sanitize-gpu: no CUDA device (${cuda.reason ?? 'none found'}): nothing to ${args.mode}.`);
    return 0;
  }
  const t0 = performance.now();
  const secs = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  const log = (s: string) => console.log(`  ${s}`);
  if (args.mode === 'prepare') {
    const m = await prepare(args.dir, { only: args.only, log });
    for (const s of m.skipped) console.log(`  skipped ${s.name}: ${s.reason}`);
    console.log(`sanitize-gpu prepare: ${m.plans.length} plans in ${args.dir} (${m.skipped.length} skipped) in ${secs()}`);
    return 0;
  }
  const s = await runAll(args.dir, { only: args.only, quick: args.quick, mutants: args.mutants, log });
  for (const e of s.errors.slice(0, 30)) console.log(`ERROR ${e}`);
  console.log(`sanitize-gpu run: plans ${s.plans}, runs ${s.runs}, mutants ${JSON.stringify(s.mutants)}, errors ${s.errors.length} (${secs()}${args.quick ? ', quick' : ''})`);
  return s.errors.length ? 1 : 0;
}

process.exitCode = await main();
