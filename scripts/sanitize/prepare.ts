// The prepare phase of scripts/sanitize-gpu.ts (run without the sanitizer): builds every plan of specs.ts in FP32
// and FP16 and writes them with manifest.json, so the sanitized phase only loads and runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildEngine } from '../../lib/builder.js';
import { Op, decodePayload, encodePayload } from '../../lib/builtin/program.js';
import { validateBuiltinProgram } from '../../lib/builtin/validate.js';
import { capabilities } from '../../lib/capabilities.js';
import { ErrorCode, TensorRTError } from '../../lib/errors.js';
import { readPlan, writePlan } from '../../lib/plan.js';
import { planSpecs, selected, type Manifest, type PlanSpec } from './specs.js';

/** The fused kernels of an inverted-residual layer (native/builtin/kernels/mbconv.cu), tried in this order. */
export const FUSED_TACTICS = ['mbconv_8x8', 'mbconv_4x8', 'mbconv_4x4'];

/**
 * Rewrites a builtin plan so that every inverted-residual layer runs a fused kernel the validator accepts (the ones
 * `offered(i)` lists first: those the builder found agreeing with the chain); the others keep their tactics.
 * @example const { plan, fused, blocks } = forceFused(engine.serialize(), (i) => []);
 */
export function forceFused(bytes: Uint8Array, offered: (layer: number) => string[] = () => []): { plan: Uint8Array; fused: number; blocks: number } {
  const { header, payload } = readPlan(bytes);
  const { program, weights } = decodePayload(payload);
  let fused = 0;
  let blocks = 0;
  program.layers.forEach((l, i) => {
    if (l.op !== Op.mbconv) return;
    blocks++;
    const before = l.tactics;
    for (const tactic of [...new Set([...offered(i).filter((t) => FUSED_TACTICS.includes(t)), ...FUSED_TACTICS])]) {
      l.tactics = [{ upTo: program.maxBatch, tactic }];
      try {
        validateBuiltinProgram(program, weights, header);
        fused++;
        return;
      } catch {
        l.tactics = before;
      }
    }
  });
  const { payloadBytes: _, ...rest } = header;
  return { plan: writePlan(rest, encodePayload(program, weights)), fused, blocks };
}

/** Builds one spec at one precision into `dir`; returns the manifest entries (the plan and its variants). */
async function buildSpec(dir: string, spec: PlanSpec, model: Uint8Array, precision: 'fp32' | 'fp16', log: (s: string) => void): Promise<Manifest['plans']> {
  const name = `${spec.name}-${precision}`;
  const t0 = performance.now();
  const engine = await buildEngine(model, {
    backend: 'builtin', precision, tacticCache: path.join(dir, 'tactic-cache'),
    ...(spec.shapes ? { shapes: spec.shapes } : {}), ...(spec.postprocess ? { postprocess: spec.postprocess } : {}),
  });
  try {
    const extra = spec.extra?.(model);
    const base = { feed: spec.feed, maxBatch: engine.profile.max, ...(extra ? { extra } : {}) };
    const out: Manifest['plans'] = [{ name, file: `${name}.plan`, ...base }];
    writeFileSync(path.join(dir, out[0].file), engine.serialize());
    for (const v of spec.variants ?? []) {
      if (v !== 'mbconv-fused' || precision !== 'fp16') continue; // the fused kernels are float16 only
      const offered = (i: number) => engine.buildInfo?.layers[i]?.candidates.map((c) => c.tactic) ?? [];
      const f = forceFused(engine.serialize(), offered);
      const entry = { name: `${name}-${v}`, file: `${name}-${v}.plan`, ...base, note: `fused ${f.fused} of ${f.blocks} blocks` };
      writeFileSync(path.join(dir, entry.file), f.plan);
      out.push(entry);
    }
    log(`built ${out.map((e) => e.name + (e.note ? ` (${e.note})` : '')).join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return out;
  } finally {
    engine.dispose();
  }
}

/**
 * Builds the plans of every selected spec into `dir` and writes `dir/manifest.json`. A spec the builtin backend
 * cannot build (ERR_UNSUPPORTED_OP) or whose model is missing is listed as skipped; any other failure throws.
 * @example await prepare('build/sanitize', { log: console.log });
 */
export async function prepare(dir: string, o: { only?: string; log: (s: string) => void }): Promise<Manifest> {
  mkdirSync(dir, { recursive: true });
  const dev = capabilities().cuda.devices[0];
  const manifest: Manifest = { createdAt: new Date().toISOString(), device: dev.name, computeCapability: dev.computeCapability, plans: [], skipped: [] };
  for (const spec of planSpecs()) {
    if (!selected(spec.name, o.only)) continue;
    let model: Uint8Array;
    try {
      model = spec.model();
    } catch (e) {
      manifest.skipped.push({ name: spec.name, reason: `no model: ${(e as Error).message}` });
      continue;
    }
    for (const precision of spec.precisions) {
      try {
        manifest.plans.push(...(await buildSpec(dir, spec, model, precision, o.log)));
      } catch (e) {
        if (!(e instanceof TensorRTError) || e.code !== ErrorCode.UNSUPPORTED_OP) throw e;
        manifest.skipped.push({ name: `${spec.name}-${precision}`, reason: e.message });
      }
    }
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}
