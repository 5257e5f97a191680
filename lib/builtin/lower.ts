// Lowers an optimized graph to the builtin backend's program: layers, planned memory, packed weights.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { TensorType } from '../ir/types.js';
import type { BatchProfile, TensorDType, TensorInfo } from '../types.js';
import { LowerContext, nativeDType, type Val } from './lower-context.js';
import { lowerNode } from './lower-ops.js';
import { shapeOnlyNodes } from './lower/vision.js';
import { planMemory } from './memplan.js';
import { BUILTIN_FORMAT_VERSION, type Program, type ProgramIO } from './program.js';

export interface Lowered {
  program: Program;
  weights: Uint8Array;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/** The symbol of the dynamic batch, if any: the first dimension of every input must agree. */
export function batchSymbolOf(graph: Graph): string | null {
  const syms = new Set(graph.inputs.map((i) => i.type.shape[0]).filter((d): d is string => typeof d === 'string'));
  if (syms.size > 1) {
    throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, `Inputs disagree on the dynamic batch dimension (${[...syms].join(', ')})`);
  }
  return syms.size ? [...syms][0] : null;
}

function info(name: string, type: TensorType): TensorInfo {
  return { name, shape: [...type.shape], dtype: type.dtype as TensorDType };
}

/**
 * Lowers `graph` (already optimized: folded, fused, autocast) for a batch profile.
 * @example const { program, weights } = lowerGraph(optimized, { min: 1, opt: 8, max: 32 });
 */
export function lowerGraph(graph: Graph, profile: BatchProfile): Lowered {
  const cx = new LowerContext(graph, batchSymbolOf(graph));
  const io: ProgramIO[] = [];
  const pinned = new Set<number>();
  for (const input of graph.inputs) {
    const t = cx.typeOf(input.name);
    const v = cx.define(input.name, t.dtype, t.shape, t.batched, 'rowmajor');
    v.layout = 'rowmajor';
    cx.tensors[v.tensor].layout = 'rowmajor';
    cx.tensors[v.tensor].shape = [...t.shape];
    io.push({ name: input.name, tensor: v.tensor, isInput: true, dtype: nativeDType(t.dtype), shape: input.type.shape.map((d) => (typeof d === 'number' ? d : -1)) });
    pinned.add(v.tensor);
  }
  const shapeOnly = shapeOnlyNodes(graph);
  for (const node of graph.nodes) if (!shapeOnly.has(node)) lowerNode(cx, node);
  for (const output of graph.outputs) {
    const t = cx.typeOf(output.name);
    const produced = cx.values.get(output.name);
    if (!produced) {
      throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, `Output '${output.name}' is a constant; the builtin backend needs it computed from the inputs`);
    }
    let v: Val = cx.convert(produced, 'rowmajor', t.dtype, 'output');
    if (pinned.has(v.tensor) || cx.tensors[v.tensor].loc !== 0) {
      const fresh: Val = { ...v, layout: 'rowmajor', tensor: cx.newTensor(output.name, t.dtype, t.shape, t.batched, 'rowmajor') };
      cx.copyLayer(`output(${output.name})`, v, fresh, t.shape.map(() => 0));
      v = fresh;
    }
    io.push({ name: output.name, tensor: v.tensor, isInput: false, dtype: nativeDType(t.dtype), shape: output.type.shape.map((d) => (typeof d === 'number' ? d : -1)) });
    pinned.add(v.tensor);
  }
  const batched = cx.batchSymbol !== null;
  const prof = batched ? profile : (() => {
    const b = Number(graph.inputs[0]?.type.shape[0] ?? 1);
    return { min: b, opt: b, max: b };
  })();
  const mem = planMemory(cx.tensors, cx.layers, pinned);
  const weights = cx.weights.toBytes();
  const program: Program = {
    formatVersion: BUILTIN_FORMAT_VERSION,
    tensors: cx.tensors,
    layers: cx.layers,
    io,
    fixedArenaBytes: mem.fixedArenaBytes,
    batchedArenaBytes: mem.batchedArenaBytes,
    weightsBytes: weights.byteLength,
    minBatch: prof.min,
    optBatch: prof.opt,
    maxBatch: prof.max,
  };
  return {
    program,
    weights,
    inputs: graph.inputs.map((i) => info(i.name, i.type)),
    outputs: graph.outputs.map((o) => info(o.name, o.type)),
  };
}
