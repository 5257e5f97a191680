// The plan container for TensorRT engines: the payload is TensorRT's serialized engine, the header records the
// TensorRT version, GPU and I/O as TensorRT reports them. Loading checks all of it before TensorRT sees the bytes.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { NativeIOInfo } from '../native.js';
import { checkPlanCompatibility, type PlanHeader } from '../plan.js';
import { dtypeFromNative } from '../tensor.js';
import type { BatchProfile, Dim, DimRange, Precision, TensorInfo } from '../types.js';
import { libraryVersion } from '../version.js';
import { checkTrtPlanVersion } from './version.js';

/** Version of the tensorrt payload layout inside the container (the serialized engine, as is). */
export const TRT_FORMAT_VERSION = 1;

/** What the tensorrt backend keeps in `header.extra.tensorrt`. */
export interface TrtPlanExtra {
  /** Built with BuilderFlag::kVERSION_COMPATIBLE (then later releases of the same major may load it). */
  versionCompatible: boolean;
  /** Where FP16 came from: the kFP16 builder flag (10.x), the autocast ONNX, or nowhere (fp32). */
  fp16: 'flag' | 'onnx' | 'none';
}

/**
 * I/O metadata from the engine as TensorRT reports it; dimension 0 of a dynamic batch gets the model's symbolic
 * name when `names` has one (else 'batch').
 * @example const { inputs, outputs } = trtTensorInfo(native.io(), { input: ['N', 3, 224, 224] });
 */
export function trtTensorInfo(io: NativeIOInfo[], names: Record<string, readonly Dim[]> = {}): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
  const inputs: TensorInfo[] = [];
  const outputs: TensorInfo[] = [];
  for (const t of io) {
    // An open dimension takes the model's name for it (the batch defaults to 'batch', others to 'dim<i>').
    const declared = names[t.name];
    const shape: Dim[] = t.shape.map((d, i) => {
      if (d >= 0) return d;
      const sym = declared?.[i];
      return typeof sym === 'string' ? sym : i === 0 ? 'batch' : `dim${i}`;
    });
    (t.isInput ? inputs : outputs).push({ name: t.name, shape, dtype: dtypeFromNative(t.dtype) });
  }
  return { inputs, outputs };
}

/**
 * The plan header for a TensorRT engine.
 * @example writePlan(trtPlanHeader({ ... }), engineBytes)
 */
export function trtPlanHeader(args: {
  tensorrtVersion: string;
  device: { name: string; computeCapability: string };
  precision: Precision;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  profile: BatchProfile;
  /** Dynamic dims besides the batch, by name, with the range the optimization profile gives them. */
  dims?: Record<string, DimRange>;
  extra: TrtPlanExtra;
  createdAt?: string;
}): Omit<PlanHeader, 'payloadBytes'> {
  return {
    backend: 'tensorrt',
    formatVersion: TRT_FORMAT_VERSION,
    libraryVersion: libraryVersion(),
    computeCapability: args.device.computeCapability,
    deviceName: args.device.name,
    tensorrtVersion: args.tensorrtVersion,
    precision: args.precision,
    inputs: args.inputs,
    outputs: args.outputs,
    profile: { ...args.profile },
    ...(args.dims && Object.keys(args.dims).length ? { dims: args.dims } : {}),
    createdAt: args.createdAt ?? new Date().toISOString(),
    extra: { tensorrt: { ...args.extra } },
  };
}

/**
 * Checks a plan header before deserialization: backend, TensorRT version (see isTrtPlanCompatible), payload
 * format and compute capability. Throws ERR_PLAN_MISMATCH or ERR_PLAN_CORRUPT.
 * @example checkTrtPlan(plan.header, { tensorrtVersion: '10.16.0', computeCapability: '9.0', deviceName: 'NVIDIA H100' });
 */
export function checkTrtPlan(header: PlanHeader, runtime: { tensorrtVersion: string; computeCapability: string; deviceName?: string | null }): void {
  if (header.backend !== 'tensorrt') {
    throw new TensorRTError(ErrorCode.PLAN_MISMATCH, `This plan is for the ${header.backend} backend, not tensorrt; load it with loadEngine()`);
  }
  const extra = (header.extra?.tensorrt ?? {}) as Partial<TrtPlanExtra>;
  checkTrtPlanVersion(header.tensorrtVersion, runtime.tensorrtVersion, { versionCompatible: extra.versionCompatible === true });
  checkPlanCompatibility(header, { computeCapability: runtime.computeCapability, formatVersion: TRT_FORMAT_VERSION, deviceName: runtime.deviceName });
}

/**
 * Checks that the deserialized engine's I/O matches the header (names, order, dtypes, fixed dimensions):
 * the context's typed-array views are built from the header. Throws ERR_PLAN_CORRUPT.
 * @example checkTrtIo(plan.header, native.io());
 */
export function checkTrtIo(header: PlanHeader, io: NativeIOInfo[]): void {
  const got = trtTensorInfo(io);
  const same = (a: TensorInfo[], b: TensorInfo[]) =>
    a.length === b.length &&
    a.every(
      (t, i) =>
        t.name === b[i].name &&
        t.dtype === b[i].dtype &&
        t.shape.length === b[i].shape.length &&
        t.shape.every((d, j) => (typeof d === 'string' ? typeof b[i].shape[j] === 'string' : d === b[i].shape[j])),
    );
  if (!same(header.inputs, got.inputs) || !same(header.outputs, got.outputs)) {
    const show = (ts: TensorInfo[]) => ts.map((t) => `${t.name}:${t.dtype}[${t.shape.join(',')}]`).join(' ');
    throw new TensorRTError(
      ErrorCode.PLAN_CORRUPT,
      `Corrupt plan: the header's I/O (${show(header.inputs)} → ${show(header.outputs)}) does not match the engine's (${show(got.inputs)} → ${show(got.outputs)})`,
    );
  }
}
