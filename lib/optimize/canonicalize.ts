// Makes window attributes explicit (kernel_shape, strides, pads, dilations, group; no auto_pad) on
// Conv and the pools, merges a zero constant Pad of the spatial dims into the Conv it feeds, turns
// MatMul(x, W) + b on 2-D x (tf2onnx's dense layers) into one Gemm, writes Swish (opset 24) as the
// x·Sigmoid(x) that earlier exporters write, and CastLike as the Cast it is, so later passes and every backend see
// one form.
import { attrFloat, attrInt, attrString } from '../ir/attrs.js';
import { NodeContext } from '../ir/context.js';
import { windowGeometry } from '../ir/geometry.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { fullPads, ONNX_DTYPE_NUMBER } from '../ir/rules-tensor.js';
import { scalarConstant } from '../ir/fused.js';
import type { Node } from '../ir/types.js';
import { fromConstant, toNumbers } from '../reference/tensor.js';
import { eliminateDeadNodes, floatValues } from './util.js';

const WINDOW_OPS = new Set(['Conv', 'MaxPool', 'AveragePool']);

function explicitWindow(g: Graph, n: Node): void {
  const x = g.typeOf(n.inputs[0]);
  const spatial = x.shape.slice(2) as number[];
  const kernel = n.op === 'Conv' ? (g.typeOf(n.inputs[1]).shape.slice(2) as number[]) : (n.attrs.kernel_shape as number[]);
  const ctx = new NodeContext(n, g.opset, [x], []);
  const geo = windowGeometry(ctx, spatial, kernel);
  n.attrs.kernel_shape = geo.kernel;
  n.attrs.strides = geo.strides;
  n.attrs.pads = geo.pads;
  // AveragePool has no dilations attribute before opset 19.
  if (n.op !== 'AveragePool' || g.opset >= 19) n.attrs.dilations = geo.dilations;
  if (n.op === 'Conv') n.attrs.group = attrInt(n, 'group', 1);
  delete n.attrs.auto_pad;
  // With explicit pads, ceil_mode only matters if it changes the output size; keep it as given.
}

/** A Pad whose only effect is zero padding of the spatial dims, as [begins..., ends...] over them. */
function zeroSpatialPads(g: Graph, pad: Node): number[] | undefined {
  if (pad.op !== 'Pad' || pad.domain !== '' || attrString(pad, 'mode', 'constant') !== 'constant') return undefined;
  const rank = g.typeOf(pad.inputs[0]).shape.length;
  const padsC = g.initializers.get(pad.inputs[1] ?? '');
  if (!padsC) return undefined;
  const axesC = pad.inputs[3] ? g.initializers.get(pad.inputs[3]) : undefined;
  if (pad.inputs[3] && !axesC) return undefined;
  const all = fullPads(rank, toNumbers(fromConstant(padsC)), axesC ? toNumbers(fromConstant(axesC)) : undefined);
  if (pad.inputs[2]) {
    const cv = g.initializers.get(pad.inputs[2]);
    if (!cv || floatValues(cv)[0] !== 0) return undefined;
  } else if (attrFloat(pad, 'value', 0) !== 0) return undefined;
  if (all[0] || all[1] || all[rank] || all[rank + 1] || all.some((p) => p < 0)) return undefined;
  const s = rank - 2;
  return [...all.slice(2, 2 + s), ...all.slice(rank + 2, rank + 2 + s)];
}

/** MatMul(x[N,K], W[K,M] constant) [+ Add(b[M] or [1,M] constant)] → Gemm(x, W, b). */
function matmulToGemm(g: Graph, n: Node, consumers: Map<string, Node[]>): Node | undefined {
  const w = g.initializers.get(n.inputs[1]);
  if (!w || w.dims.length !== 2 || g.typeOf(n.inputs[0]).shape.length !== 2) return undefined;
  const y = n.outputs[0];
  const next = consumers.get(y);
  const add = next?.length === 1 && !g.isOutput(y) && next[0].op === 'Add' && next[0].domain === '' ? next[0] : undefined;
  const other = add && (add.inputs[0] === y ? add.inputs[1] : add.inputs[0]);
  const b = other !== undefined && other !== y ? g.initializers.get(other) : undefined;
  const m = w.dims[1];
  const fits = b && b.dtype === w.dtype && ((b.dims.length === 1 && b.dims[0] === m) || (b.dims.length === 2 && b.dims[0] === 1 && b.dims[1] === m));
  n.op = 'Gemm';
  n.attrs = { alpha: 1, beta: 1, transA: 0, transB: 0 };
  if (!add || !fits) return undefined;
  n.inputs = [n.inputs[0], n.inputs[1], other!];
  n.outputs = [add.outputs[0]];
  return add;
}

/** Swish(x) as Sigmoid and Mul, with Mul(x, alpha) before the Sigmoid unless alpha is 1; names new values. */
function swishNodes(g: Graph, n: Node): Node[] {
  const x = n.inputs[0];
  const t = g.typeOf(x);
  const alpha = attrFloat(n, 'alpha', 1);
  const value = (base: string) => {
    const v = g.uniqueName(`${n.name}_${base}`);
    g.types.set(v, { dtype: t.dtype, shape: [...t.shape] });
    return v;
  };
  const node = (op: string, inputs: string[], output: string): Node => ({ name: g.uniqueName(`${n.name}_${op.toLowerCase()}`), op, domain: '', inputs, outputs: [output], attrs: {} });
  const out: Node[] = [];
  let arg = x;
  if (alpha !== 1) {
    const k = g.uniqueName(`${n.name}_alpha`);
    g.initializers.set(k, scalarConstant(k, t.dtype, alpha));
    g.types.set(k, { dtype: t.dtype, shape: [] });
    arg = value('scaled');
    out.push(node('Mul', [x, k], arg));
  }
  const s = value('sigmoid');
  out.push(node('Sigmoid', [arg], s), node('Mul', [x, s], n.outputs[0]));
  return out;
}

/**
 * Canonicalizes window attributes, folds zero Pads into Convs and dense MatMuls into Gemms, and rewrites Swish as
 * Sigmoid and Mul, in place.
 * @example
 * canonicalize(g); // Conv auto_pad=SAME_UPPER → explicit pads
 */
export function canonicalize(g: Graph): void {
  inferShapes(g);
  const producers = g.producers();
  const consumers = g.consumers();
  const absorbed = new Set<Node>();
  const expanded = new Map<Node, Node[]>();
  for (const n of g.nodes) {
    if (n.domain === '' && n.op === 'CastLike') {
      // A Cast to the second input's type, so the later passes and every backend see one op.
      n.op = 'Cast';
      n.attrs = { to: ONNX_DTYPE_NUMBER[g.typeOf(n.inputs[1]).dtype] };
      n.inputs = [n.inputs[0]];
      continue;
    }
    if (n.domain === '' && n.op === 'Swish') {
      expanded.set(n, swishNodes(g, n));
      continue;
    }
    if (n.domain === '' && n.op === 'MatMul') {
      const add = matmulToGemm(g, n, consumers);
      if (add) absorbed.add(add);
      continue;
    }
    if (n.domain !== '' || !WINDOW_OPS.has(n.op)) continue;
    explicitWindow(g, n);
    if (n.op !== 'Conv') continue;
    const p = producers.get(n.inputs[0]);
    if (!p || consumers.get(n.inputs[0])?.length !== 1 || g.isOutput(n.inputs[0])) continue;
    const extra = zeroSpatialPads(g, p);
    if (!extra) continue;
    const pads = n.attrs.pads as number[];
    n.attrs.pads = pads.map((v, i) => v + extra[i]);
    n.inputs[0] = p.inputs[0];
    // Output sizes don't change: the conv sees the same padded extent.
  }
  g.nodes = g.nodes.flatMap((n) => (absorbed.has(n) ? [] : (expanded.get(n) ?? [n])));
  eliminateDeadNodes(g);
  inferShapes(g);
}
