// CenterCropPad (opset 18) for the builtin backend, as the Slice and Pad it stands for (static sizes): the cropped
// axes sliced from their centred start, the padded ones padded with zeros before and after.
import { attrInts } from '../ir/attrs.js';
import { centerCropPadPlan } from '../ir/rules-shape.js';
import type { Node } from '../ir/types.js';
import { Unfit, type Builder } from './rewrite-builder.js';

export const CROP_REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  CenterCropPad: (b, n) => {
    const [x, shapeName] = n.inputs;
    const dims = b.g.typeOf(x).shape;
    if (!dims.every((d): d is number => typeof d === 'number')) throw new Unfit();
    const target = b.constNumbers(shapeName);
    const r = dims.length;
    const axes = (attrInts(n, 'axes') ?? Array.from({ length: r }, (_, i) => i)).map((a) => (a < 0 ? a + r : a));
    const plan = centerCropPadPlan(dims, target, axes);
    let y = x;
    const cropped = plan.map((p, i) => [p, i] as const).filter(([p, i]) => p.before === 0 && p.size < dims[i]);
    if (cropped.length) {
      y = b.op('Slice', [y, b.ints(cropped.map(([p]) => p.start)), b.ints(cropped.map(([p]) => p.start + p.size)), b.ints(cropped.map(([, i]) => i))]);
    }
    if (plan.some((p) => p.before || p.after)) y = b.op('Pad', [y, b.ints([...plan.map((p) => p.before), ...plan.map((p) => p.after)])]);
    b.finish(y);
  },
};
