// FP16 autocast: float16 compute, float32 I/O, float32 islands for Softmax and reductions, and
// a written model that onnxruntime runs with fp16-level error.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import type { Constant, Node } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { autocastFp16 } from '../../lib/optimize/autocast.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { roundToHalf } from '../../lib/util/half.js';
import { smallCnnGraph } from '../../scripts/gen-models.js';
import { inferredGraph, node } from '../helpers/graphs.js';
import { f32, int64, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

const graph = (nodes: Node[], constants: Constant[], outputs: string[]): Graph => inferredGraph(nodes, ['n', 3, 4, 4], outputs, constants);

describe('autocastFp16', () => {
  const g = graph(
    [
      node('Conv', ['x', 'w', 'b'], ['c']),
      node('Relu', ['c'], ['r']),
      node('GlobalAveragePool', ['r'], ['p']),
      node('Flatten', ['p'], ['f']),
      node('Gemm', ['f', 'fc'], ['logits'], { transB: 1 }),
      node('Softmax', ['logits'], ['probs']),
      node('ReduceMean', ['r'], ['m'], { axes: [2, 3], keepdims: 0 }),
      node('Add', ['x', 'x'], ['twice']),
      node('Reshape', ['f', 'shape'], ['f2']),
      node('Relu', ['f2'], ['f3']),
    ],
    [f32('w', [5, 3, 1, 1], randn(15, 1)), f32('b', [5], randn(5, 2)), f32('fc', [7, 5], randn(35, 3)), int64('shape', [-1, 5])],
    ['logits', 'probs', 'm', 'twice', 'f3'],
  );
  const a = g.clone();
  autocastFp16(a);

  it('computes in float16 between float32 inputs and outputs', () => {
    expect(a.inputs[0].type.dtype).toBe('float32');
    for (const o of a.outputs) expect(a.typeOf(o.name).dtype).toBe('float32');
    const byOp = (op: string) => a.nodes.filter((n) => n.op === op);
    for (const op of ['Conv', 'Relu', 'Flatten', 'Gemm', 'Add']) for (const n of byOp(op)) expect(a.typeOf(n.outputs[0]).dtype).toBe('float16');
    for (const op of ['GlobalAveragePool', 'Softmax', 'ReduceMean']) for (const n of byOp(op)) {
      expect(a.typeOf(n.inputs[0]).dtype).toBe('float32');
      expect(a.typeOf(n.outputs[0]).dtype).toBe('float32');
    }
    // One Cast of x to fp16 (shared by Conv and Add), r→fp32 (shared by GAP and ReduceMean),
    // GAP→fp16 for the Gemm, logits→fp32 for Softmax and the output, twice→fp32, f3→fp32.
    expect(opCounts(a).Cast).toBe(6);
    expect(a.nodes.filter((n) => n.op === 'Cast' && n.inputs[0] === 'x')).toHaveLength(1);
  });

  it('with fp16Means, keeps means of float16 values in float16, and a mean of a float32 sum in float32', () => {
    const h = graph(
      [...g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })), node('ReduceSum', ['r', 'ax'], ['s'], { keepdims: 0 }), node('ReduceMean', ['s'], ['ms'], { axes: [1], keepdims: 0 })],
      [...g.initializers.values(), int64('ax', [2, 3])],
      ['logits', 'probs', 'm', 'twice', 'f3', 'ms'],
    );
    autocastFp16(h, { fp16Means: true });
    const of = (op: string, input: string) => h.nodes.find((n) => n.op === op && (n.inputs[0] === input || n.inputs[0].startsWith(`${input}_`)))!;
    for (const op of ['GlobalAveragePool', 'ReduceMean']) {
      const n = of(op, 'r');
      expect(h.typeOf(n.inputs[0]).dtype).toBe('float16');
      expect(h.typeOf(n.outputs[0]).dtype).toBe('float16');
    }
    // The sum runs in float32 (it may pass 65504); its mean reads it as it is.
    const mean = of('ReduceMean', 's');
    expect(h.typeOf(mean.inputs[0]).dtype).toBe('float32');
    expect(h.typeOf(mean.outputs[0]).dtype).toBe('float32');
    // Casts: x→fp16, r→fp32 for the sum, logits→fp32, and the outputs m, twice and f3 back to fp32.
    expect(opCounts(h).Cast).toBe(6);
    const x = randn(2 * 3 * 16, 4);
    const ref = runReference(g, { x });
    const got = runReference(h, { x });
    for (const o of ['logits', 'm']) expect(relErr(got[o] as Float32Array, ref[o] as Float32Array)).toBeLessThan(1e-2);
  });

  it('optimize: the fused graph (builtin) pools in float16, the unfused one (handed to TensorRT) in float32', () => {
    const pool = (o: Graph) => o.typeOf(o.nodes.find((n) => n.op === 'GlobalAveragePool')!.outputs[0]).dtype;
    expect(pool(optimize(g, { fuse: true, precision: 'fp16' }))).toBe('float16');
    expect(pool(optimize(g, { fuse: false, precision: 'fp16' }))).toBe('float32');
  });

  it('converts float initializers to float16 bits and leaves int ones', () => {
    for (const name of a.nodes.find((n) => n.op === 'Conv')!.inputs.slice(1)) {
      const c = a.initializers.get(name)!;
      expect(c.dtype).toBe('float16');
      expect(c.data).toBeInstanceOf(Uint16Array);
    }
    expect(a.initializers.has('w')).toBe(false);
    expect(a.initializers.get('shape')!.dtype).toBe('int64');
  });

  it('matches float32 within fp16 error, in the reference and in onnxruntime', async () => {
    const x = randn(2 * 48, 4);
    const ref32 = runReference(g, { x });
    const ref16 = runReference(a, { x });
    const ort16 = await runOrt(writeModel(a), { x: { data: x, dims: [2, 3, 4, 4] } });
    for (const o of g.outputs) {
      const e32 = relErr(ref16[o.name] as Float32Array, ref32[o.name] as Float32Array);
      expect(e32, o.name).toBeLessThan(5e-3);
      expect(e32, o.name).toBeGreaterThan(0);
      expect(relErr(ort16[o.name] as Float32Array, ref16[o.name] as Float32Array), o.name).toBeLessThan(2e-3);
    }
    // x + x in fp16 is exactly 2·round16(x).
    const twice = ref16.twice as Float32Array;
    for (let i = 0; i < 10; i++) expect(twice[i]).toBe(2 * roundToHalf(x[i]));
  });
});

describe('optimize(…, { precision: fp16 })', () => {
  it('small CNN: written ONNX runs in onnxruntime close to float32, fused and unfused', async () => {
    const g = smallCnnGraph({ seed: 8 });
    const input = randn(2 * 3 * 32 * 32, 3);
    const ref = runReference(g, { input });
    for (const fuse of [true, false]) {
      const o = optimize(g, { fuse, precision: 'fp16' });
      const softmax = o.nodes.find((n) => n.op === 'Softmax')!;
      expect(o.typeOf(softmax.inputs[0]).dtype).toBe('float32');
      const ort = await runOrt(writeModel(o), { input: { data: input, dims: [2, 3, 32, 32] } });
      const mine = runReference(o, { input });
      for (const name of ['logits', 'probs']) {
        expect(relErr(ort[name] as Float32Array, ref[name] as Float32Array)).toBeLessThan(1e-2);
        expect(relErr(mine[name] as Float32Array, ref[name] as Float32Array)).toBeLessThan(1e-2);
        expect(relErr(mine[name] as Float32Array, ort[name] as Float32Array)).toBeLessThan(5e-3);
      }
    }
  });
});
