// The torchvision segmentation fixtures (LRASPP and DeepLabV3 on MobileNetV3, FCN on a one-eighth-width ResNet-50; 96×96,
// dynamic batch; Resize with sizes computed from Shape) on the reference backend against onnxruntime-node.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../lib/onnx/reader.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { randn, relErr, runOrt } from './reference-helpers.js';

describe('segmentation models: reference vs onnxruntime-node', () => {
  for (const name of ['lraspp_mbv3', 'deeplabv3_mbv3', 'fcn_resnet50_slim']) {
    it(`${name}, batch 2, as exported and optimized (fp32)`, async () => {
      const bytes = new Uint8Array(readFileSync(`test/fixtures/models/${name}.onnx`));
      const g = parseModel(bytes);
      const input = g.inputs[0];
      expect(typeof input.type.shape[0]).toBe('string');
      const dims = [2, 3, 96, 96];
      const x = randn(2 * 3 * 96 * 96, 17);
      const ort = await runOrt(bytes, { [input.name]: { data: x, dims } });
      const mine = runReference(g, { [input.name]: x });
      const opt = optimize(g, { fuse: true, precision: 'fp32' });
      expect(opt.nodes.some((n) => n.op === 'Resize')).toBe(true);
      const fused = runReference(opt, { [input.name]: x });
      const fusedOrt = await runOrt(writeModel(opt), { [input.name]: { data: x, dims } });
      for (const o of g.outputs) {
        expect(g.types.get(o.name)!.shape.slice(2)).toEqual([96, 96]);
        expect(relErr(mine[o.name] as Float32Array, ort[o.name] as Float32Array)).toBeLessThan(1e-4);
        expect(relErr(fused[o.name] as Float32Array, ort[o.name] as Float32Array)).toBeLessThan(1e-4);
        expect(relErr(fusedOrt[o.name] as Float32Array, ort[o.name] as Float32Array)).toBeLessThan(1e-4);
      }
    }, 120_000);
  }
});
