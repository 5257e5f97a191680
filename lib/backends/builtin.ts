// The builtin backend's TS side: lower → time tactics natively → plan; and plan → loaded engine.
import { capabilities } from '../capabilities.js';
import { Engine } from '../engine.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import { loadAddon, type NativeAddon } from '../native.js';
import { checkPlanCompatibility, writePlan, type PlanHeader } from '../plan.js';
import { TacticCache, cacheFileName, layerSignature } from '../tactic-cache.js';
import type { BatchProfile, BuildInfo, BuildProgress, Precision } from '../types.js';
import { libraryVersion } from '../version.js';
import { withGuardedCallback } from '../util/progress.js';
import { withStack } from '../util/stack.js';
import type { Lowered } from '../builtin/lower.js';
import { BUILTIN_FORMAT_VERSION, OP_NAMES, decodePayload, encodePayload } from '../builtin/program.js';
import { validateBuiltinProgram } from '../builtin/validate.js';
import { builtinHeader } from '../builtin/assemble.js';

function builtinAddon(): NativeAddon & Required<Pick<NativeAddon, 'builtinBuild' | 'builtinLoad'>> {
  const a = loadAddon();
  if (!a.builtinBuild || !a.builtinLoad) {
    throw new TensorRTError(ErrorCode.ADDON_LOAD, 'This build of the native addon has no builtin backend; rebuild it with the CUDA toolkit (npm rebuild node-tensorrt)');
  }
  return a as NativeAddon & Required<Pick<NativeAddon, 'builtinBuild' | 'builtinLoad'>>;
}

function deviceInfo(device: number): { cc: string; name: string } {
  const d = capabilities().cuda.devices[device];
  return { cc: d.computeCapability, name: d.name };
}

export interface BuiltinBuildOptions {
  precision: Precision;
  profile: BatchProfile;
  device: number;
  workspace?: number;
  tacticCache?: string;
  /** Batches to choose tactics at besides the profile's min/opt/max (BuildOptions.tacticBatches, validated). */
  tacticBatches?: readonly number[];
  onProgress?: (p: BuildProgress) => void;
}

/** Builds a builtin plan from a lowered program (lowerGraph, or lowerWithDim for a dynamic dim besides the batch). */
export async function buildBuiltin(lowered: Lowered, o: BuiltinBuildOptions): Promise<{ plan: Uint8Array; header: PlanHeader; buildInfo: Omit<BuildInfo, 'buildMs'> }> {
  const { program, weights } = lowered;
  const dev = deviceInfo(o.device);
  // Tactics are chosen at every distinct batch of the profile (min, opt, max) and at any the caller names: each batch
  // range runs the kernels that were fastest for it, where one opt-shape choice would serve the other ends of the
  // profile poorly.
  const buckets = [...new Set([program.minBatch, program.optBatch, program.maxBatch, ...(o.tacticBatches ?? [])])].sort((a, b) => a - b);
  const keys = program.layers.map((l) =>
    buckets.map((batch) =>
      layerSignature({
        op: l.op, params: l.params, perBatch: l.perBatch, batched: l.batched, batch, dtypes: [...l.inputs, ...l.outputs].map((t) => (t < 0 ? -1 : program.tensors[t].dtype)),
        // With a dynamic dim, a tactic is timed at its opt and must run over its whole range.
        ...(program.dim ? { perDim: l.perDim, dim: program.dim } : {}),
      }),
    ),
  );
  const cache = o.tacticCache ? await TacticCache.open(o.tacticCache, cacheFileName('builtin', dev.name, dev.cc, libraryVersion())) : undefined;
  const presets = keys.map((row) => row.map((k) => cache?.get(k)?.tactic ?? ''));
  const total = program.layers.length;
  o.onProgress?.({ phase: 'tactics', done: 0, total });
  // Progress comes from the native worker: an exception in the user's callback rejects this build.
  const report = o.onProgress ? (done: number, n: number, layer: string) => o.onProgress?.({ phase: 'tactics', done, total: n, layer }) : undefined;
  const result = await withGuardedCallback(report, (cb) =>
    withStack(builtinAddon().builtinBuild(program, weights, { device: o.device, workspace: o.workspace, buckets, presets }, cb ?? (() => {}))),
  );
  result.layers.forEach((l, i) => {
    program.layers[i].tactics = l.tactics;
    l.buckets.forEach((c, k) => {
      if (cache && !c.cached) cache.set(keys[i][k], { tactic: c.tactic, ms: c.ms });
    });
  });
  await cache?.save();
  o.onProgress?.({ phase: 'serialize', done: total, total });
  const header = builtinHeader(lowered, o.precision, dev);
  const plan = writePlan(header, encodePayload(program, weights));
  return {
    plan,
    header: { ...header, payloadBytes: plan.byteLength },
    buildInfo: {
      backend: 'builtin',
      precision: o.precision,
      layers: result.layers.map((l, i) => {
        const at = l.buckets.find((c) => c.batch === program.optBatch) ?? l.buckets[0];
        return {
          name: program.layers[i].name,
          op: OP_NAMES[program.layers[i].op],
          tactic: at.tactic,
          ms: at.ms,
          candidates: at.candidates,
          ...(at.rejected.length ? { rejected: at.rejected } : {}),
          cached: l.buckets.every((c) => c.cached),
          byBatch: l.buckets.map((c) => ({ batch: c.batch, tactic: c.tactic, ms: c.ms, cached: c.cached })),
        };
      }),
      activationBytes: program.fixedArenaBytes + program.batchedArenaBytes * program.maxBatch,
      workspaceBytes: result.workspaceBytes,
      weightBytes: program.weightsBytes,
      tacticCacheHits: result.layers.filter((l) => l.buckets.every((c) => c.cached)).length,
    },
  };
}

/** Loads a builtin plan onto `device`: checks compute capability and format, then uploads the weights. */
export async function loadBuiltin(header: PlanHeader, payload: Uint8Array, plan: Uint8Array, device: number, buildInfo?: BuildInfo): Promise<Engine> {
  const dev = deviceInfo(device);
  checkPlanCompatibility(header, { computeCapability: dev.cc, formatVersion: BUILTIN_FORMAT_VERSION, deviceName: dev.name });
  const { program, weights } = decodePayload(payload);
  // The whole program, and its agreement with the header, is checked before anything is allocated.
  validateBuiltinProgram(program, weights, header);
  const native = await withStack(builtinAddon().builtinLoad(program, weights, device));
  return new Engine({ native, header, plan, device, buildInfo });
}

