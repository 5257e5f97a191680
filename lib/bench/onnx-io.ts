// Reads only the graph inputs and outputs of an ONNX model (names, element types, dims): the benchmark needs
// them for build profiles and peer feeds before anything is built, and without loading a whole graph.
import protobuf from 'protobufjs/minimal.js';
import { ErrorCode, TensorRTError } from '../errors.js';

/** A graph input or output: a dim is a number, a name ('batch'), or '?' when unset. */
export interface OnnxValueInfo {
  name: string;
  /** onnx.TensorProto.DataType (1 = float, 10 = float16, 7 = int64, …). */
  elemType: number;
  dims: (number | string)[];
}

export interface OnnxGraphIO {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opset: number | null;
}

type Reader = protobuf.Reader;

/** Calls `field(number, wireType)` for each field of the message in [r.pos, end); it must consume or skip. */
function fields(r: Reader, end: number, field: (no: number, wire: number) => void): void {
  while (r.pos < end) {
    const tag = r.uint32();
    field(tag >>> 3, tag & 7);
  }
}

function dim(r: Reader, end: number): number | string {
  let d: number | string = '?';
  fields(r, end, (no, wire) => {
    if (no === 1 && wire === 0) d = Number(r.int64());
    else if (no === 2 && wire === 2) d = r.string() || '?';
    else r.skipType(wire);
  });
  return d;
}

function valueInfo(r: Reader, end: number): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: 0, dims: [] };
  fields(r, end, (no, wire) => {
    if (no === 1 && wire === 2) info.name = r.string();
    else if (no === 2 && wire === 2) {
      const typeEnd = r.uint32() + r.pos;
      fields(r, typeEnd, (tno, twire) => {
        if (tno !== 1 || twire !== 2) return void r.skipType(twire);
        const tensorEnd = r.uint32() + r.pos;
        fields(r, tensorEnd, (sno, swire) => {
          if (sno === 1 && swire === 0) info.elemType = r.int32();
          else if (sno === 2 && swire === 2) {
            const shapeEnd = r.uint32() + r.pos;
            fields(r, shapeEnd, (dno, dwire) => {
              if (dno === 1 && dwire === 2) info.dims.push(dim(r, r.uint32() + r.pos));
              else r.skipType(dwire);
            });
          } else r.skipType(swire);
        });
      });
    } else r.skipType(wire);
  });
  return info;
}

/** Reads TensorProto.name (field 8) of an initializer. */
function initializerName(r: Reader, end: number): string {
  let name = '';
  fields(r, end, (no, wire) => {
    if (no === 8 && wire === 2) name = r.string();
    else r.skipType(wire);
  });
  return name;
}

/**
 * The graph's real inputs (initializers listed as inputs, as old exporters do, are dropped) and outputs.
 * Throws ERR_INVALID_MODEL for bytes that are not an ONNX model.
 * @example const { inputs } = onnxGraphIO(readFileSync('model.onnx')); inputs[0].dims // ['batch', 3, 224, 224]
 */
export function onnxGraphIO(bytes: Uint8Array): OnnxGraphIO {
  const r = protobuf.Reader.create(bytes);
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const initializers = new Set<string>();
  let opset: number | null = null;
  let sawGraph = false;
  try {
    fields(r, bytes.length, (no, wire) => {
      if (no === 7 && wire === 2) {
        sawGraph = true;
        const graphEnd = r.uint32() + r.pos;
        fields(r, graphEnd, (gno, gwire) => {
          if (gno === 11 && gwire === 2) inputs.push(valueInfo(r, r.uint32() + r.pos));
          else if (gno === 12 && gwire === 2) outputs.push(valueInfo(r, r.uint32() + r.pos));
          else if (gno === 5 && gwire === 2) initializers.add(initializerName(r, r.uint32() + r.pos));
          else r.skipType(gwire);
        });
      } else if (no === 8 && wire === 2) {
        // OperatorSetIdProto: domain (1), version (2); the default domain is '' or 'ai.onnx'.
        const end = r.uint32() + r.pos;
        let domain = '';
        let version = 0;
        fields(r, end, (ono, owire) => {
          if (ono === 1 && owire === 2) domain = r.string();
          else if (ono === 2 && owire === 0) version = Number(r.int64());
          else r.skipType(owire);
        });
        if (domain === '' || domain === 'ai.onnx') opset = version;
      } else r.skipType(wire);
    });
  } catch (e) {
    throw new TensorRTError(ErrorCode.INVALID_MODEL, `Not a valid ONNX model: ${(e as Error).message}`, { cause: e });
  }
  if (!sawGraph || outputs.length === 0) throw new TensorRTError(ErrorCode.INVALID_MODEL, 'Not a valid ONNX model: it has no graph with outputs');
  return { inputs: inputs.filter((i) => !initializers.has(i.name)), outputs, opset };
}
