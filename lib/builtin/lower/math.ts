// Lowering of element-wise math beyond the CNN set: Erf, Gelu, Sqrt, Exp, Log, Neg, Abs, Reciprocal as
// activations; comparisons and logic (bool results); Not / IsNaN / IsInf; Where.
import type { Node } from '../../ir/types.js';
import { LowerContext, physicalOrder, prod, type Val } from '../lower-context.js';
import { Act, CompareOp, PredicateOp, type ActName } from '../program.js';
import { foldActivation } from './epilogue.js';
import { broadcastStrides, str } from './util.js';

const UNARY: Record<string, ActName> = {
  Erf: 'erf', Sqrt: 'sqrt', Exp: 'exp', Log: 'log', Neg: 'neg', Abs: 'abs', Reciprocal: 'reciprocal',
};

function floatUnary(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  if (t.dtype !== 'float32' && t.dtype !== 'float16') cx.unsupported(n, `${t.dtype} values (float32 and float16 only)`);
  const x0 = cx.value(n.inputs[0], n);
  const x = cx.convert(x0, x0.layout, t.dtype);
  const act: ActName = n.op === 'Gelu' ? (str(n, 'approximate', 'none') === 'tanh' ? 'gelutanh' : 'gelu') : UNARY[n.op];
  if (n.op === 'Gelu' && foldActivation(cx, n, act)) return;
  const y = cx.define(n.outputs[0], t.dtype, t.shape, t.batched, x.layout);
  cx.emit(n.name, 'unary', [x.tensor], [y.tensor], { act: Act[act], alpha: 0, beta: 0, n: prod(x.shape) }, x.batched);
}

/** Output of `n` laid out like its first 4-D activation operand (NHWC) or row-major, with operand strides. */
function broadcastLayer(cx: LowerContext, n: Node, operands: Val[], outDtype: Parameters<LowerContext['define']>[1]) {
  const t = cx.typeOf(n.outputs[0], n);
  const isActivation = (v: Val) => cx.tensors[v.tensor].loc === 0;
  const layout = t.shape.length === 4 && operands.some((v) => isActivation(v) && v.layout === 'nhwc') ? 'nhwc' : 'rowmajor';
  const y = cx.define(n.outputs[0], outDtype, t.shape, t.batched, layout);
  const order = physicalOrder(y);
  const strides = operands.map((v) => {
    const s = broadcastStrides(v, t.shape);
    return order.map((i) => s[i]);
  });
  return { y, dims: order.map((i) => t.shape[i]), strides, batched: t.batched };
}

const COMPARE: Record<string, number> = {
  Equal: CompareOp.Equal, Less: CompareOp.Less, LessOrEqual: CompareOp.LessOrEqual, Greater: CompareOp.Greater,
  GreaterOrEqual: CompareOp.GreaterOrEqual, And: CompareOp.And, Or: CompareOp.Or, Xor: CompareOp.Xor,
};

function compare(cx: LowerContext, n: Node): void {
  const a0 = cx.value(n.inputs[0], n);
  const b0 = cx.value(n.inputs[1], n, a0.dtype);
  const b = b0.dtype === a0.dtype ? b0 : cx.convert(b0, b0.layout, a0.dtype);
  const { y, dims, strides, batched } = broadcastLayer(cx, n, [a0, b], 'bool');
  cx.emit(n.name, 'compare', [a0.tensor, b.tensor], [y.tensor], { op: COMPARE[n.op], dims, sa: strides[0], sb: strides[1] }, batched);
}

const PREDICATE: Record<string, number> = { Not: PredicateOp.Not, IsNaN: PredicateOp.IsNaN, IsInf: PredicateOp.IsInf };

function predicate(cx: LowerContext, n: Node): void {
  if (n.op === 'IsInf' && (n.attrs.detect_negative === 0 || n.attrs.detect_positive === 0)) cx.unsupported(n, 'one-sided IsInf');
  const x = cx.value(n.inputs[0], n);
  const t = cx.typeOf(n.outputs[0], n);
  const y = cx.define(n.outputs[0], 'bool', t.shape, t.batched, x.layout);
  cx.emit(n.name, 'predicate', [x.tensor], [y.tensor], { mode: PREDICATE[n.op], n: prod(x.shape) }, x.batched);
}

function where(cx: LowerContext, n: Node): void {
  const t = cx.typeOf(n.outputs[0], n);
  const c = cx.value(n.inputs[0], n);
  const conv = (name: string) => {
    const v = cx.value(name, n, t.dtype);
    return v.dtype === t.dtype ? v : cx.convert(v, v.layout, t.dtype);
  };
  const a = conv(n.inputs[1]);
  const b = conv(n.inputs[2]);
  const { y, dims, strides, batched } = broadcastLayer(cx, n, [c, a, b], t.dtype);
  cx.emit(n.name, 'where', [c.tensor, a.tensor, b.tensor], [y.tensor], { dims, sc: strides[0], sa: strides[1], sb: strides[2] }, batched);
}

export const MATH_LOWERINGS: Record<string, (cx: LowerContext, n: Node) => void> = {
  ...Object.fromEntries(Object.keys(UNARY).map((op) => [op, floatUnary])),
  Gelu: floatUnary,
  ...Object.fromEntries(Object.keys(COMPARE).map((op) => [op, compare])),
  Not: predicate,
  IsNaN: predicate,
  IsInf: predicate,
  Where: where,
};
