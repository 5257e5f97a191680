// buildEngine / loadEngine: one entry point for every backend.
import { performance } from 'node:perf_hooks';
import { capabilities, type BackendName } from './capabilities.js';
import { resolveDevice } from './device.js';
import { Engine } from './engine.js';
import { ErrorCode, TensorRTError } from './errors.js';
import type { Graph } from './ir/graph.js';
import { loadModel, parseModel, writeModel } from './onnx/index.js';
import { optimize } from './optimize/index.js';
import { checkLibraryVersion, readPlan, writePlan, type PlanHeader } from './plan.js';
import { appendNms, resolvePostprocess } from './vision/postprocess.js';
import { foldShapes, foldStaticDims } from './optimize/shape-fold.js';
import { resolveShapeProfile, type ResolvedProfile } from './shapes.js';
import type { BuildInfo, BuildOptions, BuildProgress, Precision, TensorInfo } from './types.js';
import { lowerGraph, type Lowered } from './builtin/lower.js';
import { lowerWithDim } from './builtin/lower-dims.js';
import { readInputFile } from './util/fs.js';
import { describe, func, knownKeys, nonEmptyString, nonNegativeInteger, oneOf, plainObject, positiveInteger } from './validate.js';
import { libraryVersion } from './version.js';
import { buildBuiltin, loadBuiltin } from './backends/builtin.js';
import { ReferenceEngine } from './backends/reference.js';
import { buildTrtPlan, loadTrtEngine } from './trt/index.js';

const BUILD_KEYS = ['backend', 'precision', 'shapes', 'tacticCache', 'tacticBatches', 'workspace', 'device', 'onProgress', 'optimizationLevel', 'postprocess'] as const;

/** The backend `auto` resolves to on this machine, or a coded error saying why none can run. */
export function resolveBackend(backend: 'auto' | BackendName): BackendName {
  const caps = capabilities();
  if (backend === 'reference') return 'reference';
  if (backend === 'tensorrt') {
    if (!caps.backends.tensorrt.available) {
      throw new TensorRTError(ErrorCode.TENSORRT_UNAVAILABLE, `The tensorrt backend is not available: ${caps.backends.tensorrt.reason ?? caps.tensorrt.reason}`);
    }
    return 'tensorrt';
  }
  if (backend === 'builtin' || !caps.backends.tensorrt.available) {
    if (!caps.backends.builtin.available) {
      throw new TensorRTError(
        caps.addon.loaded ? ErrorCode.NO_CUDA_DEVICE : ErrorCode.ADDON_LOAD,
        `No GPU backend can run here: ${caps.backends.builtin.reason}. Use { backend: 'reference' } for the CPU interpreter.`,
      );
    }
    return 'builtin';
  }
  return 'tensorrt';
}

function infoOf(graph: Graph, which: 'inputs' | 'outputs'): TensorInfo[] {
  return graph[which].map((v) => ({ name: v.name, shape: [...v.type.shape], dtype: v.type.dtype as TensorInfo['dtype'] }));
}

/** BuildOptions.tacticBatches: distinct positive integers within the batch profile, ascending. */
function resolveTacticBatches(v: unknown, profile: { min: number; max: number }): number[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected an array of batch sizes for tacticBatches but received ${describe(v)}`);
  const out = v.map((b, i) => positiveInteger(b, `tacticBatches[${i}]`));
  for (const b of out) {
    if (b < profile.min || b > profile.max) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `tacticBatches: batch ${b} lies outside the profile's batch range ${profile.min}..${profile.max}`);
    }
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Reads a model argument: a path (with external data beside it) or the bytes. */
async function readModel(model: string | Uint8Array): Promise<Graph> {
  if (typeof model === 'string') return loadModel(nonEmptyString(model, 'model'));
  if (!(model instanceof Uint8Array)) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a path or a Uint8Array for model but received ${typeof model}`);
  }
  return parseModel(model);
}

/**
 * Turns an ONNX model into an optimized engine (FP16 by default) for the best backend on this machine.
 * @example
 * const engine = await buildEngine('mobilenetv2.onnx', { shapes: { input: { min: [1,3,224,224], opt: [8,3,224,224], max: [32,3,224,224] } } });
 * await engine.save('mobilenetv2.plan');
 */
export async function buildEngine(model: string | Uint8Array, options: BuildOptions = {}): Promise<Engine> {
  const t0 = performance.now();
  const o = plainObject(options, 'options');
  knownKeys(o, 'buildEngine options', BUILD_KEYS);
  const backend = resolveBackend(oneOf(o.backend ?? 'auto', 'backend', ['auto', 'builtin', 'tensorrt', 'reference'] as const));
  const precision = oneOf(o.precision ?? 'fp16', 'precision', ['fp16', 'fp32'] as const) as Precision;
  const device = backend === 'reference' ? -1 : resolveDevice(o.device ?? 0);
  const workspace = o.workspace === undefined ? undefined : nonNegativeInteger(o.workspace, 'workspace');
  const tacticCache = o.tacticCache === undefined ? undefined : nonEmptyString(o.tacticCache, 'tacticCache');
  const onProgress = o.onProgress === undefined ? undefined : func<(p: BuildProgress) => void>(o.onProgress, 'onProgress');
  const optimizationLevel = o.optimizationLevel === undefined ? undefined : positiveInteger(Number(o.optimizationLevel) + 1, 'optimizationLevel') - 1;

  onProgress?.({ phase: 'parse', done: 0, total: 1 });
  const post = o.postprocess === undefined ? {} : resolvePostprocess(o.postprocess);
  if (post.nms && backend === 'tensorrt') throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, 'postprocess.nms is available on the builtin and reference backends, not yet on tensorrt');
  let source = await readModel(model as string | Uint8Array);
  if (post.nms) source = appendNms(source, post.nms);
  const resolved = resolveShapeProfile(source.inputs.map((i) => ({ name: i.name, shape: i.type.shape })), o.shapes as BuildOptions['shapes']);
  const profile = resolved.batch;
  const tacticBatches = resolveTacticBatches(o.tacticBatches, profile);
  onProgress?.({ phase: 'optimize', done: 0, total: 1 });

  let engine: Engine;
  if (backend === 'builtin') {
    const built = await buildBuiltin(lowerForBuiltin(source, resolved, precision), { precision, profile, device, workspace, tacticCache, tacticBatches, onProgress });
    const { header, payload } = readPlan(built.plan);
    const buildInfo: BuildInfo = { ...built.buildInfo, buildMs: performance.now() - t0 };
    engine = await loadBuiltin(header, payload, built.plan, device, buildInfo);
  } else if (backend === 'tensorrt') {
    // FP16 comes from the front end's autocast ONNX on every TensorRT version (11.x has no precision flags).
    const graph = optimize(source, { fuse: false, precision });
    engine = new Engine(
      await buildTrtPlan(writeModel(graph), {
        inputs: infoOf(source, 'inputs'), outputs: infoOf(source, 'outputs'), shapes: o.shapes as BuildOptions['shapes'], precision, autocast: precision === 'fp16',
        tacticCache, workspace, optimizationLevel, device, onProgress,
      }),
    );
  } else {
    const graph = optimize(source, { fuse: true, precision });
    const header: Omit<PlanHeader, 'payloadBytes'> = {
      backend: 'reference', formatVersion: 1, libraryVersion: libraryVersion(), computeCapability: null, deviceName: null,
      tensorrtVersion: null, precision, inputs: infoOf(source, 'inputs'), outputs: infoOf(source, 'outputs'), profile,
      ...(Object.keys(resolved.dims).length ? { dims: resolved.dims } : {}),
      createdAt: new Date().toISOString(),
    };
    const plan = writePlan(header, writeModel(graph));
    engine = new Engine({
      native: new ReferenceEngine(graph, header.inputs, header.outputs, header.dims), header: readPlan(plan).header, plan, device: -1,
      buildInfo: { backend, precision, buildMs: performance.now() - t0, layers: [], activationBytes: 0, workspaceBytes: 0, weightBytes: 0, tacticCacheHits: 0 },
    });
  }
  sources.set(engine, source);
  onProgress?.({ phase: 'done', done: 1, total: 1 });
  return engine;
}

/**
 * The builtin backend's program for a profile. Dims the profile fixes (min = max) become static, so their shape
 * subgraphs fold away; one dim that varies besides the batch (a sequence length) is lowered at several of its values
 * and merged (lower-dims.ts).
 */
export function lowerForBuiltin(source: Graph, resolved: ResolvedProfile, precision: Precision): Lowered {
  const fixed = foldStaticDims(source, resolved.dims);
  const dynamic = Object.entries(resolved.dims).filter(([, r]) => r.min !== r.max);
  if (dynamic.length > 1) {
    throw new TensorRTError(
      ErrorCode.UNSUPPORTED_OP,
      `The builtin backend varies one dimension besides the batch, and this profile varies ${dynamic.map(([k]) => `'${k}'`).join(' and ')}; pin all but one (min == max), or use the tensorrt backend`,
    );
  }
  if (!dynamic.length) return lowerGraph(optimize(fixed, { fuse: true, precision }), resolved.batch);
  const [name, range] = dynamic[0];
  // The plan's I/O as the header declares it: dims the profile pins are numbers there, as in the program.
  return lowerWithDim((s) => optimize(foldShapes(fixed, { [name]: s }), { fuse: true, precision }), name, range, resolved.batch, { inputs: infoOf(fixed, 'inputs'), outputs: infoOf(fixed, 'outputs') });
}

/** The model an engine was built from in this process, for validateEngine. */
const sources = new WeakMap<Engine, Graph>();
/** @internal */
export function sourceGraphOf(engine: Engine): Graph | undefined {
  return sources.get(engine);
}

/**
 * Loads a plan file (or its bytes) written by engine.save(). A corrupt file is ERR_PLAN_CORRUPT; one built
 * for another GPU, format or TensorRT version is ERR_PLAN_MISMATCH.
 * @example const engine = await loadEngine('mobilenetv2.plan', { device: 0 });
 */
export async function loadEngine(source: string | Uint8Array, options: { device?: number } = {}): Promise<Engine> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'loadEngine options', ['device']);
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    bytes = new Uint8Array(await readInputFile(nonEmptyString(source, 'source'), 'plan'));
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a path or a Uint8Array for source but received ${typeof source}`);
  }
  const { header, payload } = readPlan(bytes);
  checkLibraryVersion(header, libraryVersion());
  if (header.backend === 'reference') {
    const graph = optimize(parseModel(payload), { fuse: true, precision: header.precision });
    return new Engine({ native: new ReferenceEngine(graph, header.inputs, header.outputs, header.dims), header, plan: bytes, device: -1 });
  }
  const device = resolveDevice(o.device ?? 0);
  if (header.backend === 'tensorrt') return new Engine(await loadTrtEngine(bytes, device));
  return loadBuiltin(header, payload, bytes, device);
}
