// runReference's contract: feeds, batch binding, float16 I/O and emulation, coded errors.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { roundHalf, roundToHalfInPlace } from '../../lib/reference/half.js';
import { bindDims, runReference } from '../../lib/reference/index.js';
import { fromHalfBits, roundToHalf, toHalfBits } from '../../lib/util/half.js';
import { smallCnnGraph } from '../../scripts/gen-models.js';
import { node } from '../helpers/graphs.js';
import { randn } from './reference-helpers.js';

describe('runReference', () => {
  const g = smallCnnGraph({ seed: 9 });

  it('binds the batch from the feed length, or from options.batch', () => {
    expect(bindDims(g, { input: new Float32Array(3 * 3 * 32 * 32) })).toEqual(new Map([['batch', 3]]));
    const out = runReference(g, { input: randn(2 * 3 * 32 * 32, 1) });
    expect((out.logits as Float32Array).length).toBe(20);
    expect(() => runReference(g, { input: randn(2 * 3 * 32 * 32, 1) }, { batch: 3 })).toThrow(/needs 9216/);
    // Each image's result is independent of the batch it runs in.
    const x = randn(2 * 3 * 32 * 32, 4);
    const both = runReference(g, { input: x }).logits as Float32Array;
    const second = runReference(g, { input: x.subarray(3 * 32 * 32) }, { batch: 1 }).logits as Float32Array;
    for (let i = 0; i < 10; i++) expect(second[i]).toBeCloseTo(both[10 + i], 5);
  });

  it('refuses bad feeds with coded errors', () => {
    const call = (feeds: never, options?: never) => () => runReference(g, feeds, options);
    expect(call({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_INPUT', message: "Missing input 'input'" }));
    expect(call({ input: new Float64Array(3072) } as never)).toThrow("Expected a Float32Array for input 'input' (float32) but received a Float64Array of length 3072");
    expect(call({ input: new Float32Array(3000) } as never)).toThrow(/3000 elements, which is no whole multiple of 3072/);
    expect(call({ input: new Float32Array(3072), extra: new Float32Array(1) } as never)).toThrow("Unknown input 'extra'; the model's inputs are 'input'");
    expect(call({ input: new Float32Array(3072) } as never, { batch: 0 } as never)).toThrow('Expected a positive integer for batch but received 0 of type number');
    expect(call({ input: new Float32Array(3072) } as never, { batches: 1 } as never)).toThrow(/Unknown option 'batches'/);
  });

  it('takes and returns float16 as Uint16Array bits, rounding every float16 value it stores', () => {
    const h = new Graph({
      opset: 17,
      inputs: [{ name: 'x', type: { dtype: 'float16', shape: ['n', 4] } }],
      outputs: [
        { name: 'y', type: { dtype: 'float16', shape: [] } },
        { name: 'z', type: { dtype: 'float32', shape: [] } },
      ],
      nodes: [node('Mul', ['x', 'x'], ['y']), node('Cast', ['y'], ['z'], { to: 1 })],
    });
    inferShapes(h);
    const vals = [1.1, -2.3, 300.7, 0.001];
    const bits = Uint16Array.from(vals, toHalfBits);
    const out = runReference(h, { x: bits });
    expect(out.y).toBeInstanceOf(Uint16Array);
    const expected = vals.map((v) => roundToHalf(roundToHalf(v) * roundToHalf(v)));
    expect(Array.from(out.y as Uint16Array, fromHalfBits)).toEqual(expected);
    expect(Array.from(out.z as Float32Array)).toEqual(expected.map(Math.fround));
  });
});

describe('fast float16 rounding', () => {
  it('agrees with lib/util/half.ts bit for bit', () => {
    const special = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e9, Infinity, -Infinity, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -25 * 1.0001, 5.96e-8, -1e-10, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, 1 / 3];
    const rnd = randn(20000, 3);
    const values = new Float32Array([...special, ...rnd, ...rnd.map((v) => v * 1e-5), ...rnd.map((v) => v * 3e4), ...rnd.map((v) => v * 2 ** -20)]);
    const fast = roundToHalfInPlace(values.slice());
    for (let i = 0; i < values.length; i++) {
      const want = Math.fround(fromHalfBits(toHalfBits(values[i])));
      if (!Object.is(fast[i], want)) expect([values[i], fast[i]]).toEqual([values[i], want]);
    }
    expect(Number.isNaN(roundHalf(NaN))).toBe(true);
  });
});
