// A dynamic dim besides the batch on the builtin backend (lower-dims.ts): BERT lowered once for a range of sequence
// lengths, run by the CPU simulator of the kernels at lengths it never sampled (1, 7, 33, the max) with padding
// against the reference interpreter; the validator's rules for programs with a dim; and the coded refusals.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerForBuiltin } from '../../lib/builder.js';
import { assembleLowered, withDefaultTactics } from '../../lib/builtin/assemble.js';
import { DIM_AXIS, OP_NAMES, programAtDim, type Program } from '../../lib/builtin/program.js';
import { validateBuiltinPlan, validateBuiltinProgram } from '../../lib/builtin/validate.js';
import { ErrorCode } from '../../lib/errors.js';
import type { Graph } from '../../lib/ir/graph.js';
import type { Constant, Node } from '../../lib/ir/types.js';
import { parseModel } from '../../lib/onnx/index.js';
import { runReference } from '../../lib/reference/index.js';
import { resolveShapeProfile } from '../../lib/shapes.js';
import { thrownError } from '../helpers/errors.js';
import { graphOf, node } from '../helpers/graphs.js';
import { relL2 } from '../helpers/metrics.js';
import { simulate } from '../helpers/program-sim.js';

const source = parseModel(new Uint8Array(readFileSync('test/fixtures/models/bert_tiny.onnx')));
const range = (min: number[], opt: number[], max: number[]) => ({ min, opt, max });
const SHAPES = { input_ids: range([1, 1], [2, 16], [4, 40]), attention_mask: range([1, 1], [2, 16], [4, 40]) };
const profile = () => resolveShapeProfile(source.inputs.map((i) => ({ name: i.name, shape: i.type.shape })), SHAPES);
const vocab = source.initializers.get('bert.embeddings.word_embeddings.weight')!.dims[0];

function tokens(batch: number, seq: number) {
  const ids = new BigInt64Array(batch * seq);
  const mask = new BigInt64Array(batch * seq);
  for (let i = 0; i < ids.length; i++) {
    ids[i] = BigInt(1 + ((i * 37) % (vocab - 1)));
    // Every row after the first ends with up to 5 padding tokens (at least one real token each).
    mask[i] = i % seq < seq - (i < seq ? 0 : Math.min(5, seq - 1)) ? 1n : 0n;
  }
  return { ids, mask };
}

const clone = (p: Program): Program => JSON.parse(JSON.stringify(p)) as Program;

describe('a dynamic sequence on the builtin backend (CPU simulation vs reference)', () => {
  for (const precision of ['fp32', 'fp16'] as const) {
    it(`bert_tiny lowered once for sequence 1..40, ${precision}, run at lengths it never sampled`, () => {
      const { program, weights } = lowerForBuiltin(source, profile(), precision);
      expect(program.dim).toEqual({ name: 'sequence', min: 1, opt: 16, max: 40, base: 2 });
      expect(program.io.map((x) => x.shape)).toEqual([[-1, DIM_AXIS], [-1, DIM_AXIS], [-1, DIM_AXIS, 64]]);
      // The fused layers survive: attention reads the merged QKV projection in place at every length.
      expect(program.layers.filter((l) => OP_NAMES[l.op] === 'attention').length).toBe(2);
      // The sequence length itself (a scalar the mask's flattened index is scaled by) is written by a fill layer.
      expect(program.layers.filter((l) => l.name.endsWith(':dim')).map((l) => [OP_NAMES[l.op], l.params, l.perDim])).toEqual([
        ['fill', { n: 1, value: 2, step: 0 }, { value: [1, 0, 0, 0], step: [0, 0, 0, 0] }],
      ]);
      // Attention's sequence extents and a GEMM's rows (B·S) follow the dim.
      const attention = program.layers.find((l) => OP_NAMES[l.op] === 'attention')!;
      expect(attention.perDim?.sq?.[0]).toBe(1);
      withDefaultTactics(program);
      expect(validateBuiltinProgram(program, weights).layers).toBe(program.layers.length);
      for (const [batch, seq] of [[1, 1], [2, 7], [3, 16], [2, 33], [4, 40]]) {
        const { ids, mask } = tokens(batch, seq);
        const feeds = { input_ids: { data: ids, dims: [batch, seq] }, attention_mask: { data: mask, dims: [batch, seq] } };
        const want = runReference(source, feeds).last_hidden_state as Float32Array;
        const got = simulate(programAtDim(program, seq), weights, { input_ids: ids, attention_mask: mask }, batch).last_hidden_state;
        expect(got.length).toBe(want.length);
        expect(relL2(got, want)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
      }
    }, 120_000);
  }

  it('evaluates a program at a dim value as native does: sizes, parameters, increments and I/O shapes', () => {
    const { program } = lowerForBuiltin(source, profile(), 'fp32');
    const at = programAtDim(program, 9);
    expect(at.dim).toBeUndefined();
    expect(at.io.map((x) => x.shape)).toEqual([[-1, 9], [-1, 9], [-1, 9, 64]]);
    expect(at.tensors.every((t) => t.dimBytes === undefined)).toBe(true);
    expect(at.tensors[at.io[2].tensor].bytes).toBe(9 * 64 * 4);
    const attention = at.layers.find((l) => OP_NAMES[l.op] === 'attention')!;
    expect([attention.params.sq, attention.params.sk]).toEqual([9, 9]);
    expect(() => programAtDim(program, 41)).toThrow(expect.objectContaining({ code: ErrorCode.SHAPE_OUT_OF_RANGE }));
  });
});

describe('validator: programs with a dynamic dim are untrusted too', () => {
  const base = () => {
    const { program, weights } = lowerForBuiltin(source, profile(), 'fp32');
    withDefaultTactics(program);
    return { program, weights };
  };
  const refused = (p: Program, weights: Uint8Array) => thrownError(() => validateBuiltinProgram(p, weights));

  it('refuses a size that leaves its planned bytes, bad forms and bad ranges, naming them', () => {
    const { program, weights } = base();
    const grow = clone(program);
    const io = new Set(grow.io.map((x) => x.tensor));
    const t = grow.tensors.find((x, id) => x.dimBytes && x.loc === 0 && !io.has(id))!;
    t.dimBytes = [t.dimBytes![0] + t.bytes, t.dimBytes![1], t.dimBytes![2]];
    expect(refused(grow, weights)).toMatchObject({ code: ErrorCode.PLAN_CORRUPT, message: expect.stringMatching(/size at sequence = 16 leaves its planned/) });

    const frac = clone(program);
    const l = frac.layers.find((x) => x.perDim)!;
    const key = Object.keys(l.perDim!)[0];
    l.perDim![key] = l.perDim![key].map((c) => (Array.isArray(c) ? c.map((v) => v + 0.5) : c + 0.5)) as never;
    expect(refused(frac, weights).message).toMatch(/non-integral dim coefficient/);

    const missing = clone(program);
    missing.layers.find((x) => x.perDim)!.perDim!.nope = [1, 0, 0, 0];
    expect(refused(missing, weights).message).toMatch(/bad dim form of 'nope'/);

    const order = clone(program);
    order.dim = { ...order.dim!, min: 50 };
    expect(refused(order, weights).message).toMatch(/bad dynamic dim 'sequence' 50\/16\/40/);

    const noDim = clone(program);
    delete noDim.dim;
    expect(refused(noDim, weights).code).toBe(ErrorCode.PLAN_CORRUPT);
  });

  it('refuses a form whose accesses leave their tensors at the end of the range (attention past its keys)', () => {
    const { program, weights } = base();
    const p = clone(program);
    const attention = p.layers.find((x) => OP_NAMES[x.op] === 'attention')!;
    attention.perDim!.sk = [2, 0, 0, 0];
    expect(refused(p, weights)).toMatchObject({ code: ErrorCode.PLAN_CORRUPT, message: expect.stringMatching(/attention/) });
  });
});

describe('what the builtin backend refuses, with a coded error', () => {
  it('two dims that vary besides the batch', () => {
    const g = graphOf([node('Relu', ['x'], ['y'])], [['x', ['batch', 'H', 'W']]], ['y']);
    const p = resolveShapeProfile([{ name: 'x', shape: ['batch', 'H', 'W'] }], { x: range([1, 2, 2], [1, 8, 8], [2, 16, 16]) });
    const e = thrownError(() => lowerForBuiltin(g, p, 'fp32'));
    expect(e.code).toBe(ErrorCode.UNSUPPORTED_OP);
    expect(e.message).toMatch(/varies one dimension besides the batch, and this profile varies 'H' and 'W'/);
  });

  it('a dim that sizes do not follow quadratically (a stride-2 pool floors it)', () => {
    const g = graphOf([node('MaxPool', ['x'], ['y'], { kernel_shape: [2, 1], strides: [2, 1] })], [['x', ['batch', 4, 'H', 8]]], ['y']);
    const p = resolveShapeProfile([{ name: 'x', shape: ['batch', 4, 'H', 8] }], { x: range([1, 4, 2, 8], [1, 4, 8, 8], [2, 4, 32, 8]) });
    const e = thrownError(() => lowerForBuiltin(g, p, 'fp32'));
    expect(e.code).toBe(ErrorCode.UNSUPPORTED_OP);
    expect(e.message).toMatch(/cannot make .* follow the dynamic dimension 'H' \(it is not quadratic in it\); pin 'H'/);
  });
});

describe('dims the lowering follows exactly, or refuses', () => {
  const scalar = (name: string, v: number): Constant => ({ name, dtype: 'float32', dims: [], data: new Float32Array([v]) });
  const idx = (name: string, v: number): Constant => ({ name, dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(v)) });
  // y = x · f(S), with the sequence length read through Shape → Gather → Cast (folded to a constant per sample).
  const scaledBy = (tail: Node[], constants: Constant[]) =>
    graphOf(
      [node('Shape', ['x'], ['sh']), node('Gather', ['sh', 'one'], ['s'], { axis: 0 }), node('Cast', ['s'], ['sf'], { to: 1 }), ...tail],
      [['x', ['batch', 'S', 4]]],
      ['y'],
      [idx('one', 1), ...constants],
    );
  const profileFor = (g: Graph) => resolveShapeProfile(g.inputs.map((i) => ({ name: i.name, shape: i.type.shape })), { x: range([1, 1, 4], [2, 8, 4], [3, 16, 4]) });

  it('a value equal to a literal at one sampled length is still the length (x·S + x·k for k at a sample and at the max)', () => {
    for (const k of [3, 16, 7]) {
      const g = scaledBy([node('Mul', ['x', 'sf'], ['a']), node('Mul', ['x', 'k'], ['b']), node('Add', ['a', 'b'], ['y'])], [scalar('k', k)]);
      const { program, weights } = lowerForBuiltin(g, profileFor(g), 'fp32');
      withDefaultTactics(program);
      expect(validateBuiltinProgram(program, weights).layers).toBe(program.layers.length);
      for (const [batch, seq] of [[2, 3], [3, 16], [1, 7], [2, 1]]) {
        const x = Float32Array.from({ length: batch * seq * 4 }, (_, i) => Math.sin(i));
        const got = simulate(programAtDim(program, seq), weights, { x }, batch).y;
        expect(Array.from(got), `k ${k} at ${batch}×${seq}`).toEqual(Array.from(x, (v) => Math.fround(Math.fround(v * seq) + Math.fround(v * k))));
      }
    }
  });

  it('a value with a fractional form (S / 2) is refused with a coded error, not written as a plan the runtime refuses', () => {
    const g = scaledBy([node('Div', ['sf', 'two'], ['half']), node('Mul', ['x', 'half'], ['y'])], [scalar('two', 2)]);
    const e = thrownError(() => lowerForBuiltin(g, profileFor(g), 'fp32'));
    expect(e.code).toBe(ErrorCode.UNSUPPORTED_OP);
    expect(e.message).toMatch(/follow the dynamic dimension 'S'/);
  });

  it('a dim the profile pins beside the varying one is a number in the plan header, as in the program', () => {
    const g = graphOf([node('Relu', ['x'], ['y'])], [['x', ['batch', 'S', 'H']]], ['y']);
    const p = resolveShapeProfile([{ name: 'x', shape: ['batch', 'S', 'H'] }], { x: range([1, 1, 8], [1, 4, 8], [2, 16, 8]) });
    const a = assembleLowered(lowerForBuiltin(g, p, 'fp32'), 'fp32', '9.0');
    expect(a.header.inputs[0].shape).toEqual(['batch', 'S', 8]);
    expect(a.header.dims).toEqual({ S: { min: 1, opt: 4, max: 16 } });
    expect(validateBuiltinPlan(a.plan).report.layers).toBe(a.program.layers.length);
  });
});
