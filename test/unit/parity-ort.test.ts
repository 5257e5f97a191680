// The reference interpreter against onnxruntime-node (CPU) on whole models, on random non-zero
// inputs: ‖ref − ort‖ / ‖ort‖ < 1e-4. Also the optimized graphs written back to ONNX.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../lib/ir/graph.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { mobilenetV2, resnet50, smallCnn } from '../../scripts/gen-models.js';
import { randn, relErr, runOrt } from './reference-helpers.js';

const TORCHVISION = fileURLToPath(new URL('../fixtures/torchvision_mobilenet_v2.onnx', import.meta.url));

async function parity(bytes: Uint8Array, batch: number, seed: number, g: Graph = parseModel(bytes)): Promise<Record<string, number>> {
  const input = g.inputs[0];
  const dims = input.type.shape.map((d) => (typeof d === 'number' ? d : batch));
  const x = randn(dims.reduce((a, b) => a * b, 1), seed);
  const ref = runReference(g, { [input.name]: x });
  const ort = await runOrt(bytes, { [input.name]: { data: x, dims } });
  const errs: Record<string, number> = {};
  for (const o of g.outputs) {
    expect((ref[o.name] as Float32Array).length).toBe((ort[o.name] as Float32Array).length);
    errs[o.name] = relErr(ref[o.name] as Float32Array, ort[o.name] as Float32Array);
  }
  return errs;
}

describe('reference vs onnxruntime-node', () => {
  it('small CNN, batch 1 and 2', async () => {
    const bytes = smallCnn({ seed: 11 });
    for (const batch of [1, 2]) {
      const e = await parity(bytes, batch, 100 + batch);
      expect(e.logits).toBeLessThan(1e-4);
      expect(e.probs).toBeLessThan(1e-4);
    }
  });

  it('small CNN optimized (fused fp32) and written back', async () => {
    const g = optimize(parseModel(smallCnn({ seed: 11 })), { fuse: true, precision: 'fp32' });
    const e = await parity(writeModel(g), 2, 7, g);
    expect(e.logits).toBeLessThan(1e-4);
  });

  it('MobileNetV2, batch 2', async () => {
    const e = await parity(mobilenetV2({ seed: 12 }), 2, 200);
    expect(e.logits).toBeLessThan(1e-4);
  });

  it('ResNet-50, batch 1', async () => {
    // Calibrating BatchNorm on small images keeps generation quick; parity does not need ideal weights.
    const e = await parity(resnet50({ seed: 13, calibrationSize: 32 }), 1, 300);
    expect(e.logits).toBeLessThan(1e-4);
  });

  it.skipIf(!existsSync(TORCHVISION))('torchvision mobilenet_v2 export (opset 17, dynamic batch)', async () => {
    const bytes = readFileSync(TORCHVISION);
    const g = parseModel(bytes);
    expect(g.inputs).toHaveLength(1);
    expect(typeof g.inputs[0].type.shape[0]).toBe('string');
    for (const batch of [1, 2]) {
      const e = await parity(bytes, batch, 400 + batch, g);
      for (const v of Object.values(e)) expect(v).toBeLessThan(1e-4);
    }
    const opt = optimize(g, { fuse: true, precision: 'fp32' });
    expect(opt.nodes.filter((n) => n.op === 'FusedConv')).toHaveLength(2);
    expect(opt.nodes.filter((n) => n.op === 'FusedMBConv')).toHaveLength(17);
    const e = await parity(writeModel(opt), 1, 403, opt);
    for (const v of Object.values(e)) expect(v).toBeLessThan(1e-4);
  });
});
