// The dynamic batch as an affine parameter: a graph is lowered at three concrete batch sizes, and every layer
// parameter, tensor size and shape must be affine in the batch. The merged program holds the values at batch 1 and
// their increments per batch row, so the batch may sit on any axis (a transformer's [seq, batch, dim] internals,
// a "4*batch" from a head split) and the runtime evaluates each layer at the batch it runs.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Dim } from '../ir/types.js';
import { inferShapes } from '../ir/infer.js';
import type { ProgramLayer, ProgramTensor } from './program.js';
import { sameBytes } from '../util/bytes.js';

/** A graph with its batch symbol bound to `batch`, types re-inferred, and the int values inference knows. */
export function concretize(graph: Graph, symbol: string, batch: number): { graph: Graph; known: Map<string, Dim[]> } {
  const g = graph.clone();
  for (const i of g.inputs) i.type = { ...i.type, shape: i.type.shape.map((d) => (d === symbol ? batch : d)) };
  const known = inferShapes(g);
  return { graph: g, known };
}

/** The three batch sizes lowered: never 1, where a batch axis of extent 1 would look like a broadcast. */
export const SAMPLE_BATCHES = [2, 3, 4] as const;

export interface StaticLowering {
  tensors: ProgramTensor[];
  layers: ProgramLayer[];
  weights: Uint8Array;
}

const differ = (what: string): never => {
  throw new TensorRTError(
    ErrorCode.UNSUPPORTED_OP,
    `The builtin backend cannot make ${what} follow the dynamic batch (it is not affine in the batch size); build with a fixed batch instead`,
  );
};

type Param = number | number[];

/** Value at batch 1 and increment per batch row from samples at batches 2, 3, 4; throws when not affine. */
function affine(v: number[], what: string): { at1: number; inc: number } {
  const inc = v[1] - v[0];
  if (v[2] - v[1] !== inc) differ(what);
  return { at1: v[0] - inc, inc };
}

function affineParam(vals: Param[], what: string): { at1: Param; inc: Param | undefined } {
  if (typeof vals[0] === 'number') {
    if (vals.some((v) => typeof v !== 'number')) differ(what);
    const { at1, inc } = affine(vals as number[], what);
    return { at1, inc: inc === 0 ? undefined : inc };
  }
  const arrays = vals as number[][];
  if (arrays.some((a) => !Array.isArray(a) || a.length !== arrays[0].length)) differ(what);
  const parts = arrays[0].map((_, i) => affine(arrays.map((a) => a[i]), what));
  return { at1: parts.map((p) => p.at1), inc: parts.some((p) => p.inc !== 0) ? parts.map((p) => p.inc) : undefined };
}

/**
 * Merges lowerings at SAMPLE_BATCHES into one: tensors batched when their size grows with the batch, layers with
 * `perBatch` increments where a parameter does.
 */
export function mergeSamples(samples: StaticLowering[]): StaticLowering {
  const [a] = samples;
  for (const s of samples) {
    if (s.layers.length !== a.layers.length || s.tensors.length !== a.tensors.length) differ('the lowered program');
    if (!sameBytes(s.weights, a.weights)) differ('a constant');
  }
  const tensors = a.tensors.map((t, id): ProgramTensor => {
    const all = samples.map((s) => s.tensors[id]);
    if (all.some((u) => u.dtype !== t.dtype || u.loc !== t.loc || u.shape.length !== t.shape.length)) differ(`tensor '${t.name}'`);
    const { at1, inc } = affine(all.map((u) => u.bytes), `tensor '${t.name}'`);
    const shape = t.shape.map((_, i) => affine(all.map((u) => u.shape[i]), `tensor '${t.name}'`).at1);
    if (inc === 0) return { ...t, batched: false, bytes: at1, shape };
    if (t.loc !== 0 || at1 !== inc) differ(`the size of tensor '${t.name}'`);
    return { ...t, batched: true, bytes: inc, shape };
  });
  const layers = a.layers.map((l, i): ProgramLayer => {
    const all = samples.map((s) => s.layers[i]);
    const same = (x: number[], y: number[]) => x.length === y.length && x.every((v, k) => v === y[k]);
    if (all.some((u) => u.op !== l.op || !same(u.inputs, l.inputs) || !same(u.outputs, l.outputs))) differ(`layer '${l.name}'`);
    const params: ProgramLayer['params'] = {};
    const perBatch: Record<string, Param> = {};
    for (const key of Object.keys(l.params)) {
      const { at1, inc } = affineParam(all.map((u) => u.params[key]), `parameter '${key}' of layer '${l.name}'`);
      params[key] = at1;
      if (inc !== undefined) perBatch[key] = inc;
    }
    const out: ProgramLayer = { name: l.name, op: l.op, inputs: l.inputs, outputs: l.outputs, params, batched: false };
    if (Object.keys(perBatch).length) out.perBatch = perBatch;
    return out;
  });
  return { tensors, layers, weights: a.weights };
}

/** Names of int values whose known contents are the same at every sample batch (true constants of the graph). */
export function batchIndependent(knowns: Map<string, Dim[]>[]): Set<string> {
  const out = new Set<string>();
  for (const [name, v] of knowns[0]) {
    if (v.some((d) => typeof d !== 'number')) continue;
    if (knowns.every((k) => { const w = k.get(name); return w && w.length === v.length && w.every((d, i) => d === v[i]); })) out.add(name);
  }
  return out;
}
