// Inverted-residual fusion: which chains become FusedMBConv, that the fused graph computes what the original does
// (reference interpreter), and that it is written back as standard ONNX that onnxruntime runs.
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import type { Constant, Node } from '../../lib/ir/types.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { float32ToHalf } from '../../lib/util/half.js';
import { mobileNetV2Graph } from '../../scripts/gen-models.js';
import { inferredGraph, node } from '../helpers/graphs.js';
import { simulate } from '../helpers/program-sim.js';
import { compareGraphs, f32, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

const C = 8;
const E = 24;
const K = 8;

/** x [n, 8, 9, 9] → 1×1 expand (+act) → k×k depthwise (+act) → 1×1 project (+ x when `residual`). */
function block(o: { ks?: number; stride?: number; residual?: boolean; act?: string; dil?: number; extraRead?: boolean; noBias?: boolean } = {}): Graph {
  const ks = o.ks ?? 3;
  const act = o.act ?? 'Relu';
  const consts: Constant[] = [
    f32('w1', [E, C, 1, 1], randn(E * C, 1).map((v) => v * 0.5)),
    f32('b1', [E], randn(E, 2).map((v) => v * 0.1)),
    f32('wd', [E, 1, ks, ks], randn(E * ks * ks, 3).map((v) => v * 0.4)),
    f32('bd', [E], randn(E, 4).map((v) => v * 0.1)),
    f32('w2', [K, E, 1, 1], randn(K * E, 5).map((v) => v * 0.3)),
    f32('b2', [K], randn(K, 6).map((v) => v * 0.1)),
  ];
  const pad = ((ks - 1) / 2) * (o.dil ?? 1);
  const b = (name: string) => (o.noBias ? [] : [name]);
  const nodes: Node[] = [
    node('Conv', ['x', 'w1', ...b('b1')], ['e'], {}, 'blk.expand'),
    node(act, ['e'], ['ea'], {}, 'blk.expand_act'),
    node('Conv', ['ea', 'wd', ...b('bd')], ['d'], { group: E, pads: [pad, pad, pad, pad], strides: [o.stride ?? 1, o.stride ?? 1], dilations: [o.dil ?? 1, o.dil ?? 1] }, 'blk.dw'),
    node(act, ['d'], ['da'], {}, 'blk.dw_act'),
    node('Conv', ['da', 'w2', ...b('b2')], [o.residual ? 'p' : 'y'], {}, 'blk.project'),
  ];
  if (o.residual) nodes.push(node('Add', ['p', 'x'], ['y'], {}, 'blk.add'));
  const outputs = ['y'];
  if (o.extraRead) {
    nodes.push(node('Sigmoid', ['ea'], ['side']));
    outputs.push('side');
  }
  return inferredGraph(nodes, ['n', C, 9, 9], outputs, consts);
}

const X = randn(2 * C * 81, 9);

describe('fuseInvertedResidual', () => {
  it('fuses expand → depthwise → project (+ residual) into one FusedMBConv named after the block', () => {
    for (const residual of [false, true]) {
      const g = block({ residual });
      const f = optimize(g, { fuse: true, precision: 'fp32' });
      expect(opCounts(f)).toEqual({ FusedMBConv: 1 });
      const [n] = f.nodes;
      expect(n.name).toBe('MBConv blk');
      expect(n.attrs).toMatchObject({ kernel_shape: [3, 3], strides: [1, 1], group: E, expand_activation: 'relu', dw_activation: 'relu', activation: 'none' });
      expect(n.inputs.length).toBe(residual ? 8 : 7);
      if (residual) expect(n.inputs[7]).toBe('x');
      expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-5);
    }
  });

  it('covers 5×5 windows, stride 2 and other activations (EfficientNet / MobileNetV3 blocks)', () => {
    for (const [o, act] of [[{ ks: 5, stride: 2 }, 'HardSwish'], [{ ks: 5, residual: true }, 'Sigmoid'], [{ stride: 2 }, 'LeakyRelu']] as const) {
      const g = block({ ...o, act });
      const f = optimize(g, { fuse: true, precision: 'fp32' });
      expect(opCounts(f)).toEqual({ FusedMBConv: 1 });
      expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-5);
    }
  });

  it('leaves chains alone whose intermediates are read elsewhere, or whose depthwise conv is dilated', () => {
    // The expand's output is read elsewhere: the depthwise → project pair is fused on its own (identity expand).
    const f = optimize(block({ extraRead: true }), { fuse: true, precision: 'fp32' });
    expect(opCounts(f)).toEqual({ FusedConv: 1, FusedMBConv: 1, Sigmoid: 1 });
    expect(compareGraphs(block({ extraRead: true }), f, { x: X })).toBeLessThan(1e-5);
    expect(opCounts(optimize(block({ dil: 2 }), { fuse: true, precision: 'fp32' }))).toEqual({ FusedConv: 3 });
  });

  it('is written back as standard ONNX that onnxruntime runs to the same result', async () => {
    const g = block({ ks: 5, stride: 2, residual: false, act: 'HardSwish' });
    const f = optimize(g, { fuse: true, precision: 'fp32' });
    const bytes = writeModel(f);
    expect(parseModel(bytes).nodes.every((n) => n.domain === '')).toBe(true);
    const ort = await runOrt(bytes, { x: { data: X, dims: [2, C, 9, 9] } });
    expect(relErr(ort.y as Float32Array, runReference(g, { x: X }).y as Float32Array)).toBeLessThan(1e-5);
  });

  it('fuses the 16 expanding blocks of MobileNetV2, 10 of them with a residual, and the first block (no expand)', async () => {
    const g = mobileNetV2Graph({ seed: 3, size: 32 });
    const f = optimize(g, { fuse: true, precision: 'fp32' });
    const blocks = f.nodes.filter((n) => n.op === 'FusedMBConv');
    expect(blocks.length).toBe(17);
    expect(blocks.filter((n) => n.inputs.length === 8).length).toBe(10);
    expect(blocks[0].name).toBe('MBConv features.1.conv');
    expect(f.initializers.get(blocks[0].inputs[1])!.dims).toEqual([32, 32, 1, 1]);
    expect(blocks[1].name).toBe('MBConv features.2.conv');
    const input = randn(2 * 3 * 32 * 32, 4);
    expect(compareGraphs(g, f, { input })).toBeLessThan(1e-5);
    const ort = await runOrt(writeModel(f), { input: { data: input, dims: [2, 3, 32, 32] } });
    const out = g.outputs[0].name;
    expect(relErr(ort[out] as Float32Array, runReference(g, { input })[out] as Float32Array)).toBeLessThan(1e-5);
  });

  it('names torch.onnx exports after the block path', () => {
    const g = block({ residual: true });
    for (const n of g.nodes) n.name = `/features/features.3/conv/${n.name.replace('blk.', '')}/Conv`;
    const f = optimize(g, { fuse: true, precision: 'fp32' });
    expect(f.nodes.map((n) => n.name)).toEqual(['MBConv /features/features.3/conv']);
  });

  it('fuses a depthwise → project pair with no expand as an identity expand, which the chain skips', async () => {
    const consts: Constant[] = [
      f32('wd', [C, 1, 3, 3], randn(C * 9, 3).map((v) => v * 0.4)),
      f32('bd', [C], randn(C, 4).map((v) => v * 0.1)),
      f32('w2', [K, C, 1, 1], randn(K * C, 5).map((v) => v * 0.3)),
    ];
    const g = inferredGraph([
      node('Conv', ['x', 'wd', 'bd'], ['d'], { group: C, pads: [1, 1, 1, 1] }, 'blk.dw'),
      node('Clip', ['d'], ['da'], { min: 0, max: 6 }, 'blk.dw_act'),
      node('Conv', ['da', 'w2'], ['y'], {}, 'blk.project'),
    ], ['n', C, 9, 9], ['y'], consts);
    const want = runReference(g, { x: X }).y as Float32Array;
    const f = optimize(g, { fuse: true, precision: 'fp32' });
    expect(opCounts(f)).toEqual({ FusedMBConv: 1 });
    expect(f.nodes[0].attrs).toMatchObject({ expand_activation: 'none', dw_activation: 'clip', group: C });
    expect(f.nodes[0].inputs[0]).toBe('x');
    expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-6);
    const ort = await runOrt(writeModel(f), { x: { data: X, dims: [2, C, 9, 9] } });
    expect(relErr(ort.y as Float32Array, want)).toBeLessThan(1e-5);
    for (const precision of ['fp32', 'fp16'] as const) {
      const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 2, max: 2 });
      const layer = program.layers.find((l) => OP_NAMES[l.op] === 'mbconv')!;
      expect(layer.params.id1).toBe(1);
      // The chain's expanded tensor is a placeholder, not an [n, c, h, w] activation.
      expect(program.tensors[layer.outputs[1]].shape).toEqual([1]);
      expect(relErr(simulate(program, weights, { x: X }, 2).y, want)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
    }
    // An expand that is not the identity (here: scaled by 2) stays a real stage.
    const scaled = optimize(g, { fuse: true, precision: 'fp32' });
    const w1 = scaled.initializers.get(scaled.nodes[0].inputs[1])!;
    (w1.data as Float32Array).forEach((v, i, a) => (a[i] = v * 2));
    expect(lowerGraph(scaled, { min: 1, opt: 2, max: 2 }).program.layers.find((l) => OP_NAMES[l.op] === 'mbconv')!.params.id1).toBeUndefined();
  });

  it('fuses a depthwise → project pair of a float16 model with a float16 identity; leaves pairs it cannot fuse', () => {
    const pair = (o: { c?: number; k?: number; dtype?: 'float32' | 'float16'; dwInput?: boolean } = {}) => {
      const [c, k] = [o.c ?? C, o.k ?? K];
      const cst = (name: string, dims: number[], v: Float32Array): Constant =>
        o.dtype === 'float16' ? { name, dtype: 'float16', dims, data: float32ToHalf(v) } : f32(name, dims, v);
      const consts = [cst('w2', [k, c, 1, 1], randn(k * c, 5).map((v) => v * 0.3)), ...(o.dwInput ? [] : [cst('wd', [c, 1, 3, 3], randn(c * 9, 3).map((v) => v * 0.4))])];
      const g = new Graph({
        opset: 17,
        inputs: [{ name: 'x', type: { dtype: o.dtype ?? 'float32', shape: ['n', c, 9, 9] } }, ...(o.dwInput ? [{ name: 'wd', type: { dtype: 'float32' as const, shape: [c, 1, 3, 3] } }] : [])],
        outputs: [{ name: 'y', type: { dtype: o.dtype ?? 'float32', shape: [] } }],
        nodes: [node('Conv', ['x', 'wd'], ['d'], { group: c, pads: [1, 1, 1, 1] }, 'blk.dw'), node('Relu', ['d'], ['da']), node('Conv', ['da', 'w2'], ['y'], {}, 'blk.project')],
        initializers: new Map(consts.map((x) => [x.name, x])),
      });
      inferShapes(g);
      return g;
    };
    const half = optimize(pair({ dtype: 'float16' }), { fuse: true, precision: 'fp16' });
    expect(opCounts(half)).toEqual({ FusedMBConv: 1 });
    expect(half.initializers.get(half.nodes[0].inputs[1])!.dtype).toBe('float16');
    // Depthwise weights computed at run time, 12 channels (not in 8s), 328 outputs (past the kernel's 320): left alone.
    expect(opCounts(optimize(pair({ dwInput: true }), { fuse: true, precision: 'fp32' })).FusedMBConv).toBeUndefined();
    expect(opCounts(optimize(pair({ c: 12 }), { fuse: true, precision: 'fp32' })).FusedMBConv).toBeUndefined();
    expect(opCounts(optimize(pair({ k: 328 }), { fuse: true, precision: 'fp32' })).FusedMBConv).toBeUndefined();
  });

  it('lowers to one mbconv layer whose simulation matches the reference, FP32 and FP16', () => {
    for (const g of [block({ ks: 5, stride: 2, residual: false, act: 'HardSwish' }), block({ residual: true, noBias: true })]) {
      const want = runReference(g, { x: X }).y as Float32Array;
      for (const precision of ['fp32', 'fp16'] as const) {
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 2, max: 2 });
        expect(program.layers.filter((l) => OP_NAMES[l.op] === 'mbconv').map((l) => l.name)).toEqual(['MBConv blk']);
        const got = simulate(program, weights, { x: X }, 2).y;
        expect(relErr(got, want)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
        const layer = program.layers.find((l) => OP_NAMES[l.op] === 'mbconv')!;
        expect(layer.inputs.length).toBe(8);
        expect(layer.outputs.length).toBe(3);
      }
    }
  });
});
