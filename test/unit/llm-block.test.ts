// A decoder block as recent exporters write it with the opset-23 operators: RMSNormalization, RotaryEmbedding on
// the query and key projections (grouped key/value heads), causal Attention, an output projection and a SiLU MLP,
// with residuals. The reference backend against onnxruntime-node, and the builtin lowering (one fused attention
// layer) simulated in FP32 and FP16.
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Constant } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { node } from '../helpers/graphs.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';
import { f32, randn, relErr, runOrt } from './reference-helpers.js';

const [B, S, E, HQ, HK, D, F] = [2, 6, 64, 4, 2, 16, 128];

function decoderBlock(): Graph {
  const w = (name: string, dims: number[], seed: number, scale: number) => f32(name, dims, randn(dims.reduce((a, b) => a * b, 1), seed).map((v) => v * scale));
  // Rotary caches of a real RoPE: angle p·θᵢ, θᵢ = 10000^(−2i/D).
  const angles = Float32Array.from({ length: 16 * (D / 2) }, (_, k) => Math.floor(k / (D / 2)) * 10000 ** (-(2 * (k % (D / 2))) / D));
  const cache = (name: string, f: (a: number) => number): Constant => ({ name, dtype: 'float32', dims: [16, D / 2], data: angles.map(f) });
  const consts: Constant[] = [
    f32('g1', [E], randn(E, 1).map((v) => 1 + 0.1 * v)),
    f32('g2', [E], randn(E, 2).map((v) => 1 + 0.1 * v)),
    w('wq', [E, HQ * D], 3, 0.125), w('wk', [E, HK * D], 4, 0.125), w('wv', [E, HK * D], 5, 0.125), w('wo', [HQ * D, E], 6, 0.125),
    w('w1', [E, F], 7, 0.125), w('w2', [F, E], 8, 0.09),
    cache('cos', Math.cos), cache('sin', Math.sin),
  ];
  const g = new Graph({
    opset: 23,
    inputs: [{ name: 'x', type: { dtype: 'float32', shape: [B, S, E] } }, { name: 'pos', type: { dtype: 'int64', shape: [B, S] } }],
    outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
    nodes: [
      node('RMSNormalization', ['x', 'g1'], ['h'], { epsilon: 1e-6 }, 'attn_norm'),
      node('MatMul', ['h', 'wq'], ['q']), node('MatMul', ['h', 'wk'], ['k']), node('MatMul', ['h', 'wv'], ['v']),
      node('RotaryEmbedding', ['q', 'cos', 'sin', 'pos'], ['qr'], { num_heads: HQ }, 'rope_q'),
      node('RotaryEmbedding', ['k', 'cos', 'sin', 'pos'], ['kr'], { num_heads: HK }, 'rope_k'),
      node('Attention', ['qr', 'kr', 'v'], ['a'], { is_causal: 1, q_num_heads: HQ, kv_num_heads: HK }, 'attn'),
      node('MatMul', ['a', 'wo'], ['o']), node('Add', ['o', 'x'], ['r1']),
      node('RMSNormalization', ['r1', 'g2'], ['h2'], { epsilon: 1e-6 }, 'mlp_norm'),
      node('MatMul', ['h2', 'w1'], ['u']), node('Sigmoid', ['u'], ['us']), node('Mul', ['u', 'us'], ['silu']),
      node('MatMul', ['silu', 'w2'], ['m']), node('Add', ['m', 'r1'], ['y']),
    ],
    initializers: new Map(consts.map((c) => [c.name, c])),
  });
  inferShapes(g);
  return g;
}

describe('an opset-23 decoder block (RMSNorm, rotary, grouped causal attention, SiLU MLP)', () => {
  const x = Float32Array.from(randn(B * S * E, 11));
  const pos = BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i % S) + (i >= S ? 3 : 0)));

  it('runs on the reference backend as onnxruntime does, and on builtin with one fused attention layer in FP32 and FP16', async () => {
    const g = decoderBlock();
    const want = (await runOrt(writeModel(g), { x: { data: x, dims: [B, S, E] }, pos: { data: pos, dims: [B, S], dtype: 'int64' } })).y as Float32Array;
    expect(relErr(runReference(g, { x, pos }).y as Float32Array, want)).toBeLessThan(1e-5);
    for (const precision of ['fp32', 'fp16'] as const) {
      const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 1, max: 1 });
      expect(program.layers.filter((l) => OP_NAMES[l.op] === 'attention'), precision).toHaveLength(1);
      expect(relL2(simulate(program, weights, { x, pos }, 1).y, want), precision).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
    }
  });
});
