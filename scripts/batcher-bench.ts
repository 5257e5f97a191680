// Batch-1 requests, in process: plain ctx.infer() over K contexts vs the dynamic batcher, the batch-N run() rate
// they aim at, and the batcher's added latency for a lone caller with maxDelayMs 0.
// Usage: node dist/scripts/batcher-bench.js [--seconds 3] [--max-batch 32] [--backend auto|builtin|reference]
//        [--model auto|mobilenetv2|smallcnn] [--plain-contexts 1,4,8] [--plain-callers 64,256]
//        [--batcher-contexts 2,4,8] [--delays 0,1] [--callers 256] [--sync callback|spin|blocking] [--json out.json]
// Without a GPU it runs the small CNN on the CPU reference backend (short and small, to check the script).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { capabilities } from '../lib/capabilities.js';
import type { InferenceContext } from '../lib/context.js';
import { createBatcher } from '../lib/serve/batcher.js';
import { summarize } from '../lib/bench/stats.js';
import { table } from '../lib/cli/format.js';
import { benchModel, closedLoop, int, ms, numbers, type LoadResult } from './serving/setup.js';

const cpu = !capabilities().cuda.available;
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: cpu ? '1' : '3' },
    'max-batch': { type: 'string', default: '32' },
    backend: { type: 'string', default: 'auto' },
    model: { type: 'string', default: 'auto' },
    'plain-contexts': { type: 'string', default: cpu ? '1,2' : '1,4,8' },
    'plain-callers': { type: 'string', default: cpu ? '8,32' : '64,256' },
    'batcher-contexts': { type: 'string', default: cpu ? '1' : '2,4,8' },
    delays: { type: 'string', default: cpu ? '0' : '0,1' },
    callers: { type: 'string', default: cpu ? '32' : '256' },
    'latency-iterations': { type: 'string', default: cpu ? '200' : '3000' },
    sync: { type: 'string', default: 'callback' },
    json: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const warmup = Math.min(1, seconds / 3);
const maxBatch = Number(values['max-batch']);
const sync = values.sync as 'callback' | 'spin' | 'blocking';
const m = await benchModel({ backend: values.backend!, model: values.model!, maxBatch });
const { engine, input, samples } = m;
const contextsOf = (k: number) => Promise.all(Array.from({ length: k }, () => engine.createContext({ maxBatch, sync })));
const disposeAll = (cs: InferenceContext[]) => cs.forEach((c) => c.dispose());
console.log(`${m.label}; batch-1 requests, ${seconds} s per row after ${warmup.toFixed(2)} s warm-up${cpu ? ' — CPU reference run: a check of the script, not a GPU figure' : ''}`);

const rows: (string | number)[][] = [['mode', 'contexts', 'callers', 'images/s', `of run() b${maxBatch}`, 'p50', 'p99', 'mean batch']];
let target = NaN;
const json: Record<string, unknown>[] = [];
const record = (mode: string, contexts: number, callers: number | string, r: LoadResult, meanBatch: number | string = '') => {
  rows.push([mode, contexts, String(callers), int(r.rate), target > 0 ? `${((100 * r.rate) / target).toFixed(0)}%` : '—', ms(r.p50), ms(r.p99), typeof meanBatch === 'number' ? meanBatch.toFixed(1) : meanBatch]);
  json.push({ mode, contexts, callers, imagesPerSecond: r.rate, p50Ms: r.p50, p99Ms: r.p99, meanBatch });
};

// 1. The rate to aim at: one context running full batches with run() (inputs already in pinned memory).
{
  const [ctx] = await contextsOf(1);
  const pinned = ctx.inputs[input] as Float32Array;
  for (let b = 0; b < maxBatch; b++) pinned.set(samples[b % samples.length], b * samples[0].length);
  const r = await closedLoop(1, seconds, warmup, () => ctx.run({ batch: maxBatch }));
  target = r.rate * maxBatch;
  record(`run() batch ${maxBatch}`, 1, 1, { ...r, rate: target }, maxBatch);
  ctx.dispose();
}
// 2. Plain infer(): each caller owns a slot on one context (round-robin), requests queue per context.
for (const k of numbers(values['plain-contexts']!)) {
  const cs = await contextsOf(k);
  for (const callers of numbers(values['plain-callers']!)) {
    const r = await closedLoop(callers, seconds, warmup, (c, i) => cs[c % k].infer({ [input]: samples[(c + i) % samples.length] }));
    record('infer()', k, callers, r, 1);
  }
  disposeAll(cs);
}

// 3. The batcher: every caller sends one image; batches form while the contexts are busy.
const callers = Number(values.callers);
for (const k of numbers(values['batcher-contexts']!)) {
  for (const delay of numbers(values.delays!)) {
    const cs = await contextsOf(k);
    const batcher = await createBatcher(cs, { maxBatch, maxDelayMs: delay });
    const r = await closedLoop(callers, seconds, warmup, (c, i) => batcher.infer({ [input]: samples[(c + i) % samples.length] }));
    const s = batcher.stats();
    record(`batcher, delay ${delay} ms`, k, callers, r, s.meanBatchSize);
    await batcher.dispose();
    disposeAll(cs);
  }
}

console.log(table(rows, '  ').join('\n'));

// The JS thread copies every request's rows into pinned memory once: that bandwidth bounds the batcher's rate.
{
  const [ctx] = await contextsOf(1);
  const pinned = ctx.inputs[input] as Float32Array;
  const row = samples[0].length;
  let copies = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 500) {
    for (let b = 0; b < maxBatch; b++) pinned.set(samples[(copies + b) % samples.length], b * row);
    copies += maxBatch;
  }
  const perCopyMs = (performance.now() - t0) / copies;
  console.log(`  copy of one row into pinned inputs: ${ms(perCopyMs)} (${((row * 4) / perCopyMs / 1e6).toFixed(1)} GB/s): at most ${int(1000 / perCopyMs)} images/s on one JS thread`);
  json.push({ mode: 'copy', msPerRow: perCopyMs });
  ctx.dispose();
}

// 4. A lone caller: the batcher with maxDelayMs 0 against run() on the same context, interleaved so that clock
// drift and GPU clocks hit both alike.
{
  const [ctx] = await contextsOf(1);
  let lastRunMs = 0;
  const batcher = await createBatcher(ctx, { maxBatch, maxDelayMs: 0, onBatch: (b) => (lastRunMs = b.runMs) });
  const x = samples[0];
  const pinned = ctx.inputs[input] as Float32Array;
  const iterations = Number(values['latency-iterations']);
  const t = { run: [] as number[], copyRun: [] as number[], batcher: [] as number[] };
  // Besides the end-to-end times: the batcher's own work per request (its wall time less the copy-in-and-run it
  // times itself), beside the same for copy + run() + copy, and the paired difference of neighbouring samples.
  const own = { copyRun: [] as number[], batcher: [] as number[] };
  let copyRunPhase = 0;
  const outName = engine.outputs[0].name;
  const outRows = ctx.outputs[outName].length / maxBatch;
  const ways: (() => Promise<unknown>)[] = [
    () => ctx.run({ batch: 1 }),
    async () => {
      const s0 = performance.now();
      pinned.set(x);
      await ctx.run({ batch: 1 });
      copyRunPhase = performance.now() - s0;
      return ctx.outputs[outName].slice(0, outRows);
    },
    () => batcher.infer({ [input]: x }),
  ];
  const into = [t.run, t.copyRun, t.batcher];
  // The three ways take turns in a rotating order, so that none always follows the same one.
  for (let i = 0; i < iterations + 50; i++) {
    for (let j = 0; j < 3; j++) {
      const w = (i + j) % 3;
      const s = performance.now();
      await ways[w]();
      const d = performance.now() - s;
      if (i < 50) continue;
      into[w].push(d);
      if (w === 1) own.copyRun.push(d - copyRunPhase);
      if (w === 2) own.batcher.push(d - lastRunMs);
    }
  }
  const med = (v: number[]) => summarize(v, [50, 99]);
  const lat = [
    ['one caller, batch 1', 'median', 'p99'],
    ['run() (inputs already pinned)', ms(med(t.run).median), ms(med(t.run).percentiles['99'])],
    ['copy in + run() + copy out', ms(med(t.copyRun).median), ms(med(t.copyRun).percentiles['99'])],
    ['batcher.infer(), maxDelayMs 0', ms(med(t.batcher).median), ms(med(t.batcher).percentiles['99'])],
  ];
  console.log(table(lat, '  ').join('\n'));
  const over = med(t.batcher).median - med(t.run).median;
  console.log(`  batcher − run(): ${ms(over)} (median); batcher − (copy + run() + copy): ${ms(med(t.batcher).median - med(t.copyRun).median)}`);
  const paired = t.batcher.map((b, i) => b - t.copyRun[i]);
  console.log(
    `  paired (each batcher sample less its neighbouring copy + run() + copy): median ${ms(med(paired).median)}; ` +
      `own work around the copy and run: batcher ${ms(med(own.batcher).median)}, copy + run() + copy ${ms(med(own.copyRun).median)}`,
  );
  json.push({ mode: 'latency', runMs: med(t.run).median, copyRunMs: med(t.copyRun).median, batcherMs: med(t.batcher).median, pairedMs: med(paired).median, batcherOwnMs: med(own.batcher).median, copyRunOwnMs: med(own.copyRun).median });
  await batcher.dispose();
  ctx.dispose();
}
if (values.json) writeFileSync(values.json, JSON.stringify({ model: m.label, seconds, results: json }, null, 2));
engine.dispose({ contexts: true });
