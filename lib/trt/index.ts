// The tensorrt backend's two entry points for buildEngine/loadEngine: ONNX bytes → a built, loaded engine in the
// plan container, and plan bytes → a loaded engine. Without the SDK both throw ERR_TENSORRT_UNAVAILABLE.
import { capabilities } from '../capabilities.js';
import { resolveDevice } from '../device.js';
import type { EngineParts } from '../engine.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import { tryLoadAddon, type NativeAddon, type NativeDeviceInfo, type NativeTrtEngine } from '../native.js';
import { readPlan, writePlan, type PlanHeader } from '../plan.js';
import type { BuildInfo, BuildOptions, BuildProgress, TensorInfo } from '../types.js';
import { guardCallback, withGuardedCallback } from '../util/progress.js';
import { withStack } from '../util/stack.js';
import { boolean, func, invalid, isInteger, nonEmptyString, nonNegativeInteger, oneOf, plainObject } from '../validate.js';
import { readTimingCache, timingCacheFile, writeTimingCache } from './cache.js';
import { TRT_LOG_LEVELS, trtFp16Flag, trtLogLevelOf, trtLogSeverity, trtProfiles, trtProgress, type TrtLogLevel } from './options.js';
import { checkTrtIo, checkTrtPlan, trtPlanHeader, trtTensorInfo } from './plan.js';

export { checkTrtPlanVersion, isTrtPlanCompatible, parseTrtVersion } from './version.js';
export { batchShapes, trtProfiles, type TrtLogLevel } from './options.js';
export { timingCacheFile } from './cache.js';
export { TRT_FORMAT_VERSION, checkTrtPlan } from './plan.js';

/** BuildOptions as the tensorrt backend takes them, plus what only the caller knows about the ONNX bytes. */
export interface TrtBuildOptions extends Omit<BuildOptions, 'backend' | 'onProgress'> {
  /** The model's inputs as the front end read them (symbolic dims as strings): shapes are validated against them. */
  inputs: readonly TensorInfo[];
  /** The model's outputs, for the names of their open dimensions (a sequence length). */
  outputs?: readonly TensorInfo[];
  /** The ONNX is already the front end's FP16 autocast graph (needed for FP16 on TensorRT 11). Default false. */
  autocast?: boolean;
  /** Progress; `trtPhase` is TensorRT's own phase path. */
  onProgress?: (p: BuildProgress & { trtPhase?: string }) => void;
  /** TensorRT's log lines up to `logLevel` (default 'warning'). */
  onLog?: (level: TrtLogLevel, message: string) => void;
  logLevel?: TrtLogLevel;
}

interface Trt {
  addon: NativeAddon & Required<Pick<NativeAddon, 'trtBuild' | 'trtLoadEngine'>>;
  version: string;
  devices: NativeDeviceInfo[];
  cudaReason?: string;
}

/**
 * The loaded TensorRT backend, or ERR_TENSORRT_UNAVAILABLE with the reason capabilities().tensorrt gives.
 * @example const { version } = requireTensorRT();
 */
export function requireTensorRT(): Trt {
  const caps = capabilities();
  const addon = tryLoadAddon();
  if (!caps.tensorrt.available || !caps.tensorrt.version || !addon?.trtBuild || !addon.trtLoadEngine) {
    throw new TensorRTError(
      ErrorCode.TENSORRT_UNAVAILABLE,
      `The tensorrt backend is not available: ${caps.tensorrt.reason ?? 'TensorRT SDK not found'}`,
    );
  }
  return { addon: addon as Trt['addon'], version: caps.tensorrt.version, devices: caps.cuda.devices, cudaReason: caps.cuda.reason };
}

function pickDevice(trt: Trt, device: unknown): NativeDeviceInfo {
  return trt.devices[resolveDevice(device ?? 0)];
}

function staticBatch(header: { inputs: TensorInfo[] }): { min: number; opt: number; max: number } {
  const d = header.inputs[0]?.shape[0];
  const b = typeof d === 'number' && d > 0 ? d : 1;
  return { min: b, opt: b, max: b };
}

/**
 * Builds a TensorRT engine from ONNX bytes and loads it: parse, optimization profile from `shapes`, workspace,
 * timing cache in `tacticCache`, FP16 (flag on 10.x, autocast ONNX on 11.x), progress and log callbacks. The
 * result's `plan` is the container to save; `native` is ready for contexts.
 * @example const engine = new Engine(await buildTrtPlan(onnx, { inputs: model.inputs, shapes, tacticCache: '.cache' }));
 */
export async function buildTrtPlan(onnx: Uint8Array, options: TrtBuildOptions): Promise<EngineParts> {
  const started = performance.now();
  if (!(onnx instanceof Uint8Array) || onnx.byteLength === 0) invalid('a non-empty Uint8Array of ONNX bytes', 'onnx', onnx);
  const o = plainObject(options, 'options');
  if (!Array.isArray(o.inputs)) invalid("an array of the model's inputs", 'inputs', o.inputs);
  const inputs = o.inputs as TensorInfo[];
  const { profiles, batch, dims } = trtProfiles(inputs, o.shapes);
  const precision = o.precision === undefined ? 'fp16' : oneOf(o.precision, 'precision', ['fp16', 'fp32'] as const);
  const autocast = o.autocast === undefined ? false : boolean(o.autocast, 'autocast');
  const workspace = o.workspace === undefined ? 0 : nonNegativeInteger(o.workspace, 'workspace');
  const level = o.optimizationLevel;
  if (level !== undefined && (!isInteger(level) || level < 0 || level > 5)) invalid('an integer from 0 to 5', 'optimizationLevel', level);
  const onProgress = o.onProgress === undefined ? undefined : func<NonNullable<TrtBuildOptions['onProgress']>>(o.onProgress, 'onProgress');
  const onLog = o.onLog === undefined ? undefined : func<NonNullable<TrtBuildOptions['onLog']>>(o.onLog, 'onLog');
  const logLevel = o.logLevel === undefined ? 'warning' : oneOf(o.logLevel, 'logLevel', TRT_LOG_LEVELS);
  const cacheDir = o.tacticCache === undefined ? undefined : nonEmptyString(o.tacticCache, 'tacticCache');

  const trt = requireTensorRT();
  const device = pickDevice(trt, o.device);
  const fp16Flag = trtFp16Flag(trt.version, precision, autocast);
  const cacheFile = cacheDir === undefined ? null : timingCacheFile(cacheDir, device, trt.version);
  const timingCache = cacheFile ? await readTimingCache(cacheFile) : null;

  // Both callbacks run from TensorRT's build thread: an exception in either rejects this build.
  const log = guardCallback(onLog ? (severity: number, message: string) => onLog(trtLogLevelOf(severity), message) : null);
  const result = await withGuardedCallback(onProgress ? (phase: string, done: number, total: number) => onProgress(trtProgress(phase, done, total)) : null, (cb) =>
    withStack(
      trt.addon.trtBuild(
        onnx,
        { device: device.index, fp16Flag, workspace, timingCache, profiles, optimizationLevel: level ?? -1, logSeverity: trtLogSeverity(logLevel) },
        cb,
        log.callback,
      ),
    ),
  );
  log.rethrow();
  if (cacheFile && result.timingCache) await writeTimingCache(cacheFile, new Uint8Array(result.timingCache));

  onProgress?.({ phase: 'serialize', done: 0, total: 1 });
  const payload = new Uint8Array(result.engine);
  const native = await withStack(trt.addon.trtLoadEngine(payload, device.index));
  try {
    const info = native.info();
    const outputs = Array.isArray(o.outputs) ? (o.outputs as TensorInfo[]) : [];
    const io = trtTensorInfo(native.io(), Object.fromEntries([...inputs, ...outputs].map((t) => [t.name, t.shape])));
    const header = trtPlanHeader({
      tensorrtVersion: result.version,
      device,
      precision,
      ...io,
      profile: info.batch ?? (profiles.length ? batch : staticBatch(io)),
      dims,
      extra: { versionCompatible: false, fp16: precision === 'fp32' ? 'none' : fp16Flag ? 'flag' : 'onnx' },
    });
    const plan = writePlan(header, payload);
    onProgress?.({ phase: 'serialize', done: 1, total: 1 });
    const buildInfo: BuildInfo = {
      backend: 'tensorrt',
      precision,
      buildMs: performance.now() - started,
      layers: info.layers.map((l) => ({ ...l, ms: 0, candidates: [] })),
      activationBytes: info.activationBytes,
      workspaceBytes: workspace,
      weightBytes: info.weightBytes,
      tacticCacheHits: 0,
    };
    return { native, header: { ...header, payloadBytes: payload.byteLength }, plan, device: device.index, buildInfo };
  } catch (e) {
    native.dispose();
    throw e;
  }
}

/**
 * Loads a tensorrt plan container: verifies it (checksum, backend, TensorRT version, GPU) before TensorRT
 * deserializes the payload, then checks the engine's I/O against the header.
 * @example const engine = new Engine(await loadTrtEngine(await readFile('model.plan'), 0));
 */
export async function loadTrtEngine(plan: Uint8Array, device: number = 0): Promise<EngineParts> {
  if (!(plan instanceof Uint8Array)) invalid('a Uint8Array of plan bytes', 'plan', plan);
  const { header, payload } = readPlan(plan);
  if (header.backend !== 'tensorrt') {
    throw new TensorRTError(ErrorCode.PLAN_MISMATCH, `This plan is for the ${header.backend} backend, not tensorrt; load it with loadEngine()`);
  }
  const trt = requireTensorRT();
  const d = pickDevice(trt, device);
  checkTrtPlan(header, { tensorrtVersion: trt.version, computeCapability: d.computeCapability, deviceName: d.name });
  const native: NativeTrtEngine = await withStack(trt.addon.trtLoadEngine(payload, d.index));
  try {
    checkTrtIo(header, native.io());
  } catch (e) {
    native.dispose();
    throw e;
  }
  return { native, header: header as PlanHeader, plan, device: d.index };
}
