// BatchNormalization folding: into the preceding Conv's weights and bias, into a preceding Gemm's
// B and C, and otherwise into a per-channel Mul + Add. Per-channel constant Muls and Adds right
// after a Conv (BatchNorm as tf2onnx writes it) fold into the Conv as well.
import { attrFloat, attrInt } from '../ir/attrs.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import type { Constant, Node } from '../ir/types.js';
import { addConstant, eliminateDeadNodes, floatConstant, floatValues, perChannel } from './util.js';

interface BnParams {
  scale: Float32Array;
  shift: Float32Array;
  dtype: Constant['dtype'];
}

/** scale = γ/√(σ²+ε), shift = β − μ·scale, or undefined when a parameter is not constant. */
function bnParams(g: Graph, bn: Node): BnParams | undefined {
  const cs = bn.inputs.slice(1, 5).map((n) => g.initializers.get(n));
  if (cs.some((c) => !c)) return undefined;
  const [gamma, beta, mean, variance] = cs.map((c) => floatValues(c!));
  const eps = attrFloat(bn, 'epsilon', 1e-5);
  const c = gamma.length;
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = gamma[i] / Math.sqrt(variance[i] + eps);
    scale[i] = s;
    shift[i] = beta[i] - mean[i] * s;
  }
  return { scale, shift, dtype: cs[0]!.dtype };
}

function foldIntoConv(g: Graph, conv: Node, p: BnParams): boolean {
  const w = g.initializers.get(conv.inputs[1]);
  const b = conv.inputs[2] ? g.initializers.get(conv.inputs[2]) : undefined;
  if (!w || (conv.inputs[2] && !b)) return false;
  const wv = floatValues(w);
  const m = w.dims[0];
  const per = wv.length / m;
  const nw = new Float32Array(wv.length);
  const scale = p.scale;
  for (let o = 0; o < m; o++) {
    const s = scale[o];
    for (let i = o * per; i < (o + 1) * per; i++) nw[i] = wv[i] * s;
  }
  const bv = b ? floatValues(b) : new Float32Array(m);
  const nb = new Float32Array(m);
  for (let o = 0; o < m; o++) nb[o] = bv[o] * p.scale[o] + p.shift[o];
  const wn = addConstant(g, `${conv.name}_w_bn`, floatConstant('', w.dtype, [...w.dims], nw));
  const bnm = addConstant(g, `${conv.name}_b_bn`, floatConstant('', w.dtype, [m], nb));
  conv.inputs = [conv.inputs[0], wn, bnm];
  return true;
}

function foldIntoGemm(g: Graph, gemm: Node, p: BnParams): boolean {
  const bC = g.initializers.get(gemm.inputs[1]);
  const cC = gemm.inputs[2] ? g.initializers.get(gemm.inputs[2]) : undefined;
  if (!bC || (gemm.inputs[2] && !cC)) return false;
  const m = p.scale.length;
  const cv = cC ? floatValues(cC) : undefined;
  if (cv && cv.length !== m && cv.length !== 1) return false;
  const tb = attrInt(gemm, 'transB', 0) !== 0;
  const bv = floatValues(bC);
  const nb = new Float32Array(bv.length);
  const k = bv.length / m;
  for (let i = 0; i < bv.length; i++) nb[i] = bv[i] * p.scale[tb ? Math.floor(i / k) : i % m];
  const beta = attrFloat(gemm, 'beta', 1);
  const nc = new Float32Array(m);
  for (let o = 0; o < m; o++) nc[o] = (cv ? beta * cv[cv.length === 1 ? 0 : o] : 0) * p.scale[o] + p.shift[o];
  const bn2 = addConstant(g, `${gemm.name}_b_bn`, floatConstant('', bC.dtype, [...bC.dims], nb));
  const cn = addConstant(g, `${gemm.name}_c_bn`, floatConstant('', bC.dtype, [m], nc));
  gemm.inputs = [gemm.inputs[0], bn2, cn];
  gemm.attrs.beta = 1;
  return true;
}

/** Conv → Mul/Add by a per-channel constant, folded into the conv's weights/bias; false if not applicable. */
function foldAffineIntoConv(g: Graph, n: Node, producers: Map<string, Node>, consumers: Map<string, Node[]>): boolean {
  if ((n.op !== 'Mul' && n.op !== 'Add') || n.domain !== '') return false;
  for (const k of [0, 1]) {
    const x = n.inputs[k];
    const conv = producers.get(x);
    if (!conv || conv.op !== 'Conv' || conv.domain !== '' || consumers.get(x)?.length !== 1 || g.isOutput(x)) continue;
    const w = g.initializers.get(conv.inputs[1]);
    const b = conv.inputs[2] ? g.initializers.get(conv.inputs[2]) : undefined;
    if (!w || (conv.inputs[2] && !b) || n.inputs[1 - k] === x) continue;
    const m = w.dims[0];
    const v = perChannel(g, n.inputs[1 - k], g.typeOf(x).shape.length, m);
    if (!v || g.typeOf(n.inputs[1 - k]).dtype !== w.dtype) continue;
    const p: BnParams = n.op === 'Mul' ? { scale: v, shift: new Float32Array(m), dtype: w.dtype } : { scale: new Float32Array(m).fill(1), shift: v, dtype: w.dtype };
    if (!foldIntoConv(g, conv, p)) continue;
    conv.outputs = [n.outputs[0]];
    return true;
  }
  return false;
}

/**
 * Folds every inference-mode BatchNormalization, in place.
 * @example
 * foldBatchNorm(g); // Conv → BN becomes one Conv with bias
 */
export function foldBatchNorm(g: Graph): void {
  // A fold changes producers (Conv → BN → Mul folds one step per sweep), so sweep to a fixpoint.
  for (let sweep = 0; sweep < 8 && foldOnce(g); sweep++);
}

function foldOnce(g: Graph): boolean {
  inferShapes(g);
  let changed = false;
  const producers = g.producers();
  const consumers = g.consumers();
  const out: Node[] = [];
  for (const n of g.nodes) {
    if (foldAffineIntoConv(g, n, producers, consumers)) {
      changed = true;
      continue;
    }
    if (n.op !== 'BatchNormalization' || n.domain !== '') {
      out.push(n);
      continue;
    }
    const p = bnParams(g, n);
    if (!p) {
      out.push(n);
      continue;
    }
    changed = true;
    const x = n.inputs[0];
    const prod = producers.get(x);
    const single = consumers.get(x)?.length === 1 && !g.isOutput(x);
    const rank = g.typeOf(x).shape.length;
    if (prod && single && prod.domain === '' && ((prod.op === 'Conv' && foldIntoConv(g, prod, p)) || (prod.op === 'Gemm' && rank === 2 && foldIntoGemm(g, prod, p)))) {
      prod.outputs = [n.outputs[0]];
      continue;
    }
    // Standalone: y = x·scale + shift with per-channel constants shaped [C, 1, …].
    const dims = [p.scale.length, ...new Array(Math.max(0, rank - 2)).fill(1)];
    const dtype = g.typeOf(x).dtype;
    const s = addConstant(g, `${n.name}_scale`, floatConstant('', dtype, dims, p.scale));
    const t = addConstant(g, `${n.name}_shift`, floatConstant('', dtype, dims, p.shift));
    const mid = g.uniqueName(`${n.name}_scaled`);
    out.push({ name: g.uniqueName(`${n.name}_mul`), op: 'Mul', domain: '', inputs: [x, s], outputs: [mid], attrs: {} });
    out.push({ name: n.name, op: 'Add', domain: '', inputs: [mid, t], outputs: [n.outputs[0]], attrs: {} });
  }
  g.nodes = out;
  eliminateDeadNodes(g);
  inferShapes(g);
  return changed;
}
