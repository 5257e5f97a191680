// RNN, GRU and LSTM: the reference kernels against onnxruntime-node on one-node models (directions, layouts,
// sequence lengths, initial states, peepholes, clip, linear_before_reset), and their bad forms as coded errors.
import { describe, expect, it } from 'vitest';
import type { Constant } from '../../lib/ir/types.js';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';
import { expectOrtAgreement, f32, opCounts, opGraph, randn, relErr, type OpCase } from './reference-helpers.js';

const I = 3, H = 4, S = 5, N = 2;
const w = (name: string, dims: number[], seed: number, scale = 0.5) => f32(name, dims, randn(dims.reduce((a, b) => a * b, 1), seed).map((v) => v * scale));
const lens = (name: string, v: number[]): Constant => ({ name, dtype: 'int32', dims: [v.length], data: Int32Array.from(v) });

/** A recurrent case: op, gates, directions, and which optional inputs and outputs it has. */
function rnn(op: 'RNN' | 'GRU' | 'LSTM', o: { dirs?: number; layout?: number; bias?: boolean; seqLens?: number[]; initial?: boolean; peepholes?: boolean; attrs?: Record<string, number | string | string[]>; outputs?: number } = {}): OpCase {
  const gates = { RNN: 1, GRU: 3, LSTM: 4 }[op];
  const d = o.dirs ?? 1;
  const layout = o.layout ?? 0;
  const consts: Constant[] = [w('W', [d, gates * H, I], 1), w('R', [d, gates * H, H], 2)];
  const inputs = ['X', 'W', 'R', '', '', '', '', ''];
  if (o.bias) (consts.push(w('B', [d, 2 * gates * H], 3)), (inputs[3] = 'B'));
  if (o.seqLens) (consts.push(lens('L', o.seqLens)), (inputs[4] = 'L'));
  const state = layout === 0 ? [d, N, H] : [N, d, H];
  if (o.initial) {
    consts.push(w('H0', state, 4));
    inputs[5] = 'H0';
    if (op === 'LSTM') (consts.push(w('C0', state, 5)), (inputs[6] = 'C0'));
  }
  if (o.peepholes) (consts.push(w('P', [d, 3 * H], 6)), (inputs[7] = 'P'));
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const outs = ['Y', 'Y_h', 'Y_c'].slice(0, o.outputs ?? (op === 'LSTM' ? 3 : 2));
  return {
    op,
    opset: 14,
    inputs: [{ name: 'X', shape: layout === 0 ? [S, N, I] : [N, S, I] }],
    nodeInputs: inputs,
    constants: consts,
    attrs: { hidden_size: H, ...(d === 2 ? { direction: 'bidirectional' } : {}), ...(layout ? { layout } : {}), ...o.attrs },
    outputs: outs.map((name) => ({ name })),
  };
}

const CASES: Record<string, OpCase> = {
  'LSTM forward, defaults': rnn('LSTM'),
  'LSTM bidirectional, bias, initial states, sequence lengths': rnn('LSTM', { dirs: 2, bias: true, initial: true, seqLens: [5, 3] }),
  'LSTM reverse, peepholes, clip 0.5': rnn('LSTM', { bias: true, peepholes: true, attrs: { direction: 'reverse', clip: 0.5 } }),
  'LSTM Y only': rnn('LSTM', { outputs: 1 }),
  'GRU forward, bias': rnn('GRU', { bias: true }),
  'GRU linear_before_reset, bidirectional, sequence lengths': rnn('GRU', { dirs: 2, bias: true, seqLens: [2, 5], attrs: { linear_before_reset: 1 } }),
  'GRU with Relu candidates': rnn('GRU', { bias: true, initial: true, attrs: { activations: ['Sigmoid', 'Relu'] } }),
  'RNN tanh, bidirectional': rnn('RNN', { dirs: 2, bias: true, initial: true }),
  'RNN relu, a zero-length sequence': rnn('RNN', { bias: true, seqLens: [0, 4], attrs: { activations: ['Relu'] } }),
  'LSTM bidirectional, a zero-length sequence with initial states': rnn('LSTM', { dirs: 2, bias: true, initial: true, seqLens: [0, 3] }),
  'GRU reverse, a zero-length sequence with an initial state, lower-case activation names': rnn('GRU', { bias: true, initial: true, seqLens: [4, 0], attrs: { direction: 'reverse', activations: ['sigmoid', 'tanh'] } }),
};

describe('recurrent reference kernels match onnxruntime-node', () => {
  for (const [name, c] of Object.entries(CASES)) it(name, () => expectOrtAgreement(c));

  it('layout 1 (batch first, which onnxruntime does not run) gives the layout-0 results, transposed', () => {
    /** [a, b, c(, d)] → [b, a, c(, d)]. */
    const swap01 = (v: Float32Array, dims: number[]) => {
      const [a, b] = dims;
      const inner = v.length / (a * b);
      const out = new Float32Array(v.length);
      for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(v.subarray((i * b + j) * inner, (i * b + j + 1) * inner), (j * a + i) * inner);
      return out;
    };
    for (const op of ['LSTM', 'GRU', 'RNN'] as const) {
      const c0 = rnn(op, { dirs: 2, bias: true, initial: true, seqLens: [5, 3] });
      const c1 = rnn(op, { dirs: 2, bias: true, initial: true, seqLens: [5, 3], layout: 1 });
      const x = randn(S * N * I, 9);
      // The layout-1 graph's initial states are the layout-0 ones transposed.
      for (const k of c1.constants!) {
        const k0 = c0.constants!.find((c) => c.name === k.name)!;
        if (k.name === 'H0' || k.name === 'C0') (k as { data: Float32Array }).data = swap01(k0.data as Float32Array, k0.dims);
      }
      const y0 = runReference(opGraph(c0), { X: x });
      const y1 = runReference(opGraph(c1), { X: swap01(x, [S, N, I]) });
      // Y [S, D, N, H] → [N, S, D, H]: swap S with the (D, N) pair, i.e. move N to the front.
      const yT = new Float32Array(S * 2 * N * H);
      const Y = y0.Y as Float32Array;
      for (let t = 0; t < S; t++) for (let d = 0; d < 2; d++) for (let n = 0; n < N; n++) yT.set(Y.subarray(((t * 2 + d) * N + n) * H, ((t * 2 + d) * N + n + 1) * H), ((n * S + t) * 2 + d) * H);
      expect(relErr(y1.Y as Float32Array, yT)).toBeLessThan(1e-6);
      expect(relErr(y1.Y_h as Float32Array, swap01(y0.Y_h as Float32Array, [2, N, H]))).toBeLessThan(1e-6);
      if (op === 'LSTM') expect(relErr(y1.Y_c as Float32Array, swap01(y0.Y_c as Float32Array, [2, N, H]))).toBeLessThan(1e-6);
    }
  });

  it('refuses what it does not run and shapes that do not fit, with coded errors', () => {
    const bad: [OpCase, RegExp][] = [
      [rnn('LSTM', { attrs: { activations: ['Sigmoid', 'Tanh', 'Softsign'] } }), /activation Softsign/],
      [rnn('LSTM', { attrs: { input_forget: 1 } }), /input_forget/],
      [{ ...rnn('GRU'), attrs: { hidden_size: 5 } }, /W must be \[1, 15, 3\]/],
      [rnn('RNN', { attrs: { direction: 'sideways' } }), /unknown direction 'sideways'/],
    ];
    const codes = ['ERR_UNSUPPORTED_OP', 'ERR_UNSUPPORTED_OP', 'ERR_SHAPE_MISMATCH', 'ERR_INVALID_MODEL'];
    bad.forEach(([c, message], i) => expect(() => opGraph(c)).toThrow(expect.objectContaining({ code: codes[i], message: expect.stringMatching(message) })));
    expect(() => opGraph(rnn('LSTM', { attrs: { clip: -1 } }))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MODEL', message: expect.stringMatching(/clip must be positive/) }));
  });
});

describe('builtin unrolls them over the static sequence', () => {
  /** The case's graph with X's batch made dynamic ('n'), unless `static` (initial states fix the batch). */
  const graphOf = (c: OpCase, dynamic: boolean) => {
    const g = opGraph({ ...c, inputs: [{ name: 'X', shape: (c.inputs[0].shape as number[]).map((d, i) => (dynamic && d === N && i === ((c.attrs?.layout ?? 0) === 0 ? 1 : 0) ? 'n' : d)) }] });
    return g;
  };
  // A dynamic batch must lead its input (layout 1); initial states fix the batch (static cases).
  const cases: [string, OpCase, boolean][] = [
    ['LSTM bidirectional, bias, peepholes, clip, dynamic batch', rnn('LSTM', { dirs: 2, layout: 1, bias: true, peepholes: true, attrs: { clip: 2 } }), true],
    ['LSTM layout 1, initial states', rnn('LSTM', { layout: 1, bias: true, initial: true }), false],
    ['LSTM layout 0, bidirectional, initial states', rnn('LSTM', { dirs: 2, bias: true, initial: true }), false],
    ['GRU, no state, dynamic batch', rnn('GRU', { layout: 1, bias: true }), true],
    ['GRU linear_before_reset, bidirectional, initial state', rnn('GRU', { dirs: 2, bias: true, initial: true, attrs: { linear_before_reset: 1 } }), false],
    ['GRU linear_before_reset, no state, dynamic batch', rnn('GRU', { layout: 1, bias: true, attrs: { linear_before_reset: 1 } }), true],
    ['RNN reverse, Relu, dynamic batch', rnn('RNN', { layout: 1, bias: true, attrs: { direction: 'reverse', activations: ['Relu'] } }), true],
    ['RNN layout 0, no bias', rnn('RNN', {}), false],
  ];
  for (const [name, c, dynamic] of cases) {
    for (const precision of ['fp32', 'fp16'] as const) {
      it(`${name} (${precision}): every output as the reference computes it`, () => {
        const g = graphOf(c, dynamic);
        const opt = optimize(g, { fuse: true, precision });
        expect(opCounts(opt)[c.op]).toBeUndefined();
        const { program, weights } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
        const x = randn(S * N * I, 17);
        const want = runReference(g, { X: x });
        const got = simulate(program, weights, { X: x }, N);
        for (const o of g.outputs) expect(relL2(got[o.name], want[o.name] as Float32Array)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
      });
    }
  }

  it('leaves per-batch sequence lengths and data weights to the backend to name', () => {
    const lengths = rnn('LSTM', { seqLens: [5, 3] });
    const c = rnn('LSTM');
    const dataWeights: OpCase = { ...c, inputs: [...c.inputs, { name: 'W', shape: [1, 4 * H, I] }], constants: c.constants!.filter((k) => k.name !== 'W') };
    for (const g of [opGraph(lengths), opGraph(dataWeights)]) {
      const opt = optimize(g, { fuse: true, precision: 'fp32' });
      expect(opCounts(opt).LSTM).toBe(1);
      expect(() => lowerGraph(opt, { min: 1, opt: 1, max: 1 })).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_OP', message: expect.stringMatching(/'LSTM'/) }));
    }
  });

  it("clips the gates, not the cell state: an LSTM cell past its clip value gives onnxruntime's h", async () => {
    // One unit, zero weights, gate biases 5, a cell starting at 1, clip 0.5: C = σ(.5)·1 + σ(.5)·tanh(.5) = 0.91,
    // past the clip; h = σ(.5)·tanh(C), not σ(.5)·tanh(0.5).
    const c: OpCase = {
      op: 'LSTM',
      inputs: [{ name: 'X', shape: [1, 1, 1] }],
      nodeInputs: ['X', 'W', 'R', 'B', '', '', 'C0'],
      constants: [f32('W', [1, 4, 1], [0, 0, 0, 0]), f32('R', [1, 4, 1], [0, 0, 0, 0]), f32('B', [1, 8], [5, 5, 5, 5, 0, 0, 0, 0]), f32('C0', [1, 1, 1], [1])],
      attrs: { hidden_size: 1, clip: 0.5 },
      outputs: [{ name: 'Y' }, { name: 'Y_h' }, { name: 'Y_c' }],
    };
    await expectOrtAgreement(c);
    const g = opGraph(c);
    const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision: 'fp32' }), { min: 1, opt: 1, max: 1 });
    const got = simulate(program, weights, { X: new Float32Array([0.3]) }, 1);
    const want = runReference(g, { X: new Float32Array([0.3]) });
    expect(got.Y_c[0]).toBeGreaterThan(0.5);
    expect(Math.abs(got.Y_h[0] - (want.Y_h as Float32Array)[0])).toBeLessThan(1e-6);
  });
});
