// The model generator: torchvision topologies, determinism, and weights that keep activations O(1)
// through the whole depth in float32 and float16, with logits that depend on the input.
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../lib/ir/graph.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { optimize } from '../../lib/optimize/index.js';
import { runGraph } from '../../lib/reference/index.js';
import { MOBILENET_V2_SETTINGS } from '../../scripts/models/mobilenet.js';
import { efficientNetB0Graph, mobilenetV2, resNet50Graph, smallCnn } from '../../scripts/gen-models.js';
import { opCounts, randn, relErr, std } from './reference-helpers.js';

/** Trainable parameters as torchvision counts them: no BN running statistics, no Clip bounds. */
function torchParams(g: Graph): number {
  let n = 0;
  for (const [name, c] of g.initializers) if (!/running_(mean|var)$|^clip_/.test(name)) n += c.data.length;
  return n;
}

interface ActivationReport {
  rms: number[];
  std: number[];
  maxAbs: number;
  finite: boolean;
  logits: Float32Array[];
}

function activations(g: Graph, size: number, precision: 'fp16' | 'fp32'): ActivationReport {
  const o = optimize(g, { fuse: true, precision });
  const keep = o.nodes.filter((n) => n.op === 'FusedConv' || n.op === 'FusedMBConv').map((n) => n.outputs[0]);
  const report: ActivationReport = { rms: [], std: [], maxAbs: 0, finite: true, logits: [] };
  for (const seed of [21, 22]) {
    const input = randn(3 * size * size, seed);
    const r = runGraph(o, new Map([['input', { dtype: 'float32', dims: [1, 3, size, size], data: input }]]), seed === 21 ? keep : []);
    if (seed === 21) {
      for (const k of keep) {
        const d = r.get(k)!.data as Float32Array;
        let s2 = 0;
        for (const v of d) {
          s2 += v * v;
          report.maxAbs = Math.max(report.maxAbs, Math.abs(v));
          if (!Number.isFinite(v)) report.finite = false;
        }
        report.rms.push(Math.sqrt(s2 / d.length));
        report.std.push(std(d));
      }
    }
    report.logits.push(r.get('logits')!.data as Float32Array);
  }
  return report;
}

function expectHealthy(r: ActivationReport): void {
  expect(r.finite).toBe(true);
  expect(Math.min(...r.rms)).toBeGreaterThan(0.3);
  expect(Math.max(...r.rms)).toBeLessThan(4);
  // No layer collapses to a constant.
  for (let i = 0; i < r.rms.length; i++) expect(r.std[i]).toBeGreaterThan(0.3 * r.rms[i]);
  expect(r.maxAbs).toBeLessThan(100);
  const [a, b] = r.logits;
  expect(std(a)).toBeGreaterThan(1.5);
  expect(std(a)).toBeLessThan(8);
  // Different inputs give clearly different logits.
  expect(relErr(a, b)).toBeGreaterThan(0.1);
}

describe('MobileNetV2', () => {
  const bytes = mobilenetV2({ seed: 1 });
  const g = parseModel(bytes);

  it("has torchvision's topology", () => {
    expect(g.opset).toBe(17);
    expect(g.inputs).toEqual([{ name: 'input', type: { dtype: 'float32', shape: ['batch', 3, 224, 224] } }]);
    expect(g.outputs).toEqual([{ name: 'logits', type: { dtype: 'float32', shape: ['batch', 1000] } }]);
    const blocks = MOBILENET_V2_SETTINGS.reduce((a, [, , n]) => a + n, 0);
    expect(blocks).toBe(17);
    expect(opCounts(g)).toEqual({ Conv: 52, BatchNormalization: 52, Clip: 35, Add: 10, GlobalAveragePool: 1, Flatten: 1, Dropout: 1, Gemm: 1 });
    expect(torchParams(g)).toBe(3_504_872);
    const depthwise = g.nodes.filter((n) => n.op === 'Conv' && (n.attrs.group as number) > 1);
    expect(depthwise).toHaveLength(17);
    expect(g.typeOf(g.nodes.find((n) => n.op === 'GlobalAveragePool')!.inputs[0]).shape).toEqual(['batch', 1280, 7, 7]);
  });

  it('is deterministic per seed', () => {
    expect(Buffer.from(mobilenetV2({ seed: 1 })).equals(Buffer.from(bytes))).toBe(true);
    expect(Buffer.from(mobilenetV2({ seed: 2 })).equals(Buffer.from(bytes))).toBe(false);
    expect(parseModel(mobilenetV2({ seed: 1, dynamicBatch: false, size: 96 })).inputs[0].type.shape).toEqual([1, 3, 96, 96]);
  });

  it('keeps activations O(1) in float32 and float16, with input-dependent logits', () => {
    const r32 = activations(g, 224, 'fp32');
    const r16 = activations(g, 224, 'fp16');
    expectHealthy(r32);
    expectHealthy(r16);
    expect(relErr(r16.logits[0], r32.logits[0])).toBeLessThan(1e-2);
  });
});

describe('ResNet-50', () => {
  const g = resNet50Graph({ seed: 3, size: 64 });

  it("has torchvision's topology", () => {
    expect(opCounts(g)).toEqual({ Conv: 53, BatchNormalization: 53, Relu: 49, MaxPool: 1, Add: 16, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
    expect(torchParams(g)).toBe(25_557_032);
    // The stride sits on the 3×3 conv of each stage's first block.
    expect(g.nodes.find((n) => n.name === 'layer2.0.conv2')!.attrs.strides).toEqual([2, 2]);
    expect(g.nodes.find((n) => n.name === 'layer2.0.conv1')!.attrs.strides).toEqual([1, 1]);
    expect(g.nodes.find((n) => n.name === 'layer2.0.downsample.0')!.attrs).toMatchObject({ kernel_shape: [1, 1], strides: [2, 2] });
    expect(g.nodes.filter((n) => n.name.endsWith('downsample.0'))).toHaveLength(4);
  });

  it('keeps activations O(1) in float32 and float16 (at 64×64)', () => {
    expectHealthy(activations(g, 64, 'fp32'));
    expectHealthy(activations(g, 64, 'fp16'));
  });
});

describe('EfficientNet-B0', () => {
  const g = efficientNetB0Graph({ seed: 3, size: 64 });

  it("has torchvision's topology, with SiLU and squeeze-excitation as torch.onnx exports them", () => {
    // 81 convolutions: the stem, 16 blocks (15 expanding) of expand/depthwise/two SE/project, and the head.
    expect(opCounts(g)).toEqual({ Conv: 81, BatchNormalization: 49, Sigmoid: 65, Mul: 65, GlobalAveragePool: 17, Add: 9, Flatten: 1, Gemm: 1 });
    expect(torchParams(g)).toBe(5_288_548);
    expect(g.nodes.find((n) => n.name === 'features.3.0.block.1.0')!.attrs).toMatchObject({ kernel_shape: [5, 5], strides: [2, 2], group: 144 });
  });

  it('fuses every SiLU into its convolution and keeps activations O(1) in float32 and float16 (at 64×64)', () => {
    const f = optimize(g, { fuse: true, precision: 'fp16' });
    expect(opCounts(f)).toEqual({ Cast: 2, FusedConv: 81, GlobalAveragePool: 17, Mul: 16, Flatten: 1, Gemm: 1 });
    const acts: Record<string, number> = {};
    for (const n of f.nodes) if (n.op === 'FusedConv') acts[String(n.attrs.activation)] = (acts[String(n.attrs.activation)] ?? 0) + 1;
    expect(acts).toEqual({ silu: 49, sigmoid: 16, none: 16 });
    const r32 = activations(g, 64, 'fp32');
    const r16 = activations(g, 64, 'fp16');
    for (const r of [r32, r16]) {
      expect(r.finite).toBe(true);
      // The squeeze-excitation bottlenecks are the quietest layers (rms about 0.1), the late projections the loudest.
      expect(Math.min(...r.rms)).toBeGreaterThan(0.05);
      expect(Math.max(...r.rms)).toBeLessThan(5);
      expect(std(r.logits[0])).toBeGreaterThan(1.5);
      expect(relErr(r.logits[0], r.logits[1])).toBeGreaterThan(0.1);
    }
    expect(relErr(r16.logits[0], r32.logits[0])).toBeLessThan(1e-2);
  });
});

describe('small CNN', () => {
  it('is small, has two outputs and healthy activations', () => {
    const g = parseModel(smallCnn({ seed: 1 }));
    expect(g.inputs[0].type.shape).toEqual(['batch', 3, 32, 32]);
    expect(g.outputs.map((o) => o.name)).toEqual(['logits', 'probs']);
    expect(torchParams(g)).toBeLessThan(50_000);
    expect(opCounts(g)).toMatchObject({ Conv: 5, Add: 1, MaxPool: 1, AveragePool: 1, Gemm: 1, Softmax: 1, HardSwish: 1 });
    expectHealthy(activations(g, 32, 'fp32'));
    expectHealthy(activations(g, 32, 'fp16'));
  });
});
