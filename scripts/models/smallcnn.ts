// A small CNN that touches every construct the compiler handles, for fast tests: Conv+BN+Relu,
// a depthwise conv with ReLU6, a linear pointwise conv, a residual block, max and average pooling,
// a biased conv with HardSwish, a Shape→Gather→Concat→Reshape flatten, Gemm, and Softmax.
import type { Graph } from '../../lib/ir/graph.js';
import { ModelBuilder, type BuildOptions } from './builder.js';

export interface SmallCnnOptions extends BuildOptions {
  /** Input resolution (default 32; a multiple of 8). */
  size?: number;
  classes?: number;
}

/**
 * The small test CNN: input 'input' [batch, 3, 32, 32], outputs 'logits' and 'probs' [batch, 10].
 * @example
 * const g = smallCnnGraph({ seed: 1 });
 */
export function smallCnnGraph(opts: SmallCnnOptions = {}): Graph {
  const size = opts.size ?? 32;
  const classes = opts.classes ?? 10;
  // The flatten feeds a Gemm sized for this resolution, so calibrate at it too.
  const b = new ModelBuilder('small_cnn', { name: 'input', channels: 3, size }, { ...opts, calibrationSize: size });
  const lo = b.scalar('clip_min', 0);
  const hi = b.scalar('clip_max', 6);
  let x = b.op('Relu', [b.bn(b.conv('input', 3, 16, 3, { name: 'conv1' }), 16, 'bn1')], {}, 'relu1');
  x = b.op('Clip', [b.bn(b.conv(x, 16, 16, 3, { stride: 2, group: 16, name: 'dw' }), 16, 'bn_dw'), lo, hi], {}, 'relu6');
  x = b.bn(b.conv(x, 16, 32, 1, { name: 'pw' }), 32, 'bn_pw');
  const r = b.bn(b.conv(x, 32, 32, 3, { name: 'res_conv' }), 32, 'res_bn', [0.3, 0.6]);
  x = b.op('Relu', [b.op('Add', [r, x], {}, 'res_add')], {}, 'res_relu');
  x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, 'maxpool');
  x = b.op('HardSwish', [b.conv(x, 32, 32, 3, { bias: true, name: 'conv_hs' })], {}, 'hardswish');
  x = b.op('AveragePool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0 }, 'avgpool');
  // torch.flatten as older exporters wrote it: Reshape(x, Concat(Gather(Shape(x), 0), [-1])).
  const shape = b.op('Shape', [x], {}, 'shape');
  const n = b.op('Gather', [shape, b.int64('zero', 0)], { axis: 0 }, 'gather');
  const n1 = b.op('Unsqueeze', [n, b.int64('axes0', [0])], {}, 'unsqueeze');
  const target = b.op('Concat', [n1, b.int64('minus_one', [-1])], { axis: 0 }, 'concat');
  x = b.op('Reshape', [x, target], {}, 'flatten');
  const feat = 32 * (size / 8) * (size / 8);
  const logits = b.classifier(x, feat, classes, 'fc');
  const probs = b.op('Softmax', [logits], { axis: 1 }, 'softmax');
  return b.finish({ logits, probs });
}
