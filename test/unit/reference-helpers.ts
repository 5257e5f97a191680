// Shared by the frontend tests: tiny graph builders, onnxruntime-node runs, and error metrics.
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { AttrValue, Constant, DataType, Dim, Node } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { runReference, type TensorData } from '../../lib/reference/index.js';

/** Deterministic N(0,1)-ish values that are never exactly zero. */
export function randn(n: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(next(), 1e-9);
    const v = next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    a[i] = z === 0 ? 1e-3 : z;
  }
  return a;
}

/** ‖a − b‖₂ / ‖b‖₂ */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / (den || 1));
}

export function std(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i];
  m /= a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i] - m) ** 2;
  return Math.sqrt(v / a.length);
}

export function int64(name: string, values: number[], dims: number[] = [values.length]): Constant {
  return { name, dtype: 'int64', dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

export function f32(name: string, dims: number[], data: ArrayLike<number>): Constant {
  return { name, dtype: 'float32', dims, data: Float32Array.from(data) };
}

export interface OpCase {
  op: string;
  opset?: number;
  /** Graph inputs (fed at run time). */
  inputs: { name: string; shape: Dim[]; dtype?: DataType }[];
  /** Node input list; names may refer to inputs or constants ('' = omitted). */
  nodeInputs?: string[];
  constants?: Constant[];
  attrs?: Record<string, AttrValue>;
  outputs?: { name: string; dtype?: DataType }[];
  domain?: string;
}

/** A graph with one node, shape-inferred. */
export function opGraph(c: OpCase): Graph {
  const outputs = c.outputs ?? [{ name: 'y' }];
  const node: Node = {
    name: `${c.op.toLowerCase()}_node`,
    op: c.op,
    domain: c.domain ?? '',
    inputs: c.nodeInputs ?? c.inputs.map((i) => i.name),
    outputs: outputs.map((o) => o.name),
    attrs: c.attrs ?? {},
  };
  const g = new Graph({
    opset: c.opset ?? 17,
    inputs: c.inputs.map((i) => ({ name: i.name, type: { dtype: i.dtype ?? 'float32', shape: i.shape } })),
    outputs: outputs.map((o) => ({ name: o.name, type: { dtype: o.dtype ?? 'float32', shape: [] } })),
    nodes: [node],
    initializers: new Map((c.constants ?? []).map((k) => [k.name, k])),
  });
  inferShapes(g);
  return g;
}

const ORT_TYPES: Record<DataType, ort.Tensor.Type> = {
  float32: 'float32',
  float16: 'float16',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

/** Runs ONNX bytes in onnxruntime-node (CPU) with flat feeds shaped by `shapes`. */
export async function runOrt(bytes: Uint8Array, feeds: Record<string, { data: TensorData; dims: number[]; dtype?: DataType }>): Promise<Record<string, TensorData>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) {
      const dt = v.dtype ?? 'float32';
      const data = dt === 'bool' ? Uint8Array.from(v.data as Uint8Array) : v.data;
      input[k] = new ort.Tensor(ORT_TYPES[dt], data as never, v.dims);
    }
    const res = await session.run(input);
    const out: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(res)) out[k] = t.data as TensorData;
    return out;
  } finally {
    await session.release();
  }
}

/** Reference outputs of two graphs on the same feeds, and their largest relative error. */
export function compareGraphs(a: Graph, b: Graph, feeds: Record<string, TensorData>): number {
  const ra = runReference(a, feeds);
  const rb = runReference(b, feeds);
  let worst = 0;
  for (const o of a.outputs) worst = Math.max(worst, relErr(rb[o.name] as Float32Array, ra[o.name] as Float32Array));
  return worst;
}

/** Op histogram of a graph. */
export function opCounts(g: Graph): Record<string, number> {
  const h: Record<string, number> = {};
  for (const n of g.nodes) h[n.op] = (h[n.op] ?? 0) + 1;
  return h;
}

/** Seeded values of `dtype` for an input of n elements. */
export function feedFor(dtype: DataType, n: number, seed: number): TensorData {
  switch (dtype) {
    case 'int64':
      return BigInt64Array.from(randn(n, seed), (v) => BigInt(Math.round(v * 4)));
    case 'int32':
      return Int32Array.from(randn(n, seed), (v) => Math.round(v * 4));
    case 'bool':
      return Uint8Array.from(randn(n, seed), (v) => (v > 0 ? 1 : 0));
    case 'int8':
      return Int8Array.from(randn(n, seed), (v) => Math.max(-128, Math.min(127, Math.round(v * 40))));
    case 'uint8':
      return Uint8Array.from(randn(n, seed), (v) => Math.max(0, Math.min(255, Math.round(128 + v * 40))));
    default:
      return randn(n, seed);
  }
}

/**
 * Runs a one-node case on the reference backend and on onnxruntime-node with the same feeds (`feed` where given,
 * else feedFor; symbolic dims at 2) and expects the same outputs: float32 within 1e-5 relative, NaN where onnxruntime has NaN, other
 * types exactly.
 */
export async function expectOrtAgreement(c: OpCase & { feed?: Record<string, (n: number) => TensorData> }): Promise<void> {
  const g = opGraph(c);
  const ref: Record<string, TensorData> = {};
  const ortFeeds: Record<string, { data: TensorData; dims: number[]; dtype?: DataType }> = {};
  c.inputs.forEach((i, k) => {
    const dims = i.shape.map((d) => (typeof d === 'number' ? d : 2)); // a symbolic dim runs at 2
    const n = dims.reduce((a, b) => a * b, 1);
    const data = c.feed?.[i.name]?.(n) ?? feedFor(i.dtype ?? 'float32', n, 11 + k);
    ref[i.name] = data;
    ortFeeds[i.name] = { data, dims, dtype: i.dtype };
  });
  const mine = runReference(g, ref);
  const theirs = await runOrt(writeModel(g), ortFeeds);
  for (const o of g.outputs) {
    const a = mine[o.name];
    const b = theirs[o.name];
    expect(a.length).toBe(b.length);
    if (o.type.dtype === 'float32') {
      const fa = a as Float32Array, fb = b as Float32Array;
      expect(fa.map((v) => (Number.isNaN(v) ? 1 : 0))).toEqual(fb.map((v) => (Number.isNaN(v) ? 1 : 0)));
      expect(relErr(fa.map((v) => (Number.isNaN(v) ? 0 : v)), fb.map((v) => (Number.isNaN(v) ? 0 : v)))).toBeLessThan(1e-5);
    } else expect(Array.from(a as ArrayLike<number | bigint>)).toEqual(Array.from(b as ArrayLike<number | bigint>));
  }
}
