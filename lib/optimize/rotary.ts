// RotaryEmbedding (opset 23) for the builtin backend, as the Gather, Slice, Mul/Add/Sub and Concat it stands for:
//   cos, sin = Gather(cache, position_ids) (or the [B, S, R/2] caches), unsqueezed over the heads
//   x1, x2   = the pairs' halves of the first R features: [0, R/2) and [R/2, R), or the even and odd ones
//   y        = Concat(cos·x1 − sin·x2, sin·x1 + cos·x2) (re-interleaved where they were), then the unrotated rest
// A 3-D input [B, S, H·D] is viewed as [B, S, H, D] on the way. Position ids outside the caches read as Gather reads
// them on builtin (a row of zeros past the end, counted from the end below 0); the reference backend refuses them.
import { attrInt } from '../ir/attrs.js';
import { rotarySizes } from '../ir/rules-attention.js';
import type { Node } from '../ir/types.js';
import { float, Unfit, type Builder } from './rewrite-builder.js';

export const ROTARY_REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  RotaryEmbedding: (b, n) => {
    float(b);
    const [x, cosCache, sinCache, ids] = n.inputs;
    const { four, heads, d, rd } = rotarySizes(n, b.g.typeOf(x).shape);
    if (typeof heads !== 'number' || typeof d !== 'number' || typeof rd !== 'number') throw new Unfit();
    const half = rd / 2;
    const interleaved = attrInt(n, 'interleaved', 0) === 1;
    // Everything as [B, H, S, D] (4-D) or [B, S, H, D] (3-D): the feature axis is 3, the heads axis 1 or 2.
    const xv = four ? x : b.op('Reshape', [x, b.ints([0, 0, heads, d])]);
    const headAxis = four ? 1 : 2;
    const angle = (cache: string) => b.unsqueeze(ids ? b.op('Gather', [cache, ids], { axis: 0 }) : cache, [headAxis]);
    const [cos, sin] = [angle(cosCache), angle(sinCache)];
    const slice = (start: number, end: number, step = 1) => b.op('Slice', [xv, b.ints([start]), b.ints([end]), b.ints([3]), b.ints([step])]);
    const x1 = interleaved ? slice(0, rd, 2) : slice(0, half);
    const x2 = interleaved ? slice(1, rd, 2) : slice(half, rd);
    const real = b.op('Sub', [b.op('Mul', [cos, x1]), b.op('Mul', [sin, x2])]);
    const imag = b.op('Add', [b.op('Mul', [sin, x1]), b.op('Mul', [cos, x2])]);
    let y = interleaved
      ? b.op('Reshape', [b.op('Concat', [b.unsqueeze(real, [4]), b.unsqueeze(imag, [4])], { axis: 4 }), b.ints([0, 0, 0, rd])])
      : b.op('Concat', [real, imag], { axis: 3 });
    if (rd < d) y = b.op('Concat', [y, slice(rd, d)], { axis: 3 });
    if (!four) y = b.op('Reshape', [y, b.ints([0, 0, heads * d])]);
    b.done(y);
  },
};
