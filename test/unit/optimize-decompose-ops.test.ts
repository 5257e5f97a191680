// The rewrites of this round's operators for the builtin backend: the trigonometric and hyperbolic functions in
// float16 (near zero, across each switch, at float16's ends), RMSNormalization, RotaryEmbedding, Attention (opset 23),
// AffineGrid, the window functions and EyeLike: onnxruntime's values, and the lowered FP32/FP16 programs.
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { AttrValue, Constant } from '../../lib/ir/types.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { decomposeForBuiltin } from '../../lib/optimize/decompose.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { roundToHalf } from '../../lib/util/half.js';
import { fp16Program as fp16Run, filledF32 as f32n, scalarF32 as f32c } from '../helpers/fp16-program.js';
import { node } from '../helpers/graphs.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';
import { int64, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

describe('decomposeForBuiltin: trigonometric, hyperbolic, opset-23 and grid operators', () => {
  it('Sinh, Cosh, Asinh, Acosh and Atanh run in an FP16 engine within 1e-2 of the reference, near zero (one) and at the ends of float16 too', () => {
    // Per op: values near the series' range, across the switch, and large ones (Sinh/Cosh up to 11.5, where e^x alone
    // would overflow float16 but the result does not; Asinh/Acosh up to 3000, whose squares would).
    const ranges: Record<string, number[]> = {
      Sinh: [1e-3, -2e-3, 0.01, 0.3, -0.49, 0.51, 1, -2.5, 5, 9, 11, -11.5, 11.5, 0, 0.1, -0.2],
      Cosh: [0, 1e-3, -0.5, 1, 2.5, -5, 9, 11, 11.5, -11.5, 0.2, 3, -7, 10, 0.7, -0.01],
      Asinh: [1e-3, -2e-3, 0.01, 0.2, -0.24, 0.26, 1, -3, 10, 100, -127, 129, 500, -3000, 3000, 0],
      Acosh: [1, 1.001, 1.01, 1.1, 1.2, 1.26, 1.5, 2, 5, 20, 100, 127, 129, 500, 3000, 60000],
      Atanh: [1e-3, -2e-3, 0.01, 0.2, -0.24, 0.26, 0.5, -0.75, 0.9, 0.99, -0.999, 0.3, -0.1, 0.05, 0.6, -0.4],
    };
    for (const [op, values] of Object.entries(ranges)) {
      const xv = Float32Array.from(values, (v) => roundToHalf(v));
      const { want, got } = fp16Run([node(op, ['x'], ['y'])], xv, 8);
      expect(Array.from(got).every(Number.isFinite), op).toBe(true);
      // Element by element: the small values would hide in a norm dominated by the large ones.
      for (let i = 0; i < want.length; i++) {
        const err = Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-3);
        expect(err, `${op}(${xv[i]})`).toBeLessThan(1e-2);
      }
    }
    // The closed forms alone fail there: atanh(0.001) through Log((1 + x) / (1 − x)) / 2 in float16 is 2% off,
    // and asinh(3000) through Log(x + Sqrt(x² + 1)) overflows.
    const naiveAtanh = fp16Run([node('Add', ['one', 'x'], ['p']), node('Sub', ['one', 'x'], ['m']), node('Div', ['p', 'm'], ['r']), node('Log', ['r'], ['l']), node('Mul', ['l', 'half'], ['y'])], Float32Array.from([0.001, 0.002]), 1, [f32c('one', 1), f32c('half', 0.5)]);
    expect(Math.abs(naiveAtanh.got[0] - naiveAtanh.want[0]) / naiveAtanh.want[0]).toBeGreaterThan(1e-2);
    const naiveAsinh = fp16Run([node('Mul', ['x', 'x'], ['s']), node('Add', ['s', 'one'], ['s1']), node('Sqrt', ['s1'], ['r']), node('Add', ['x', 'r'], ['u']), node('Log', ['u'], ['y'])], Float32Array.from([3000, 2]), 1, [f32c('one', 1)]);
    expect(naiveAsinh.got[0]).toBe(Infinity);
  });

  it('Sin, Cos, Tan, Atan, Asin and Acos run in an FP16 engine as the reference computes them, in every quadrant and at ±1, ±inf and NaN', () => {
    // Every quadrant, and arguments up to 2000, where the reduction still subtracts q·π/2 exactly in float16.
    const quadrants = [0, 1e-3, -0.3, 0.78, 0.79, -1.5, 1.58, 2.4, -3.1, 3.2, 4.7, -4.8, 100.5, -509, 1499, 2000];
    const cases: [string, number[], number][] = [
      ['Sin', quadrants, 5e-3],
      ['Cos', quadrants, 5e-3],
      ['Tan', [0, 1e-3, -0.3, 0.78, 0.8, -1.2, 1.4, 2.0, -2.5, 3.0, 3.3, -4.0, 4.5, 0.5, -0.7, 1.0], 1e-2],
      ['Atan', [0, 1e-3, -0.3, 0.41, 0.42, -0.99, 1, 1.01, 2.4, -10, 100, -3000, 60000, 0.2, 5, -0.6], 1e-2],
      ['Asin', [0, 1e-3, -0.3, 0.5, -0.7, 0.9, 0.99, -0.999, 1, -1, 0.2, 0.4, -0.45, 0.8, 0.95, 0.1], 1e-2],
      ['Acos', [0, 1e-3, -0.3, 0.5, -0.7, 0.9, 0.99, -0.999, 1, -1, 0.2, 0.4, -0.45, 0.8, 0.95, 0.9999], 1e-2],
    ];
    for (const [op, values, tol] of cases) {
      const xv = Float32Array.from(values, (v) => roundToHalf(v));
      const { want, got } = fp16Run([node(op, ['x'], ['y'])], xv, 8);
      for (let i = 0; i < want.length; i++) {
        // Sin and Cos absolutely (they cross zero), the others relative to the value.
        const err = Math.abs(got[i] - want[i]) / (op === 'Sin' || op === 'Cos' ? 1 : Math.max(Math.abs(want[i]), 1e-3));
        expect(err, `${op}(${xv[i]}) = ${got[i]}, reference ${want[i]}`).toBeLessThan(tol);
      }
    }
    // Past 2048 float16's q is no longer an exact integer: Sin and Cos stay finite sine values, Tan finite or ±inf.
    const huge = Float32Array.from([20000, 40000, 60000, -49984, 4096, -8192, 30000, 65504]);
    for (const op of ['Sin', 'Cos']) {
      const { got } = fp16Run([node(op, ['x'], ['y'])], huge, 4);
      for (const v of got) expect(Math.abs(v), `${op} of a huge argument`).toBeLessThanOrEqual(1);
    }
    expect(Array.from(fp16Run([node('Tan', ['x'], ['y'])], huge, 4).got).some(Number.isNaN)).toBe(false);
    // Outside the domains and the specials: onnxruntime's NaN and limits.
    const specials = Float32Array.from([NaN, Infinity, -Infinity, 1.5, -2, 0, 1, -1]);
    for (const op of ['Sin', 'Cos', 'Tan', 'Atan', 'Asin', 'Acos']) {
      const { want, got } = fp16Run([node(op, ['x'], ['y'])], specials, 4);
      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i])) expect(got[i], `${op}(${specials[i]})`).toBeNaN();
        else expect(Math.abs(got[i] - want[i]), `${op}(${specials[i]})`).toBeLessThan(2e-3 * Math.max(1, Math.abs(want[i])));
      }
    }
  });

  it('RMSNormalization in an FP16 engine: rows whose squares overflow float16, tiny rows and a zero row stay right', () => {
    // Rows of 8: values near 3000 (x² overflows float16 from 256), of 1e-4 (ε dominates: y ≈ x/√ε), zeros, ordinary.
    const rows = [Array.from({ length: 8 }, (_, i) => 3000 - 100 * i), Array.from({ length: 8 }, (_, i) => (i - 4) * 1e-4), new Array(8).fill(0), Array.from({ length: 8 }, (_, i) => Math.sin(i) * 3)];
    // The simulated engine runs batch 2: rows 0-1, then rows 2-3.
    const run = (pair: number[][]) => fp16Run([node('RMSNormalization', ['x', 'scale'], ['y'])], Float32Array.from(pair.flat(), (v) => roundToHalf(v)), 8, [f32c('scale', 1.25)], 23);
    const [a, b] = [run(rows.slice(0, 2)), run(rows.slice(2))];
    for (const { got } of [a, b]) expect(Array.from(got).every(Number.isFinite)).toBe(true);
    for (const [{ got, want }, r] of [[a, 0], [a, 1], [b, 1]] as const) expect(relL2(got.slice(r * 8, r * 8 + 8), want.slice(r * 8, r * 8 + 8)), `row ${r}`).toBeLessThan(2e-3);
    expect(Array.from(b.got.slice(0, 8))).toEqual(new Array(8).fill(0));
    const xv = Float32Array.from(rows.slice(0, 2).flat(), (v) => roundToHalf(v));
    // A large ε over a tiny row: (√ε/s)² would overflow float16 (y ≈ x/√ε there).
    const tinier = Array.from({ length: 8 }, (_, i) => (i - 4) * 1e-5);
    const bigEps = fp16Run([node('RMSNormalization', ['x', 'scale'], ['y'], { epsilon: 1e-2 })], Float32Array.from([...tinier, ...rows[3]], (v) => roundToHalf(v)), 8, [f32c('scale', 1.25)], 23);
    expect(relL2(bigEps.got.slice(0, 8), bigEps.want.slice(0, 8))).toBeLessThan(2e-3);
    expect(relL2(bigEps.got.slice(8), bigEps.want.slice(8))).toBeLessThan(2e-3);
    // float32 X with a float16 scale: Y is float16 (the scale's type); builtin leaves the mixed node and names it.
    const mixed = new Graph({
      opset: 23,
      inputs: [{ name: 'x', type: { dtype: 'float32', shape: [2, 8] } }],
      outputs: [{ name: 'y', type: { dtype: 'float16', shape: [] } }],
      nodes: [node('RMSNormalization', ['x', 'scale'], ['y'], {}, 'rms')],
      initializers: new Map([['scale', { name: 'scale', dtype: 'float16', dims: [8], data: new Uint16Array(8).fill(0x3c00) }]]),
    });
    inferShapes(mixed);
    expect(mixed.typeOf('y').dtype).toBe('float16');
    expect(() => lowerGraph(optimize(mixed, { fuse: true, precision: 'fp32' }), { min: 2, opt: 2, max: 2 })).toThrow(/RMSNormalization.*rms|rms.*RMSNormalization/);
    // The naive x / Sqrt(ReduceMean(x·x) + ε) overflows on the first row.
    const naive = fp16Run([node('Mul', ['x', 'x'], ['sq']), node('ReduceMean', ['sq', 'axes'], ['m'], { keepdims: 1 }), node('Add', ['m', 'eps'], ['me']), node('Sqrt', ['me'], ['r']), node('Div', ['x', 'r'], ['y'])], xv, 8, [f32c('eps', 1e-5)], 23);
    expect(Array.from(naive.got.slice(0, 8)).every((v) => v === 0)).toBe(true);
  });

  it('RotaryEmbedding on builtin: onnxruntime\'s values, and the lowered FP32 and FP16 programs, 3-D and 4-D, interleaved or halves, partial, ids given or not', async () => {
    const rand = (n: number, seed: number) => Float32Array.from(randn(n, seed));
    const configs: { name: string; shape: number[]; attrs: Record<string, AttrValue>; cache: number[]; ids?: number[] }[] = [
      { name: '4-D halves, ids', shape: [2, 3, 5, 8], attrs: {}, cache: [12, 4], ids: [0, 1, 2, 3, 4, 11, 7, 7, 0, 9] },
      { name: '4-D interleaved, rotary 4 of 8', shape: [2, 3, 5, 8], attrs: { interleaved: 1, rotary_embedding_dim: 4 }, cache: [12, 2], ids: [3, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
      { name: '3-D, caches per token', shape: [2, 5, 24], attrs: { num_heads: 3 }, cache: [2, 5, 4] },
      { name: '3-D interleaved, rotary 6', shape: [2, 5, 24], attrs: { num_heads: 3, interleaved: 1, rotary_embedding_dim: 6 }, cache: [10, 3], ids: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    ];
    for (const [k, c] of configs.entries()) {
      const cacheN = c.cache.reduce((a, v) => a * v, 1);
      // Angles of a real rotary cache: cos and sin of one angle per position and pair.
      const angles = Float32Array.from({ length: cacheN }, (_, i) => (i % 7) * 0.9 - 2);
      const g = new Graph({
        opset: 23,
        inputs: [{ name: 'x', type: { dtype: 'float32', shape: c.shape } }, ...(c.ids ? [{ name: 'p', type: { dtype: 'int64' as const, shape: [2, 5] } }] : [])],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [node('RotaryEmbedding', ['x', 'c', 's', ...(c.ids ? ['p'] : [])], ['y'], c.attrs, 'rope')],
        initializers: new Map([
          ['c', { name: 'c', dtype: 'float32', dims: c.cache, data: angles.map(Math.cos) }],
          ['s', { name: 's', dtype: 'float32', dims: c.cache, data: angles.map(Math.sin) }],
        ]),
      });
      inferShapes(g);
      const xv = rand(c.shape.reduce((a, v) => a * v, 1), 40 + k);
      const ids = c.ids ? BigInt64Array.from(c.ids, BigInt) : undefined;
      const feeds = { x: xv, ...(ids ? { p: ids } : {}) };
      const ortFeeds = { x: { data: xv, dims: c.shape }, ...(ids ? { p: { data: ids, dims: [2, 5], dtype: 'int64' as const } } : {}) };
      const want = (await runOrt(writeModel(g), ortFeeds)).y as Float32Array;
      expect(relErr(runReference(g, feeds).y as Float32Array, want), c.name).toBeLessThan(1e-6);
      const d = g.clone();
      decomposeForBuiltin(d);
      expect(opCounts(d).RotaryEmbedding, c.name).toBeUndefined();
      expect(relErr((await runOrt(writeModel(d), ortFeeds)).y as Float32Array, want), c.name).toBeLessThan(1e-6);
      for (const precision of ['fp32', 'fp16'] as const) {
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 1, max: 1 });
        expect(relL2(simulate(program, weights, feeds, 1).y, want), `${c.name} ${precision}`).toBeLessThan(precision === 'fp32' ? 1e-6 : 2e-3);
      }
    }
  });

  it('RotaryEmbedding refuses what it cannot mean: an id outside the caches (reference), an odd or too large rotary dim, a 3-D input without heads', () => {
    const make = (attrs: Record<string, AttrValue>, shape: number[], cache: number[]) => {
      const g = new Graph({
        opset: 23,
        inputs: [{ name: 'x', type: { dtype: 'float32', shape } }, { name: 'p', type: { dtype: 'int64', shape: [1, 2] } }],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [node('RotaryEmbedding', ['x', 'c', 's', 'p'], ['y'], attrs, 'rope')],
        initializers: new Map([['c', f32n('c', cache)], ['s', f32n('s', cache)]]),
      });
      inferShapes(g);
      return g;
    };
    const g = make({}, [1, 1, 2, 4], [3, 2]);
    expect(() => runReference(g, { x: new Float32Array(8), p: BigInt64Array.from([0n, 3n]) })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_INPUT', message: expect.stringMatching(/'rope'.*position id 3.*3 rows/) }));
    expect(() => make({ rotary_embedding_dim: 3 }, [1, 1, 2, 4], [3, 1])).toThrow(/rotary_embedding_dim 3 must be even/);
    expect(() => make({ rotary_embedding_dim: 6 }, [1, 1, 2, 4], [3, 3])).toThrow(/rotary_embedding_dim 6 must be even and at most the head size 4/);
    expect(() => make({}, [1, 2, 8], [3, 2])).toThrow(/num_heads must be positive/);
    expect(() => make({}, [1, 1, 2, 4], [3, 3])).toThrow(/last dimension 3 is not rotary_embedding_dim \/ 2 = 2/);
    // Position ids and per-token caches must be the input's [batch, sequence]: neither broadcasts.
    expect(() => make({}, [1, 1, 3, 4], [3, 2])).toThrow(/position_ids must be the input's \[batch, sequence\] \[1, 3\], got \[1, 2\]/);
    const perToken = new Graph({
      opset: 23,
      inputs: [{ name: 'x', type: { dtype: 'float32', shape: [2, 5, 24] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('RotaryEmbedding', ['x', 'c', 's'], ['y'], { num_heads: 3 }, 'rope')],
      initializers: new Map([['c', f32n('c', [1, 5, 4])], ['s', f32n('s', [1, 5, 4])]]),
    });
    expect(() => inferShapes(perToken)).toThrow(expect.objectContaining({ code: 'ERR_SHAPE_MISMATCH', message: expect.stringMatching(/not per token of the input's \[batch, sequence\] \[2, 5\]/) }));
  });

  it('Attention (opset 23) on builtin: onnxruntime\'s values, one fused attention layer where there is no softcap, and the lowered FP32 and FP16 programs', async () => {
    const configs: { name: string; q: number[]; k: number[]; v: number[]; attrs: Record<string, AttrValue>; mask?: Constant; fused: boolean }[] = [
      { name: '4-D', q: [2, 3, 4, 8], k: [2, 3, 5, 8], v: [2, 3, 5, 8], attrs: {}, fused: true },
      { name: 'grouped heads, float mask', q: [2, 4, 3, 8], k: [2, 2, 5, 8], v: [2, 2, 5, 8], attrs: { scale: 0.3 }, mask: { name: 'm', dtype: 'float32', dims: [3, 5], data: randn(15, 12) }, fused: true },
      { name: '3-D, bool mask', q: [2, 3, 16], k: [2, 5, 8], v: [2, 5, 12], attrs: { q_num_heads: 4, kv_num_heads: 2 }, mask: { name: 'm', dtype: 'bool', dims: [2, 1, 3, 5], data: Uint8Array.from({ length: 30 }, (_, i) => (i % 5 === 3 ? 0 : 1)) }, fused: true },
      { name: 'causal', q: [1, 2, 4, 8], k: [1, 2, 4, 8], v: [1, 2, 4, 8], attrs: { is_causal: 1 }, fused: true },
      { name: 'soft-capped', q: [1, 2, 3, 8], k: [1, 2, 5, 8], v: [1, 2, 5, 8], attrs: { softcap: 2.5 }, fused: false },
    ];
    for (const [i, c] of configs.entries()) {
      const g = new Graph({
        opset: 23,
        inputs: (['q', 'k', 'v'] as const).map((name) => ({ name, type: { dtype: 'float32' as const, shape: c[name] } })),
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [node('Attention', ['q', 'k', 'v', ...(c.mask ? ['m'] : [])], ['y'], c.attrs, 'attn')],
        initializers: new Map(c.mask ? [['m', c.mask]] : []),
      });
      inferShapes(g);
      const feeds = Object.fromEntries((['q', 'k', 'v'] as const).map((name, j) => [name, Float32Array.from(randn(c[name].reduce((a, x) => a * x, 1), 60 + 3 * i + j))]));
      const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([name, data]) => [name, { data, dims: c[name as 'q'] }]));
      const want = (await runOrt(writeModel(g), ortFeeds)).y as Float32Array;
      const d = g.clone();
      decomposeForBuiltin(d);
      expect(opCounts(d).Attention, c.name).toBeUndefined();
      expect(relErr((await runOrt(writeModel(d), ortFeeds)).y as Float32Array, want), c.name).toBeLessThan(1e-5);
      for (const precision of ['fp32', 'fp16'] as const) {
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 1, max: 1 });
        expect(program.layers.filter((l) => OP_NAMES[l.op] === 'attention').length, `${c.name} ${precision}`).toBe(c.fused ? 1 : 0);
        expect(relL2(simulate(program, weights, feeds, 1).y, want), `${c.name} ${precision}`).toBeLessThan(precision === 'fp32' ? 1e-5 : 5e-3);
      }
    }
    // With past key and value (a decoder's cache) it stays, and builtin names it.
    const past = new Graph({
      opset: 23,
      inputs: ['q', 'k', 'v', 'pk', 'pv'].map((name) => ({ name, type: { dtype: 'float32' as const, shape: [1, 2, name.startsWith('p') ? 3 : 1, 4] } })),
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('Attention', ['q', 'k', 'v', '', 'pk', 'pv'], ['y'], {}, 'decoder_attn')],
      initializers: new Map(),
    });
    inferShapes(past);
    expect(() => lowerGraph(optimize(past, { fuse: true, precision: 'fp32' }), { min: 1, opt: 1, max: 1 })).toThrow(/Attention.*decoder_attn|decoder_attn.*Attention/);
  });

  it('AffineGrid: the reference and the builtin rewrite (one GEMM) give onnxruntime\'s grids, 2-D and 3-D, align_corners 0 and 1, and the lowered FP32 and FP16 programs', async () => {
    for (const [k, ac] of [[2, 0], [2, 1], [3, 0], [3, 1]] as const) {
      const size = k === 2 ? [2, 3, 4, 5] : [2, 3, 3, 4, 2];
      const g = new Graph({
        opset: 20,
        inputs: [{ name: 'theta', type: { dtype: 'float32', shape: [2, k, k + 1] } }],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [node('AffineGrid', ['theta', 'size'], ['y'], { align_corners: ac }, 'grid')],
        initializers: new Map([['size', int64('size', size)]]),
      });
      inferShapes(g);
      expect(g.typeOf('y').shape).toEqual([2, ...size.slice(2), k]);
      const theta = Float32Array.from(randn(2 * k * (k + 1), 70 + k + ac));
      const want = (await runOrt(writeModel(g), { theta: { data: theta, dims: [2, k, k + 1] } })).y as Float32Array;
      expect(relErr(runReference(g, { theta }).y as Float32Array, want)).toBeLessThan(1e-6);
      const d = g.clone();
      decomposeForBuiltin(d);
      expect(opCounts(d).AffineGrid).toBeUndefined();
      expect(relErr((await runOrt(writeModel(d), { theta: { data: theta, dims: [2, k, k + 1] } })).y as Float32Array, want)).toBeLessThan(1e-6);
      for (const precision of ['fp32', 'fp16'] as const) {
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 1, max: 1 });
        expect(relL2(simulate(program, weights, { theta }, 1).y, want), `${k}-D ${precision}`).toBeLessThan(precision === 'fp32' ? 1e-6 : 2e-3);
      }
    }
  });

  it('AffineGrid refuses a theta that does not fit the size, and a size known only at run time', () => {
    const make = (thetaShape: number[], sizeInput: boolean) => {
      const g = new Graph({
        opset: 20,
        inputs: [{ name: 'theta', type: { dtype: 'float32', shape: thetaShape } }, ...(sizeInput ? [{ name: 'size', type: { dtype: 'int64' as const, shape: [4] } }] : [])],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [node('AffineGrid', ['theta', 'size'], ['y'], {}, 'grid')],
        initializers: new Map(sizeInput ? [] : [['size', int64('size', [2, 3, 4, 5])]]),
      });
      inferShapes(g);
    };
    expect(() => make([2, 3, 4], false)).toThrow(expect.objectContaining({ code: 'ERR_SHAPE_MISMATCH', message: expect.stringMatching(/theta must be \[N, 2, 3\]/) }));
    expect(() => make([3, 2, 3], false)).toThrow(/size's batch 2 differs from theta's 3/);
    expect(() => make([2, 2, 3], true)).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_OP' }));
    const huge = new Graph({
      opset: 20,
      inputs: [{ name: 'theta', type: { dtype: 'float32', shape: [1, 2, 3] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('AffineGrid', ['theta', 'size'], ['y'], {}, 'grid')],
      initializers: new Map([['size', int64('size', [1, 1, 100000, 100000])]]),
    });
    expect(() => inferShapes(huge)).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_OP', message: expect.stringMatching(/grid of 10000000000 points/) }));
  });

  it('a window of constant size (HannWindow, HammingWindow, BlackmanWindow) folds, so builtin runs what uses it; a size from data stays unsupported there', () => {
    for (const op of ['HannWindow', 'HammingWindow', 'BlackmanWindow']) {
      const g = new Graph({
        opset: 17,
        inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 16] } }],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [node(op, ['size'], ['w'], {}, 'win'), node('Mul', ['x', 'w'], ['y'])],
        initializers: new Map([['size', int64('size', [16], [])]]),
      });
      inferShapes(g);
      const x = Float32Array.from(randn(32, 5));
      const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision: 'fp32' }), { min: 1, opt: 2, max: 2 });
      expect(relL2(simulate(program, weights, { x }, 2).y, runReference(g, { x }).y as Float32Array), op).toBeLessThan(1e-6);
    }
    const fromData = new Graph({
      opset: 17,
      inputs: [{ name: 'size', type: { dtype: 'int64', shape: [] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('HannWindow', ['size'], ['y'], {}, 'win')],
      initializers: new Map(),
    });
    inferShapes(fromData);
    expect(() => lowerGraph(optimize(fromData, { fuse: true, precision: 'fp32' }), { min: 1, opt: 1, max: 1 })).toThrow(/HannWindow|win/);
  });

  it('CenterCropPad on builtin: a Slice and a Pad whose lowered FP32 and FP16 programs give the reference\'s crop', () => {
    for (const [shape, target, axes] of [[[2, 3, 9, 6], [4, 9], [2, 3]], [[2, 5, 4], [3, 7], [1, 2]], [[2, 4, 4], [4, 4], [1, 2]]] as const) {
      const g = new Graph({
        opset: 18,
        inputs: [{ name: 'x', type: { dtype: 'float32', shape: [...shape] } }],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [node('CenterCropPad', ['x', 's'], ['y'], { axes: [...axes] }, 'crop')],
        initializers: new Map([['s', int64('s', [...target])]]),
      });
      inferShapes(g);
      const x = Float32Array.from(randn(shape.reduce((a, v) => a * v, 1), 90));
      const want = runReference(g, { x }).y as Float32Array;
      for (const precision of ['fp32', 'fp16'] as const) {
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 1, max: 1 });
        expect(relL2(simulate(program, weights, { x }, 1).y, want), `${shape} → ${target} ${precision}`).toBeLessThan(precision === 'fp32' ? 1e-7 : 1e-3);
      }
    }
  });

  it('EyeLike of a static shape is the identity constant on builtin (FP32 and FP16, any k and dtype); of a dynamic one it stays and the backend names it', () => {
    for (const [k, dtype] of [[1, undefined], [-2, 10], [0, 7]] as const) {
      const g = new Graph({
        opset: 17,
        inputs: [{ name: 'x', type: { dtype: 'float32', shape: [4, 6] } }],
        outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
        nodes: [node('EyeLike', ['x'], ['e'], { k, ...(dtype ? { dtype } : {}) }), node('Cast', ['e'], ['ef'], { to: 1 }), node('Add', ['ef', 'x'], ['y'])],
        initializers: new Map(),
      });
      inferShapes(g);
      const d = g.clone();
      decomposeForBuiltin(d);
      expect(opCounts(d).EyeLike).toBeUndefined();
      const x = Float32Array.from({ length: 24 }, (_, i) => i * 0.5);
      const want = runReference(g, { x }).y as Float32Array;
      expect(Array.from(want.filter((v, i) => v !== x[i]))).toHaveLength(4 - Math.max(0, k + 4 - 6) - Math.max(0, -k));
      for (const precision of ['fp32', 'fp16'] as const) {
        const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision }), { min: 1, opt: 1, max: 1 });
        expect(Array.from(simulate(program, weights, { x }, 1).y)).toEqual(Array.from(want));
      }
    }
    const dyn = new Graph({
      opset: 17,
      inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', 6] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('EyeLike', ['x'], ['y'], {}, 'eye')],
      initializers: new Map(),
    });
    inferShapes(dyn);
    expect(() => lowerGraph(optimize(dyn, { fuse: true, precision: 'fp32' }), { min: 1, opt: 2, max: 4 })).toThrow(/EyeLike.*eye|eye.*EyeLike/);
  });

});
