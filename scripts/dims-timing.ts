// What a dynamic sequence costs on the builtin backend: one engine built for sequence 1..max (every length runs the
// plain program at that length, with a CUDA graph per batch and length), beside an engine with the sequence pinned
// at max, timed at the same batches. GPU compute medians (device events), FP16 unless --precision fp32.
// Usage: node dist/scripts/dims-timing.js model.onnx [--dim sequence] [--lengths 16,64,128] [--batch 1,32] [--runs 200]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildEngine } from '../lib/builder.js';
import { capabilities } from '../lib/capabilities.js';
import type { Engine } from '../lib/engine.js';
import { parseModel } from '../lib/onnx/index.js';
import type { TypedArray } from '../lib/tensor.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dim: { type: 'string', default: 'sequence' }, lengths: { type: 'string', default: '16,64,128' }, batch: { type: 'string', default: '1,32' },
    runs: { type: 'string', default: '200' }, precision: { type: 'string', default: 'fp16' },
  },
});
if (positionals.length !== 1) throw new Error('Usage: node dist/scripts/dims-timing.js model.onnx [--dim sequence] [--lengths 16,64,128] [--batch 1,32] [--runs 200]');
if (!capabilities().cuda.available) {
  console.log('No CUDA device: nothing to measure.');
  process.exit(0);
}
const list = (s: string) => s.split(',').map(Number);
const lengths = list(values.lengths);
const batches = list(values.batch);
const runs = Number(values.runs);
const precision = values.precision === 'fp32' ? 'fp32' : 'fp16';
const bytes = new Uint8Array(readFileSync(positionals[0]));
const inputs = parseModel(bytes).inputs;
const maxLen = Math.max(...lengths);
const maxBatch = Math.max(...batches);
const shapes = (min: number, opt: number, max: number) =>
  Object.fromEntries(inputs.map((i) => {
    const at = (b: number, s: number) => i.type.shape.map((d, k) => (k === 0 ? b : d === values.dim ? s : Number(d)));
    return [i.name, { min: at(1, min), opt: at(maxBatch, opt), max: at(maxBatch, max) }];
  }));

async function build(label: string, min: number, opt: number, max: number): Promise<Engine> {
  const t0 = performance.now();
  const engine = await buildEngine(bytes, { backend: 'builtin', precision, shapes: shapes(min, opt, max) });
  console.log(`${label}: built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return engine;
}

async function time(engine: Engine, batch: number, seq: number, dims: boolean): Promise<number> {
  const ctx = await engine.createContext({ maxBatch });
  for (const [name, view] of Object.entries(ctx.inputs) as [string, TypedArray][]) {
    // Ids 1..999 (inside any vocabulary), a mask of ones; other inputs zeros.
    if (view instanceof BigInt64Array) view.fill(name.includes('mask') ? 1n : 101n);
  }
  const opts = { batch, ...(dims ? { dims: { [values.dim]: seq } } : {}) };
  for (let i = 0; i < 20; i++) await ctx.run(opts);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    await ctx.run(opts);
    ms.push(ctx.lastTimings.computeMs);
  }
  ctx.dispose();
  return ms.sort((a, b) => a - b)[ms.length >> 1];
}

const dynamic = await build(`dynamic ${values.dim} 1..${maxLen} (opt ${maxLen})`, 1, maxLen, maxLen);
const pinned = await build(`${values.dim} pinned at ${maxLen}`, maxLen, maxLen, maxLen);
console.log(`\n| batch | ${values.dim} | dynamic engine | pinned engine | dynamic / pinned |\n|---|---|---|---|---|`);
for (const batch of batches) {
  for (const seq of lengths) {
    const d = await time(dynamic, batch, seq, true);
    const p = seq === maxLen ? await time(pinned, batch, seq, false) : NaN;
    console.log(`| ${batch} | ${seq} | ${d.toFixed(3)} ms | ${Number.isNaN(p) ? '–' : `${p.toFixed(3)} ms`} | ${Number.isNaN(p) ? '–' : `${(d / p).toFixed(2)}×`} |`);
  }
}
dynamic.dispose({ contexts: true });
pinned.dispose({ contexts: true });
