// The whole native surface, typed, and the one loader (STYLE 1, 11).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Everything the compiled addon exports. Backend classes are added by their layers. */
export interface NativeAddon {
  setErrorClass(ctor: new (code: string, message: string) => Error): void;
  capabilities(): NativeCapabilities;
  memoryInfo(device: number): { free: number; total: number };
  NativeStream: new (device: number) => NativeStream;
  NativeEvent: new (device: number, timing: boolean) => NativeEvent;
  NativeDeviceBuffer: new (bytes: number, device: number) => NativeDeviceBuffer;
  NativePinnedBuffer: new (bytes: number) => NativePinnedBuffer;
  [backendExport: string]: unknown;
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
