// TensorProto ↔ Constant, including raw_data, the typed data fields and external data files.
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, TensorRTError } from '../errors.js';
import { ONNX_DTYPES, ONNX_DTYPE_NUMBER, onnxDtypeName } from '../ir/rules-tensor.js';
import { DTYPE_BYTES, constantArrayType, type Constant, type ConstantData, type DataType } from '../ir/types.js';
import { DataLocation, type Int64, type TensorProtoMsg } from './schema.js';

/** Largest tensor the reader accepts, in elements (keeps a corrupt dim from causing a huge allocation). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

export function invalidModel(msg: string, cause?: unknown): never {
  throw new TensorRTError(ErrorCode.INVALID_MODEL, msg, cause === undefined ? undefined : { cause });
}

/** An int64 field as a safe JS number. */
export function toInt(v: Int64 | undefined, what: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'number' ? v : v.toNumber();
  if (!Number.isSafeInteger(n)) invalidModel(`${what} is out of range (${String(v)})`);
  return n;
}

export function has<T extends object>(msg: T, key: keyof T): boolean {
  return Object.prototype.hasOwnProperty.call(msg, key);
}

function elementCount(dims: number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (d < 0) invalidModel(`${what} has a negative dimension in [${dims.join(', ')}]`);
    n *= d;
  }
  if (n > MAX_ELEMENTS) invalidModel(`${what} is too large: [${dims.join(', ')}]`);
  return n;
}

/** Copies little-endian bytes into a fresh, aligned typed array of the dtype. */
function fromBytes(dtype: DataType, bytes: Uint8Array, count: number): ConstantData {
  const Ctor = constantArrayType(dtype);
  const out = new Ctor(count);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes.subarray(0, count * DTYPE_BYTES[dtype]));
  if (dtype === 'bool') for (let i = 0; i < count; i++) out[i] = out[i] ? 1 : 0;
  return out;
}

function fromField(dtype: DataType, t: TensorProtoMsg, count: number, what: string): ConstantData {
  let src: ArrayLike<number | Int64> | undefined;
  switch (dtype) {
    case 'float32':
      src = t.float_data;
      break;
    case 'float64':
      src = t.double_data;
      break;
    case 'int64':
      src = t.int64_data;
      break;
    default: // int32, int8, uint8, bool and float16 (its bits) live in int32_data
      src = t.int32_data;
  }
  const len = src?.length ?? 0;
  if (len !== count) invalidModel(`${what} holds ${len} values for ${count} elements`);
  const Ctor = constantArrayType(dtype);
  const out = new Ctor(count);
  if (dtype === 'int64') {
    const o = out as BigInt64Array;
    for (let i = 0; i < count; i++) o[i] = BigInt(toInt(src![i] as Int64, what));
  } else if (dtype === 'bool') {
    for (let i = 0; i < count; i++) out[i] = src![i] ? 1 : 0;
  } else {
    (out as Float32Array).set(src as ArrayLike<number>);
  }
  return out;
}

export interface TensorReadOptions {
  /** Directory that external data locations are relative to. */
  baseDir?: string;
}

/**
 * The real path of external data `location` under `baseDir`: symbolic links are resolved, and the target must be a
 * regular file inside the model's directory (a link inside it that points elsewhere is refused).
 */
function containedFile(baseDir: string, norm: string, location: string, what: string): string {
  let root: string;
  let real: string;
  try {
    root = realpathSync(baseDir);
    real = realpathSync(path.join(baseDir, norm));
  } catch (e) {
    invalidModel(`${what}: cannot open external data file '${path.join(baseDir, norm)}': ${(e as Error).message}`, e);
  }
  if (!real.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
    invalidModel(`${what}: external data location '${location}' resolves outside the model's directory (to '${real}')`);
  }
  if (!statSync(real).isFile()) invalidModel(`${what}: external data '${location}' is not a regular file`);
  return real;
}

/**
 * The real path of the external data file `location` of a model in `baseDir`, with every check the reader makes
 * (relative, inside the folder after resolving links, a regular file).
 * @example externalDataPath('/models', 'weights.bin')
 */
export function externalDataPath(baseDir: string, location: string): string {
  const norm = path.normalize(location);
  if (path.isAbsolute(norm) || norm.split(path.sep).includes('..')) invalidModel(`external data location '${location}' must stay inside the model's directory`);
  return containedFile(baseDir, norm, location, 'external data');
}

function readExternal(t: TensorProtoMsg, bytes: number, what: string, opts: TensorReadOptions): Uint8Array {
  const kv = new Map((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location) invalidModel(`${what} is stored externally but names no location`);
  if (opts.baseDir === undefined) invalidModel(`${what} is stored in the external file '${location}'; load the model from its path (or pass baseDir)`);
  const norm = path.normalize(location);
  if (path.isAbsolute(norm) || norm.split(path.sep).includes('..')) invalidModel(`${what}: external data location '${location}' must stay inside the model's directory`);
  const parseNum = (key: string, def: number) => {
    const s = kv.get(key);
    if (s === undefined) return def;
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) invalidModel(`${what}: external data ${key} '${s}' is not a non-negative integer`);
    return n;
  };
  const offset = parseNum('offset', 0);
  const length = parseNum('length', bytes);
  if (length !== bytes) invalidModel(`${what}: external data length ${length} does not match ${bytes} bytes of tensor data`);
  const file = containedFile(opts.baseDir, norm, location, what);
  let fd: number;
  try {
    // Never blocks on a FIFO and never follows a link swapped in after the check.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    invalidModel(`${what}: cannot open external data file '${file}': ${(e as Error).message}`, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) invalidModel(`${what}: external data '${location}' is not a regular file`);
    const size = st.size;
    if (offset + bytes > size) invalidModel(`${what}: external data [${offset}, ${offset + bytes}) lies beyond the end of '${file}' (${size} bytes)`);
    const buf = new Uint8Array(bytes);
    let done = 0;
    while (done < bytes) {
      const n = readSync(fd, buf, done, bytes - done, offset + done);
      if (n <= 0) invalidModel(`${what}: short read from '${file}'`);
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * Converts a TensorProto into a Constant, validating its size against its dims.
 * @example
 * const c = tensorToConstant(msg.graph.initializer[0], { baseDir: '/models' });
 */
export function tensorToConstant(t: TensorProtoMsg, opts: TensorReadOptions = {}, fallbackName = ''): Constant {
  const name = t.name || fallbackName;
  const what = `Tensor '${name}'`;
  const code = t.data_type ?? 0;
  const dtype = ONNX_DTYPES[code];
  if (!dtype) invalidModel(`${what} has the unsupported element type ${onnxDtypeName(code)}`);
  const dims = (t.dims ?? []).map((d) => toInt(d, `${what} dimension`));
  const count = elementCount(dims, what);
  if (has(t, 'segment')) invalidModel(`${what} is segmented, which is not supported`);
  const bytes = count * DTYPE_BYTES[dtype];
  let data: ConstantData;
  if (t.data_location === DataLocation.EXTERNAL) {
    data = fromBytes(dtype, readExternal(t, bytes, what, opts), count);
  } else if (t.data_location !== undefined && t.data_location !== DataLocation.DEFAULT) {
    invalidModel(`${what} has an unknown data_location ${t.data_location}`);
  } else if (has(t, 'raw_data')) {
    const raw = t.raw_data!;
    if (raw.length !== bytes) invalidModel(`${what} has ${raw.length} bytes of raw_data; [${dims.join(', ')}] ${dtype} needs ${bytes}`);
    data = fromBytes(dtype, raw, count);
  } else {
    data = fromField(dtype, t, count, what);
  }
  return { name, dtype, dims, data };
}

/** Converts a Constant into a TensorProto message (raw_data, little-endian). */
export function constantToTensor(c: Constant): TensorProtoMsg {
  const d = c.data;
  return {
    name: c.name,
    dims: [...c.dims],
    data_type: ONNX_DTYPE_NUMBER[c.dtype],
    raw_data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}
