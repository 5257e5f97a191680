// FP16 autocast: float32 compute becomes float16, with float32 graph inputs and outputs (Casts at
// the boundary), float initializers converted to float16, and float32 kept where precision needs
// it: Softmax and the reductions, with Casts around them. With `fp16Means`, means (ReduceMean, GlobalAveragePool) of
// float16 values stay float16: for a backend whose reductions accumulate in float32 (builtin's reduce kernel does),
// a mean lies within its inputs' range, so its float16 result loses only its rounding, and the Casts around a
// squeeze-excitation block's pooling cost more than the pooling itself. Other runtimes (TensorRT) may sum a float16
// reduction in float16, so without the option means stay float32.
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { ONNX_DTYPE_NUMBER } from '../ir/rules-tensor.js';
import type { DataType, Node } from '../ir/types.js';
import { float32ToHalf } from '../util/half.js';
import { SourceMemo } from '../util/memo.js';
import { eliminateDeadNodes } from './util.js';

/** Ops kept in float32: their accumulations over many values lose too much in float16. */
export const FP32_OPS: ReadonlySet<string> = new Set(['Softmax', 'LogSoftmax', 'ReduceMean', 'ReduceSum', 'ReduceSumSquare', 'ReduceL2', 'ReduceLogSumExp', 'GlobalAveragePool', 'NonMaxSuppression', 'EfficientNMS']);
/** The means among FP32_OPS, float16 under `fp16Means` when their input is float16 already. */
const MEANS: ReadonlySet<string> = new Set(['ReduceMean', 'GlobalAveragePool']);

/** Inputs left as they are (no cast): Shape's data, Cast's input, and Resize's roi and scales (float32 by the spec). */
function typeAgnostic(n: Node, i: number): boolean {
  return ((n.op === 'Shape' || n.op === 'Cast') && i === 0) || ((n.op === 'Resize' || n.op === 'Upsample') && i > 0);
}

/** The float16 copy of a float32 constant's data, made once per source array (util/memo.ts): lowering then reuses
 * what it packed from it too. */
const halfCopies = new SourceMemo<Uint16Array>();
const halfOf = (data: Float32Array): Uint16Array => halfCopies.get(data, '', () => float32ToHalf(data));

/**
 * Rewrites the graph to float16 compute, in place (graph inputs and outputs stay float32). `fp16Means`: means of
 * float16 values stay float16 (for a backend that accumulates them in float32).
 * @example
 * autocastFp16(g); g.types.get('conv1_out').dtype; // 'float16'
 */
export function autocastFp16(g: Graph, options: { fp16Means?: boolean } = {}): void {
  inferShapes(g);
  const cur = new Map<string, DataType>([...g.types].map(([k, t]) => [k, t.dtype]));
  const casts = new Map<string, string>();
  const halves = new Map<string, string>();
  const out: Node[] = [];
  const castTo = (v: string, to: DataType): string => {
    const key = `${v}\u0000${to}`;
    let name = casts.get(key);
    if (!name) {
      name = g.uniqueName(`${v}_${to === 'float16' ? 'fp16' : 'fp32'}`);
      out.push({ name: g.uniqueName(`${v}_cast_${to === 'float16' ? 'fp16' : 'fp32'}`), op: 'Cast', domain: '', inputs: [v], outputs: [name], attrs: { to: ONNX_DTYPE_NUMBER[to] } });
      casts.set(key, name);
      cur.set(name, to);
    }
    return name;
  };
  const halfInitializer = (v: string): string => {
    let name = halves.get(v);
    if (!name) {
      const c = g.initializers.get(v)!;
      name = g.uniqueName(`${v}_fp16`);
      g.initializers.set(name, { name, dtype: 'float16', dims: [...c.dims], data: halfOf(c.data as Float32Array) });
      halves.set(v, name);
      cur.set(name, 'float16');
    }
    return name;
  };
  for (const n of g.nodes) {
    // A mean of a float32 value (a sum's, say, which may exceed float16's range) stays float32.
    const halfMean = options.fp16Means === true && MEANS.has(n.op) && !!n.inputs[0] && cur.get(n.inputs[0]) === 'float16';
    const fp16 = !FP32_OPS.has(n.op) || halfMean;
    n.inputs = n.inputs.map((v, i) => {
      const dt = v ? cur.get(v) : undefined;
      if (!v || (dt !== 'float32' && dt !== 'float16') || typeAgnostic(n, i)) return v;
      const want: DataType = fp16 ? 'float16' : 'float32';
      if (dt === want) return v;
      if (want === 'float16' && g.initializers.has(v) && dt === 'float32') return halfInitializer(v);
      return castTo(v, want);
    });
    if (n.op === 'Cast' && n.attrs.to === ONNX_DTYPE_NUMBER.float32) n.attrs.to = ONNX_DTYPE_NUMBER.float16;
    // A float fill that stayed an op (its shape is dynamic) fills in float16 instead.
    const fill = n.op === 'ConstantOfShape' ? n.attrs.value : undefined;
    if (fill && typeof fill === 'object' && !Array.isArray(fill) && fill.dtype === 'float32') {
      n.attrs.value = { ...fill, dtype: 'float16', data: float32ToHalf(fill.data as Float32Array) };
    }
    for (const o of n.outputs) {
      if (o && cur.get(o) === 'float32') cur.set(o, fp16 ? 'float16' : 'float32');
    }
    out.push(n);
  }
  // Graph outputs computed in float16 get a final Cast back to float32 under their own name
  // (reusing a Cast to float32 that a float32 op already reads).
  for (const o of g.outputs) {
    if (o.type.dtype !== 'float32' || cur.get(o.name) !== 'float16') continue;
    const half = g.uniqueName(`${o.name}_fp16`);
    const existing = casts.get(`${o.name}\u0000float32`);
    for (const n of out) {
      n.outputs = n.outputs.map((v) => (v === o.name ? half : v));
      n.inputs = n.inputs.map((v) => (v === o.name ? half : existing !== undefined && v === existing ? o.name : v));
    }
    const cast = existing !== undefined ? out.find((n) => n.outputs[0] === existing) : undefined;
    if (cast) cast.outputs = [o.name];
    else out.push({ name: g.uniqueName(`${o.name}_cast_fp32`), op: 'Cast', domain: '', inputs: [half], outputs: [o.name], attrs: { to: ONNX_DTYPE_NUMBER.float32 } });
  }
  g.nodes = out;
  g.topoSort();
  eliminateDeadNodes(g);
  inferShapes(g);
}
