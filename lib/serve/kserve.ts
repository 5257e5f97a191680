// The KServe v2 inference protocol as Triton speaks it: metadata, JSON tensors (flat or nested), and Triton's
// binary-data extension (a JSON header of Inference-Header-Content-Length bytes, then raw tensors in order).
import { ErrorCode, TensorRTError } from '../errors.js';
import { arrayTypeFor, type TypedArray } from '../tensor.js';
import type { Dim, TensorDType, TensorInfo } from '../types.js';
import { fromHalfBits, toHalfBits } from '../util/half.js';
import { describe } from '../validate.js';

/** KServe v2 datatype names of the engine dtypes. */
export const DATATYPES: Readonly<Record<TensorDType, string>> = {
  float32: 'FP32',
  float16: 'FP16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  int8: 'INT8',
  bool: 'BOOL',
};

/** What the protocol layer needs to know of the served model. */
export interface ModelSpec {
  name: string;
  version: string;
  platform: string;
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
  /** Most rows one request may bring. */
  maxBatch: number;
}

/** One requested output: its name and whether it goes back as binary data. */
export interface OutputRequest {
  name: string;
  binary: boolean;
}

/** A decoded, checked inference request. */
export interface InferRequest {
  id?: string;
  feeds: Record<string, TypedArray>;
  rows: number;
  outputs: OutputRequest[];
  /** Triton's request parameters `priority` and `timeout` (µs), when given. */
  priority?: number;
  timeoutMs?: number;
}

const bad = (message: string): never => {
  throw new TensorRTError(ErrorCode.INVALID_INPUT, message);
};

/** A shape as the protocol writes it: -1 for a dynamic dimension. @example protocolShape(['batch', 3]) // [-1, 3] */
export function protocolShape(shape: readonly Dim[]): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : -1));
}

/** GET /v2/models/{name}: name, versions, platform, and each tensor's datatype and shape. @example modelMetadata(spec).inputs[0].datatype // 'FP32' */
export function modelMetadata(spec: ModelSpec): object {
  const tensor = (t: TensorInfo) => ({ name: t.name, datatype: DATATYPES[t.dtype], shape: protocolShape(t.shape) });
  return { name: spec.name, versions: [spec.version], platform: spec.platform, inputs: spec.inputs.map(tensor), outputs: spec.outputs.map(tensor) };
}

/**
 * GET /v2/models/{name}/config, Triton's model-configuration extension in its JSON form: max_batch_size, and dims
 * without the batch dimension when the model batches (what perf_analyzer reads).
 * @example modelConfig(spec, 2).max_batch_size // 32
 */
export function modelConfig(spec: ModelSpec, maxDelayMs: number): object {
  const batches = spec.inputs.every((t) => typeof t.shape[0] !== 'number');
  const tensor = (t: TensorInfo) => ({ name: t.name, data_type: `TYPE_${DATATYPES[t.dtype]}`, dims: protocolShape(batches ? t.shape.slice(1) : t.shape) });
  return {
    name: spec.name,
    platform: spec.platform,
    max_batch_size: batches ? spec.maxBatch : 0,
    input: spec.inputs.map(tensor),
    output: spec.outputs.map(tensor),
    ...(batches ? { dynamic_batching: { max_queue_delay_microseconds: Math.round(maxDelayMs * 1000) } } : {}),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Decodes and checks a POST /v2/models/{name}/infer body: JSON, or with `headerLength` a JSON header followed
 * by the binary tensors it announces. Every problem is an ERR_INVALID_INPUT whose message names the input.
 * @example const req = decodeInferRequest(body, undefined, spec); await batcher.infer(req.feeds);
 */
export function decodeInferRequest(body: Uint8Array, headerLength: number | undefined, spec: ModelSpec): InferRequest {
  if (headerLength !== undefined && (!Number.isSafeInteger(headerLength) || headerLength < 0 || headerLength > body.length)) {
    bad(`Inference-Header-Content-Length is ${headerLength} but the body has ${body.length} bytes`);
  }
  const jsonEnd = headerLength ?? body.length;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, jsonEnd).toString('utf8'));
  } catch (e) {
    bad(`Malformed JSON in the request body: ${(e as Error).message}`);
  }
  if (!isObject(json)) return bad(`The request body must be a JSON object but is ${describe(json)}`);
  if (!Array.isArray(json.inputs) || json.inputs.length === 0) bad(`The request needs a non-empty 'inputs' array but has ${describe(json.inputs)}`);
  const params = json.parameters === undefined ? {} : isObject(json.parameters) ? json.parameters : bad(`'parameters' must be an object but is ${describe(json.parameters)}`);
  const binaryByDefault = params.binary_data_output === true;
  const feeds: Record<string, TypedArray> = {};
  let offset = jsonEnd;
  let rows = -1;
  for (const [i, raw] of (json.inputs as unknown[]).entries()) {
    if (!isObject(raw)) bad(`inputs[${i}] must be an object but is ${describe(raw)}`);
    const input = raw as Record<string, unknown>;
    if (typeof input.name !== 'string') bad(`inputs[${i}] needs a 'name' string`);
    const name = input.name as string;
    const info = spec.inputs.find((t) => t.name === name);
    if (!info) bad(`Unknown input '${name}'; model '${spec.name}' has inputs ${spec.inputs.map((t) => `'${t.name}'`).join(', ')}`);
    if (name in feeds) bad(`Input '${name}' is given twice`);
    const want = DATATYPES[info!.dtype];
    if (input.datatype !== want) bad(`Input '${name}' has datatype ${typeof input.datatype === 'string' ? input.datatype : describe(input.datatype)} but model '${spec.name}' expects ${want}`);
    const shape = checkShape(name, input.shape, info!, spec);
    if (rows !== -1 && shape[0] !== rows) bad(`Inputs disagree on the batch: ${rows} rows vs ${shape[0]} in '${name}'`);
    rows = shape[0];
    const count = shape.reduce((a, b) => a * b, 1);
    const inParams = input.parameters === undefined ? {} : isObject(input.parameters) ? input.parameters : bad(`'parameters' of input '${name}' must be an object`);
    const size = inParams.binary_data_size;
    if (size !== undefined) {
      if (headerLength === undefined) bad(`Input '${name}' has binary_data_size but the request has no Inference-Header-Content-Length header`);
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) bad(`binary_data_size of input '${name}' must be a non-negative integer but is ${describe(size)}`);
      if (input.data !== undefined) bad(`Input '${name}' has both 'data' and binary_data_size`);
      feeds[name] = binaryTensor(name, body, offset, size as number, count, info!, shape);
      offset += size as number;
    } else {
      if (input.data === undefined) bad(`Input '${name}' has neither 'data' nor a binary_data_size parameter`);
      feeds[name] = jsonTensor(name, input.data, count, info!, shape);
    }
  }
  if (offset !== body.length) bad(`The body has ${body.length - offset} bytes of binary data past the inputs that announce them`);
  for (const t of spec.inputs) if (!(t.name in feeds)) bad(`Missing input '${t.name}' for model '${spec.name}'`);
  const outputs = outputSelection(json.outputs, binaryByDefault, spec);
  const req: InferRequest = { feeds, rows, outputs };
  if (json.id !== undefined) req.id = typeof json.id === 'string' ? json.id : bad(`'id' must be a string but is ${describe(json.id)}`);
  if (params.priority !== undefined) {
    req.priority = Number.isSafeInteger(params.priority) ? (params.priority as number) : bad(`The priority parameter must be an integer but is ${describe(params.priority)}`);
  }
  if (params.timeout !== undefined) {
    const us = params.timeout;
    req.timeoutMs = typeof us === 'number' && Number.isFinite(us) && us >= 0 ? us / 1000 : bad(`The timeout parameter (µs) must be a non-negative number but is ${describe(us)}`);
  }
  return req;
}

function checkShape(name: string, shape: unknown, info: TensorInfo, spec: ModelSpec): number[] {
  const expected = `[${protocolShape(info.shape).join(', ')}]`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`Input '${name}' needs a 'shape' array of non-negative integers but has ${describe(shape)}`);
  const s = shape as number[];
  const ok = s.length === info.shape.length && info.shape.every((d, k) => (typeof d === 'number' ? s[k] === d : true));
  if (!ok) bad(`Input '${name}' has shape [${s.join(', ')}] but model '${spec.name}' expects ${expected}`);
  if (s[0] < 1 || s[0] > spec.maxBatch) bad(`Input '${name}' has a batch of ${s[0]}; this server takes 1 to ${spec.maxBatch} rows per request`);
  return s;
}

const BYTES: Record<TensorDType, number> = { float32: 4, float16: 2, int32: 4, int64: 8, uint8: 1, int8: 1, bool: 1 };

function binaryTensor(name: string, body: Uint8Array, offset: number, size: number, count: number, info: TensorInfo, shape: number[]): TypedArray {
  const need = count * BYTES[info.dtype];
  if (size !== need) bad(`Input '${name}' has ${size} bytes of binary data but shape [${shape.join(', ')}] of ${DATATYPES[info.dtype]} needs ${need}`);
  if (offset + size > body.length) bad(`The body ends before the binary data of input '${name}' (${size} bytes at offset ${offset}, body of ${body.length})`);
  const Ctor = arrayTypeFor(info.dtype);
  const at = body.byteOffset + offset;
  // A view when the bytes are aligned for the type, else one copy; the batcher copies them into pinned memory.
  if (at % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(body.buffer as ArrayBuffer, at, count);
  const out = new Ctor(count);
  new Uint8Array(out.buffer).set(body.subarray(offset, offset + size));
  return out;
}

/** Flattens nested arrays (row-major) without recursion. */
function flatten(data: unknown[]): unknown[] {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const stack: [unknown[], number][] = [[data, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top[1] === top[0].length) {
      stack.pop();
      continue;
    }
    const v = top[0][top[1]++];
    if (Array.isArray(v)) stack.push([v, 0]);
    else out.push(v);
  }
  return out;
}

const RANGES: Partial<Record<TensorDType, [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint8: [0, 255],
  int8: [-128, 127],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function jsonTensor(name: string, data: unknown, count: number, info: TensorInfo, shape: number[]): TypedArray {
  if (!Array.isArray(data)) return bad(`'data' of input '${name}' must be an array but is ${describe(data)}`);
  const flat = flatten(data);
  if (flat.length !== count) bad(`Input '${name}' has ${flat.length} values but shape [${shape.join(', ')}] needs ${count}`);
  const Ctor = arrayTypeFor(info.dtype);
  const out = new Ctor(count);
  const dt = DATATYPES[info.dtype];
  const wrong = (i: number, what: string): never => bad(`Input '${name}' value ${i} is ${describe(flat[i])}; ${dt} needs ${what}`);
  if (info.dtype === 'float32') {
    const f = out as Float32Array;
    for (let i = 0; i < count; i++) {
      const v = flat[i];
      if (typeof v !== 'number') wrong(i, 'numbers');
      f[i] = v as number;
    }
  } else if (info.dtype === 'float16') {
    for (let i = 0; i < count; i++) (out as Uint16Array)[i] = toHalfBits(typeof flat[i] === 'number' ? (flat[i] as number) : wrong(i, 'numbers'));
  } else if (info.dtype === 'bool') {
    for (let i = 0; i < count; i++) {
      const v = flat[i];
      (out as Uint8Array)[i] = v === true || v === 1 ? 1 : v === false || v === 0 ? 0 : wrong(i, 'true or false');
    }
  } else {
    const [lo, hi] = RANGES[info.dtype]!;
    for (let i = 0; i < count; i++) {
      const v = flat[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) wrong(i, `integers in ${lo}..${hi}`);
      if (info.dtype === 'int64') (out as BigInt64Array)[i] = BigInt(v as number);
      else (out as Int32Array)[i] = v as number;
    }
  }
  return out;
}

function outputSelection(raw: unknown, binaryByDefault: boolean, spec: ModelSpec): OutputRequest[] {
  if (raw === undefined) return spec.outputs.map((t) => ({ name: t.name, binary: binaryByDefault }));
  if (!Array.isArray(raw)) return bad(`'outputs' must be an array but is ${describe(raw)}`);
  return raw.map((o, i) => {
    if (!isObject(o) || typeof o.name !== 'string') return bad(`outputs[${i}] needs a 'name' string`);
    const name = o.name;
    if (!spec.outputs.some((t) => t.name === name)) bad(`Unknown output '${name}'; model '${spec.name}' has outputs ${spec.outputs.map((t) => `'${t.name}'`).join(', ')}`);
    const p = o.parameters === undefined ? {} : isObject(o.parameters) ? o.parameters : bad(`'parameters' of output '${name}' must be an object`);
    if (p.binary_data !== undefined && typeof p.binary_data !== 'boolean') bad(`binary_data of output '${name}' must be true or false`);
    return { name, binary: (p.binary_data as boolean | undefined) ?? binaryByDefault };
  });
}

/** A response ready to send: JSON alone, or a JSON header followed by binary tensors. */
export interface EncodedResponse {
  /** The JSON part. */
  header: Buffer;
  /** Binary tensors in the order the header lists them (empty for a plain JSON response). */
  binary: Uint8Array[];
}

/**
 * Encodes the outputs of one request: JSON data, or raw bytes for outputs asked for as binary.
 * @example const { header, binary } = encodeInferResponse(spec, req, outputs);
 */
export function encodeInferResponse(spec: ModelSpec, req: InferRequest, results: Record<string, TypedArray>): EncodedResponse {
  const binary: Uint8Array[] = [];
  const outputs = req.outputs.map(({ name, binary: asBinary }) => {
    const info = spec.outputs.find((t) => t.name === name)!;
    const data = results[name];
    const shape = protocolShape(info.shape);
    if (typeof info.shape[0] !== 'number') shape[0] = req.rows;
    const base = { name, datatype: DATATYPES[info.dtype], shape };
    if (asBinary) {
      binary.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return { ...base, parameters: { binary_data_size: data.byteLength } };
    }
    return { ...base, data: jsonData(data, info.dtype) };
  });
  const body: Record<string, unknown> = { model_name: spec.name, model_version: spec.version };
  if (req.id !== undefined) body.id = req.id;
  body.outputs = outputs;
  return { header: Buffer.from(JSON.stringify(body)), binary };
}

function jsonData(data: TypedArray, dtype: TensorDType): unknown[] {
  if (dtype === 'float16') return Array.from(data as Uint16Array, fromHalfBits);
  if (dtype === 'bool') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (dtype === 'int64') return Array.from(data as BigInt64Array, Number);
  return Array.from(data as Float32Array);
}
