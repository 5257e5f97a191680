import { describe, expect, it } from 'vitest';
import { agreement, covPercent, histogram, mean, median, percentile, stddev, summarize } from '../../lib/bench/stats.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('percentile (trtexec findPercentile)', () => {
  it('drops the largest ⌊(1 − p/100)·n⌋ samples and takes the largest left', () => {
    // n = 10, p = 90: (1 − 0.9f)·10 = 1.0000002 → 1 dropped → index 8.
    expect(percentile(range(10), 90)).toBe(9);
    // n = 10, p = 50: 5 dropped → index 4; not the interpolated median (5.5).
    expect(percentile(range(10), 50)).toBe(5);
    expect(percentile(range(100), 90)).toBe(90);
    expect(percentile(range(100), 95)).toBe(95);
    expect(percentile(range(20), 75)).toBe(15);
    expect(percentile(range(20), 25)).toBe(5);
  });

  it('evaluates the index in single precision, as trtexec does', () => {
    // (1 − 0.99f)·100 = 0.99999905 in float32 → 0 dropped → the maximum (double arithmetic would give 99).
    expect(percentile(range(100), 99)).toBe(100);
    // (1 − 0.99f)·1000 = 9.99999 → 9 dropped → index 990 (double arithmetic: 10 dropped → index 989).
    expect(percentile(range(1000), 99)).toBe(991);
    expect(percentile(range(200), 99.9)).toBe(200);
  });

  it('handles the edges: p = 0 and 100, one sample, few samples, no samples', () => {
    expect(percentile(range(10), 0)).toBe(1);
    expect(percentile(range(10), 100)).toBe(10);
    expect(percentile([4.2], 99)).toBe(4.2);
    expect(percentile(range(7), 90)).toBe(7);
    expect(percentile(range(3), 50)).toBe(2);
    expect(percentile([], 90)).toBe(Infinity);
  });

  it('always returns an observed sample', () => {
    const xs = [0.5, 0.7, 0.71, 0.9, 1.3, 2.2, 9.1].sort((a, b) => a - b);
    for (const p of [1, 10, 33.3, 50, 66.6, 90, 95, 99, 99.9]) expect(xs).toContain(percentile(xs, p));
  });

  it('rejects a percentile outside [0, 100]', () => {
    expect(() => percentile(range(5), 101)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: 'Expected a number in [0, 100] for percentile but received 101 of type number' }));
    expect(() => percentile(range(5), -1)).toThrow('Expected a number in [0, 100] for percentile but received -1 of type number');
    expect(() => percentile(range(5), NaN)).toThrow('Expected a number in [0, 100] for percentile but received NaN of type number');
  });
});

describe('median, mean, stddev, CoV', () => {
  it('median is the middle sample or the mean of the two middle samples', () => {
    expect(median([1, 2, 3])).toBe(2);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBe(Infinity);
  });

  it('uses the population standard deviation (÷ n) and reports CoV in percent', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(xs)).toBe(5);
    expect(stddev(xs)).toBe(2); // the sample form (÷ n−1) would be 2.138…
    expect(covPercent(xs)).toBe(40);
    expect(covPercent([3, 3, 3])).toBe(0);
    expect(covPercent([])).toBe(0);
    expect(covPercent([-1, 1])).toBe(Infinity);
  });
});

describe('summarize', () => {
  it('reports min/max/mean/median, the asked percentiles, CoV and the interquartile range', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]; // unsorted on purpose
    const s = summarize(xs, [90, 99]);
    expect(s).toMatchObject({ count: 10, min: 1, max: 10, mean: 5.5, median: 5.5 });
    expect(s.percentiles).toEqual({ '90': 9, '99': 10 });
    expect(s.q1).toBe(percentile(range(10), 25)); // (1 − 0.25)·10 = 7.5 → 7 dropped → index 2 → 3
    expect(s.q1).toBe(3);
    expect(s.q3).toBe(8); // (1 − 0.75)·10 = 2.5 → 2 dropped → index 7 → 8
    expect(s.iqr).toBe(5);
    expect(s.stddev).toBeCloseTo(Math.sqrt(8.25), 12);
    expect(s.covPercent).toBeCloseTo((Math.sqrt(8.25) / 5.5) * 100, 10);
    expect(xs[0]).toBe(5); // input untouched
  });

  it('rejects bad percentiles before doing anything', () => {
    expect(() => summarize([1, 2], [90, 120])).toThrow('Expected a number in [0, 100] for percentile but received 120 of type number');
  });
});

describe('histogram', () => {
  it('bins every sample once, with the tail beyond p99.5 counted apart', () => {
    const xs = [...range(1000).map((i) => 1 + (i % 100) / 100), 50, 60];
    const h = histogram(xs);
    expect(h.counts.reduce((a, b) => a + b, 0) + h.over).toBe(xs.length);
    expect(h.over).toBe(2);
    expect(h.lo).toBe(1);
    expect(h.counts.length).toBeGreaterThanOrEqual(8);
    expect(h.counts.length).toBeLessThanOrEqual(60);
    expect(h.width * h.counts.length).toBeCloseTo(h.hi - h.lo, 9);
  });

  it('puts identical samples in one bin and copes with no samples', () => {
    expect(histogram([2, 2, 2])).toEqual({ lo: 2, hi: 2, width: 0, counts: [3], over: 0 });
    expect(histogram([])).toEqual({ lo: 0, hi: 0, width: 0, counts: [], over: 0 });
  });
});

describe('repeat agreement', () => {
  it('agrees when the spread of medians is within the largest interquartile range', () => {
    const a = agreement([
      { median: 1.0, iqr: 0.05 },
      { median: 1.04, iqr: 0.02 },
    ]);
    expect(a.agree).toBe(true);
    expect(a.spread).toBeCloseTo(0.04, 12);
    expect(a.tolerance).toBe(0.05);
  });

  it('disagrees when the medians are further apart than either run spreads', () => {
    const a = agreement([
      { median: 1.0, iqr: 0.01 },
      { median: 1.2, iqr: 0.02 },
      { median: 1.1, iqr: 0.03 },
    ]);
    expect(a.agree).toBe(false);
    expect(a.spread).toBeCloseTo(0.2, 12);
    expect(a.medians).toEqual([1.0, 1.2, 1.1]);
  });
});
