// Statistics of timing samples, with trtexec's definitions (samples/common/sampleReporting.cpp) so that numbers
// printed here and by trtexec mean the same thing.
import { invalid } from '../validate.js';

/** min/max/mean/median, the requested percentiles and the spread of one metric, in the samples' unit (ms). */
export interface Summary {
  count: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  /** Keyed by the percentile as written, e.g. { '90': 1.2, '99': 1.9 }. */
  percentiles: Record<string, number>;
  /** Population standard deviation (divides by n, as trtexec does). */
  stddev: number;
  /** Coefficient of variation: stddev / mean × 100, in percent (trtexec's "coefficient of variance"). */
  covPercent: number;
  /** 25th and 75th percentiles (same definition), and their difference. */
  q1: number;
  q3: number;
  iqr: number;
}

const f32 = Math.fround;

function checkPercent(p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 100)) invalid('a number in [0, 100]', 'percentile', p);
}

/**
 * trtexec's percentile of an ascending array: drop the largest ⌊(1 − p/100)·n⌋ samples and take the largest
 * that is left, i.e. `sorted[max(n − 1 − ⌊(1 − p/100)·n⌋, 0)]`. No interpolation: the result is always a sample.
 * trtexec evaluates the expression in single precision, which decides the index at some boundaries (n = 100,
 * p = 99 gives (1 − 0.99f)·100 = 0.9999990 → 0 dropped → the maximum); this reproduces that with Math.fround.
 * An empty array gives Infinity, as in trtexec.
 * @example percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) // 9
 */
export function percentile(sorted: readonly number[], p: number): number {
  checkPercent(p);
  const n = sorted.length;
  if (n === 0) return Infinity;
  const exclude = Math.trunc(f32(f32(1 - f32(f32(p) / 100)) * f32(n)));
  return sorted[Math.max(n - 1 - exclude, 0)];
}

/**
 * trtexec's median: the middle sample, or the mean of the two middle samples when n is even.
 * @example median([1, 2, 3, 4]) // 2.5
 */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return Infinity;
  const m = n >> 1;
  return n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/** @example mean([1, 2, 3]) // 2 */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Population standard deviation (÷ n). @example stddev([2, 4, 4, 4, 5, 5, 7, 9]) // 2 */
export function stddev(values: readonly number[], m = mean(values)): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / values.length);
}

/**
 * Coefficient of variation in percent, population form as trtexec computes it: 0 for no samples,
 * Infinity when the mean is 0.
 * @example covPercent([2, 4, 4, 4, 5, 5, 7, 9]) // 40
 */
export function covPercent(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const m = mean(values);
  if (m === 0) return Infinity;
  return (stddev(values, m) / m) * 100;
}

/** Ascending copy. @example sortedCopy([3, 1, 2]) // [1, 2, 3] */
export function sortedCopy(values: readonly number[]): number[] {
  return Array.from(Float64Array.from(values).sort());
}

/**
 * Summarizes samples: min/max/mean/median, the given percentiles, stddev, CoV and the interquartile range.
 * @example summarize(latencies, [90, 95, 99]).percentiles['99']
 */
export function summarize(values: readonly number[], percentiles: readonly number[] = [90, 95, 99]): Summary {
  for (const p of percentiles) checkPercent(p);
  const s = sortedCopy(values);
  const n = s.length;
  const m = mean(s);
  const sd = stddev(s, m);
  const pct: Record<string, number> = {};
  for (const p of percentiles) pct[String(p)] = percentile(s, p);
  const q1 = percentile(s, 25);
  const q3 = percentile(s, 75);
  return {
    count: n,
    min: n ? s[0] : NaN,
    max: n ? s[n - 1] : NaN,
    mean: m,
    median: median(s),
    percentiles: pct,
    stddev: sd,
    covPercent: covPercent(s),
    q1,
    q3,
    iqr: q3 - q1,
  };
}

/** Equal-width bins over [lo, hi]; samples above hi go to `over`. */
export interface Histogram {
  lo: number;
  hi: number;
  width: number;
  counts: number[];
  /** Samples larger than `hi` (the tail beyond the clipping percentile). */
  over: number;
}

/**
 * Histogram of samples for plotting. The range is [min, p99.5] so that a few outliers don't squeeze the body
 * into one bar; the bin width follows Freedman–Diaconis (2·IQR·n^(−1/3)), clamped to 8..60 bins.
 * @example const h = histogram(e2eMs); h.counts.length
 */
export function histogram(values: readonly number[], options: { maxBins?: number; minBins?: number; clip?: number } = {}): Histogram {
  const { maxBins = 60, minBins = 8, clip = 99.5 } = options;
  const s = sortedCopy(values);
  const n = s.length;
  if (n === 0) return { lo: 0, hi: 0, width: 0, counts: [], over: 0 };
  const lo = s[0];
  const hi = percentile(s, clip);
  if (hi <= lo) return { lo, hi: lo, width: 0, counts: [s.filter((v) => v <= lo).length], over: n - s.filter((v) => v <= lo).length };
  const iqr = percentile(s, 75) - percentile(s, 25);
  const fd = iqr > 0 ? 2 * iqr * Math.cbrt(1 / n) : 0;
  let bins = fd > 0 ? Math.ceil((hi - lo) / fd) : Math.ceil(Math.sqrt(n));
  bins = Math.min(maxBins, Math.max(minBins, bins));
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  let over = 0;
  for (const v of s) {
    if (v > hi) over++;
    else counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  }
  return { lo, hi, width, counts, over };
}

/** Whether repeated measurements of one quantity agree, and the numbers behind the verdict. */
export interface Agreement {
  medians: number[];
  /** max(medians) − min(medians). */
  spread: number;
  /** The largest interquartile range among the runs: the tolerance. */
  tolerance: number;
  agree: boolean;
}

/**
 * Repeat-run agreement: the medians agree when their spread (max − min) is no larger than the largest
 * interquartile range of the runs, i.e. every run's median lies within the others' own run-to-run noise.
 * @example agreement([summarize(a), summarize(b)]).agree
 */
export function agreement(runs: readonly Pick<Summary, 'median' | 'iqr'>[]): Agreement {
  const medians = runs.map((r) => r.median);
  const spread = medians.length ? Math.max(...medians) - Math.min(...medians) : 0;
  const tolerance = runs.length ? Math.max(...runs.map((r) => r.iqr)) : 0;
  return { medians, spread, tolerance, agree: spread <= tolerance };
}
