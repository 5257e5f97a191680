// Graph → standard ONNX bytes (protobufjs). Fused nodes are decomposed into standard operators.
import { isFloatAttr } from '../ir/attrs.js';
import { decomposeFused } from '../ir/fused.js';
import type { Graph } from '../ir/graph.js';
import { ONNX_DTYPE_NUMBER } from '../ir/rules-tensor.js';
import type { AttrValue, Node, TensorType, ValueInfo } from '../ir/types.js';
import { AttrType, modelProto, type AttributeProtoMsg, type ModelProtoMsg, type NodeProtoMsg, type ValueInfoProtoMsg } from './schema.js';
import { constantToTensor } from './tensor.js';

const utf8 = new TextEncoder();

/** The lowest IR version whose spec includes the opset (ONNX's versioning table). */
function irVersionFor(opset: number): number {
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

function attribute(node: Node, name: string, v: AttrValue): AttributeProtoMsg {
  // The table says which numeric attributes are FLOATs; a fraction is one whatever the table says (written as an
  // INT it would be truncated: an unlisted spatial_scale of 0.0625 became 0).
  const fraction = (x: unknown) => typeof x === 'number' && !Number.isInteger(x);
  const float = isFloatAttr(node.op, name) || fraction(v) || (Array.isArray(v) && v.some(fraction));
  if (typeof v === 'number') return float ? { name, type: AttrType.FLOAT, f: v } : { name, type: AttrType.INT, i: v };
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: utf8.encode(v) };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'number')) return float ? { name, type: AttrType.FLOATS, floats: v as number[] } : { name, type: AttrType.INTS, ints: v as number[] };
    return { name, type: AttrType.STRINGS, strings: (v as string[]).map((s) => utf8.encode(s)) };
  }
  return { name, type: AttrType.TENSOR, t: constantToTensor(v) };
}

function valueInfo(name: string, t: TensorType): ValueInfoProtoMsg {
  return {
    name,
    type: { tensor_type: { elem_type: ONNX_DTYPE_NUMBER[t.dtype], shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/**
 * Serializes a graph as a standard ONNX model (fused nodes decomposed, weights in raw_data).
 * @example
 * writeFileSync('opt.onnx', writeModel(optimize(g, { fuse: false, precision: 'fp16' })));
 */
export function writeModel(graph: Graph): Uint8Array {
  const g = decomposeFused(graph);
  const io = new Set<string>([...g.inputs.map((i) => i.name), ...g.outputs.map((o) => o.name), ...g.initializers.keys()]);
  const nodes: NodeProtoMsg[] = g.nodes.map((n) => ({
    name: n.name,
    op_type: n.op,
    domain: n.domain,
    input: [...n.inputs],
    output: [...n.outputs],
    attribute: Object.entries(n.attrs).map(([k, v]) => attribute(n, k, v)),
  }));
  const valueInfos: ValueInfoProtoMsg[] = [];
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      const t = o && !io.has(o) ? g.types.get(o) : undefined;
      if (t) valueInfos.push(valueInfo(o, t));
    }
  }
  const vi = (v: ValueInfo) => valueInfo(v.name, g.types.get(v.name) ?? v.type);
  const model: ModelProtoMsg = {
    ir_version: Math.max(g.irVersion || 0, irVersionFor(g.opset)),
    producer_name: g.producerName || 'node-tensorrt',
    producer_version: g.producerVersion,
    opset_import: [{ domain: '', version: g.opset }],
    graph: {
      name: g.name,
      node: nodes,
      initializer: [...g.initializers.values()].map(constantToTensor),
      input: g.inputs.map(vi),
      output: g.outputs.map(vi),
      value_info: valueInfos,
    },
  };
  const out = modelProto().encode(model as never).finish();
  // protobufjs hands out a Buffer in Node; a plain Uint8Array keeps slice() a copy for callers.
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
