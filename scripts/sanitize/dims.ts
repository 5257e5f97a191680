// A dynamic-sequence engine under compute-sanitizer: one builtin engine per precision built for batch 1..4 ×
// sequence 1..48, run at lengths the build never sampled, with ids outside the embedding table and padded masks,
// through CUDA graphs and direct launches, and (fp16, graphs) through more lengths than are kept, so that dropped
// lengths come back. Prints one line per engine; memcheck reports any bad access.
// Usage: compute-sanitizer --tool memcheck --error-exitcode 9 node dist/scripts/sanitize/dims.js model.onnx [--dim sequence]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildEngine } from '../../lib/builder.js';
import { capabilities } from '../../lib/capabilities.js';
import { parseModel } from '../../lib/onnx/index.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { dim: { type: 'string', default: 'sequence' } } });
if (positionals.length !== 1) throw new Error('Usage: node dist/scripts/sanitize/dims.js model.onnx [--dim sequence]');
if (!capabilities().cuda.available) {
  console.log('No CUDA device: nothing to sanitize.');
  process.exit(0);
}
const bytes = new Uint8Array(readFileSync(positionals[0]));
const inputs = parseModel(bytes).inputs;
const MAX_BATCH = 4;
const MAX_LEN = 48;
const at = (b: number, s: number) => [b, s];
const shapes = Object.fromEntries(inputs.map((i) => [i.name, { min: at(1, 1), opt: at(2, 32), max: at(MAX_BATCH, MAX_LEN) }]));
for (const precision of ['fp16', 'fp32'] as const) {
  const engine = await buildEngine(bytes, { backend: 'builtin', precision, shapes });
  let runs = 0;
  for (const cudaGraph of [true, false]) {
    const ctx = await engine.createContext({ cudaGraph });
    for (const [batch, seq] of [[1, 1], [4, 5], [3, 17], [4, MAX_LEN], [2, 29]]) {
      const n = batch * seq;
      // Every third id far outside any vocabulary (both signs); the last rows padded.
      const ids = BigInt64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? (i % 2 ? -(10n ** 9n) : 10n ** 9n) : BigInt(1 + (i % 97))));
      const mask = BigInt64Array.from({ length: n }, (_, i) => (i >= seq && i % seq >= seq - 2 ? 0n : 1n));
      const feeds: Record<string, BigInt64Array> = {};
      for (const i of inputs) feeds[i.name] = i.name.includes('mask') ? mask : ids;
      const out = await ctx.infer(feeds, { dims: { [values.dim]: seq } });
      for (const v of Object.values(out)) if (!(v as Float32Array).every(Number.isFinite)) throw new Error(`non-finite output at batch ${batch}, ${values.dim} ${seq}`);
      runs++;
    }
    if (precision === 'fp16' && cudaGraph) {
      // More lengths than an engine and a context keep besides min, opt and max (16): early ones are dropped with
      // their graphs, then come back.
      for (const seq of [...Array.from({ length: 24 }, (_, i) => 6 + i), 5, 17, 7]) {
        const ids = BigInt64Array.from({ length: seq }, (_, i) => BigInt(1 + (i % 97)));
        const feeds: Record<string, BigInt64Array> = {};
        for (const i of inputs) feeds[i.name] = i.name.includes('mask') ? new BigInt64Array(seq).fill(1n) : ids;
        const out = await ctx.infer(feeds, { dims: { [values.dim]: seq } });
        for (const v of Object.values(out)) if (!(v as Float32Array).every(Number.isFinite)) throw new Error(`non-finite output at ${values.dim} ${seq}`);
        runs++;
      }
    }
    ctx.dispose();
  }
  console.log(`${precision}: ${runs} runs (graphs and direct launches), outputs finite`);
  engine.dispose({ contexts: true });
}
