// ONNX bytes → Graph: protobuf decoding (protobufjs), validation, and shape inference.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, TensorRTError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { ONNX_DTYPES, onnxDtypeName } from '../ir/rules-tensor.js';
import type { AttrValue, Dim, Node, TensorType, ValueInfo } from '../ir/types.js';
import { AttrType, modelProto, type AttributeProtoMsg, type ModelProtoMsg, type ValueInfoProtoMsg } from './schema.js';
import { has, invalidModel, tensorToConstant, toInt, type TensorReadOptions } from './tensor.js';

export const MIN_OPSET = 9;
export const MAX_OPSET = 24;
/** Largest dimension accepted in a declared shape. */
const MAX_DIM = 2 ** 31 - 1;

export interface ParseOptions {
  /** Directory that external data files are relative to (the model's directory). */
  baseDir?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Decodes the protobuf, turning every decoder failure into ERR_INVALID_MODEL. */
export function decodeModelProto(bytes: Uint8Array): ModelProtoMsg {
  if (!(bytes instanceof Uint8Array)) invalidModel('An ONNX model must be given as bytes (Uint8Array)');
  let m: ModelProtoMsg;
  try {
    m = modelProto().decode(bytes) as unknown as ModelProtoMsg;
  } catch (e) {
    invalidModel(`Invalid ONNX model: the protobuf cannot be decoded (${(e as Error)?.message ?? String(e)})`, e);
  }
  if (!m.graph) invalidModel('Invalid ONNX model: it has no graph (is this an ONNX file?)');
  return m;
}

/** The default-domain opset a model imports. */
export function modelOpset(m: ModelProtoMsg): number {
  const imp = (m.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!imp) invalidModel('Invalid ONNX model: it imports no opset of the default (ai.onnx) domain');
  return toInt(imp.version, 'opset version');
}

function checkOpset(opset: number): void {
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new TensorRTError(ErrorCode.UNSUPPORTED_OPSET, `Unsupported ONNX opset ${opset}: node-tensorrt reads opsets ${MIN_OPSET} to ${MAX_OPSET}`);
  }
}

function valueType(v: ValueInfoProtoMsg, what: string): TensorType {
  const tt = v.type?.tensor_type;
  if (!tt) invalidModel(`${what} '${v.name}' is not a tensor (or has no type)`);
  const code = tt.elem_type ?? 0;
  const dtype = ONNX_DTYPES[code];
  if (!dtype) invalidModel(`${what} '${v.name}' has the unsupported element type ${onnxDtypeName(code)}`);
  const shape: Dim[] = (tt.shape?.dim ?? []).map((d, i) => {
    if (d.value === 'dim_value') {
      const n = toInt(d.dim_value, `${what} '${v.name}' dimension ${i}`);
      if (n < 0 || n > MAX_DIM) invalidModel(`${what} '${v.name}' has an invalid dimension ${n}`);
      return n;
    }
    if (d.value === 'dim_param' && d.dim_param) return d.dim_param;
    return `${v.name}_d${i}`;
  });
  return { dtype, shape };
}

function attrValue(a: AttributeProtoMsg, opts: TensorReadOptions, where: string): AttrValue | undefined {
  let type = a.type ?? AttrType.UNDEFINED;
  if (type === AttrType.UNDEFINED) {
    // Early exporters left `type` unset: take the one field that is present.
    if (has(a, 'f')) type = AttrType.FLOAT;
    else if (has(a, 'i')) type = AttrType.INT;
    else if (has(a, 's')) type = AttrType.STRING;
    else if (has(a, 't')) type = AttrType.TENSOR;
    else if (a.floats?.length) type = AttrType.FLOATS;
    else if (a.ints?.length) type = AttrType.INTS;
    else if (a.strings?.length) type = AttrType.STRINGS;
  }
  switch (type) {
    case AttrType.FLOAT:
      return a.f ?? 0;
    case AttrType.INT:
      return toInt(a.i, `${where} attribute '${a.name}'`);
    case AttrType.STRING:
      // Absent bytes fields read as protobufjs' prototype default ([]), not as bytes.
      return has(a, 's') && a.s instanceof Uint8Array ? utf8.decode(a.s) : '';
    case AttrType.TENSOR:
      if (!a.t) invalidModel(`${where} attribute '${a.name}' has no tensor`);
      return tensorToConstant(a.t, opts, a.name);
    case AttrType.FLOATS:
      return [...(a.floats ?? [])];
    case AttrType.INTS:
      return (a.ints ?? []).map((i) => toInt(i, `${where} attribute '${a.name}'`));
    case AttrType.STRINGS:
      return (a.strings ?? []).map((s) => (s instanceof Uint8Array ? utf8.decode(s) : ''));
    case AttrType.GRAPH:
    case AttrType.GRAPHS:
    case AttrType.TENSORS:
      return undefined; // only control-flow ops take these, and the node is refused as unsupported
    default:
      invalidModel(`${where} attribute '${a.name}' has the unknown type ${type}`);
  }
}

/**
 * Turns a decoded ModelProto into a Graph without inferring shapes (so even an unsupported model
 * can be inspected). `checkOpset` refuses opsets outside MIN_OPSET..MAX_OPSET.
 */
export function protoToGraph(m: ModelProtoMsg, opts: ParseOptions = {}, check = true): Graph {
  const opset = modelOpset(m);
  if (check) checkOpset(opset);
  const g = m.graph!;
  const initializers = new Map<string, ReturnType<typeof tensorToConstant>>();
  (g.initializer ?? []).forEach((t, i) => {
    const c = tensorToConstant(t, opts, `initializer_${i}`);
    if (!t.name) invalidModel(`Initializer ${i} has no name`);
    if (initializers.has(c.name)) invalidModel(`Initializer '${c.name}' is defined twice`);
    initializers.set(c.name, c);
  });
  const inputs: ValueInfo[] = [];
  const seen = new Set<string>();
  for (const v of g.input ?? []) {
    if (!v.name) invalidModel('A graph input has no name');
    if (seen.has(v.name)) invalidModel(`Graph input '${v.name}' is declared twice`);
    seen.add(v.name);
    // IR < 4 lists initializers among the inputs as well: those are weights, not inputs.
    if (initializers.has(v.name)) continue;
    inputs.push({ name: v.name, type: valueType(v, 'Graph input') });
  }
  const outputs: ValueInfo[] = (g.output ?? []).map((v) => {
    if (!v.name) invalidModel('A graph output has no name');
    return { name: v.name, type: valueType(v, 'Graph output') };
  });
  if (outputs.length === 0) invalidModel('Invalid ONNX model: the graph has no outputs');
  const names = new Set<string>();
  const nodes: Node[] = (g.node ?? []).map((n, idx) => {
    const op = n.op_type ?? '';
    if (!op) invalidModel(`Node ${idx}${n.name ? ` '${n.name}'` : ''} has no op_type`);
    let name = n.name || `${op}_${idx}`;
    while (names.has(name)) name = `${name}_${idx}`;
    names.add(name);
    const attrs: Record<string, AttrValue> = {};
    for (const a of n.attribute ?? []) {
      if (!a.name) invalidModel(`Node '${name}' has an attribute without a name`);
      const v = attrValue(a, opts, `Node '${name}'`);
      if (v !== undefined) attrs[a.name] = v;
    }
    const domain = n.domain === 'ai.onnx' ? '' : (n.domain ?? '');
    return { name, op, domain, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
  });
  return new Graph({
    name: g.name || 'graph',
    opset,
    inputs,
    outputs,
    nodes,
    initializers,
    producerName: m.producer_name ?? '',
    producerVersion: m.producer_version ?? '',
    irVersion: toInt(m.ir_version, 'ir_version'),
  });
}

/** Runs `fn`, turning any unexpected exception into a coded ERR_INVALID_MODEL. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TensorRTError) throw e;
    throw new TensorRTError(ErrorCode.INVALID_MODEL, `Malformed model (internal check failed: ${(e as Error)?.message ?? String(e)})`, { cause: e });
  }
}

/**
 * Parses ONNX bytes into a shape-inferred Graph.
 * @example
 * const g = parseModel(readFileSync('m.onnx'), { baseDir: '.' });
 */
export function parseModel(bytes: Uint8Array, options: ParseOptions = {}): Graph {
  return guard(() => {
    const g = protoToGraph(decodeModelProto(bytes), options);
    inferShapes(g);
    return g;
  });
}

/**
 * Reads an ONNX model from a path (external data resolved next to it) or from bytes.
 * @example
 * const g = await loadModel('models/mobilenetv2.onnx');
 */
export async function loadModel(pathOrBytes: string | Uint8Array): Promise<Graph> {
  if (typeof pathOrBytes !== 'string') return parseModel(pathOrBytes);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(pathOrBytes);
  } catch (e) {
    throw new TensorRTError(ErrorCode.IO, `Cannot read the ONNX model '${pathOrBytes}': ${(e as Error).message}`, { cause: e });
  }
  return parseModel(bytes, { baseDir: path.dirname(path.resolve(pathOrBytes)) });
}
