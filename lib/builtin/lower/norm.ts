// Lowering of LayerNormalization (one layernorm kernel over the trailing axes), fused with the residual Add that
// feeds it when that Add was the layer just emitted: the pair reads both operands once and writes the sum (for
// the next residual) and the normalised rows in one pass.
import type { Node } from '../../ir/types.js';
import { LowerContext, prod, rowStrides } from '../lower-context.js';
import { BinaryOp, Op } from '../program.js';
import { constFloats, num } from './util.js';

/** The last layer, when it is a plain same-shape Add writing `tensor`: its two operands. */
function residualAdd(cx: LowerContext, tensor: number, rows: number, cols: number): { a: number; b: number } | null {
  const l = cx.layers[cx.layers.length - 1];
  if (!l || l.op !== Op.binary || l.outputs[0] !== tensor || l.params.op !== BinaryOp.Add || l.params.act !== 0) return null;
  const dims = l.params.dims as number[];
  const contiguous = rowStrides(dims);
  const same = (s: number[]) => s.every((v, i) => v === contiguous[i] || dims[i] === 1);
  if (prod(dims) !== rows * cols || !same(l.params.sa as number[]) || !same(l.params.sb as number[])) return null;
  const [a, b] = l.inputs;
  if (cx.tensors[a].loc !== 0 || cx.tensors[b].loc !== 0 || cx.tensors[a].dtype !== cx.tensors[tensor].dtype) return null;
  return { a, b };
}

function layerNorm(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  if (t.dtype !== 'float32' && t.dtype !== 'float16') cx.unsupported(n, `${t.dtype} values (float32 and float16 only)`);
  if (n.outputs.slice(1).some((o) => o)) cx.unsupported(n, 'the Mean and InvStdDev outputs');
  const x = cx.convert(cx.value(n.inputs[0], n), 'rowmajor', t.dtype);
  const rank = x.shape.length;
  let axis = num(n, 'axis', -1);
  if (axis < 0) axis += rank;
  const cols = prod(x.shape.slice(axis));
  const rows = prod(x.shape.slice(0, axis));
  const gamma = constFloats(cx, n.inputs[1]);
  const beta = constFloats(cx, n.inputs[2]);
  if (!gamma || (n.inputs[2] && !beta)) cx.unsupported(n, 'Scale and B must be constants');
  const full = (v: Float32Array, what: string) => {
    if (v.length === cols) return v;
    if (v.length === 1) return new Float32Array(cols).fill(v[0]);
    return cx.unsupported(n, `${what} of ${v.length} values for ${cols} normalised elements`);
  };
  const g = cx.packWeights(`${n.inputs[1]}:ln32`, full(gamma, 'Scale'), 'float32', [cols]);
  const b = beta ? cx.packWeights(`${n.inputs[2]}:ln32`, full(beta, 'B'), 'float32', [cols]) : -1;
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, 'rowmajor');
  const params = { rows, cols, eps: num(n, 'epsilon', 1e-5) };
  const add = residualAdd(cx, x.tensor, rows, cols);
  if (add) {
    // The Add's output stays what the rest of the graph reads: the fused layer writes it as its second output.
    cx.layers.pop();
    cx.emit(`${n.name}+residual`, 'layernorm', [add.a, g, b, add.b], [y.tensor, x.tensor], params, x.batched);
    return;
  }
  cx.emit(n.name, 'layernorm', [x.tensor, g, b, -1], [y.tensor], params, x.batched);
}

export const NORM_LOWERINGS: Record<string, (cx: LowerContext, n: Node) => void> = {
  LayerNormalization: layerNorm,
};
