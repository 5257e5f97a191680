// The optimize() pipeline: options, immutability, what an optimized graph contains.
import { describe, expect, it } from 'vitest';
import { FUSED_DOMAIN } from '../../lib/ir/types.js';
import { optimize } from '../../lib/optimize/index.js';
import { mobileNetV2Graph, resNet50Graph, smallCnnGraph } from '../../scripts/gen-models.js';
import { compareGraphs, opCounts, randn } from './reference-helpers.js';

describe('optimize', () => {
  it('validates its options', () => {
    const g = smallCnnGraph({ seed: 1 });
    expect(() => optimize(g, { fuse: 'yes', precision: 'fp16' } as never)).toThrow("Expected a boolean for options.fuse but received 'yes' of type string");
    expect(() => optimize(g, { fuse: true, precision: 'int8' } as never)).toThrow("Expected one of 'fp16', 'fp32' for options.precision but received 'int8' of type string");
    expect(() => optimize(g, { fuse: true, precision: 'fp32', level: 3 } as never)).toThrow(/Unknown option 'level'/);
    expect(() => optimize(g, undefined as never)).toThrow(/Expected an object for options/);
  });

  it('leaves its input graph untouched', () => {
    const g = smallCnnGraph({ seed: 1 });
    const before = JSON.stringify({ nodes: g.nodes, types: [...g.types], inits: [...g.initializers.keys()] });
    optimize(g, { fuse: true, precision: 'fp16' });
    optimize(g, { fuse: false, precision: 'fp32' });
    expect(JSON.stringify({ nodes: g.nodes, types: [...g.types], inits: [...g.initializers.keys()] })).toBe(before);
  });

  it('MobileNetV2: only FusedConv, FusedMBConv, GlobalAveragePool, Flatten and Gemm remain; outputs kept', () => {
    const g = mobileNetV2Graph({ seed: 2, size: 96 });
    const f = optimize(g, { fuse: true, precision: 'fp32' });
    // 17 inverted-residual blocks become FusedMBConv (the first, depthwise → project, with an identity expand); the
    // stem and last convs stay FusedConv.
    expect(opCounts(f)).toEqual({ FusedConv: 2, FusedMBConv: 17, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
    const blocks = f.nodes.filter((n) => n.op === 'FusedMBConv');
    const acts = [
      ...f.nodes.filter((n) => n.op === 'FusedConv').map((n) => n.attrs.activation),
      ...blocks.flatMap((n) => [n.attrs.expand_activation, n.attrs.dw_activation, n.attrs.activation]),
    ];
    expect(acts.filter((a) => a === 'clip')).toHaveLength(35);
    expect(acts.filter((a) => a === 'none')).toHaveLength(18); // the identity expand's among them
    expect(blocks.filter((n) => n.inputs[7])).toHaveLength(10);
    expect(f.nodes.every((n) => !n.op.startsWith('Fused') || n.domain === FUSED_DOMAIN)).toBe(true);
    expect(compareGraphs(g, f, { input: randn(2 * 3 * 96 * 96, 1) })).toBeLessThan(1e-5);
    const u = optimize(g, { fuse: false, precision: 'fp32' });
    expect(opCounts(u)).toEqual({ Conv: 52, Clip: 35, Add: 10, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
  });

  it('ResNet-50: 53 FusedConvs, 16 with a residual and ReLU', () => {
    const g = resNet50Graph({ seed: 2, size: 64 });
    const f = optimize(g, { fuse: true, precision: 'fp16' });
    // Two Casts, at the input and the output: the pooling runs in float16 between them.
    expect(opCounts(f)).toEqual({ Cast: 2, FusedConv: 53, MaxPool: 1, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
    const residual = f.nodes.filter((n) => n.op === 'FusedConv' && n.inputs[3]);
    expect(residual).toHaveLength(16);
    expect(residual.every((n) => n.attrs.activation === 'relu')).toBe(true);
    expect(f.typeOf(f.nodes.find((n) => n.op === 'MaxPool')!.outputs[0]).dtype).toBe('float16');
    expect(f.typeOf(f.nodes.find((n) => n.op === 'GlobalAveragePool')!.outputs[0]).dtype).toBe('float16');
  });
});
