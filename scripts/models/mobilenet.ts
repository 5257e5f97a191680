// MobileNetV2 with torchvision's exact topology (width 1.0), as torch.onnx exports it before folding.
import type { Graph } from '../../lib/ir/graph.js';
import { ModelBuilder, type BuildOptions } from './builder.js';

/** torchvision's inverted residual settings: expansion t, channels c, repeats n, first stride s. */
export const MOBILENET_V2_SETTINGS: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export interface MobileNetV2Options extends BuildOptions {
  /** Input resolution (default 224). */
  size?: number;
  classes?: number;
}

/**
 * MobileNetV2 as a graph: input 'input' [batch, 3, size, size], output 'logits' [batch, classes].
 * @example
 * const g = mobileNetV2Graph({ seed: 7 });
 */
export function mobileNetV2Graph(opts: MobileNetV2Options = {}): Graph {
  const size = opts.size ?? 224;
  const b = new ModelBuilder('mobilenet_v2', { name: 'input', channels: 3, size }, opts);
  const lo = b.scalar('clip_min', 0);
  const hi = b.scalar('clip_max', 6);
  const convBnRelu6 = (x: string, cin: number, cout: number, k: number, stride: number, group: number, name: string) => {
    const c = b.conv(x, cin, cout, k, { stride, group, name: `${name}.0` });
    const n = b.bn(c, cout, `${name}.1`);
    return b.op('Clip', [n, lo, hi], {}, `${name}.2`);
  };
  let x = convBnRelu6('input', 3, 32, 3, 2, 1, 'features.0');
  let cin = 32;
  let idx = 1;
  for (const [t, c, n, s] of MOBILENET_V2_SETTINGS) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = Math.round(cin * t);
      const name = `features.${idx++}.conv`;
      let h = x;
      let j = 0;
      if (t !== 1) h = convBnRelu6(h, cin, hidden, 1, 1, 1, `${name}.${j++}`);
      h = convBnRelu6(h, hidden, hidden, 3, stride, hidden, `${name}.${j++}`);
      h = b.conv(h, hidden, c, 1, { name: `${name}.${j++}` });
      const residual = stride === 1 && cin === c;
      // The projection's BN scale is kept small where a residual follows, as in trained networks.
      h = b.bn(h, c, `${name}.${j++}`, residual ? [0.3, 0.6] : [0.7, 1.3], 0.1);
      x = residual ? b.op('Add', [x, h], {}, `${name}.add`) : h;
      cin = c;
    }
  }
  x = convBnRelu6(x, cin, 1280, 1, 1, 1, `features.${idx}`);
  x = b.op('GlobalAveragePool', [x], {}, 'avgpool');
  x = b.op('Flatten', [x], { axis: 1 }, 'flatten');
  x = b.op('Dropout', [x], {}, 'classifier.0');
  x = b.classifier(x, 1280, opts.classes ?? 1000, 'classifier.1');
  return b.finish({ logits: x });
}
