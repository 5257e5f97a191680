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
    // Means stay in float16 (float32 accumulation is the kernels' business); Softmax runs in float32.
    for (const op of ['Conv', 'Relu', 'Flatten', 'Gemm', 'Add', 'GlobalAveragePool', 'ReduceMean']) for (const n of byOp(op)) expect(a.typeOf(n.outputs[0]).dtype).toBe('float16');
    for (const n of byOp('Softmax')) {
      expect(a.typeOf(n.inputs[0]).dtype).toBe('float32');
      expect(a.typeOf(n.outputs[0]).dtype).toBe('float32');
    }
    // One Cast of x to fp16 (shared by Conv and Add), logits→fp32 for Softmax and the output, and the outputs
    // m, twice and f3 back to fp32.
    expect(opCounts(a).Cast).toBe(5);
    expect(a.nodes.filter((n) => n.op === 'Cast' && n.inputs[0] === 'x')).toHaveLength(1);
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
