// The builder side of the benchmark (trtexec's sampleEngines): the model file, the engines per precision, their
// build time and size, and their agreement with the reference backend. The builder, the validator and the model
// generator are imported on first use: `node-tensorrt bench --help` must not pay for the compiler.
import { existsSync } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Engine } from '../engine.js';
import type { BackendName } from '../capabilities.js';
import { isPlan } from '../plan.js';
import type { BuildInfo, BuildProgress, Precision, ShapeProfile, ValidationReport } from '../types.js';
import { readInputFile } from '../util/fs.js';
import type { PostprocessOptions } from '../vision/postprocess.js';
import { nowMs } from './harness.js';
import { onnxGraphIO, type OnnxGraphIO } from './onnx-io.js';

export interface PreparedModel {
  path: string;
  kind: 'onnx' | 'plan';
  /** Size of the ONNX file; null for a plan. */
  onnxBytes: number | null;
  /** Graph inputs/outputs of an ONNX model; null for a plan. */
  io: OnnxGraphIO | null;
  /** e.g. "MobileNetV2 (generated, seed 42)" or the file name. */
  description: string;
  generated: boolean;
}

/**
 * The model file to benchmark: the given path, or the generated MobileNetV2, written once to the cache folder.
 * @example const model = await prepareModel(undefined, { cacheDir, seed: 42 });
 */
export async function prepareModel(file: string | undefined, o: { cacheDir: string; seed: number; dims?: Record<string, number> }): Promise<PreparedModel> {
  let p = file;
  let generated = false;
  if (p === undefined) {
    generated = true;
    p = path.join(o.cacheDir, 'models', `mobilenetv2-seed${o.seed}.onnx`);
    if (!existsSync(p)) {
      const { mobilenetV2 } = await import('../../scripts/gen-models.js');
      const bytes = mobilenetV2({ seed: o.seed });
      await mkdir(path.dirname(p), { recursive: true });
      // Write then rename, so that an interrupted run never leaves a truncated model in the cache.
      const tmp = `${p}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, p);
    }
  }
  const bytes = await readInputFile(p, 'model');
  const description = generated ? `MobileNetV2 (generated, seed ${o.seed})` : path.basename(p);
  if (isPlan(bytes)) return { path: p, kind: 'plan', onnxBytes: null, io: null, description, generated };
  const io = pinDims(onnxGraphIO(bytes), o.dims ?? {});
  return { path: p, kind: 'onnx', onnxBytes: (await stat(p)).size, io, description, generated };
}

/**
 * The model's I/O with symbolic dims pinned (--dims): engines are built with those dims fixed, and peers feed inputs
 * of that shape. A name no input has is ERR_INVALID_ARGUMENT.
 * @example pinDims(io, { sequence: 128 }).inputs[0].dims // ['batch', 128]
 */
export function pinDims(io: OnnxGraphIO, dims: Record<string, number>): OnnxGraphIO {
  const names = new Set(io.inputs.flatMap((i) => i.dims.filter((d): d is string => typeof d === 'string')));
  for (const k of Object.keys(dims)) {
    if (!names.has(k)) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `--dims names '${k}', which no input of the model has (its symbolic dims: ${[...names].join(', ') || 'none'})`);
    }
  }
  const pin = (v: OnnxGraphIO['inputs'][number]) => ({ ...v, dims: v.dims.map((d) => (typeof d === 'string' && Object.hasOwn(dims, d) ? dims[d] : d)) });
  return { ...io, inputs: io.inputs.map(pin), outputs: io.outputs.map(pin) };
}

/**
 * Build profiles for every input whose first dimension is dynamic: batch 1 .. max, opt at `opt`.
 * @example batchProfiles(model.io, 32, 256) // { input: { min: [1,3,224,224], opt: [32,…], max: [256,…] } }
 */
export function batchProfiles(io: OnnxGraphIO, opt: number, max: number): Record<string, ShapeProfile> {
  const shapes: Record<string, ShapeProfile> = {};
  for (const input of io.inputs) {
    if (input.dims.length === 0 || typeof input.dims[0] === 'number') continue;
    const rest = input.dims.slice(1);
    if (rest.some((d) => typeof d !== 'number')) {
      throw new TensorRTError(
        ErrorCode.SHAPE_MISMATCH,
        `Input '${input.name}' has dynamic dimensions besides the batch ([${input.dims.join(', ')}]); the benchmark varies only the batch: pin them with --dims (e.g. --dims ${input.dims.slice(1).filter((d) => typeof d === 'string').map((d) => `${d}=128`).join(',')})`,
      );
    }
    const r = rest as number[];
    shapes[input.name] = { min: [1, ...r], opt: [Math.min(opt, max), ...r], max: [max, ...r] };
  }
  return shapes;
}

export interface BuiltEngine {
  engine: Engine;
  precision: Precision;
  backend: BackendName;
  /** Host wall time of buildEngine (or loadEngine for a plan). */
  buildMs: number;
  loaded: boolean;
  buildInfo?: BuildInfo;
  planBytes: number;
  onnxBytes: number | null;
}

export interface BuildRequest {
  backend: 'auto' | BackendName;
  precisions: Precision[];
  batches: number[];
  optBatch: number;
  device: number;
  tacticCache?: string;
  onProgress?: (precision: Precision, p: BuildProgress) => void;
  /** e.g. --nms: the NMS stage appended to every engine. */
  postprocess?: PostprocessOptions;
}

/**
 * Builds one engine per precision from an ONNX model, or loads a plan file (whose precision is fixed).
 * @example const engines = await buildEngines(model, { backend: 'auto', precisions: ['fp32', 'fp16'], batches: [1, 32], optBatch: 32, device: 0 });
 */
export async function buildEngines(model: PreparedModel, req: BuildRequest): Promise<BuiltEngine[]> {
  const { buildEngine, loadEngine } = await import('../builder.js');
  if (model.kind === 'plan') {
    const t0 = nowMs();
    const engine = await loadEngine(model.path, { device: req.device });
    return [{ engine, precision: engine.precision, backend: engine.backend, buildMs: nowMs() - t0, loaded: true, planBytes: engine.planBytes, onnxBytes: null }];
  }
  const max = Math.max(...req.batches);
  const shapes = batchProfiles(model.io!, req.optBatch, Math.max(max, req.optBatch));
  const out: BuiltEngine[] = [];
  try {
    for (const precision of req.precisions) {
      const t0 = nowMs();
      const engine = await buildEngine(model.path, {
        backend: req.backend,
        precision,
        shapes,
        device: req.device,
        ...(req.tacticCache ? { tacticCache: req.tacticCache } : {}),
        // Kernels timed at each measured batch, not only at the profile's ends and opt: batch 32 of a 1..256 engine
        // runs what was fastest at 32. (The profile spans 1..max of them; buildEngine drops repeats.)
        ...(Object.keys(shapes).length ? { tacticBatches: req.batches } : {}),
        ...(req.postprocess ? { postprocess: req.postprocess } : {}),
        ...(req.onProgress ? { onProgress: (p: BuildProgress) => req.onProgress!(precision, p) } : {}),
      });
      const buildMs = engine.buildInfo?.buildMs ?? nowMs() - t0;
      out.push({ engine, precision, backend: engine.backend, buildMs, loaded: false, buildInfo: engine.buildInfo, planBytes: engine.planBytes, onnxBytes: model.onnxBytes });
    }
  } catch (e) {
    for (const b of out) b.engine.dispose({ contexts: true });
    throw e;
  }
  return out;
}

/** The batches an engine can run, and those it cannot (outside its profile), in the order asked. @example batchesFor(engine, [1, 32, 512]).skipped // [512] */
export function batchesFor(engine: Pick<Engine, 'profile'>, batches: readonly number[]): { ok: number[]; skipped: number[] } {
  const ok = batches.filter((b) => b >= engine.profile.min && b <= engine.profile.max);
  return { ok, skipped: batches.filter((b) => !ok.includes(b)) };
}

export interface ValidationResult {
  precision: Precision;
  report?: ValidationReport;
  /** Why no report: the engine is the reference itself, or validation failed. */
  skipped?: string;
}

/**
 * Compares each engine's outputs with the reference backend on seeded random inputs, one sample per run (batch 1).
 * @example const v = await validateEngines(engines, { samples: 32, seed: 42 });
 */
export async function validateEngines(engines: readonly BuiltEngine[], o: { samples: number; seed: number }): Promise<ValidationResult[]> {
  const { validateEngine } = await import('../validate-engine.js');
  const out: ValidationResult[] = [];
  for (const b of engines) {
    if (b.backend === 'reference') out.push({ precision: b.precision, skipped: 'the engine is the reference backend itself' });
    else if (o.samples === 0) out.push({ precision: b.precision, skipped: '--validateSamples 0' });
    else {
      try {
        out.push({ precision: b.precision, report: await validateEngine(b.engine, { against: 'reference', samples: o.samples, batch: 1, seed: Math.max(1, o.seed) }) });
      } catch (e) {
        out.push({ precision: b.precision, skipped: `validation failed: ${(e as Error).message.split('\n')[0]}` });
      }
    }
  }
  return out;
}
