// A dynamic dim besides the batch (a sequence length) as a quadratic parameter. The graph is folded and lowered at
// four consecutive values of the dim and at its max; every layer parameter, increment per batch row and tensor size
// must then be one quadratic in the dim (attention's S×S scores, a GEMM's B·S rows, a mask's strides), which the
// fifth lowering confirms. The program keeps the values at the first sample and the Newton coefficients, planned
// memory and weights from the lowering at the max (constants that grow with the dim, such as position embeddings
// sliced to S, are read as prefixes of theirs), and runs as programAtDim(program, S).
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { DimRange } from '../optimize/shape-fold.js';
import type { BatchProfile, TensorInfo } from '../types.js';
import { lowerGraph, sharedLayers, type Lowered } from './lower.js';
import { planMemory } from './memplan.js';
import { DType } from '../native.js';
import { sameBytes } from '../util/bytes.js';
import { DIM_AXIS, Op, type Program, type ProgramLayer, type ProgramTensor } from './program.js';

type Param = number | number[];

/** Values of the dim lowered after the first sample: three more in a row (the fit and its check), then the max. */
export function dimSamples(range: DimRange): number[] {
  // Never 1, where an axis of extent 1 would look like a broadcast.
  const base = Math.max(2, range.min);
  return [base, base + 1, base + 2, base + 3];
}

const refuse = (dim: string, what: string): never => {
  throw new TensorRTError(
    ErrorCode.UNSUPPORTED_OP,
    `The builtin backend cannot make ${what} follow the dynamic dimension '${dim}' (it is not quadratic in it); pin '${dim}' in \`shapes\` with min == max, or use the tensorrt backend`,
  );
};

/** Newton coefficients [v0, Δ1, Δ2] of samples at t = 0, 1, 2; checked against t = 3 and the max's value at tMax. */
function quadratic(v: number[], atMax: number, tMax: number, what: () => string, dim: string): [number, number, number] {
  const d1 = v[1] - v[0];
  const d2 = v[2] - 2 * v[1] + v[0];
  const at = (t: number) => v[0] + d1 * t + (d2 * t * (t - 1)) / 2;
  // The runtime evaluates whole coefficients only (a size, an extent, a stride); S / 2 as a value is refused here.
  if (!Number.isSafeInteger(d1) || !Number.isSafeInteger(d2) || at(3) !== v[3] || at(tMax) !== atMax) refuse(dim, what());
  return [v[0], d1, d2];
}

function paramForm(vals: Param[], atMax: Param, tMax: number, what: () => string, dim: string): [Param, Param, Param] {
  if (typeof vals[0] === 'number') {
    if (vals.some((v) => typeof v !== 'number') || typeof atMax !== 'number') refuse(dim, what());
    return quadratic(vals as number[], atMax as number, tMax, what, dim);
  }
  const arrays = vals as number[][];
  const n = arrays[0].length;
  if (arrays.some((a) => !Array.isArray(a) || a.length !== n) || !Array.isArray(atMax) || atMax.length !== n) refuse(dim, what());
  const parts = arrays[0].map((_, i) => quadratic(arrays.map((a) => a[i]), (atMax as number[])[i], tMax, what, dim));
  return [parts.map((p) => p[0]), parts.map((p) => p[1]), parts.map((p) => p[2])];
}

const isZero = (p: Param) => (Array.isArray(p) ? p.every((x) => x === 0) : p === 0);
const zeroLike = (p: Param): Param => (Array.isArray(p) ? p.map(() => 0) : 0);
const sameList = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Whether sample tensor `u`'s bytes are the first bytes of the max's tensor `t`. */
function isPrefix(mine: Uint8Array, u: ProgramTensor, theirs: Uint8Array, t: ProgramTensor): boolean {
  return u.bytes <= t.bytes && sameBytes(mine.subarray(u.offset, u.offset + u.bytes), theirs.subarray(t.offset, t.offset + u.bytes));
}

/** Values of a constant as numbers (int32, int64, float32), or undefined for other dtypes. */
function numbers(bytes: Uint8Array, dtype: number): number[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === DType.int64) return Array.from({ length: bytes.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
  if (dtype === DType.int32) return Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getInt32(4 * i, true));
  if (dtype === DType.float32) return Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
  return undefined;
}

/**
 * A constant whose values change with the dim as start + i·step, both quadratic in it (the dim as a scalar, an iota
 * scaled by it): the fill layer's n and the Newton forms of start and step.
 */
function dimFill(samples: Uint8Array[], atMax: Uint8Array, t: ProgramTensor, tMax: number, dim: string): { n: number; value: Param[]; step: Param[] } {
  const what = () => `constant '${t.name}'`;
  const vals = [...samples, atMax].map((b) => numbers(b, t.dtype));
  const n = vals[0]?.length ?? 0;
  if (!n || vals.some((v) => !v || v.length !== n)) return refuse(dim, what());
  const start = vals.map((v) => v![0]);
  const step = vals.map((v) => (n > 1 ? v![1] - v![0] : 0));
  if (vals.some((v, k) => v!.some((x, i) => x !== start[k] + i * step[k]))) refuse(dim, what());
  return { n, value: quadratic(start.slice(0, 4), start[4], tMax, what, dim), step: quadratic(step.slice(0, 4), step[4], tMax, what, dim) };
}

/**
 * Lowers a graph whose inputs have one dynamic dim besides the batch. `graphAt(s)` is the optimized graph with the
 * dim bound to `s`; `inputs`/`outputs` are the symbolic I/O the plan header declares.
 * @example const lowered = lowerWithDim((s) => optimize(foldShapes(g, { sequence: s }), o), 'sequence', { min: 1, opt: 64, max: 128 }, profile, io);
 */
export function lowerWithDim(
  graphAt: (s: number) => Graph,
  dim: string,
  range: DimRange,
  profile: BatchProfile,
  io: { inputs: TensorInfo[]; outputs: TensorInfo[] },
): Lowered {
  const samples = dimSamples(range);
  const lowered = samples.map((s) => lowerGraph(graphAt(s), profile, { sample: true }));
  const top = samples.includes(range.max) ? lowered[samples.indexOf(range.max)] : lowerGraph(graphAt(range.max), profile, { sample: true });
  const tMax = range.max - samples[0];
  const progs = lowered.map((l) => l.program);
  const [first] = progs;
  const skeleton = top.program;
  for (const p of [...progs, skeleton]) {
    if (p.layers.length !== first.layers.length || p.tensors.length !== first.tensors.length || p.io.length !== first.io.length) {
      refuse(dim, 'the lowered program');
    }
  }

  const filled: { id: number; n: number; value: Param[]; step: Param[] }[] = [];
  const tensors = skeleton.tensors.map((t, id): ProgramTensor => {
    const all = progs.map((p) => p.tensors[id]);
    if (all.some((u) => u.dtype !== t.dtype || u.loc !== t.loc || u.batched !== t.batched || u.layout !== t.layout || u.shape.length !== t.shape.length)) {
      refuse(dim, `tensor '${t.name}'`);
    }
    const [b0, d1, d2] = quadratic(all.map((u) => u.bytes), t.bytes, tMax, () => `the size of tensor '${t.name}'`, dim);
    if (t.loc === 1 && !all.every((u, k) => isPrefix(lowered[k].weights, u, top.weights, t))) {
      // A constant whose values follow the dim (the dim itself, an iota scaled by it) is computed at run time.
      const fill = dimFill(all.map((u, k) => lowered[k].weights.subarray(u.offset, u.offset + u.bytes)), top.weights.subarray(t.offset, t.offset + t.bytes), t, tMax, dim);
      filled.push({ id, ...fill });
      return { ...t, loc: 0, batched: false, offset: 0, shape: [...first.tensors[id].shape] };
    }
    const base = { ...t, shape: [...first.tensors[id].shape] };
    return d1 === 0 && d2 === 0 ? base : { ...base, dimBytes: [b0, d1, d2] };
  });

  const layers = skeleton.layers.map((l, i): ProgramLayer => {
    const all = progs.map((p) => p.layers[i]);
    if (all.some((u) => u.op !== l.op || u.name !== l.name || u.batched !== l.batched || !sameList(u.inputs, l.inputs) || !sameList(u.outputs, l.outputs))) {
      refuse(dim, `layer '${l.name}'`);
    }
    const keys = Object.keys(l.params);
    if (all.some((u) => !sameList(Object.keys(u.params).sort() as never, [...keys].sort() as never))) refuse(dim, `the parameters of layer '${l.name}'`);
    const params: Record<string, Param> = {};
    const perBatch: Record<string, Param> = {};
    const perDim: Record<string, [Param, Param, Param, Param]> = {};
    for (const key of keys) {
      const what = () => `parameter '${key}' of layer '${l.name}'`;
      const [v0, a, b] = paramForm(all.map((u) => u.params[key]), l.params[key], tMax, what, dim);
      const inc = (u: ProgramLayer) => u.perBatch?.[key] ?? zeroLike(u.params[key]);
      const [i0, c, e] = paramForm(all.map(inc), inc(l), tMax, what, dim);
      params[key] = v0;
      if (!isZero(i0)) perBatch[key] = i0;
      if (![a, b, c, e].every(isZero)) perDim[key] = [a, b, c, e];
    }
    const out: ProgramLayer = { name: l.name, op: l.op, inputs: l.inputs, outputs: l.outputs, params, batched: l.batched };
    if (Object.keys(perBatch).length) out.perBatch = perBatch;
    if (Object.keys(perDim).length) out.perDim = perDim;
    return out;
  });

  const ioOut = skeleton.io.map((x, k) => {
    const all = progs.map((p) => p.io[k]);
    if (all.some((u) => u.name !== x.name || u.tensor !== x.tensor || u.shape.length !== x.shape.length)) refuse(dim, `I/O '${x.name}'`);
    const shape = x.shape.map((v, a) => {
      if (all.every((u) => u.shape[a] === v)) return v;
      // An axis that varies must be the dim itself.
      if (v === range.max && all.every((u, j) => u.shape[a] === samples[j])) return DIM_AXIS;
      return refuse(dim, `the shape of I/O '${x.name}'`);
    });
    return { ...x, shape };
  });

  // Dim-valued constants are written by a fill layer ahead of every other layer. Common layers merge now that the
  // forms are known, and memory is planned again with every tensor at its largest (the max's) size.
  const fills = filled.map(({ id, n, value, step }): ProgramLayer => ({
    name: `${tensors[id].name}:dim`, op: Op.fill, inputs: [], outputs: [id], batched: false,
    params: { n, value: value[0], step: step[0] }, perDim: { value: [value[1], value[2], 0, 0], step: [step[1], step[2], 0, 0] },
  }));
  const pinned = new Set(ioOut.map((x) => x.tensor));
  const merged = sharedLayers([...fills, ...layers], tensors, pinned);
  const mem = planMemory(tensors, merged, pinned);
  const program: Program = {
    ...skeleton,
    fixedArenaBytes: mem.fixedArenaBytes,
    batchedArenaBytes: mem.batchedArenaBytes,
    tensors,
    layers: merged,
    io: ioOut,
    dim: { name: dim, min: range.min, opt: range.opt, max: range.max, base: samples[0] },
  };
  return { program, weights: top.weights, inputs: io.inputs, outputs: io.outputs };
}
