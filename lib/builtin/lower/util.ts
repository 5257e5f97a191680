// Helpers shared by the lowering families: attributes, constant inputs, output values, broadcast strides.
import type { Node } from '../../ir/types.js';
import { LowerContext, logicalStrides, type Val } from '../lower-context.js';
import { floatValues } from '../weights.js';

export const FLT_MAX = 3.4028234663852886e38;

export function ints(n: Node, name: string): number[] | undefined {
  const v = n.attrs[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}
export function num(n: Node, name: string, def: number): number {
  const v = n.attrs[name];
  return typeof v === 'number' ? v : def;
}
export function str(n: Node, name: string, def: string): string {
  const v = n.attrs[name];
  return typeof v === 'string' ? v : def;
}

/** A constant input's float values, or undefined when absent. */
export function constFloats(cx: LowerContext, name: string | undefined): Float32Array | undefined {
  if (!name) return undefined;
  const c = cx.constant(name);
  return c ? floatValues(c.dtype, c.data) : undefined;
}
export function constInts(cx: LowerContext, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const c = cx.constant(name);
  return c ? Array.from(c.data as ArrayLike<number | bigint>, (x) => Number(x)) : undefined;
}

export function out(cx: LowerContext, n: Node, layout: 'nhwc' | 'rowmajor' = 'nhwc', i = 0): Val {
  const t = cx.typeOf(n.outputs[i], n);
  return cx.define(n.outputs[i], t.dtype, t.shape, t.batched, layout);
}

/** Strides of `v` broadcast to `outShape` (right-aligned), 0 where it broadcasts. */
export function broadcastStrides(v: Val, outShape: number[]): number[] {
  const ls = logicalStrides(v);
  const off = outShape.length - v.shape.length;
  return outShape.map((_, i) => {
    const j = i - off;
    if (j < 0) return 0;
    if (j === 0 && v.batched) return ls[0]; // the batch row stride: the runtime scales this axis
    return v.shape[j] === 1 ? 0 : ls[j];
  });
}

