// The optimizer pipeline, and each pass for callers that want one.
import type { Graph } from '../ir/graph.js';
import { boolean, knownKeys, oneOf, plainObject } from '../validate.js';
import { autocastFp16 } from './autocast.js';
import { foldBatchNorm } from './batchnorm.js';
import { broadcastConstants } from './broadcast-constants.js';
import { canonicalize } from './canonicalize.js';
import { decomposeEinsum } from './einsum.js';
import { cumsumAsMatMul } from './cumsum.js';
import { decomposeForBuiltin } from './decompose.js';
import { foldConstants } from './fold.js';
import { fuseAttention } from './attention.js';
import { narrowAttentionMasks } from './attention-mask.js';
import { fuseConv } from './fuse.js';
import { fuseGelu, fuseLayerNorm } from './fuse-norm.js';
import { fuseInvertedResidual } from './mbconv.js';
import { mergeParallelGemms } from './merge-gemm.js';

export { autocastFp16, FP32_OPS } from './autocast.js';
export { foldBatchNorm } from './batchnorm.js';
export { broadcastConstants } from './broadcast-constants.js';
export { canonicalize } from './canonicalize.js';
export { cumsumAsMatMul, EXACT_INT, integerRanges } from './cumsum.js';
export { decomposeForBuiltin } from './decompose.js';
export { decomposeEinsum } from './einsum.js';
export { foldConstants } from './fold.js';
export { fuseConv } from './fuse.js';
export { fuseAttention } from './attention.js';
export { narrowAttentionMasks } from './attention-mask.js';
export { fuseGelu, fuseLayerNorm } from './fuse-norm.js';
export { fixedDims, foldShapes, foldStaticDims, type DimRange } from './shape-fold.js';
export { fuseInvertedResidual } from './mbconv.js';
export { mergeParallelGemms } from './merge-gemm.js';
export { eliminateDeadNodes } from './util.js';

export interface OptimizeOptions {
  /**
   * Fuse Conv + bias + residual + activation into FusedConv, expand → depthwise → project chains into
   * FusedMBConv, parallel biased MatMuls of one input into one, and attention into FusedAttention, with Einsum
   * rewritten as MatMul and Transpose nodes, CumSum as a MatMul and the other operators builtin has no kernel for
   * as ones it has, first (the builtin backend); TensorRT fuses itself and parses them all.
   */
  fuse: boolean;
  precision: 'fp16' | 'fp32';
}

/**
 * Runs the passes on a copy of the graph: constant folding and cleanup, canonical window attributes,
 * BatchNorm folding, then (fuse) Einsum as MatMul and Transpose nodes, CumSum as a MatMul (in float for bounded integers), the activations and reductions builtin has no kernel for as ones it has, constants kept at their defined shape under broadcasting consumers, LayerNorm, GELU and Conv fusion, parallel projections merged into one GEMM,
 * attention fusion (its mask read at the shape it carries information in) and inverted-residual fusion and (fp16) float16
 * autocast (means of float16 values stay float16 in a fused graph). The input is not modified.
 * @example
 * const opt = optimize(await loadModel('mobilenetv2.onnx'), { fuse: true, precision: 'fp16' });
 */
export function optimize(graph: Graph, options: OptimizeOptions): Graph {
  const o = plainObject(options, 'options');
  knownKeys(o, 'options', ['fuse', 'precision']);
  const fuse = boolean(o.fuse, 'options.fuse');
  const precision = oneOf(o.precision, 'options.precision', ['fp16', 'fp32'] as const);
  const g = graph.clone();
  foldConstants(g);
  canonicalize(g);
  foldBatchNorm(g);
  foldConstants(g);
  if (fuse) {
    decomposeEinsum(g);
    cumsumAsMatMul(g);
    decomposeForBuiltin(g, precision);
    broadcastConstants(g);
    fuseLayerNorm(g);
    fuseGelu(g);
    fuseConv(g);
    mergeParallelGemms(g);
    fuseAttention(g);
    narrowAttentionMasks(g);
    fuseInvertedResidual(g);
  }
  // A fused graph is the builtin backend's, whose reductions accumulate in float32: its means may stay float16.
  if (precision === 'fp16') autocastFp16(g, { fp16Means: fuse });
  return g;
}
