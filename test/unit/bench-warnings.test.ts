import { describe, expect, it } from 'vitest';
import { warningsFor, type WarningInput } from '../../lib/bench/warnings.js';

const base = (o: Partial<{ enq: number; h2d: number; compute: number; d2h: number; cov: number }> = {}, extra: Partial<WarningInput> = {}): WarningInput => ({
  enqueueMs: { median: o.enq ?? 0.05 },
  h2dMs: { median: o.h2d ?? 0.1 },
  computeMs: { median: o.compute ?? 1, covPercent: o.cov ?? 0.5 },
  d2hMs: { median: o.d2h ?? 0.01 },
  transfers: true,
  cudaGraph: false,
  ...extra,
});
const codes = (i: WarningInput): string[] => warningsFor(i).map((w) => w.code);

describe('bench warnings (trtexec thresholds)', () => {
  it('says nothing for a healthy, GPU-bound configuration', () => {
    expect(warningsFor(base())).toEqual([]);
  });

  it('flags enqueue-bound above 80% of the GPU compute median, not at it', () => {
    expect(codes(base({ enq: 0.8 }))).toEqual([]);
    expect(codes(base({ enq: 0.81 }))).toEqual(['enqueue-bound']);
    expect(warningsFor(base({ enq: 0.9 }))[0].hint).toContain('--useCudaGraph');
    expect(warningsFor(base({ enq: 0.9 }, { cudaGraph: true }))[0].hint).toContain('--streams');
  });

  it('flags H2D- and D2H-bound at ≥ the compute median, each on its own', () => {
    expect(codes(base({ h2d: 1 }))).toEqual(['h2d-bound']);
    expect(codes(base({ d2h: 1.5 }))).toEqual(['d2h-bound']);
    expect(codes(base({ h2d: 2, d2h: 2 }))).toEqual(['h2d-bound', 'd2h-bound']);
    expect(warningsFor(base({ h2d: 1 }))[0].hint).toContain('--noDataTransfers');
  });

  it('flags the copies together when neither alone reaches the compute time', () => {
    expect(codes(base({ h2d: 0.6, d2h: 0.5 }))).toEqual(['transfer-bound']);
    expect(codes(base({ h2d: 0.6, d2h: 0.3 }))).toEqual([]);
  });

  it('ignores transfer times when transfers are off', () => {
    expect(codes(base({ h2d: 5, d2h: 5 }, { transfers: false }))).toEqual([]);
  });

  it('flags unstable GPU compute above a 1% coefficient of variation', () => {
    expect(codes(base({ cov: 1 }))).toEqual([]);
    const w = warningsFor(base({ cov: 4.75 }));
    expect(w.map((x) => x.code)).toEqual(['unstable-compute']);
    expect(w[0].message).toBe('GPU compute time is unstable, with a coefficient of variation of 4.75%.');
  });

  it('reports a run that hit its time cap before the iterations asked for', () => {
    const w = warningsFor(base({}, { capped: { iterations: 10, queries: 3 } }));
    expect(w.map((x) => x.code)).toEqual(['iterations-capped']);
    expect(w[0].message).toContain('after 3 of the 10 iterations');
  });
});
