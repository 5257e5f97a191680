import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import { Graph } from '../../lib/ir/graph.js';
import type { Constant, Dim, TensorType } from '../../lib/ir/types.js';
import { uniformRandom } from '../../lib/util/random.js';
import { node } from '../helpers/graphs.js';
import { overlappingTensors, simulate } from '../helpers/program-sim.js';

const B = 'batch';

function constant(name: string, dims: number[], seed: number, scale = 0.5): Constant {
  const r = uniformRandom(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dtype: 'float32', dims, data: Float32Array.from({ length: n }, () => r() * scale) };
}

const t = (shape: Dim[]): TensorType => ({ dtype: 'float32', shape });

/** input [B,3,9,7] → Conv(4, 3×3, stride 2, pad 1) + bias + relu → (+ residual conv 1×1) → GAP → Flatten → Gemm(5) → Softmax */
function smallGraph(): Graph {
  const init = new Map<string, Constant>();
  for (const c of [
    constant('w1', [4, 3, 3, 3], 1),
    constant('b1', [4], 2),
    constant('w2', [4, 4, 1, 1], 3),
    constant('wd', [4, 1, 3, 3], 4),
    constant('fc', [5, 4], 5),
    constant('fcb', [5], 6),
  ])
    init.set(c.name, c);
  const types = new Map([
    ['x', t([B, 3, 9, 7])],
    ['c1', t([B, 4, 5, 4])],
    ['d1', t([B, 4, 5, 4])],
    ['c2', t([B, 4, 5, 4])],
    ['g', t([B, 4, 1, 1])],
    ['f', t([B, 4])],
    ['l', t([B, 5])],
    ['y', t([B, 5])],
  ]);
  return new Graph({
    opset: 17,
    inputs: [{ name: 'x', type: t([B, 3, 9, 7]) }],
    outputs: [{ name: 'y', type: t([B, 5]) }],
    initializers: init,
    types,
    nodes: [
      node('FusedConv', ['x', 'w1', 'b1'], ['c1'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, activation: 'relu' }),
      node('FusedConv', ['c1', 'wd', ''], ['d1'], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 4, activation: 'clip', act_alpha: 0, act_beta: 6 }),
      node('FusedConv', ['d1', 'w2', '', 'c1'], ['c2'], { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1, activation: 'none' }),
      node('GlobalAveragePool', ['c2'], ['g']),
      node('Flatten', ['g'], ['f'], { axis: 1 }),
      node('Gemm', ['f', 'fc', 'fcb'], ['l'], { transB: 1 }),
      node('Softmax', ['l'], ['y'], { axis: -1 }),
    ],
  });
}

/** The same network computed directly in NCHW, independently of the lowering. */
function direct(g: Graph, x: Float32Array, batch: number): number[] {
  const w = (n: string) => g.initializers.get(n)!.data as Float32Array;
  const conv = (inp: number[], C: number, H: number, W: number, wt: Float32Array, K: number, R: number, S: number, st: number, pd: number, groups: number, bias?: Float32Array) => {
    const P = Math.floor((H + 2 * pd - R) / st) + 1;
    const Q = Math.floor((W + 2 * pd - S) / st) + 1;
    const out = new Array(batch * K * P * Q).fill(0);
    const cg = C / groups;
    for (let n = 0; n < batch; n++)
      for (let k = 0; k < K; k++)
        for (let p = 0; p < P; p++)
          for (let q = 0; q < Q; q++) {
            let acc = bias ? bias[k] : 0;
            const gi = Math.floor(k / (K / groups));
            for (let c = 0; c < cg; c++)
              for (let r = 0; r < R; r++)
                for (let s = 0; s < S; s++) {
                  const h = p * st - pd + r;
                  const ww = q * st - pd + s;
                  if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                  acc += inp[((n * C + gi * cg + c) * H + h) * W + ww] * wt[((k * cg + c) * R + r) * S + s];
                }
            out[((n * K + k) * P + p) * Q + q] = acc;
          }
    return out;
  };
  const c1 = conv(Array.from(x), 3, 9, 7, w('w1'), 4, 3, 3, 2, 1, 1, w('b1')).map((v) => Math.max(v, 0));
  const d1 = conv(c1, 4, 5, 4, w('wd'), 4, 3, 3, 1, 1, 4).map((v) => Math.min(Math.max(v, 0), 6));
  const c2 = conv(d1, 4, 5, 4, w('w2'), 4, 1, 1, 1, 0, 1).map((v, i) => v + c1[i]);
  const out: number[] = [];
  for (let n = 0; n < batch; n++) {
    const gap = [0, 1, 2, 3].map((c) => c2.slice((n * 4 + c) * 20, (n * 4 + c + 1) * 20).reduce((a, b) => a + b, 0) / 20);
    const logits = [0, 1, 2, 3, 4].map((j) => gap.reduce((a, v, c) => a + v * w('fc')[j * 4 + c], w('fcb')[j]));
    const m = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / sum));
  }
  return out;
}

describe('builtin lowering', () => {
  it('lowers to NHWC layers with packed weights and I/O', () => {
    const { program, weights, inputs, outputs } = lowerGraph(smallGraph(), { min: 1, opt: 2, max: 4 });
    const ops = program.layers.map((l) => OP_NAMES[l.op]);
    expect(ops).toEqual(['copy', 'conv', 'conv', 'conv', 'reduce', 'conv', 'softmax']);
    expect(inputs).toEqual([{ name: 'x', shape: [B, 3, 9, 7], dtype: 'float32' }]);
    expect(outputs).toEqual([{ name: 'y', shape: [B, 5], dtype: 'float32' }]);
    expect(program.io.map((i) => i.shape)).toEqual([[-1, 3, 9, 7], [-1, 5]]);
    expect(weights.byteLength).toBe(program.weightsBytes);
    expect(program).toMatchObject({ minBatch: 1, optBatch: 2, maxBatch: 4 });
    // the depthwise conv stores RSC weights, 3·3·4 floats
    const dw = program.layers[2];
    expect(program.tensors[dw.inputs[1]].bytes).toBe(3 * 3 * 4 * 4);
  });

  it('computes what the model computes (CPU simulation of the program vs a direct NCHW computation)', () => {
    const g = smallGraph();
    const { program, weights } = lowerGraph(g, { min: 1, opt: 2, max: 4 });
    for (const batch of [1, 3]) {
      const r = uniformRandom(100 + batch);
      const x = Float32Array.from({ length: batch * 3 * 9 * 7 }, () => r());
      const got = simulate(program, weights, { x }, batch).y;
      const want = direct(g, x, batch);
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    }
  });

  it('plans memory so that live tensors never overlap, and reuses dead ones', () => {
    const { program } = lowerGraph(smallGraph(), { min: 1, opt: 2, max: 4 });
    for (const cap of [1, 4]) expect(overlappingTensors(program, cap)).toEqual([]);
    const total = program.tensors.filter((t) => t.loc === 0 && t.batched).reduce((a, t) => a + Math.ceil(t.bytes / 256) * 256, 0);
    expect(program.batchedArenaBytes).toBeLessThan(total);
  });

  it('lowers BatchNormalization as scale and shift without touching the graph it is given', () => {
    const params = ['scale', 'bias', 'mean', 'var'].map((name, i) => constant(name, [3], 20 + i));
    const variance = params[3].data as Float32Array;
    variance.forEach((v, i) => (variance[i] = Math.abs(v) + 0.1));
    const g = new Graph({
      opset: 17,
      inputs: [{ name: 'x', type: t([B, 3, 2, 2]) }],
      outputs: [{ name: 'y', type: t([B, 3, 2, 2]) }],
      initializers: new Map(params.map((c) => [c.name, c])),
      types: new Map([['x', t([B, 3, 2, 2])], ['y', t([B, 3, 2, 2])]]),
      nodes: [node('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], ['y'], { epsilon: 1e-3 })],
    });
    const before = { initializers: [...g.initializers.keys()], types: [...g.types.keys()] };
    const { program, weights } = lowerGraph(g, { min: 1, opt: 1, max: 2 });
    expect({ initializers: [...g.initializers.keys()], types: [...g.types.keys()] }).toEqual(before);
    const x = Float32Array.from({ length: 2 * 12 }, uniformRandom(30));
    const got = simulate(program, weights, { x }, 2).y;
    const [scale, bias, mean] = params.map((c) => c.data as Float32Array);
    x.forEach((v, i) => {
      const c = Math.floor(i / 4) % 3;
      expect(got[i]).toBeCloseTo(((v - mean[c]) / Math.sqrt(variance[c] + 1e-3)) * scale[c] + bias[c], 5);
    });
  });
});
