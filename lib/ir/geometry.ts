// Window geometry shared by Conv, FusedConv and the pools: explicit pads and output sizes from
// strides, dilations, pads / auto_pad and ceil_mode.
import { attrInt, attrInts, attrString } from './attrs.js';
import type { NodeContext } from './context.js';

export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** ONNX order: all begins, then all ends ([top, left, bottom, right] in 2-D). */
  pads: number[];
  out: number[];
}

/** A per-spatial-axis int attribute (strides, dilations, output_padding…): `def` on every axis when absent, each ≥ `min`. */
export function spatialInts(ctx: NodeContext, name: string, n: number, def: number, min: number): number[] {
  const v = attrInts(ctx.node, name) ?? new Array<number>(n).fill(def);
  if (v.length !== n) ctx.invalid(`'${name}' has ${v.length} entries for ${n} spatial dimensions`);
  if (v.some((x) => x < min)) ctx.invalid(`'${name}' must be ≥ ${min}, got [${v.join(', ')}]`);
  return v;
}

/** Resolves a node's window attributes against a static spatial input size. */
export function windowGeometry(ctx: NodeContext, inSpatial: number[], kernel: number[]): WindowGeometry {
  const n = inSpatial.length;
  const node = ctx.node;
  const list = (name: string, def: number, min: number): number[] => spatialInts(ctx, name, n, def, min);
  if (kernel.length !== n) ctx.mismatch(`kernel has ${kernel.length} spatial dimensions but the input has ${n}`);
  if (kernel.some((k) => !Number.isSafeInteger(k) || k < 1)) ctx.invalid(`invalid kernel shape [${kernel.join(', ')}]`);
  const strides = list('strides', 1, 1);
  const dilations = list('dilations', 1, 1);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const ceil = attrInt(node, 'ceil_mode', 0) !== 0;
  const extent = kernel.map((k, i) => (k - 1) * dilations[i] + 1);
  let pads: number[];
  let out: number[];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    out = inSpatial.map((d, i) => Math.ceil(d / strides[i]));
    pads = new Array(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const total = Math.max(0, (out[i] - 1) * strides[i] + extent[i] - inSpatial[i]);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i];
    }
  } else if (autoPad === 'VALID' || autoPad === 'NOTSET') {
    pads = autoPad === 'VALID' ? new Array(2 * n).fill(0) : (attrInts(node, 'pads') ?? new Array(2 * n).fill(0));
    if (pads.length !== 2 * n) ctx.invalid(`'pads' has ${pads.length} entries for ${n} spatial dimensions`);
    if (pads.some((p) => p < 0)) ctx.unsupported(`negative pads [${pads.join(', ')}]`);
    out = inSpatial.map((d, i) => {
      const span = d + pads[i] + pads[i + n] - extent[i];
      if (span < 0) return 0;
      let o = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
      // A ceil-mode window must start inside the input or its leading pad.
      if (ceil && (o - 1) * strides[i] >= d + pads[i]) o--;
      return o;
    });
  } else {
    ctx.invalid(`unknown auto_pad '${autoPad}'`);
  }
  if (out.some((o) => o < 1)) {
    ctx.mismatch(`a ${kernel.join('×')} window (dilations [${dilations.join(', ')}], pads [${pads.join(', ')}]) does not fit the input's spatial size [${inSpatial.join(', ')}]`);
  }
  return { kernel, strides, dilations, pads, out };
}
