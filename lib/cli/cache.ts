// The engine cache: ONNX → plan builds are kept under a key of model bytes, build options, GPU and library.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { buildEngine, loadEngine } from '../builder.js';
import { capabilities } from '../capabilities.js';
import type { Engine } from '../engine.js';
import { ErrorCode, hasCode } from '../errors.js';
import { externalDataLocations } from '../onnx/reader.js';
import { externalDataPath } from '../onnx/tensor.js';
import { isPlan } from '../plan.js';
import type { BuildOptions } from '../types.js';
import { writeFileAtomic } from '../util/fs.js';
import { libraryVersion } from '../version.js';
import type { CliIO } from './io.js';
import { buildProgressReporter } from './progress.js';

/**
 * Adds the engine-cache flags of the commands that build through openEngine: --cache-dir, --no-cache, -q.
 * @example addCacheFlags(new Command('classify'))
 */
export function addCacheFlags(cmd: Command): Command {
  return cmd
    .option('--cache-dir <dir>', 'engine cache root (default: $NODE_TENSORRT_CACHE or ~/.cache/node-tensorrt)')
    .option('--no-cache', 'build the engine without reading or writing the cache')
    .option('-q, --quiet', 'no build progress');
}

/**
 * The cache root: `--cache-dir`, else $NODE_TENSORRT_CACHE, else $XDG_CACHE_HOME/node-tensorrt, else
 * ~/.cache/node-tensorrt. Engines live in its `engines/` folder.
 * @example path.join(cacheRoot(), 'engines') // '/home/me/.cache/node-tensorrt/engines'
 */
export function cacheRoot(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return path.resolve(explicit);
  if (env.NODE_TENSORRT_CACHE) return path.resolve(env.NODE_TENSORRT_CACHE);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'node-tensorrt');
}

/** What a plan is specific to besides the model and the options. */
export interface CacheTarget {
  libraryVersion: string;
  /** 'NVIDIA H100 80GB HBM3 (9.0)', or 'cpu' for the reference backend. */
  device: string;
  tensorrt: string | null;
}

/** The identity of `device` on this machine, as the cache key sees it. @example cacheTarget(0, 'auto').device // 'NVIDIA H100 80GB HBM3 (9.0)' */
export function cacheTarget(device: number, backend: BuildOptions['backend']): CacheTarget {
  const caps = capabilities();
  const d = caps.cuda.devices[device];
  return {
    libraryVersion: libraryVersion(),
    device: backend === 'reference' ? 'cpu' : d ? `${d.name} (${d.computeCapability})` : 'no-cuda-device',
    tensorrt: backend === 'builtin' || backend === 'reference' ? null : caps.tensorrt.version,
  };
}

/** The build options that change the plan (the device index and callbacks do not). */
type KeyOptions = Pick<BuildOptions, 'backend' | 'precision' | 'shapes' | 'tacticBatches' | 'workspace' | 'optimizationLevel' | 'postprocess'>;

/**
 * SHA-256 (hex) over the model bytes, the plan-shaping build options and the target.
 * @example engineCacheKey(onnxBytes, { precision: 'fp16', backend: 'auto' }, cacheTarget(0, 'auto'))
 */
export function engineCacheKey(model: Uint8Array, options: KeyOptions, target: CacheTarget, externalData: readonly Uint8Array[] = []): string {
  const opts = {
    backend: options.backend ?? 'auto',
    precision: options.precision ?? 'fp16',
    shapes: options.shapes ? Object.fromEntries(Object.entries(options.shapes).sort(([a], [b]) => (a < b ? -1 : 1))) : null,
    workspace: options.workspace ?? null,
    optimizationLevel: options.optimizationLevel ?? null,
    // Only when set, so keys of plans built without a post-processing stage stay as they were.
    ...(options.postprocess ? { postprocess: options.postprocess } : {}),
    ...(options.tacticBatches?.length ? { tacticBatches: [...new Set(options.tacticBatches)].sort((a, b) => a - b) } : {}),
  };
  const h = createHash('sha256')
    .update(`node-tensorrt engine cache v1\n${JSON.stringify(target)}\n${JSON.stringify(opts)}\n`)
    .update(model);
  // The weights a model keeps in external files are part of what it computes.
  for (const d of externalData) h.update(`\nexternal ${d.byteLength}\n`).update(d);
  return h.digest('hex');
}

export interface CachedEngine {
  engine: Engine;
  /** The plan file in the cache. */
  planPath: string;
  /** Loaded from the cache rather than built now. */
  hit: boolean;
}

/**
 * Loads the cached plan of this model and options, or builds it and stores it (atomically: write, then rename).
 * A cached plan that no longer loads (another GPU, a damaged file) is rebuilt and replaced.
 * @example const { engine, hit } = await cachedEngine(onnxBytes, { precision: 'fp16' }, { dir, buildEngine, loadEngine });
 */
export async function cachedEngine(
  model: Uint8Array,
  options: BuildOptions,
  deps: { dir: string; buildEngine: typeof buildEngine; loadEngine: typeof loadEngine },
  modelPath?: string,
): Promise<CachedEngine> {
  // A model read from a path may keep weights beside it: they join the key, and the build reads them from there.
  const external = modelPath
    ? await Promise.all(externalDataLocations(model).map((loc) => readFile(externalDataPath(path.dirname(path.resolve(modelPath)), loc))))
    : [];
  const key = engineCacheKey(model, options, cacheTarget(options.device ?? 0, options.backend), external);
  const dir = path.join(deps.dir, 'engines');
  const planPath = path.join(dir, `${key}.plan`);
  if (existsSync(planPath)) {
    try {
      return { engine: await deps.loadEngine(planPath, { device: options.device }), planPath, hit: true };
    } catch (e) {
      if (!hasCode(e, ErrorCode.PLAN_MISMATCH) && !hasCode(e, ErrorCode.PLAN_CORRUPT)) throw e;
    }
  }
  const engine = await deps.buildEngine(modelPath ?? model, options);
  try {
    await writeFileAtomic(planPath, engine.serialize(), 'engine cache');
  } catch (e) {
    engine.dispose();
    throw e;
  }
  return { engine, planPath, hit: false };
}

/**
 * A command's engine: a plan file is loaded; an ONNX model is built with a progress bar, through the engine cache
 * unless `cache` is false. `fromPath` builds from the model's path, so that external data beside it is read.
 * @example const { engine, source } = await openEngine('model.onnx', bytes, options, { quiet: true }, io);
 */
export async function openEngine(
  model: string,
  bytes: Uint8Array,
  options: BuildOptions,
  flags: { cache?: boolean; cacheDir?: string; quiet?: boolean },
  io: CliIO,
  fromPath = false,
): Promise<{ engine: Engine; source: string }> {
  // Loaded here so that other commands and --help do not pay for the compiler and its backends.
  const { buildEngine, loadEngine } = await import('../builder.js');
  if (isPlan(bytes)) return { engine: await loadEngine(bytes, { device: options.device }), source: `loaded ${model}` };
  const progress = buildProgressReporter(io.err, { quiet: flags.quiet });
  try {
    const o = { ...options, onProgress: progress.onProgress };
    if (flags.cache === false) return { engine: await buildEngine(fromPath ? model : bytes, o), source: 'built, not cached' };
    const c = await cachedEngine(bytes, o, { dir: cacheRoot(flags.cacheDir), buildEngine, loadEngine }, fromPath ? model : undefined);
    return { engine: c.engine, source: `${c.hit ? 'cached' : 'built and cached'} at ${c.planPath}` };
  } finally {
    progress.stop();
  }
}
