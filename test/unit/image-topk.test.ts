import { describe, expect, it } from 'vitest';
import { isDistribution, softmax, topK } from '../../lib/image/index.js';

describe('softmax', () => {
  it('matches hand-computed values and survives huge logits', () => {
    // e^0, e^1, e^2 over their sum 1 + e + e²
    const z = 1 + Math.E + Math.E ** 2;
    const p = softmax(new Float32Array([1, 2, 3]));
    expect(p[0]).toBeCloseTo(1 / z, 12);
    expect(p[1]).toBeCloseTo(Math.E / z, 12);
    expect(p[2]).toBeCloseTo(Math.E ** 2 / z, 12);
    // Without subtracting the max, exp(1000) overflows to Infinity and every probability is NaN.
    const big = softmax([1000, 1000 + Math.log(3)]);
    expect(big[0]).toBeCloseTo(0.25, 12);
    expect(big[1]).toBeCloseTo(0.75, 12);
    expect([...softmax([-Infinity, -Infinity])]).toEqual([0.5, 0.5]);
    expect(() => softmax([0, NaN])).toThrow('Expected finite logits but logits[1] is NaN');
  });
});

describe('topK', () => {
  const logits = new Float32Array([0.5, 3, -1, 3, 2]);

  it('ranks by probability with labels, ties to the lower index', () => {
    const top = topK(logits, 3, ['a', 'b', 'c', 'd', 'e']);
    const z = Math.exp(0.5) + 2 * Math.exp(3) + Math.exp(-1) + Math.exp(2);
    expect(top.map((p) => [p.index, p.label, p.logit])).toEqual([
      [1, 'b', 3],
      [3, 'd', 3],
      [4, 'e', 2],
    ]);
    expect(top[0].probability).toBeCloseTo(Math.exp(3) / z, 6);
    expect(top[2].probability).toBeCloseTo(Math.exp(2) / z, 6);
    expect(topK(logits, 10).map((p) => p.index)).toEqual([1, 3, 4, 0, 2]);
    expect(topK(logits, 1)[0]).toEqual({ index: 1, probability: expect.any(Number), logit: 3 });
  });

  it('ranks one batch row of a [batch, classes] output', () => {
    const batch = new Float32Array([9, 0, 0, /* row 1 */ 0, 0, 5, /* row 2 */ 1, 7, 0]);
    expect(topK(batch, 1, { row: 1, classes: 3 })[0].index).toBe(2);
    expect(topK(batch, 2, { row: 2, labels: ['x', 'y', 'z'] }).map((p) => p.label)).toEqual(['y', 'x']);
    expect(() => topK(batch, 1, { row: 3, classes: 3 })).toThrow('Row 3 of 3 classes does not fit in logits of length 9 (3 rows)');
    expect(() => topK(batch, 1, { row: 1 })).toThrow("Expected 'classes' (or 'labels') with row 1");
  });

  it('keeps probabilities as they are when asked or when auto-detected', () => {
    const probs = new Float32Array([0.1, 0.7, 0.2]);
    expect(topK(probs, 1, { softmax: false })[0].probability).toBeCloseTo(0.7, 6);
    expect(topK(probs, 1, { softmax: 'auto' })[0].probability).toBeCloseTo(0.7, 6);
    expect(topK(probs, 1)[0].probability).toBeCloseTo(Math.exp(0.7) / (Math.exp(0.1) + Math.exp(0.7) + Math.exp(0.2)), 6);
    expect(isDistribution(probs)).toBe(true);
    expect(isDistribution([0.5, 0.6])).toBe(false);
    expect(isDistribution([1.5, -0.5])).toBe(false);
  });

  it('offsets labels for 1001-class models with a background class', () => {
    const top = topK(new Float32Array([5, 1, 2]), 3, { labels: ['cat', 'dog'], labelOffset: 1 });
    expect(top.map((p) => [p.index, p.label])).toEqual([
      [0, undefined],
      [2, 'dog'],
      [1, 'cat'],
    ]);
  });

  it('validates its arguments', () => {
    expect(() => topK(logits, 0)).toThrow('Expected a positive integer for k but received 0 of type number');
    expect(() => topK(new Int32Array(3) as never, 1)).toThrow('Expected a Float32Array, Float64Array or number[] for logits but received a Int32Array of length 3');
    expect(() => topK(logits, 1, { softmax: 'yes' as never })).toThrow("Expected true, false or 'auto' for softmax but received 'yes' of type string");
    expect(() => topK(logits, 1, { top: 3 } as never)).toThrow("Unknown option 'top' in topK options");
  });
});
