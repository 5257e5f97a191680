// Lowers an optimized graph to the builtin backend's program: layers, planned memory, packed weights.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Dim, Node, TensorType } from '../ir/types.js';
import type { BatchProfile, TensorDType, TensorInfo } from '../types.js';
import { LowerContext, nativeDType, type Val } from './lower-context.js';
import { lowerNode } from './lower-ops.js';
import { batchIndependent, concretize, mergeSamples, SAMPLE_BATCHES, type StaticLowering } from './lower-batch.js';
import { planMemory } from './memplan.js';
import { residualIntoGemm } from './residual-gemm.js';
import { rowOrderKept } from './row-order.js';
import { BUILTIN_FORMAT_VERSION, Op, type Program, type ProgramIO, type ProgramLayer, type ProgramTensor } from './program.js';

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

/** Inputs of ops that only carry a shape, axes or sizes: a value read only there needs no device tensor. */
const SHAPE_SLOTS: Record<string, number[]> = {
  Reshape: [1], Expand: [1], ConstantOfShape: [0], Tile: [1], Slice: [1, 2, 3, 4], Squeeze: [1], Unsqueeze: [1],
  Pad: [1, 2, 3], ReduceMean: [1], ReduceSum: [1], ReduceMax: [1], ReduceMin: [1], Split: [1], Resize: [1, 2, 3],
  Upsample: [1], Range: [0, 1, 2], Clip: [1, 2], OneHot: [1],
};

/**
 * Nodes that need no device work: every output is a known constant, or is read only as a shape (or by such
 * nodes). Shape arithmetic left after folding (Shape → Gather → Concat → Expand's shape) disappears here.
 */
export function shapeOnlyNodes(graph: Graph, isConstant: (name: string) => boolean): Set<Node> {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const readers = new Map<string, { node: Node; slot: number }[]>();
  for (const n of graph.nodes) n.inputs.forEach((name, slot) => name && (readers.get(name) ?? readers.set(name, []).get(name)!).push({ node: n, slot }));
  const skip = new Set<Node>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    const free = n.outputs.every((o) => {
      if (!o) return true;
      if (outputs.has(o)) return false;
      if (isConstant(o)) return true;
      return (readers.get(o) ?? []).every((r) => skip.has(r.node) || (SHAPE_SLOTS[r.node.op] ?? []).includes(r.slot));
    });
    if (free) skip.add(n);
  }
  return skip;
}

interface StaticResult extends StaticLowering {
  io: ProgramIO[];
  pinned: Set<number>;
}

/** Lowers a graph whose dimensions are all static (or the batch, in the legacy leading-axis form). */
function lowerStatic(graph: Graph, known?: Map<string, Dim[]>, knownConst?: Set<string>): StaticResult {
  const cx = new LowerContext(graph, batchSymbolOf(graph), known, knownConst);
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
  const skip = shapeOnlyNodes(graph, (name) => cx.isConstant(name));
  for (const node of graph.nodes) {
    // Skipped: shape-only nodes, and nodes whose outputs a fused layer already wrote (a head-merge transpose).
    if (skip.has(node) || node.outputs.every((o) => !o || cx.values.has(o))) continue;
    lowerNode(cx, node);
  }
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
  return { tensors: cx.tensors, layers: dropDeadLayers(cx.layers, pinned), weights: cx.weights.toBytes(), io, pinned };
}

/**
 * Common layers once: a layer that repeats an earlier one (same op, inputs, parameters and their forms over the batch
 * and a dim) reads the earlier one's outputs instead, when every tensor involved has a single writer (so equal inputs
 * are equal values) and its outputs are no model output. BERT's twelve identical attention-mask conversions become
 * one. It runs on merged programs only, before memory is planned: in a sampled lowering two layers could agree at
 * one sample and not at the next.
 */
export function sharedLayers(layers: ProgramLayer[], tensors: ProgramTensor[], pinned: Set<number>): ProgramLayer[] {
  const writers = new Map<number, number>();
  for (const l of layers) for (const t of l.outputs) writers.set(t, (writers.get(t) ?? 0) + 1);
  const single = (t: number) => t < 0 || (writers.get(t) ?? 0) <= 1;
  const same = (a: ProgramTensor, b: ProgramTensor) =>
    a.dtype === b.dtype && a.loc === b.loc && a.batched === b.batched && a.bytes === b.bytes && a.layout === b.layout && a.shape.join() === b.shape.join();
  const rename = new Map<number, number>();
  // Weight tensors at the same bytes are one value (the blob shares small constants by content).
  const weightAt = new Map<string, number>();
  tensors.forEach((t, id) => {
    if (t.loc !== 1) return;
    const at = `${t.offset}|${t.bytes}|${t.dtype}|${t.shape.join()}`;
    const first = weightAt.get(at);
    if (first === undefined) weightAt.set(at, id);
    else rename.set(id, first);
  });
  const seen = new Map<string, ProgramLayer>();
  const out: ProgramLayer[] = [];
  for (const l of layers) {
    const inputs = l.inputs.map((t) => rename.get(t) ?? t);
    const layer = inputs.every((t, i) => t === l.inputs[i]) ? l : { ...l, inputs };
    if (!layer.outputs.length || ![...inputs, ...layer.outputs].every(single) || layer.outputs.some((t) => pinned.has(t) || inputs.includes(t))) {
      out.push(layer);
      continue;
    }
    const key = JSON.stringify([layer.op, inputs, layer.params, layer.perBatch ?? null, layer.perDim ?? null, layer.batched, layer.outputs.map((t) => tensors[t].dtype)]);
    const first = seen.get(key);
    if (first && first.outputs.length === layer.outputs.length && first.outputs.every((t, k) => same(tensors[t], tensors[layer.outputs[k]]))) {
      layer.outputs.forEach((t, k) => rename.set(t, first.outputs[k]));
      continue;
    }
    seen.set(key, layer);
    out.push(layer);
  }
  return out;
}

/**
 * Layers whose outputs nothing reads (a transpose a fused layer reads through its strides instead) go, and so does
 * the residual sum a LayerNorm would write beside its result when nothing reads it (BERT's post-norm blocks: 50 MB
 * of writes per norm at batch 256).
 */
function dropDeadLayers(layers: ProgramLayer[], pinned: Set<number>): ProgramLayer[] {
  const read = new Set(pinned);
  const keep: ProgramLayer[] = [];
  for (let i = layers.length - 1; i >= 0; i--) {
    let l = layers[i];
    if (!l.outputs.some((t) => read.has(t))) continue;
    if (l.op === Op.layernorm && l.outputs.length === 2 && !read.has(l.outputs[1])) l = { ...l, outputs: [l.outputs[0]] };
    keep.push(l);
    for (const t of l.inputs) if (t >= 0) read.add(t);
  }
  return keep.reverse();
}

/**
 * Lowers `graph` (already optimized: folded, fused, autocast) for a batch profile.
 * A dynamic batch may sit on any axis: the graph is lowered at a few batch sizes and merged into a program whose
 * layers are affine in the batch (lower-batch.ts). Every other dimension must be static.
 * @example const { program, weights } = lowerGraph(optimized, { min: 1, opt: 8, max: 32 });
 */
export function lowerGraph(graph: Graph, profile: BatchProfile, options: { sample?: boolean } = {}): Lowered {
  const symbol = batchSymbolOf(graph);
  let lowered: StaticResult;
  if (symbol === null) {
    lowered = lowerStatic(graph);
  } else {
    const samples = SAMPLE_BATCHES.map((b) => concretize(graph, symbol, b));
    const knownConst = batchIndependent(samples.map((s) => s.known));
    const results = samples.map((s) => lowerStatic(s.graph, s.known, knownConst));
    // I/O shapes from the symbolic graph: -1 where the batch goes.
    const declared = new Map([...graph.inputs, ...graph.outputs].map((v) => [v.name, v.type.shape]));
    const io = results[0].io.map((x) => ({ ...x, shape: declared.get(x.name)!.map((d) => (typeof d === 'number' ? d : -1)) }));
    lowered = { ...mergeSamples(results), io, pinned: results[0].pinned };
  }
  const prof = symbol !== null ? profile : (() => {
    const b = Number(graph.inputs[0]?.type.shape[0] ?? 1);
    return { min: b, opt: b, max: b };
  })();
  // Passes over the whole program; a sample of lower-dims.ts (`sample`) leaves common layers to the merged program,
  // whose layers only then have their forms over the dim.
  if (!options.sample) {
    const shared = sharedLayers(lowered.layers, lowered.tensors, lowered.pinned);
    const rows = rowOrderKept(shared, lowered.tensors, lowered.pinned);
    lowered = { ...lowered, layers: residualIntoGemm(rows, lowered.tensors, lowered.pinned) };
  }
  const mem = planMemory(lowered.tensors, lowered.layers, lowered.pinned);
  const program: Program = {
    formatVersion: BUILTIN_FORMAT_VERSION,
    tensors: lowered.tensors,
    layers: lowered.layers,
    io: lowered.io,
    fixedArenaBytes: mem.fixedArenaBytes,
    batchedArenaBytes: mem.batchedArenaBytes,
    weightsBytes: lowered.weights.byteLength,
    minBatch: prof.min,
    optBatch: prof.opt,
    maxBatch: prof.max,
  };
  return {
    program,
    weights: lowered.weights,
    inputs: graph.inputs.map((i) => info(i.name, i.type)),
    outputs: graph.outputs.map((o) => info(o.name, o.type)),
  };
}
