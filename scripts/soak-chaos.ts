// Chaos soak on the GPU: N contexts × M callers mixing run, infer, runImages, bad inputs, and random disposes and
// re-creates of contexts, for a given time. Prints GPU memory (cudaMemGetInfo), RSS and completed calls per kind at
// 0 s and every --interval seconds, then a verdict. Fails (exit 1) on a call that never settles, a wrong result, an
// unexpected error, a kind of call that never completed, or memory that grew between the first interval sample and
// the end by more than --max-gpu-growth / --max-rss-growth MiB; a crash ends the process with a non-zero status.
// The model's first input must be an image [batch, 3, H, W] with a dynamic batch (runImages feeds it): mobilenetv2,
// smallcnn or an ONNX file.
// Usage: node --expose-gc dist/scripts/soak-chaos.js [--contexts 8] [--callers 32] [--seconds 1800] [--interval 600]
//        [--model mobilenetv2|smallcnn|file.onnx] [--seed 1] [--max-gpu-growth 256] [--max-rss-growth 512]
//        [--json out.json]   (--expose-gc makes the RSS figures steadier; without it they are still printed)
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildEngine } from '../lib/builder.js';
import { capabilities } from '../lib/capabilities.js';
import type { InferenceContext } from '../lib/context.js';
import { ErrorCode, TensorRTError } from '../lib/errors.js';
import { memoryInfo } from '../lib/memory.js';
import { parseModel } from '../lib/onnx/index.js';
import { rowElements } from '../lib/tensor.js';
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
    'max-gpu-growth': { type: 'string', default: '256' },
    'max-rss-growth': { type: 'string', default: '512' },
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
const MiB = 2 ** 20;

// A seeded generator, so a failing schedule can be replayed with the same --seed.
let state = Number(values.seed) >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};
const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)];

const bytes = values.model === 'smallcnn' ? smallCnn({ seed: 3 }) : values.model === 'mobilenetv2' ? mobilenetV2({ seed: 42 }) : new Uint8Array(readFileSync(values.model!));
const source = parseModel(bytes);
const INPUT = { name: source.inputs[0].name, shape: source.inputs[0].type.shape, dtype: source.inputs[0].type.dtype };
const OUTPUT = source.outputs[0].name;
if (INPUT.shape.length !== 4 || INPUT.shape[1] !== 3 || typeof INPUT.shape[2] !== 'number' || typeof INPUT.shape[3] !== 'number' || INPUT.dtype !== 'float32') {
  console.error(`soak-chaos: the model's first input must be a float32 image [batch, 3, H, W]; '${INPUT.name}' is ${INPUT.dtype} [${INPUT.shape.join(', ')}]`);
  process.exit(2);
}
const [H, W] = [Number(INPUT.shape[2]), Number(INPUT.shape[3])];
const engine = await buildEngine(bytes, {
  backend: 'builtin',
  shapes: { [INPUT.name]: { min: [1, 3, H, W], opt: [4, 3, H, W], max: [MAX_BATCH, 3, H, W] } },
});
const ROW = 3 * H * W;
const CLASSES = rowElements(engine.outputs.find((o) => o.name === OUTPUT)!.shape);

// Fixed inputs and their outputs from a quiet context: every infer() under chaos must return them bit for bit.
const feeds = Array.from({ length: 4 }, (_, i) => fillUniform(new Float32Array(ROW), 100 + i));
const expected: Float32Array[] = [];
{
  const quiet = await engine.createContext({ maxBatch: 1 });
  for (const f of feeds) expected.push((await quiet.infer({ [INPUT.name]: f }))[OUTPUT] as Float32Array);
  quiet.dispose();
}

const slots: (InferenceContext | null)[] = await Promise.all(
  Array.from({ length: CONTEXTS }, (_, i) => engine.createContext({ maxBatch: MAX_BATCH, sync: pick(['auto', 'callback', 'spin', 'blocking'] as const), ...(i % 4 === 3 ? { cudaGraph: false } : {}) })),
);
const ops: Record<string, number> = {};
/** Calls that completed (resolved, or for 'bad' and 'recreate' did what they should), by kind. */
const done: Record<string, number> = {};
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

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
/** run() and runImages() refuse a busy context (infer() queues): give queued work up to ~20 ms to drain first.
 * Throws ERR_DISPOSED when another caller disposed the context meanwhile (its pinned views are detached then), and
 * ERR_CONTEXT_BUSY when it is still busy. */
async function idle(ctx: InferenceContext, slot: number): Promise<void> {
  for (let i = 0; i < 20 && ctx.busy; i++) await sleep(1);
  // A context is live while it is in its slot: a re-create empties the slot before it disposes.
  if (slots[slot] !== ctx) throw new TensorRTError(ErrorCode.DISPOSED, 'The context was disposed by another caller');
  // Still busy: writing its pinned inputs now would change what the queued infer() calls read (the contract is
  // to touch ctx.inputs only while the context is idle), so this caller gives up as run() itself would.
  if (ctx.busy) throw new TensorRTError(ErrorCode.CONTEXT_BUSY, 'The context stayed busy; its inputs are not ours to write');
}

/**
 * Right before a caller writes a context's pinned inputs: idle() resolved a microtask ago, in which another caller
 * may have started an infer() that now reads those inputs. (A soak on the H200 caught exactly that: 3 infers in
 * 170 s got another caller's rows.)
 */
function ownIdle(ctx: InferenceContext): void {
  if (ctx.busy) throw new TensorRTError(ErrorCode.CONTEXT_BUSY, 'Another call started on the context; its inputs are not ours to write');
}

/** Runs one random operation; rejections with an allowed code are counted, anything else is a failure. */
async function step(): Promise<void> {
  const i = Math.floor(rand() * slots.length);
  const ctx = slots[i];
  const r = rand();
  const op = !ctx ? 'wait' : r < 0.3 ? 'run' : r < 0.6 ? 'infer' : r < 0.77 ? 'runImages' : r < 0.92 ? 'bad' : 'recreate';
  count(ops, op);
  let allowed: string[] = [ErrorCode.CONTEXT_BUSY, ErrorCode.DISPOSED];
  try {
    if (!ctx) {
      await sleep(1);
    } else if (op === 'run') {
      const batch = 1 + Math.floor(rand() * MAX_BATCH);
      await idle(ctx, i);
      ownIdle(ctx);
      fillUniform((ctx.inputs[INPUT.name] as Float32Array).subarray(0, batch * ROW), Math.floor(rand() * 1e6));
      await settled('run', ctx.run({ batch }));
      // Read only while the context is live (a dispose detaches its pinned views); another call may have run since.
      const out = slots[i] === ctx ? (ctx.outputs[OUTPUT] as Float32Array).subarray(0, batch * CLASSES) : new Float32Array(0);
      if (!out.every(Number.isFinite)) failures.push('run: a non-finite output');
    } else if (op === 'infer') {
      const k = Math.floor(rand() * feeds.length);
      const got = (await settled('infer', ctx.infer({ [INPUT.name]: feeds[k] })))[OUTPUT] as Float32Array;
      if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected[k].buffer))) failures.push(`infer: wrong result for feed ${k}`);
    } else if (op === 'runImages') {
      const batch = 1 + Math.floor(rand() * MAX_BATCH);
      await idle(ctx, i);
      ownIdle(ctx);
      ctx.imagePixels().fill(Math.floor(rand() * 256), 0, batch * H * W * 4);
      await settled('runImages', ctx.runImages({ batch, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }));
      const out = slots[i] === ctx ? (ctx.outputs[OUTPUT] as Float32Array).subarray(0, batch * CLASSES) : new Float32Array(0);
      if (!out.every(Number.isFinite)) failures.push('runImages: a non-finite output');
    } else if (op === 'bad') {
      const bad = pick([
        () => ctx.infer({ [INPUT.name]: new Float64Array(ROW) as never }),
        () => ctx.infer({ [INPUT.name]: new Float32Array(ROW - 1) }),
        () => ctx.infer({ [INPUT.name]: new Float32Array(ROW * (MAX_BATCH + 1)) }),
        () => ctx.infer({ wrong: new Float32Array(ROW) } as never),
        () => ctx.run({ batch: 0 }),
        () => ctx.run({ batch: MAX_BATCH + 1 }),
        () => ctx.run({ batches: 1 } as never),
        () => ctx.runImages({ batch: 1, mean: [0, 0], std: [1, 1, 1] }),
      ]);
      allowed = [...allowed, ErrorCode.INVALID_INPUT, ErrorCode.INVALID_ARGUMENT, ErrorCode.BATCH_OUT_OF_RANGE];
      try {
        await settled<unknown>('bad input', bad());
      } catch (e) {
        if ([ErrorCode.INVALID_INPUT, ErrorCode.INVALID_ARGUMENT, ErrorCode.BATCH_OUT_OF_RANGE].includes(codeOf(e) as never)) count(done, 'bad');
        throw e;
      }
      failures.push('bad input: accepted');
    } else {
      slots[i] = null;
      ctx.dispose(); // other callers' queued calls on it reject with ERR_DISPOSED
      slots[i] = await settled('createContext', engine.createContext({ maxBatch: MAX_BATCH, sync: pick(['auto', 'callback', 'spin', 'blocking'] as const), ...(rand() < 0.25 ? { cudaGraph: false } : {}) }));
    }
    if (op !== 'bad') count(done, op);
  } catch (e) {
    const code = codeOf(e);
    if (allowed.includes(code)) count(rejected, code);
    else if (!String((e as Error).message).startsWith('UNSETTLED')) failures.push(`${op}: ${code}: ${(e as Error).message}`);
  }
}

process.on('unhandledRejection', (e) => {
  failures.push(`unhandled rejection: ${String(e)}`);
});
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const t0 = performance.now();
const samples: { seconds: number; gpuUsed: number; rss: number; ops: number }[] = [];
const sample = () => {
  globalThis.gc?.();
  const m = memoryInfo(engine.device);
  const s = { seconds: (performance.now() - t0) / 1000, gpuUsed: m.total - m.free, rss: process.memoryUsage().rss, ops: Object.values(ops).reduce((a, b) => a + b, 0) };
  samples.push(s);
  console.log(
    `t=${s.seconds.toFixed(0).padStart(5)} s  GPU used ${mib(s.gpuUsed)}  RSS ${mib(s.rss)}  ops ${s.ops}  done ${JSON.stringify(done)}  ` +
      `rejected ${JSON.stringify(rejected)}  failures ${failures.length}  unsettled ${unsettled}`,
  );
};
console.log(`chaos soak: ${CONTEXTS} contexts × ${CALLERS} callers, ${SECONDS} s, model ${values.model} (${INPUT.name} [${INPUT.shape.join(', ')}] → ${OUTPUT}), seed ${values.seed}${globalThis.gc ? '' : ' (no --expose-gc: RSS figures include uncollected garbage)'}`);
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
// Memory is compared from the first interval sample on: the first minutes warm up graphs, staging and the heap.
const first = samples[1] ?? samples[0];
const last = samples[samples.length - 1];
const growth = last.gpuUsed - first.gpuUsed;
const rssGrowth = last.rss - first.rss;
const [maxGpu, maxRss] = [Number(values['max-gpu-growth']) * MiB, Number(values['max-rss-growth']) * MiB];
console.log(`ops ${JSON.stringify(ops)}  done ${JSON.stringify(done)}`);
console.log(`GPU used ${mib(first.gpuUsed)} → ${mib(last.gpuUsed)} (Δ ${mib(growth)}, limit ${mib(maxGpu)}), RSS ${mib(first.rss)} → ${mib(last.rss)} (Δ ${mib(rssGrowth)}, limit ${mib(maxRss)}) from t=${first.seconds.toFixed(0)} s`);
if (growth > maxGpu) failures.push(`GPU memory grew by ${mib(growth)} (limit ${mib(maxGpu)})`);
if (rssGrowth > maxRss) failures.push(`RSS grew by ${mib(rssGrowth)} (limit ${mib(maxRss)})`);
for (const op of ['run', 'infer', 'runImages', 'bad', 'recreate']) if (!done[op]) failures.push(`no ${op} call completed`);
for (const f of [...new Set(failures)].slice(0, 20)) console.log(`FAIL ${f}`);
if (values.json) writeFileSync(values.json, JSON.stringify({ ops, done, rejected, failures, unsettled, samples }, null, 2));
console.log(
  failures.length === 0
    ? `chaos soak: OK (no crash, every call settled, memory flat: GPU Δ ${mib(growth)}, RSS Δ ${mib(rssGrowth)})`
    : `chaos soak: FAILED, ${failures.length} failures${unsettled ? `, ${unsettled} unsettled calls` : ''}`,
);
process.exit(failures.length === 0 ? 0 : 1);
