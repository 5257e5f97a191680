// Model inspection for `node-tensorrt inspect`: I/O, opset, producer, op histogram, parameter count.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, TensorRTError } from './errors.js';
import { isSupported, inferShapes } from './ir/infer.js';
import type { DataType, Dim } from './ir/types.js';
import { decodeModelProto, guard, protoToGraph, MAX_OPSET, MIN_OPSET } from './onnx/reader.js';

export interface InspectTensor {
  name: string;
  shape: Dim[];
  dtype: DataType;
}

export interface ModelInspection {
  inputs: InspectTensor[];
  outputs: InspectTensor[];
  opset: number;
  irVersion: number;
  producer: { name: string; version: string };
  graphName: string;
  /** Node count per operator type ('domain::Op' outside the default domain), most frequent first. */
  ops: Record<string, number>;
  nodeCount: number;
  /** Elements in all initializers. */
  parameters: number;
  /** Bytes of all initializers. */
  weightBytes: number;
  /** Whether node-tensorrt can compile it: opset in range, every op supported, shapes consistent. */
  supported: boolean;
  /** Operators that are not supported, with the first node using each. */
  unsupportedOps: { op: string; node: string }[];
  /** Why it can't be compiled (code and message of the first problem), when not supported. */
  problem?: { code: string; message: string };
}

/**
 * Describes an ONNX model without compiling it; the result is plain JSON.
 * @example
 * const info = await inspectModel('models/resnet50.onnx'); console.log(info.ops.Conv, info.parameters);
 */
export async function inspectModel(model: string | Uint8Array): Promise<ModelInspection> {
  let bytes: Uint8Array;
  let baseDir: string | undefined;
  if (typeof model === 'string') {
    try {
      bytes = await readFile(model);
    } catch (e) {
      throw new TensorRTError(ErrorCode.IO, `Cannot read the ONNX model '${model}': ${(e as Error).message}`, { cause: e });
    }
    baseDir = path.dirname(path.resolve(model));
  } else if (model instanceof Uint8Array) {
    bytes = model;
  } else {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, 'Expected a path or a Uint8Array for model');
  }
  return guard(() => {
    const g = protoToGraph(decodeModelProto(bytes), { baseDir }, false);
    const counts = new Map<string, number>();
    const unsupported = new Map<string, string>();
    for (const n of g.nodes) {
      const key = n.domain ? `${n.domain}::${n.op}` : n.op;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (!isSupported(n, g.opset) && !unsupported.has(key)) unsupported.set(key, n.name);
    }
    let parameters = 0;
    let weightBytes = 0;
    for (const c of g.initializers.values()) {
      parameters += c.data.length;
      weightBytes += c.data.byteLength;
    }
    let problem: ModelInspection['problem'];
    if (g.opset < MIN_OPSET || g.opset > MAX_OPSET) {
      problem = { code: ErrorCode.UNSUPPORTED_OPSET, message: `Unsupported ONNX opset ${g.opset}: node-tensorrt reads opsets ${MIN_OPSET} to ${MAX_OPSET}` };
    } else {
      try {
        inferShapes(g);
      } catch (e) {
        if (!(e instanceof TensorRTError)) throw e;
        problem = { code: e.code, message: e.message };
      }
    }
    const io = (list: typeof g.inputs) => list.map((v) => ({ name: v.name, shape: [...(g.types.get(v.name)?.shape ?? v.type.shape)], dtype: g.types.get(v.name)?.dtype ?? v.type.dtype }));
    return {
      inputs: io(g.inputs),
      outputs: io(g.outputs),
      opset: g.opset,
      irVersion: g.irVersion,
      producer: { name: g.producerName, version: g.producerVersion },
      graphName: g.name,
      ops: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
      nodeCount: g.nodes.length,
      parameters,
      weightBytes,
      supported: problem === undefined,
      unsupportedOps: [...unsupported].map(([op, node]) => ({ op, node })),
      ...(problem ? { problem } : {}),
    };
  });
}
