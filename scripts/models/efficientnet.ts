// EfficientNet-B0 with torchvision's topology, as torch.onnx exports it before folding: SiLU as x·Sigmoid(x), and
// squeeze-excitation as GlobalAveragePool → 1×1 conv → SiLU → 1×1 conv → Sigmoid → Mul.
import type { Graph } from '../../lib/ir/graph.js';
import { ModelBuilder, type BuildOptions } from './builder.js';

/** torchvision's MBConv settings for B0: expansion, kernel, first stride, input and output channels, repeats. */
export const EFFICIENTNET_B0_SETTINGS: [number, number, number, number, number, number][] = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];

export interface EfficientNetB0Options extends BuildOptions {
  /** Input resolution (default 224). */
  size?: number;
  classes?: number;
}

/**
 * EfficientNet-B0 as a graph: input 'input' [batch, 3, size, size], output 'logits' [batch, classes].
 * @example
 * const g = efficientNetB0Graph({ seed: 3, size: 64 });
 */
export function efficientNetB0Graph(opts: EfficientNetB0Options = {}): Graph {
  const size = opts.size ?? 224;
  const b = new ModelBuilder('efficientnet_b0', { name: 'input', channels: 3, size }, opts);
  const silu = (x: string, name: string) => b.op('Mul', [x, b.op('Sigmoid', [x], {}, `${name}.sigmoid`)], {}, `${name}.mul`);
  const convBnSilu = (x: string, cin: number, cout: number, k: number, stride: number, group: number, name: string) =>
    silu(b.bn(b.conv(x, cin, cout, k, { stride, group, name: `${name}.0` }), cout, `${name}.1`), `${name}.2`);
  const squeezeExcite = (x: string, c: number, squeeze: number, name: string) => {
    const p = b.op('GlobalAveragePool', [x], {}, `${name}.avgpool`);
    const f1 = silu(b.conv(p, c, squeeze, 1, { bias: true, name: `${name}.fc1` }), `${name}.activation`);
    const s = b.op('Sigmoid', [b.conv(f1, squeeze, c, 1, { bias: true, name: `${name}.fc2` })], {}, `${name}.scale_activation`);
    return b.op('Mul', [x, s], {}, `${name}.scale`);
  };
  let x = convBnSilu('input', 3, 32, 3, 2, 1, 'features.0');
  let stage = 1;
  for (const [t, k, s, cin0, cout, n] of EFFICIENTNET_B0_SETTINGS) {
    for (let i = 0; i < n; i++) {
      const cin = i === 0 ? cin0 : cout;
      const stride = i === 0 ? s : 1;
      const hidden = cin * t;
      const name = `features.${stage}.${i}.block`;
      let h = x;
      let j = 0;
      if (t !== 1) h = convBnSilu(h, cin, hidden, 1, 1, 1, `${name}.${j++}`);
      h = convBnSilu(h, hidden, hidden, k, stride, hidden, `${name}.${j++}`);
      h = squeezeExcite(h, hidden, Math.max(1, cin >> 2), `${name}.${j++}`);
      const residual = stride === 1 && cin === cout;
      h = b.bn(b.conv(h, hidden, cout, 1, { name: `${name}.${j}.0` }), cout, `${name}.${j}.1`, residual ? [0.3, 0.6] : [0.7, 1.3], 0.1);
      x = residual ? b.op('Add', [h, x], {}, `${name}.add`) : h;
    }
    stage++;
  }
  x = convBnSilu(x, 320, 1280, 1, 1, 1, `features.${stage}`);
  x = b.op('GlobalAveragePool', [x], {}, 'avgpool');
  x = b.op('Flatten', [x], { axis: 1 }, 'flatten');
  x = b.classifier(x, 1280, opts.classes ?? 1000, 'classifier.1');
  return b.finish({ logits: x });
}
