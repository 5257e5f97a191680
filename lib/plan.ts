// The plan container shared by every backend: a header (magic, format version, backend, library version,
// compute capability, TensorRT version, I/O metadata) and a SHA-256 over header and payload.
import { createHash } from 'node:crypto';
import { ErrorCode, TensorRTError } from './errors.js';
import type { BackendName } from './capabilities.js';
import type { BatchProfile, Precision, TensorInfo, DimRange } from './types.js';

export const PLAN_MAGIC = 'NTRTPLAN';
/** Version of the container layout itself. */
export const CONTAINER_VERSION = 1;
const FIXED = 16; // magic(8) + container version(4) + header length(4)
const DIGEST = 32;
const ALIGN = 256;

export type PlanBackend = Exclude<BackendName, 'reference'> | 'reference';

export interface PlanHeader {
  backend: PlanBackend;
  /** Version of the backend's payload format (builtin program layout, ...). */
  formatVersion: number;
  libraryVersion: string;
  /** "9.0"; null for the reference backend. */
  computeCapability: string | null;
  deviceName: string | null;
  /** TensorRT library version that built the payload ("10.16.0"), tensorrt backend only. */
  tensorrtVersion: string | null;
  precision: Precision;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  profile: BatchProfile;
  /** Ranges of the dynamic dims other than the batch, by name (absent: only the batch is dynamic). */
  dims?: Record<string, DimRange>;
  payloadBytes: number;
  createdAt: string;
  /** Anything else a backend wants to keep (build info, ...). */
  extra?: Record<string, unknown>;
}

export interface Plan {
  header: PlanHeader;
  payload: Uint8Array;
}

function digest(header: Uint8Array, payload: Uint8Array): Uint8Array {
  return createHash('sha256').update(header).update(payload).digest();
}

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const MAGIC_BYTES = new TextEncoder().encode(PLAN_MAGIC);

/**
 * Whether bytes start like a plan container rather than an ONNX model (the magic only; readPlan verifies the rest).
 * @example isPlan(await readFile('m.plan')) // true
 */
export function isPlan(bytes: Uint8Array): boolean {
  return bytes.byteLength >= MAGIC_BYTES.length && MAGIC_BYTES.every((b, i) => bytes[i] === b);
}

/** Serializes a plan: fixed prefix, header JSON, digest, padding to 256 bytes, payload. */
export function writePlan(header: Omit<PlanHeader, 'payloadBytes'>, payload: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify({ ...header, payloadBytes: payload.byteLength }));
  const payloadAt = align(FIXED + h.byteLength + DIGEST);
  const out = new Uint8Array(payloadAt + payload.byteLength);
  out.set(MAGIC_BYTES, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, CONTAINER_VERSION, true);
  dv.setUint32(12, h.byteLength, true);
  out.set(h, FIXED);
  out.set(digest(h, payload), FIXED + h.byteLength);
  out.set(payload, payloadAt);
  return out;
}

const corrupt = (why: string) => new TensorRTError(ErrorCode.PLAN_CORRUPT, `Corrupt plan: ${why}`);

/**
 * Parses and verifies a plan container. Throws ERR_PLAN_CORRUPT (not a plan, truncated, checksum mismatch)
 * or ERR_PLAN_MISMATCH (another container version). The payload is a view into `bytes`.
 */
export function readPlan(bytes: Uint8Array): Plan {
  if (bytes.byteLength < FIXED || !isPlan(bytes)) {
    throw corrupt('this is not a node-tensorrt plan file (bad magic)');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== CONTAINER_VERSION) {
    throw new TensorRTError(
      ErrorCode.PLAN_MISMATCH,
      `Plan container version ${version} is not supported by this library (expects ${CONTAINER_VERSION}); rebuild the engine`,
    );
  }
  const hLen = dv.getUint32(12, true);
  if (FIXED + hLen + DIGEST > bytes.byteLength) throw corrupt(`truncated header (${bytes.byteLength} bytes)`);
  const h = bytes.subarray(FIXED, FIXED + hLen);
  let header: PlanHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(h)) as PlanHeader;
  } catch {
    throw corrupt('unreadable header');
  }
  if (header === null || typeof header !== 'object' || !Number.isSafeInteger(header.payloadBytes) || header.payloadBytes < 0) {
    throw corrupt('malformed header');
  }
  const payloadAt = align(FIXED + hLen + DIGEST);
  if (payloadAt + header.payloadBytes !== bytes.byteLength) {
    throw corrupt(`expected ${payloadAt + header.payloadBytes} bytes but the file has ${bytes.byteLength} (truncated or padded)`);
  }
  for (let i = FIXED + hLen + DIGEST; i < payloadAt; i++) if (bytes[i] !== 0) throw corrupt('damaged padding');
  const payload = bytes.subarray(payloadAt);
  const want = bytes.subarray(FIXED + hLen, FIXED + hLen + DIGEST);
  const got = digest(h, payload);
  if (Buffer.compare(Buffer.from(want.buffer, want.byteOffset, DIGEST), Buffer.from(got)) !== 0) {
    throw corrupt('checksum mismatch (the file was modified or damaged)');
  }
  if (!['builtin', 'tensorrt', 'reference'].includes(header.backend)) throw corrupt(`unknown backend '${String(header.backend)}'`);
  if (!Array.isArray(header.inputs) || !Array.isArray(header.outputs)) throw corrupt('missing I/O metadata');
  if (header.dims !== undefined) {
    const ok = (r: unknown) => {
      const v = r as DimRange;
      return !!v && [v.min, v.opt, v.max].every((x) => Number.isSafeInteger(x) && x > 0) && v.min <= v.opt && v.opt <= v.max;
    };
    if (header.dims === null || typeof header.dims !== 'object' || Array.isArray(header.dims) || !Object.values(header.dims).every(ok)) throw corrupt('invalid dimension ranges');
  }
  return { header, payload };
}

/**
 * Checks that a plan can run on a device of this compute capability: a plan for another GPU
 * architecture or another payload format version is ERR_PLAN_MISMATCH.
 */
export function checkPlanCompatibility(
  header: PlanHeader,
  target: { computeCapability: string | null; formatVersion: number; deviceName?: string | null },
): void {
  if (header.formatVersion !== target.formatVersion) {
    throw new TensorRTError(
      ErrorCode.PLAN_MISMATCH,
      `Plan format version ${header.formatVersion} of the ${header.backend} backend does not match this library's ${target.formatVersion}; rebuild the engine`,
    );
  }
  if (header.computeCapability !== target.computeCapability) {
    throw new TensorRTError(
      ErrorCode.PLAN_MISMATCH,
      `Plan was built for compute capability ${header.computeCapability}${header.deviceName ? ` (${header.deviceName})` : ''} but this device is ${target.computeCapability}${target.deviceName ? ` (${target.deviceName})` : ''}; rebuild the engine on this GPU`,
    );
  }
}
