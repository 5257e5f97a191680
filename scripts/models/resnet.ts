// ResNet-50 with torchvision's topology: bottlenecks [3, 4, 6, 3], stride on the 3×3 conv,
// 1×1 conv + BN downsample, ReLU after the residual add.
import type { Graph } from '../../lib/ir/graph.js';
import { ModelBuilder, type BuildOptions } from './builder.js';

export interface ResNet50Options extends BuildOptions {
  size?: number;
  classes?: number;
}

/**
 * ResNet-50 as a graph: input 'input' [batch, 3, size, size], output 'logits' [batch, classes].
 * @example
 * const g = resNet50Graph({ seed: 3 });
 */
export function resNet50Graph(opts: ResNet50Options = {}): Graph {
  const size = opts.size ?? 224;
  const b = new ModelBuilder('resnet50', { name: 'input', channels: 3, size }, opts);
  const convBn = (x: string, cin: number, cout: number, k: number, stride: number, name: string, bnName: string, gamma?: [number, number]) =>
    b.bn(b.conv(x, cin, cout, k, { stride, name }), cout, bnName, gamma);
  let x = b.op('Relu', [convBn('input', 3, 64, 7, 2, 'conv1', 'bn1')], {}, 'relu');
  x = b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 0, dilations: [1, 1] }, 'maxpool');
  let cin = 64;
  const stages: [number, number, number][] = [
    [64, 3, 1],
    [128, 4, 2],
    [256, 6, 2],
    [512, 3, 2],
  ];
  stages.forEach(([planes, blocks, stride], li) => {
    for (let i = 0; i < blocks; i++) {
      const s = i === 0 ? stride : 1;
      const name = `layer${li + 1}.${i}`;
      const out = planes * 4;
      let h = b.op('Relu', [convBn(x, cin, planes, 1, 1, `${name}.conv1`, `${name}.bn1`)], {}, `${name}.relu1`);
      h = b.op('Relu', [convBn(h, planes, planes, 3, s, `${name}.conv2`, `${name}.bn2`)], {}, `${name}.relu2`);
      h = convBn(h, planes, out, 1, 1, `${name}.conv3`, `${name}.bn3`, [0.2, 0.5]);
      const identity = s !== 1 || cin !== out ? convBn(x, cin, out, 1, s, `${name}.downsample.0`, `${name}.downsample.1`) : x;
      x = b.op('Relu', [b.op('Add', [h, identity], {}, `${name}.add`)], {}, `${name}.relu3`);
      cin = out;
    }
  });
  x = b.op('GlobalAveragePool', [x], {}, 'avgpool');
  x = b.op('Flatten', [x], { axis: 1 }, 'flatten');
  x = b.classifier(x, 2048, opts.classes ?? 1000, 'fc');
  return b.finish({ logits: x });
}
