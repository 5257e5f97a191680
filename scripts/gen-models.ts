// Writes the test/benchmark models as ONNX files with seeded random weights:
//   node dist/scripts/gen-models.js --out models/ [--seed 1] [--static-batch] [--only smallcnn,mobilenetv2]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { writeModel } from '../lib/onnx/writer.js';
import { efficientNetB0Graph, type EfficientNetB0Options } from './models/efficientnet.js';
import { mobileNetV2Graph, type MobileNetV2Options } from './models/mobilenet.js';
import { resNet50Graph, type ResNet50Options } from './models/resnet.js';
import { smallCnnGraph, type SmallCnnOptions } from './models/smallcnn.js';

export { efficientNetB0Graph, mobileNetV2Graph, resNet50Graph, smallCnnGraph };
export type { EfficientNetB0Options, MobileNetV2Options, ResNet50Options, SmallCnnOptions };

/**
 * MobileNetV2 (torchvision topology, opset 17) as ONNX bytes.
 * @example
 * writeFileSync('mobilenetv2.onnx', mobilenetV2({ seed: 1 }));
 */
export function mobilenetV2(options: MobileNetV2Options = {}): Uint8Array {
  return writeModel(mobileNetV2Graph(options));
}

/**
 * ResNet-50 (torchvision topology, opset 17) as ONNX bytes.
 * @example
 * writeFileSync('resnet50.onnx', resnet50({ seed: 1 }));
 */
export function resnet50(options: ResNet50Options = {}): Uint8Array {
  return writeModel(resNet50Graph(options));
}

/**
 * EfficientNet-B0 (torchvision topology, opset 17: SiLU and squeeze-excitation as exported) as ONNX bytes.
 * @example
 * writeFileSync('efficientnet_b0.onnx', efficientnetB0({ seed: 1 }));
 */
export function efficientnetB0(options: EfficientNetB0Options = {}): Uint8Array {
  return writeModel(efficientNetB0Graph(options));
}

/**
 * The small test CNN (32×32 input, 10 classes, outputs 'logits' and 'probs') as ONNX bytes.
 * @example
 * const bytes = smallCnn({ seed: 1, dynamicBatch: false });
 */
export function smallCnn(options: SmallCnnOptions = {}): Uint8Array {
  return writeModel(smallCnnGraph(options));
}

export const MODELS: Record<string, (o: { seed?: number; dynamicBatch?: boolean }) => Uint8Array> = {
  smallcnn: smallCnn,
  mobilenetv2: mobilenetV2,
  resnet50: resnet50,
  efficientnetb0: efficientnetB0,
};

function main(argv: string[]): void {
  const program = new Command('gen-models')
    .description('Write ONNX models with seeded random weights')
    .option('--out <dir>', 'output directory', 'models')
    .option('--seed <n>', 'weight seed', (v) => Number.parseInt(v, 10), 1)
    .option('--static-batch', 'fix the batch dimension to 1 instead of a dynamic "batch"')
    .option('--only <names>', `comma-separated subset of ${Object.keys(MODELS).join(', ')}`)
    .parse(argv);
  const o = program.opts<{ out: string; seed: number; staticBatch?: boolean; only?: string }>();
  const names = o.only ? o.only.split(',').map((s) => s.trim()) : Object.keys(MODELS);
  for (const n of names) if (!MODELS[n]) program.error(`Unknown model '${n}'; expected one of ${Object.keys(MODELS).join(', ')}`);
  mkdirSync(o.out, { recursive: true });
  for (const n of names) {
    const t0 = performance.now();
    const bytes = MODELS[n]({ seed: o.seed, dynamicBatch: !o.staticBatch });
    const file = path.join(o.out, `${n}.onnx`);
    writeFileSync(file, bytes);
    console.log(`${file}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main(process.argv);
