import { addonLoadError, addonOrigin, tryLoadAddon, type NativeCapabilities, type NativeDeviceInfo, type NativeTacticSourceInfo } from './native.js';
import type { AddonSource } from './loader.js';

export type BackendName = 'tensorrt' | 'builtin' | 'reference';

export interface BackendAvailability {
  available: boolean;
  /** Why it is unavailable. */
  reason?: string;
  version?: string | null;
}

export interface Capabilities {
  /** The native addon loaded. Without it only the reference backend works. */
  addon: {
    loaded: boolean;
    reason?: string;
    /** GPU architectures with machine code in the addon, e.g. "75,80,86,89,90". */
    cudaArchitectures?: string;
    /** Architectures also shipped as PTX, JIT-compiled by the driver for newer GPUs, e.g. "90". */
    cudaPtx?: string;
    /** Where it was loaded from: the platform package, a local build, prebuilds/ or NODE_TENSORRT_ADDON. */
    source?: AddonSource;
    /** The file loaded. */
    path?: string;
  };
  cuda: {
    available: boolean;
    reason?: string;
    driverVersion: string | null;
    runtimeVersion: string | null;
    devices: NativeDeviceInfo[];
  };
  tensorrt: { compiled: boolean; available: boolean; version: string | null; reason?: string };
  tacticSources: { cublasLt: NativeTacticSourceInfo; cudnn: NativeTacticSourceInfo };
  backends: Record<BackendName, BackendAvailability>;
}

const absentSource = (reason: string): NativeTacticSourceInfo => ({ compiled: false, available: false, version: null, reason });

/**
 * What this machine offers: CUDA devices, driver and runtime versions, TensorRT, and which backends work.
 * Never throws: a machine without a GPU, a driver or the addon gets `available: false` with a reason.
 * @example
 * const caps = capabilities();
 * if (caps.cuda.available) console.log(caps.cuda.devices[0].name);
 */
export function capabilities(): Capabilities {
  const addon = tryLoadAddon();
  if (!addon) {
    const reason = addonLoadError()?.message.split('\n')[0] ?? 'the native addon did not load';
    return {
      addon: { loaded: false, reason },
      cuda: { available: false, reason, driverVersion: null, runtimeVersion: null, devices: [] },
      tensorrt: { compiled: false, available: false, version: null, reason },
      tacticSources: { cublasLt: absentSource(reason), cudnn: absentSource(reason) },
      backends: {
        tensorrt: { available: false, reason },
        builtin: { available: false, reason },
        reference: { available: true },
      },
    };
  }
  const n: NativeCapabilities = addon.capabilities();
  const from = addonOrigin();
  const noDevice = n.cuda.reason ?? 'No CUDA device found';
  return {
    addon: { loaded: true, cudaArchitectures: n.cudaArchitectures, cudaPtx: n.cudaPtx, source: from?.source, path: from?.file },
    cuda: { ...n.cuda, runtimeVersion: n.cuda.runtimeVersion || null },
    tensorrt: n.tensorrt,
    tacticSources: n.tacticSources ?? {
      cublasLt: absentSource('not compiled into this build'),
      cudnn: absentSource('not compiled into this build'),
    },
    backends: {
      tensorrt: n.tensorrt.available
        ? { available: n.cuda.available, version: n.tensorrt.version, ...(n.cuda.available ? {} : { reason: noDevice }) }
        : { available: false, reason: n.tensorrt.reason ?? 'TensorRT SDK not found' },
      builtin: n.cuda.available ? { available: true } : { available: false, reason: noDevice },
      reference: { available: true },
    },
  };
}
