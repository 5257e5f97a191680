// The run phase of scripts/sanitize-gpu.ts (run under compute-sanitizer): loads every prepared plan and runs it
// through each completion mode, infer(), run(), runImages(), profileLayers(), without CUDA graphs, with hostile
// inputs where the plan has them; then the accepted plan mutants of the fuzzer. One process, so the sanitizer sees
// every launch; one or two iterations per configuration, since memcheck slows kernels 10-50×.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadEngine } from '../../lib/builder.js';
import { validateBuiltinPlan } from '../../lib/builtin/validate.js';
import { capabilities } from '../../lib/capabilities.js';
import type { InferenceContext } from '../../lib/context.js';
import type { Engine } from '../../lib/engine.js';
import { ErrorCode, TensorRTError } from '../../lib/errors.js';
import type { SyncMode } from '../../lib/types.js';
import { fillUniform } from '../../lib/util/random.js';
import { fuzzPlans } from '../fuzz/mutate.js';
import { seeds } from '../fuzz/seeds.js';
import { feedsFor, hasHostileFeeds, type FeedPlan } from './feeds.js';
import { selected, type Manifest, type ManifestEntry } from './specs.js';

export interface RunOptions {
  only?: string;
  /** Fewer configurations per plan (for racecheck). */
  quick?: boolean;
  /** Accepted plan mutants to run (0: none). */
  mutants: number;
  log: (s: string) => void;
}

export interface RunSummary {
  plans: number;
  runs: number;
  /** Mutant outcomes: 'ran', a refusal's error code, or 'skipped (over 256 MiB)'. */
  mutants: Record<string, number>;
  errors: string[];
}

const SYNC_MODES: readonly SyncMode[] = ['auto', 'spin', 'blocking', 'callback'];
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
/** Mutants whose arena and pinned memory exceed this are skipped (mutated sizes may be valid but huge). */
export const MUTANT_MAX_BYTES = 256 * 2 ** 20;

/**
 * The configurations one plan runs: [context options, what it does]. Quick keeps one batch-1 and one max-batch run
 * of each kind of work, which is what racecheck needs (every kernel configuration once).
 * @example runSchedule(4, true, true, false).length // 4
 */
export function runSchedule(maxBatch: number, image: boolean, hostile: boolean, quick: boolean): { sync: SyncMode; graphs: boolean; steps: string[] }[] {
  const ends = [...new Set([1, maxBatch])];
  const main = [
    ...ends.map((b) => `infer:${b}`),
    ...(hostile ? [`infer-hostile:${maxBatch}`] : []),
    ...(image ? (quick ? [`images:${maxBatch}`] : ends.map((b) => `images:${b}`)) : []),
    ...(quick ? [] : ['profile:1']),
  ];
  if (quick) return [{ sync: 'auto', graphs: true, steps: main }];
  return [
    { sync: 'auto', graphs: true, steps: main },
    ...SYNC_MODES.filter((m) => m !== 'auto').map((sync) => ({ sync, graphs: true, steps: ends.map((b) => `run:${b}`) })),
    { sync: 'auto', graphs: false, steps: [...ends.map((b) => `run:${b}`), ...(hostile ? [`infer-hostile:${maxBatch}`] : [])] },
  ];
}

/** The engine's NCHW 3-channel float input with static height and width, if any (what runImages takes). */
function imageInput(engine: Engine): string | undefined {
  return engine.inputs.find((t) => t.shape.length === 4 && t.shape[1] === 3 && typeof t.shape[2] === 'number' && typeof t.shape[3] === 'number' && (t.dtype === 'float32' || t.dtype === 'float16'))?.name;
}

/** One step on a context (see runSchedule). */
async function step(ctx: InferenceContext, s: string, feed: FeedPlan, image: string | undefined, seed: number): Promise<void> {
  const [what, n] = s.split(':');
  const batch = Number(n);
  if (what === 'infer' || what === 'infer-hostile') {
    await ctx.infer(feedsFor(ctx.engine.inputs, feed, batch, seed, what === 'infer-hostile'));
  } else if (what === 'run') {
    // The pinned inputs, filled in place (a float view: seeded values; others keep what the last infer left).
    for (const [name, view] of Object.entries(ctx.inputs)) if (view instanceof Float32Array) fillUniform(view, seed + name.length);
    await ctx.run({ batch });
  } else if (what === 'images') {
    const px = ctx.imagePixels(image);
    for (let i = 0; i < px.length; i++) px[i] = (i * 131 + seed) & 255;
    await ctx.runImages({ batch, input: image, mean: MEAN, std: STD });
  } else {
    await ctx.profileLayers({ batch, iterations: 1 });
  }
}

/** Loads one plan and runs its schedule; each failure is one line in `errors`; returns the runs made. */
async function runPlan(dir: string, e: ManifestEntry, o: RunOptions, errors: string[]): Promise<number> {
  let runs = 0;
  const engine = await loadEngine(new Uint8Array(readFileSync(path.join(dir, e.file))));
  try {
    const image = imageInput(engine);
    const schedule = runSchedule(engine.profile.max, image !== undefined, hasHostileFeeds(e.feed), !!o.quick);
    for (const [k, c] of schedule.entries()) {
      let ctx: InferenceContext | undefined;
      try {
        ctx = await engine.createContext({ sync: c.sync, cudaGraph: c.graphs });
        const rows = Object.fromEntries(Object.entries(ctx.inputs).map(([name, v]) => [name, v.length / ctx!.maxBatch]));
        const feed: FeedPlan = { kind: e.feed, rows, ...(e.extra ? { extra: e.extra } : {}) };
        for (const s of c.steps) {
          try {
            await step(ctx, s, feed, image, 17 + k);
            runs++;
          } catch (err) {
            errors.push(`${e.name} [${c.sync}${c.graphs ? '' : ', no graphs'}] ${s}: ${describe(err)}`);
          }
        }
      } catch (err) {
        errors.push(`${e.name} [${c.sync}${c.graphs ? '' : ', no graphs'}] createContext: ${describe(err)}`);
      } finally {
        ctx?.dispose();
      }
    }
  } finally {
    engine.dispose({ contexts: true });
  }
  return runs;
}

const describe = (e: unknown) => (e instanceof TensorRTError ? `${e.code}: ${e.message}` : String((e as Error)?.stack ?? e));

/**
 * Loads and runs an accepted mutant at batch 1 and its maximum: 'ran', or the code it was refused with (also what
 * test/gpu/plan-mutants.test.ts runs).
 */
export async function runMutant(plan: Uint8Array): Promise<string> {
  try {
    const engine = await loadEngine(plan);
    try {
      const ctx = await engine.createContext();
      // A dim besides the batch runs at its ends and opt too (each a program of its own, validated before it runs).
      const varying = Object.entries(engine.dims).filter(([, r]) => r.min !== r.max);
      const dimsList = varying.length ? [...new Set([varying[0][1].min, varying[0][1].opt, varying[0][1].max])].map((v) => ({ [varying[0][0]]: v })) : [undefined];
      for (const batch of new Set([1, engine.profile.max])) {
        for (const dims of dimsList) {
          for (const [i, view] of Object.values(ctx.inputs).entries()) if (view instanceof Float32Array) fillUniform(view, 3 + i);
          await ctx.run({ batch, ...(dims ? { dims } : {}) });
        }
      }
    } finally {
      engine.dispose({ contexts: true });
    }
    return 'ran';
  } catch (e) {
    if (e instanceof TensorRTError) return e.code;
    throw e;
  }
}

/**
 * Runs every selected plan of `dir/manifest.json`, then `o.mutants` accepted mutants (fixed seed), and sums up.
 * A device fault (ERR_CUDA_FAULT) or an uncoded error of a mutant is an error; a coded refusal is an outcome.
 * @example const s = await runAll('build/sanitize', { mutants: 200, log: console.log });
 */
export async function runAll(dir: string, o: RunOptions): Promise<RunSummary> {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const summary: RunSummary = { plans: 0, runs: 0, mutants: {}, errors: [] };
  for (const e of manifest.plans) {
    if (!selected(e.name, o.only)) continue;
    const t0 = performance.now();
    const before = summary.errors.length;
    try {
      summary.runs += await runPlan(dir, e, o, summary.errors);
      summary.plans++;
    } catch (err) {
      summary.errors.push(`${e.name} load: ${describe(err)}`);
    }
    o.log(`${e.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s${summary.errors.length > before ? `, ${summary.errors.length - before} errors` : ''}`);
  }
  if (o.mutants > 0 && selected('mutants', o.only)) {
    const t0 = performance.now();
    const cc = capabilities().cuda.devices[0].computeCapability;
    // The generator and seed of test/gpu/plan-mutants.test.ts: the same mutants, whatever machine runs them.
    const { accepted } = fuzzPlans(seeds(cc), o.mutants * 12, 7, o.mutants);
    for (const c of accepted) {
      const r = validateBuiltinPlan(c.plan!).report;
      let outcome: string;
      if (r.arenaBytes + r.pinnedBytes > MUTANT_MAX_BYTES) outcome = 'skipped (over 256 MiB)';
      else {
        try {
          outcome = await runMutant(c.plan!);
        } catch (err) {
          outcome = 'uncoded error';
          summary.errors.push(`mutant (${c.mutations.join(', ')}): ${describe(err)}`);
        }
        if (outcome === ErrorCode.CUDA_FAULT) summary.errors.push(`mutant (${c.mutations.join(', ')}): a device fault`);
      }
      summary.mutants[outcome] = (summary.mutants[outcome] ?? 0) + 1;
    }
    o.log(`mutants: ${accepted.length} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(summary.mutants)}`);
  }
  return summary;
}
