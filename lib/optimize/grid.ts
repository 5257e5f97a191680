// AffineGrid (opset 20) for the builtin backend: its base grid is a constant of the (static) size, so the grid is
// one GEMM, theta [N, k, k + 1] · base [k + 1, points], transposed to [N, points, k] and shaped [N, (D,) H, W, k].
import { attrInt } from '../ir/attrs.js';
import { affineBase } from '../ir/rules-sampling.js';
import type { Node } from '../ir/types.js';
import { float, Unfit, type Builder } from './rewrite-builder.js';
import { addConstant, floatConstant } from './util.js';

export const GRID_REWRITES: Record<string, (b: Builder, n: Node) => void> = {
  AffineGrid: (b, n) => {
    float(b);
    const shape = b.g.typeOf(n.outputs[0]).shape;
    const spatial = shape.slice(1, -1);
    if (!spatial.every((d): d is number => typeof d === 'number')) throw new Unfit();
    const k = spatial.length;
    const base = affineBase(spatial, attrInt(n, 'align_corners', 0) === 1);
    const points = base.length / (k + 1);
    // Transposed to [k + 1, points]: the GEMM's constant right operand.
    const baseT = Float32Array.from({ length: base.length }, (_, i) => base[(i % points) * (k + 1) + Math.floor(i / points)]);
    const bt = addConstant(b.g, `${n.name}_base`, floatConstant('', b.dtype, [k + 1, points], baseT));
    b.done(b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [n.inputs[0], bt])], { perm: [0, 2, 1] }), b.ints([0, ...spatial, k])]));
  },
};
