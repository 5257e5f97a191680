// The whole native surface, typed, and the one loader (STYLE 1, 11).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Program } from './builtin/program.js';
import { ErrorCode, TensorRTError } from './errors.js';

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
  cudaArchitectures?: string;
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
  /** `dims`: values of the dynamic dims other than the batch, for backends whose engines have them. */
  run(batch: number, transfers: boolean, dims?: Record<string, number>): Promise<void>;
  /** [h2dMs, computeMs, d2hMs] of the last completed run, from device events. */
  timings(): number[];
  /** Per-layer device time, median over `iterations` runs (no graph), where the backend can tell. */
  profile(batch: number, iterations: number): Promise<NativeLayerTime[]>;
  /** Pinned RGBA8 staging for maxBatch images of height×width (device-side preprocessing), where supported. */
  imageBuffer?(height: number, width: number): ArrayBuffer;
  /** A run whose input `input` is filled on the device from the staged RGBA8 images: (px/255 − mean) / std. */
  runImages?(batch: number, input: number, mean: number[], std: number[]): Promise<void>;
  dispose(): void;
}

/** A deserialized engine of any GPU backend: weights on `device`, shared by its contexts. */
export interface NativeEngine {
  io(): NativeIOInfo[];
  /** sync: 0 host callback, 1 spin-wait thread, 2 blocking-sync thread (backends may ignore it). */
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

/** Everything the compiled addon exports. */
export interface NativeAddon {
  setErrorClass(ctor: new (code: string, message: string) => Error): void;
  capabilities(): NativeCapabilities;
  memoryInfo(device: number): { free: number; total: number };
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

function loadFailure(root: string, cause: unknown): TensorRTError {
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new TensorRTError(
    ErrorCode.ADDON_LOAD,
    [
      `Could not load the node-tensorrt native addon for ${process.platform}-${process.arch} (Node ${process.versions.node}, N-API ${process.versions.napi}).`,
      `Reason: ${detail}`,
      'Possible solutions:',
      `- Build it from source: install the CUDA toolkit (nvcc) and cmake, then run \`npm rebuild node-tensorrt\` (or \`npm run build:native\` in ${root}).`,
      '- Use a release that ships a prebuilt addon in prebuilds/linux-x64/ (see `npm run prebuild`).',
      '- The CPU backend needs no addon: pass { backend: \'reference\' }.',
    ].join('\n'),
    { cause },
  );
}

/**
 * Loads an addon file (or, with no file, the package's own through node-gyp-build) and wires its errors.
 * Throws ERR_ADDON_LOAD with a multi-line "Possible solutions" message. Does not cache.
 */
export function loadAddonFrom(file?: string): NativeAddon {
  const root = packageRoot();
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeAddon;
    const loaded = (file ? require(file) : nodeGypBuild(root)) as NativeAddon;
    loaded.setErrorClass(function NativeError(code: string, message: string) {
      return new TensorRTError(code as never, message);
    } as unknown as new (code: string, message: string) => Error);
    return loaded;
  } catch (e) {
    throw loadFailure(root, e);
  }
}

/**
 * The native addon, loaded once through node-gyp-build (prebuilds/ first, then build/Release);
 * NODE_TENSORRT_ADDON names another file. Throws ERR_ADDON_LOAD when it can't be loaded.
 * @example const caps = loadAddon().capabilities();
 */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  try {
    addon = loadAddonFrom(process.env.NODE_TENSORRT_ADDON || undefined);
    return addon;
  } catch (e) {
    loadError = e as TensorRTError;
    throw e;
  }
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
