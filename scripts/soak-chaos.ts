// Chaos soak on the GPU: N contexts × M callers mixing run, infer, runImages, bad inputs, and random disposes and
// re-creates of contexts, for a given time. Prints GPU memory (cudaMemGetInfo) and RSS at intervals. Fails (exit 1)
// on a call that never settles, a wrong result, an unexpected error, or GPU memory that keeps growing; a crash
// ends the process with a non-zero status by itself.
// Usage: node dist/scripts/soak-chaos.js [--contexts 8] [--callers 32] [--seconds 1800] [--interval 600]
//        [--model mobilenetv2|smallcnn] [--seed 1] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildEngine } from '../lib/builder.js';
import { capabilities } from '../lib/capabilities.js';
import type { InferenceContext } from '../lib/context.js';
import { ErrorCode } from '../lib/errors.js';
import { memoryInfo } from '../lib/memory.js';
import { fillUniform } from '../lib/util/random.js';
import { mobilenetV2, smallCnn } from './gen-models.js';

const { values } = parseArgs({
  options: {
    contexts: { type: 'string', default: '8' },
    callers: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '60' },
    interval: { type: 'string', default: '10' },
    model: { type: 'string', default: 'mobilenetv2' },
    seed: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
if (!capabilities().cuda.available) {
  console.log('No CUDA device: nothing to soak.');
  process.exit(0);
}
const CONTEXTS = Number(values.contexts);
const CALLERS = Number(values.callers);
const SECONDS = Number(values.seconds);
const INTERVAL = Number(values.interval);
const SETTLE_MS = 30_000; // a call that takes this long is reported as unsettled
const MAX_BATCH = 8;
const size = values.model === 'smallcnn' ? 32 : 224;
const ROW = 3 * size * size;

// A seeded generator, so a failing schedule can be replayed with the same --seed.
let state = Number(values.seed) >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};
const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)];

const bytes = values.model === 'smallcnn' ? smallCnn({ seed: 3 }) : mobilenetV2({ seed: 42 });
const engine = await buildEngine(bytes, {
  backend: 'builtin',
  shapes: { input: { min: [1, 3, size, size], opt: [4, 3, size, size], max: [MAX_BATCH, 3, size, size] } },
});

const CLASSES = engine.outputs[0].shape[1] as number;

// Fixed inputs and their outputs from a quiet context: every infer() under chaos must return them bit for bit.
const feeds = Array.from({ length: 4 }, (_, i) => fillUniform(new Float32Array(ROW), 100 + i));
const expected: Float32Array[] = [];
{
  const quiet = await engine.createContext({ maxBatch: 1 });
  for (const f of feeds) expected.push((await quiet.infer({ input: f })).logits as Float32Array);
  quiet.dispose();
}

const slots: (InferenceContext | null)[] = await Promise.all(
  Array.from({ length: CONTEXTS }, (_, i) => engine.createContext({ maxBatch: MAX_BATCH, sync: pick(['auto', 'callback', 'spin', 'blocking'] as const), ...(i % 4 === 3 ? { cudaGraph: false } : {}) })),
);
const ops: Record<string, number> = {};
const rejected: Record<string, number> = {};
const failures: string[] = [];
let unsettled = 0;
const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
const codeOf = (e: unknown) => (e as { code?: string }).code ?? `uncoded: ${String(e)}`;

/** Awaits `p`, reporting it as unsettled if it takes longer than SETTLE_MS (it is still awaited after that). */
async function settled<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`UNSETTLED ${what}`)), SETTLE_MS);
  });
  try {
    return await Promise.race([p, late]);
  } catch (e) {
    if ((e as Error).message === `UNSETTLED ${what}`) {
      unsettled++;
      failures.push(`${what} did not settle within ${SETTLE_MS / 1000} s`);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs one random operation; rejections with an allowed code are counted, anything else is a failure. */
async function step(): Promise<void> {
  const i = Math.floor(rand() * slots.length);
  const ctx = slots[i];
  const r = rand();
  const op = !ctx ? 'wait' : r < 0.35 ? 'run' : r < 0.65 ? 'infer' : r < 0.77 ? 'runImages' : r < 0.92 ? 'bad' : 'recreate';
  count(ops, op);
  let allowed: string[] = [ErrorCode.CONTEXT_BUSY, ErrorCode.DISPOSED];
  try {
    if (!ctx) {
      await new Promise((res) => setTimeout(res, 1));
    } else if (op === 'run') {
      const batch = 1 + Math.floor(rand() * MAX_BATCH);
      fillUniform((ctx.inputs.input as Float32Array).subarray(0, batch * ROW), Math.floor(rand() * 1e6));
      await settled('run', ctx.run({ batch }));
      const out = (ctx.outputs.logits as Float32Array).subarray(0, batch * CLASSES);
      if (!out.every(Number.isFinite)) failures.push('run: a non-finite output');
    } else if (op === 'infer') {
      const k = Math.floor(rand() * feeds.length);
      const got = (await settled('infer', ctx.infer({ input: feeds[k] }))).logits as Float32Array;
      if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected[k].buffer))) failures.push(`infer: wrong result for feed ${k}`);
    } else if (op === 'runImages') {
      const batch = 1 + Math.floor(rand() * MAX_BATCH);
      ctx.imagePixels().fill(Math.floor(rand() * 256), 0, batch * size * size * 4);
      await settled('runImages', ctx.runImages({ batch, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }));
    } else if (op === 'bad') {
      const bad = pick([
        () => ctx.infer({ input: new Float64Array(ROW) as never }),
        () => ctx.infer({ input: new Float32Array(ROW - 1) }),
        () => ctx.infer({ input: new Float32Array(ROW * (MAX_BATCH + 1)) }),
        () => ctx.infer({ wrong: new Float32Array(ROW) } as never),
        () => ctx.run({ batch: 0 }),
        () => ctx.run({ batch: MAX_BATCH + 1 }),
        () => ctx.run({ batches: 1 } as never),
        () => ctx.runImages({ batch: 1, mean: [0, 0], std: [1, 1, 1] }),
      ]);
      allowed = [...allowed, ErrorCode.INVALID_INPUT, ErrorCode.INVALID_ARGUMENT, ErrorCode.BATCH_OUT_OF_RANGE];
      await settled<unknown>('bad input', bad());
      failures.push('bad input: accepted');
    } else {
      slots[i] = null;
      ctx.dispose(); // other callers' queued calls on it reject with ERR_DISPOSED
      slots[i] = await settled('createContext', engine.createContext({ maxBatch: MAX_BATCH, sync: pick(['auto', 'callback', 'spin', 'blocking'] as const) }));
    }
  } catch (e) {
    const code = codeOf(e);
    if (allowed.includes(code)) count(rejected, code);
    else if (!String((e as Error).message).startsWith('UNSETTLED')) failures.push(`${op}: ${code}: ${(e as Error).message}`);
  }
}

process.on('unhandledRejection', (e) => {
  failures.push(`unhandled rejection: ${String(e)}`);
});
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const t0 = performance.now();
const samples: { seconds: number; gpuUsed: number; rss: number; ops: number }[] = [];
const sample = () => {
  globalThis.gc?.();
  const m = memoryInfo(engine.device);
  const s = { seconds: (performance.now() - t0) / 1000, gpuUsed: m.total - m.free, rss: process.memoryUsage().rss, ops: Object.values(ops).reduce((a, b) => a + b, 0) };
  samples.push(s);
  console.log(
    `t=${s.seconds.toFixed(0).padStart(5)} s  GPU used ${mib(s.gpuUsed)}  RSS ${mib(s.rss)}  ops ${s.ops}  ` +
      `rejected ${JSON.stringify(rejected)}  failures ${failures.length}  unsettled ${unsettled}`,
  );
};
console.log(`chaos soak: ${CONTEXTS} contexts × ${CALLERS} callers, ${SECONDS} s, model ${values.model}, seed ${values.seed}`);
sample();
const timer = setInterval(sample, INTERVAL * 1000);
const deadline = t0 + SECONDS * 1000;
await Promise.all(
  Array.from({ length: CALLERS }, async () => {
    while (performance.now() < deadline) await step();
  }),
);
clearInterval(timer);
sample();
for (const c of slots) c?.dispose();
engine.dispose();
const first = samples[1] ?? samples[0];
const last = samples[samples.length - 1];
const growth = last.gpuUsed - first.gpuUsed;
console.log(`ops ${JSON.stringify(ops)}`);
console.log(`GPU used ${mib(first.gpuUsed)} → ${mib(last.gpuUsed)} (Δ ${mib(growth)}), RSS ${mib(first.rss)} → ${mib(last.rss)} (Δ ${mib(last.rss - first.rss)})`);
if (growth > 256 * 2 ** 20) failures.push(`GPU memory grew by ${mib(growth)}`);
for (const f of [...new Set(failures)].slice(0, 20)) console.log(`FAIL ${f}`);
if (values.json) writeFileSync(values.json, JSON.stringify({ ops, rejected, failures, unsettled, samples }, null, 2));
console.log(failures.length === 0 ? 'chaos soak: OK' : `chaos soak: ${failures.length} failures`);
process.exit(failures.length === 0 ? 0 : 1);
