// The whole native surface, typed, and the one loader (STYLE 1, 11).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Program } from './builtin/program.js';
import { ErrorCode, TensorRTError } from './errors.js';
import {
  AddonLoadFailure,
  addonCandidates,
  addonLoadMessage,
  loadFirst,
  type AddonCandidate,
  type AddonLoad,
  type AddonSource,
} from './loader.js';

/** Element types, numbered as in native/cuda/convert.h. */
export const DType = { float32: 0, float16: 1, int32: 2, int64: 3, uint8: 4, int8: 5, bool: 6 } as const;
export type DTypeName = keyof typeof DType;

export interface NativeDeviceInfo {
  index: number;
  name: string;
  computeCapability: string;
  major: number;
  minor: number;
  totalMemory: number;
  multiprocessorCount: number;
  l2CacheSize: number;
  sharedMemoryPerBlockOptin: number;
  memoryBusWidth: number;
  pciBusId?: string;
}

export interface NativeTacticSourceInfo {
  compiled: boolean;
  available: boolean;
  version: string | null;
  reason?: string;
}

export interface NativeCapabilities {
  cuda: {
    available: boolean;
    reason?: string;
    runtimeVersion: string;
    driverVersion: string | null;
    devices: NativeDeviceInfo[];
  };
  tensorrt: { compiled: boolean; available: boolean; version: string | null; reason?: string };
  tacticSources?: { cublasLt: NativeTacticSourceInfo; cudnn: NativeTacticSourceInfo };
  /** SASS architectures, e.g. "75,80,86,89,90". */
  cudaArchitectures?: string;
  /** Architectures embedded as PTX, which later GPUs JIT-compile, e.g. "90". */
  cudaPtx?: string;
}

export type NativeMemoryLike = NativeDeviceBuffer | NativePinnedBuffer;

export interface NativeStream {
  copy(dst: NativeMemoryLike, dstOffset: number, src: NativeMemoryLike, srcOffset: number, bytes: number): void;
  copyFromHost(dst: NativeDeviceBuffer, dstOffset: number, src: ArrayBufferView): Promise<void>;
  convert(dst: NativeDeviceBuffer, dstType: number, src: NativeDeviceBuffer, srcType: number, count: number): void;
  synchronize(): Promise<void>;
  query(): boolean;
  dispose(): void;
}
export interface NativeEvent {
  record(stream: NativeStream): void;
  synchronize(): Promise<void>;
  query(): boolean;
  elapsedSince(start: NativeEvent): number;
  dispose(): void;
}
export interface NativeDeviceBuffer {
  readonly bytes: number;
  dispose(): void;
}
export interface NativePinnedBuffer {
  readonly arrayBuffer: ArrayBuffer;
  dispose(): void;
}

/** One engine I/O tensor as the native side sees it; `shape` uses -1 for the dynamic batch. */
export interface NativeIOInfo {
  name: string;
  isInput: boolean;
  dtype: number;
  shape: number[];
}

export interface NativeLayerTime {
  name: string;
  op: string;
  tactic: string;
  ms: number;
}

/**
 * An execution context of any GPU backend: owns its stream, device buffers and pinned I/O buffers.
 * `run` enqueues H2D (batch rows only), compute (CUDA-graph replay where possible) and D2H, and resolves
 * from a host callback: no polling, no blocked event loop.
 */
export interface NativeContext {
  /** Pinned host buffers, one per I/O tensor in `engine.io()` order, each sized for maxBatch. */
  readonly buffers: ArrayBuffer[];
  /**
   * `dims`: values of the dynamic dims other than the batch, for backends whose engines have them; `shapes`: every
   * input's full shape at this run, in I/O order (the tensorrt backend sets them on its execution context).
   */
  run(batch: number, transfers: boolean, dims?: Record<string, number>, shapes?: number[][]): Promise<void>;
  /**
   * Copies each [io, byteOffset, view] into that pinned buffer off the JS thread, then runs as run(batch, true),
   * where the backend can (the batcher's gather).
   */
  runRows?(batch: number, parts: [number, number, ArrayBufferView][]): Promise<void>;
  /** Copies a view's bytes to the start of pinned I/O buffer `io` (large ones with streaming stores); builtin only. */
  copyIn?(io: number, data: ArrayBufferView): void;
  /** [h2dMs, computeMs, d2hMs] of the last completed run, from device events. */
  timings(): number[];
  /** Per-layer device time, median over `iterations` runs (no graph), where the backend can tell. */
  profile(batch: number, iterations: number, dims?: Record<string, number>, shapes?: number[][]): Promise<NativeLayerTime[]>;
  /** Pinned RGBA8 staging for maxBatch images of height×width (device-side preprocessing), where supported. */
  imageBuffer?(height: number, width: number): ArrayBuffer;
  /** A run whose input `input` is filled on the device from the staged RGBA8 images: (px/255 − mean) / std. */
  runImages?(batch: number, input: number, mean: number[], std: number[]): Promise<void>;
  /** Whether graphs are on (and why not), and the fault that made the context unusable, if any. */
  info?(): NativeContextInfo;
  dispose(): void;
}

export interface NativeContextInfo {
  cudaGraph?: boolean;
  graphFallback?: string;
  fault?: string;
  completion?: { runs: number; lateWakes: number; polled: number; notPolled: number; pollUs: number };
}

/** The fault-injection switch (native/cuda/fault.h): per kind, the armed point, points reached, failures injected. */
export interface NativeFaultState {
  at: Record<FaultKind, number>;
  counts: Record<FaultKind, number>;
  fired: Record<FaultKind, number>;
}
export type FaultKind = 'alloc' | 'launch' | 'copy' | 'device';

/** A deserialized engine of any GPU backend: weights on `device`, shared by its contexts. */
export interface NativeEngine {
  io(): NativeIOInfo[];
  /** sync: 0 host callback, 1 spin-wait thread, 2 blocking-sync thread, 3 auto (backends may ignore it). */
  createContext(maxBatch: number, cudaGraph: boolean, sync?: number): Promise<NativeContext>;
  /** Device bytes held by the engine itself (weights). */
  deviceMemory(): number;
  dispose(): void;
}

export interface NativeTrtProfile {
  input: string;
  min: number[];
  opt: number[];
  max: number[];
}

export interface NativeTrtBuildOptions {
  device: number;
  /** Set BuilderFlag::kFP16 (TensorRT 10.x only; 11.x takes precision from the ONNX). */
  fp16Flag: boolean;
  /** Workspace memory-pool limit in bytes; 0 keeps TensorRT's default. */
  workspace: number;
  timingCache: Uint8Array | null;
  profiles: NativeTrtProfile[];
  /** Builder optimization level 0..5; -1 keeps TensorRT's default. */
  optimizationLevel: number;
  /** Most verbose ILogger severity forwarded to onLog (1 error, 2 warning, 3 info, 4 verbose); default 2. */
  logSeverity?: number;
}

/** What the tensorrt backend's engine adds to NativeEngine: sizes, the batch profile and the chosen layers. */
export interface NativeTrtEngineInfo {
  weightBytes: number;
  /** Device scratch memory each context allocates. */
  activationBytes: number;
  /** The dynamic batch range of optimization profile 0; null for a static engine. */
  batch: { min: number; opt: number; max: number } | null;
  /** Layers as TensorRT built them: name, kind (LayerType) and tactic. */
  layers: { name: string; op: string; tactic: string }[];
}

export interface NativeTrtEngine extends NativeEngine {
  info(): NativeTrtEngineInfo;
}

export interface NativeTrtBuildResult {
  engine: ArrayBuffer;
  timingCache: ArrayBuffer | null;
  /** The TensorRT library version that built it, "major.minor.patch". */
  version: string;
}

/** The tactic the builtin builder chose for one layer at one batch size, with what it timed. */
export interface NativeBuiltinBucketChoice {
  batch: number;
  tactic: string;
  ms: number;
  cached: boolean;
  candidates: { tactic: string; ms: number }[];
  rejected: string[];
}

export interface NativeBuiltinBuildResult {
  /** Per program layer: the choice at each bucket, and the tactic to run up to each batch size. */
  layers: { buckets: NativeBuiltinBucketChoice[]; tactics: { upTo: number; tactic: string }[] }[];
  workspaceBytes: number;
}

export interface NativeBuiltinBuildOptions {
  device: number;
  workspace?: number;
  iterations?: number;
  /** Batch sizes to time tactics at. */
  buckets: number[];
  /** Per layer and bucket, a tactic known from the tactic cache ('' to time all). */
  presets: string[][];
}

/** A plan header's I/O (dtype numbers, -1 for symbolic dims) and batch profile, for the builtin validator. */
export interface NativeProgramHeader {
  io: { name: string; tensor: number; isInput: boolean; dtype: number; shape: number[] }[];
  minBatch: number;
  optBatch: number;
  maxBatch: number;
}

/** What a valid builtin program needs at its maximum batch (native/builtin/validate.h ValidationReport). */
export interface NativeValidationReport {
  layers: number;
  arenaBytes: number;
  pinnedBytes: number;
  weightsBytes: number;
  /** Own kernels' scratch for the chosen tactics; external tactics size theirs on the device. */
  workspaceBytes: number;
}

/** Everything the compiled addon exports. */
export interface NativeAddon {
  setErrorClass(ctor: new (code: string, message: string) => Error): void;
  capabilities(): NativeCapabilities;
  memoryInfo(device: number): { free: number; total: number };
  /** Arms fault injection ("alloc:3,copy:1"; "" disarms) and resets its counters when given a spec; reads it always. */
  faultInjection(spec?: string): NativeFaultState;
  /** Passes one injection point of `kind` through CUDA_CHECK with a call that does nothing (for CPU-only tests). */
  faultProbe(kind: 'alloc' | 'launch' | 'copy'): void;
  NativeStream: new (device: number) => NativeStream;
  NativeEvent: new (device: number, timing: boolean) => NativeEvent;
  NativeDeviceBuffer: new (bytes: number, device: number) => NativeDeviceBuffer;
  NativePinnedBuffer: new (bytes: number) => NativePinnedBuffer;
  /** TensorRT backend; present only when the SDK was found at build time. */
  trtBuild?: (
    onnx: Uint8Array,
    options: NativeTrtBuildOptions,
    onProgress: ((phase: string, done: number, total: number) => void) | null,
    onLog: ((severity: number, message: string) => void) | null,
  ) => Promise<NativeTrtBuildResult>;
  trtLoadEngine?: (engine: Uint8Array, device: number) => Promise<NativeTrtEngine>;
  /** Builtin backend; present when the addon was built with the CUDA toolkit. */
  builtinBuild?: (
    program: Program,
    weights: Uint8Array,
    options: NativeBuiltinBuildOptions,
    onProgress: (done: number, total: number, layer: string) => void,
  ) => Promise<NativeBuiltinBuildResult>;
  builtinLoad?: (program: Program, weights: Uint8Array, device: number) => Promise<NativeEngine>;
  /** The builtin plan validator (no GPU needed): throws ERR_PLAN_CORRUPT / ERR_PLAN_MISMATCH. */
  validateBuiltinProgram?: (program: Program, weightsBytes: number, header: NativeProgramHeader | null, stage?: 'load' | 'build') => NativeValidationReport;
  /** Ops the validator has a rule for. */
  validatedOps?: () => string[];
}

/** The package root: the nearest folder up from here whose package.json is node-tensorrt's. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'node-tensorrt') return dir;
      } catch {
        /* keep walking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new TensorRTError(ErrorCode.ADDON_LOAD, 'Could not find the node-tensorrt package root');
    dir = up;
  }
}

let addon: NativeAddon | undefined;
let loadError: TensorRTError | undefined;
let origin: AddonCandidate | undefined;

function packageVersion(root: string): string {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

function wireErrors(loaded: NativeAddon): NativeAddon {
  loaded.setErrorClass(function NativeError(code: string, message: string) {
    return new TensorRTError(code as never, message);
  } as unknown as new (code: string, message: string) => Error);
  return loaded;
}

function loadCandidates(root: string, candidates: AddonCandidate[]): AddonLoad<NativeAddon> {
  const require = createRequire(import.meta.url);
  try {
    const found = loadFirst<NativeAddon>(candidates, (file) => wireErrors(require(file) as NativeAddon));
    return found;
  } catch (e) {
    const attempts = e instanceof AddonLoadFailure ? e.attempts : [];
    throw new TensorRTError(ErrorCode.ADDON_LOAD, addonLoadMessage(attempts, root), { cause: e });
  }
}

/**
 * Loads an addon file, or with no file the first of the platform package, build/Release and prebuilds/ that loads,
 * and wires its errors. Throws ERR_ADDON_LOAD with a multi-line "Possible solutions" message. Does not cache.
 * @example const addon = loadAddonFrom('/opt/node-tensorrt.node');
 */
export function loadAddonFrom(file?: string): NativeAddon {
  return loadAddonWithOrigin(file).module;
}

/**
 * As loadAddonFrom, also saying which candidate loaded and which were skipped.
 * @example loadAddonWithOrigin().candidate.source // 'platform-package'
 */
export function loadAddonWithOrigin(file?: string): AddonLoad<NativeAddon> {
  const root = packageRoot();
  return loadCandidates(root, addonCandidates({ root, version: packageVersion(root), envFile: file }));
}

/**
 * The native addon, loaded once: NODE_TENSORRT_ADDON if set, else the platform package (@node-tensorrt/linux-x64),
 * then build/Release, then prebuilds/. Throws ERR_ADDON_LOAD, listing what it tried, when none loads.
 * @example const caps = loadAddon().capabilities();
 */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  try {
    const found = loadAddonWithOrigin(process.env.NODE_TENSORRT_ADDON || undefined);
    origin = found.candidate;
    addon = found.module;
    return addon;
  } catch (e) {
    loadError = e as TensorRTError;
    throw e;
  }
}

/** Where the loaded addon came from (source and file), once loadAddon has succeeded. */
export function addonOrigin(): { source: AddonSource; file: string } | undefined {
  return origin?.file ? { source: origin.source, file: origin.file } : undefined;
}

/** The addon if it loads, else undefined (for capability probes that must not throw). */
export function tryLoadAddon(): NativeAddon | undefined {
  try {
    return loadAddon();
  } catch {
    return undefined;
  }
}

/** Why the addon failed to load, if it did. */
export function addonLoadError(): TensorRTError | undefined {
  tryLoadAddon();
  return loadError;
}
