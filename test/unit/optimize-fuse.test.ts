// Conv fusion: bias, residual and activation folded into FusedConv, and written back as standard ONNX.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import { FUSED_DOMAIN, type Constant, type Node } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { foldBatchNorm } from '../../lib/optimize/batchnorm.js';
import { foldConstants } from '../../lib/optimize/fold.js';
import { fuseConv } from '../../lib/optimize/fuse.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { smallCnnGraph } from '../../scripts/gen-models.js';
import { inferredGraph, node } from '../helpers/graphs.js';
import { compareGraphs, f32, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

const graph = (nodes: Node[], constants: Constant[], outputs = ['y']): Graph => inferredGraph(nodes, ['n', 4, 6, 6], outputs, constants);

const W = f32('w', [4, 4, 3, 3], randn(144, 3));
const B = f32('b', [4], randn(4, 4));
const conv = (x: string, y: string, name = 'conv', withBias = true) => node('Conv', withBias ? [x, 'w', 'b'] : [x, 'w'], [y], { pads: [1, 1, 1, 1] }, name);
const X = randn(2 * 4 * 36, 9);

function fused(g: Graph): Graph {
  const c = g.clone();
  fuseConv(c);
  return c;
}

async function checkOrt(g: Graph, f: Graph): Promise<void> {
  const ort = await runOrt(writeModel(f), { x: { data: X, dims: [2, 4, 6, 6] } });
  const ref = runReference(g, { x: X });
  for (const o of g.outputs) expect(relErr(ort[o.name] as Float32Array, ref[o.name] as Float32Array)).toBeLessThan(1e-5);
}

describe('fuseConv', () => {
  const acts: [string, Node['attrs'], Constant[], string, number, number][] = [
    ['Relu', {}, [], 'relu', 0, 0],
    ['LeakyRelu', { alpha: 0.2 }, [], 'leakyrelu', 0.2, 0],
    ['Sigmoid', {}, [], 'sigmoid', 0, 0],
    ['HardSigmoid', { alpha: 0.25, beta: 0.4 }, [], 'hardsigmoid', 0.25, 0.4],
    ['HardSwish', {}, [], 'hardswish', 0, 0],
    ['Tanh', {}, [], 'tanh', 0, 0],
    ['Clip', {}, [f32('lo', [], [0]), f32('hi', [], [6])], 'clip', 0, 6],
  ];
  for (const [op, attrs, consts, act, alpha, beta] of acts) {
    it(`Conv + ${op} → FusedConv{activation: '${act}'}`, async () => {
      const g = graph([conv('x', 'c'), node(op, op === 'Clip' ? ['c', 'lo', 'hi'] : ['c'], ['y'], attrs)], [W, B, ...consts]);
      const f = fused(g);
      expect(f.nodes).toHaveLength(1);
      const n = f.nodes[0];
      expect(n).toMatchObject({ name: 'conv', op: 'FusedConv', domain: FUSED_DOMAIN, inputs: ['x', 'w', 'b'], outputs: ['y'] });
      expect(n.attrs).toEqual({ kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, activation: act, act_alpha: alpha, act_beta: beta });
      expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-6);
      await checkOrt(g, f);
    });
  }

  it('Conv + x·Sigmoid(x) → FusedConv{activation: \'silu\'}, in either Mul order, and no SiLU when the Sigmoid is read elsewhere', async () => {
    for (const sigFirst of [false, true]) {
      const g = graph([conv('x', 'c'), node('Sigmoid', ['c'], ['s']), node('Mul', sigFirst ? ['s', 'c'] : ['c', 's'], ['y'])], [W, B]);
      const f = fused(g);
      expect(f.nodes).toHaveLength(1);
      expect(f.nodes[0]).toMatchObject({ op: 'FusedConv', outputs: ['y'], attrs: { activation: 'silu' } });
      expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-6);
      await checkOrt(g, f);
    }
    // The Sigmoid's output is also a graph output: the Mul is no SiLU of the conv alone.
    const shared = fused(graph([conv('x', 'c'), node('Sigmoid', ['c'], ['s']), node('Mul', ['c', 's'], ['y'])], [W, B], ['s', 'y']));
    expect(opCounts(shared)).toEqual({ FusedConv: 1, Sigmoid: 1, Mul: 1 });
    // x·Sigmoid(z) of another tensor is no SiLU either.
    const other = fused(graph([conv('x', 'c'), node('Sigmoid', ['x'], ['s']), node('Mul', ['c', 's'], ['y'])], [W, B]));
    expect(opCounts(other)).toEqual({ FusedConv: 1, Sigmoid: 1, Mul: 1 });
  });

  it('Swish (opset 24) is canonicalized to x·Sigmoid(x): after a Conv it fuses as SiLU; with alpha ≠ 1 it stays three ops', async () => {
    const g = inferredGraph([conv('x', 'c'), node('Swish', ['c'], ['y'])], ['n', 4, 6, 6], ['y'], [W, B], 24);
    const o = optimize(g, { fuse: true, precision: 'fp32' });
    expect(opCounts(o)).toEqual({ FusedConv: 1 });
    expect(o.nodes[0].attrs.activation).toBe('silu');
    expect(compareGraphs(g, o, { x: X })).toBeLessThan(1e-6);
    await checkOrt(g, o);
    const half = inferredGraph([conv('x', 'c'), node('Swish', ['c'], ['y'], { alpha: 0.5 })], ['n', 4, 6, 6], ['y'], [W, B], 24);
    const h = optimize(half, { fuse: true, precision: 'fp32' });
    expect(opCounts(h)).toEqual({ FusedConv: 1, Mul: 2, Sigmoid: 1 });
    expect(compareGraphs(half, h, { x: X })).toBeLessThan(1e-6);
    await checkOrt(half, h);
  });

  it('Clip with only a max bound', () => {
    const g = graph([conv('x', 'c'), node('Clip', ['c', '', 'hi'], ['y'])], [W, B, f32('hi', [], [0.5])]);
    const f = fused(g);
    expect(f.nodes[0].attrs).toMatchObject({ activation: 'clip', act_alpha: -Infinity, act_beta: 0.5 });
    expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-6);
  });

  it('Conv + Add(skip) + Relu (ResNet) and Conv + Add(skip) (MobileNetV2 linear bottleneck)', async () => {
    for (const withRelu of [true, false]) {
      const nodes = [node('Relu', ['x'], ['skip']), conv('skip', 'c', 'conv', false), node('Add', ['skip', 'c'], withRelu ? ['s'] : ['y'])];
      if (withRelu) nodes.push(node('Relu', ['s'], ['y']));
      const g = graph(nodes, [W]);
      const f = fused(g);
      expect(opCounts(f)).toEqual({ Relu: 1, FusedConv: 1 });
      expect(f.nodes[1].inputs).toEqual(['skip', 'w', '', 'skip']);
      expect(f.nodes[1].attrs.activation).toBe(withRelu ? 'relu' : 'none');
      expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-6);
      await checkOrt(g, f);
    }
  });

  it('merges a per-channel constant Add into the bias before the residual', () => {
    const g = graph([conv('x', 'c', 'conv', false), node('Add', ['c', 'bias'], ['cb']), node('Add', ['cb', 'x'], ['s']), node('Relu', ['s'], ['y'])], [W, f32('bias', [1, 4, 1, 1], [1, 2, 3, 4])]);
    const f = fused(g);
    expect(opCounts(f)).toEqual({ FusedConv: 1 });
    expect(Array.from(f.initializers.get(f.nodes[0].inputs[2])!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(f.nodes[0].inputs[3]).toBe('x');
    expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-6);
  });

  it('does not fuse across a value that is read elsewhere or broadcast', () => {
    // c is a graph output: nothing after it fuses.
    const shared = fused(graph([conv('x', 'c'), node('Relu', ['c'], ['y'])], [W, B], ['c', 'y']));
    expect(opCounts(shared)).toEqual({ FusedConv: 1, Relu: 1 });
    expect(shared.nodes[0].attrs.activation).toBe('none');
    // A broadcasting Add is no residual.
    const g = graph([conv('x', 'c'), node('Add', ['c', 'r'], ['y'])], [W, B, f32('r', [1, 1, 6, 6], randn(36, 2))]);
    const f = fused(g);
    expect(opCounts(f)).toEqual({ FusedConv: 1, Add: 1 });
    expect(compareGraphs(g, f, { x: X })).toBeLessThan(1e-6);
    // Add(c, c) reads the conv output twice.
    const twice = fused(graph([conv('x', 'c'), node('Add', ['c', 'c'], ['y'])], [W, B]));
    expect(opCounts(twice)).toEqual({ FusedConv: 1, Add: 1 });
  });

  it('fuses the small CNN completely and its written ONNX runs in onnxruntime', async () => {
    const g = smallCnnGraph({ seed: 5 });
    const f = g.clone();
    foldConstants(f);
    foldBatchNorm(f);
    fuseConv(f);
    expect(opCounts(f)).toEqual({ FusedConv: 5, MaxPool: 1, AveragePool: 1, Flatten: 1, Gemm: 1, Softmax: 1 });
    const byName = Object.fromEntries(f.nodes.map((n) => [n.name, n]));
    expect(byName.conv1.attrs.activation).toBe('relu');
    expect(byName.dw.attrs).toMatchObject({ group: 16, strides: [2, 2], activation: 'clip', act_alpha: 0, act_beta: 6 });
    expect(byName.pw.attrs.activation).toBe('none');
    expect(byName.res_conv.attrs.activation).toBe('relu');
    expect(byName.res_conv.inputs[3]).toBe(byName.pw.outputs[0]);
    expect(byName.conv_hs.attrs.activation).toBe('hardswish');
    const input = randn(2 * 3 * 32 * 32, 6);
    expect(compareGraphs(g, f, { input })).toBeLessThan(1e-5);
    const bytes = writeModel(f);
    expect(parseModel(bytes).nodes.every((n) => n.domain === '')).toBe(true);
    const ort = await runOrt(bytes, { input: { data: input, dims: [2, 3, 32, 32] } });
    const ref = runReference(g, { input });
    expect(relErr(ort.logits as Float32Array, ref.logits as Float32Array)).toBeLessThan(1e-5);
  });
});
