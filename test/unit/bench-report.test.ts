import { describe, expect, it } from 'vitest';
import type { QueryTiming, Trace } from '../../lib/bench/harness.js';
import { torchReportFrom } from '../../lib/bench/peers/torch.js';
import { skipped } from '../../lib/bench/peers/types.js';
import { configResult, fp16VsFp32, peerRatios, repeatAgreement, REPORT_SCHEMA, withShares, type BenchReport, type ConfigResult } from '../../lib/bench/report.js';
import { formatHtmlReport } from '../../lib/bench/report-html.js';
import { formatTextReport, summaryTable } from '../../lib/bench/report-text.js';
import { linearTicks, logTicks } from '../../lib/bench/svg.js';
import { textTable } from '../../lib/bench/format.js';

/** A deterministic trace: compute time `c` ms with a ±2% ripple, copies proportional to the batch. */
function trace(batch: number, c: number, n = 40, streams = 1): Trace {
  const queries: QueryTiming[] = [];
  for (let i = 0; i < n; i++) {
    const computeMs = c * (1 + 0.02 * Math.sin(i));
    const h2dMs = 0.002 * batch;
    const d2hMs = 0.0005;
    queries.push({ stream: i % streams, enqueueMs: 0.01, h2dMs, computeMs, d2hMs, latencyMs: h2dMs + computeMs + d2hMs, e2eMs: h2dMs + computeMs + d2hMs + 0.03, startMs: i * c });
  }
  return { batch, streams, transfers: true, warmUpQueries: 5, warmUpMs: 201, queries, walltimeMs: n * (c + 0.04), capped: false };
}

const meta = (precision: 'fp16' | 'fp32', repeat = 0) => ({ precision, backend: 'builtin' as const, cudaGraph: true, iterations: 10, repeat });

function results(): ConfigResult[] {
  const out: ConfigResult[] = [];
  for (const [p, scale] of [['fp32', 2], ['fp16', 1]] as const) for (const b of [1, 32]) out.push(configResult(trace(b, scale * (0.2 + 0.02 * b)), meta(p), [90, 95, 99]));
  return out;
}

function torchPeerReport() {
  const run = (mode: 'eager' | 'cudagraph', batch: number, c: number) => ({
    mode, precision: 'fp16' as const, batch, walltimeMs: 1000,
    h2dMs: Array(20).fill(0.01), computeMs: Array.from({ length: 20 }, (_, i) => c + i * 0.001), d2hMs: Array(20).fill(0.005), e2eMs: Array.from({ length: 20 }, (_, i) => c + 0.1 + i * 0.001),
  });
  return torchReportFrom(
    { status: 'ok', info: { torch: '2.11.0', device: 'NVIDIA H100' }, check: { ok: true, fp32RelL2: 1e-7, fp16RelL2: 3e-4, top1Agreement: 1 }, runs: [run('eager', 1, 1.2), run('cudagraph', 1, 0.5), run('eager', 32, 1.5), run('cudagraph', 32, 1.1)] },
    [90, 95, 99],
  );
}

function report(rs = results()): BenchReport {
  const peers = [torchPeerReport(), skipped('ort', 'onnxruntime-node is not installed'), skipped('trtexec', 'trtexec was not found on PATH')];
  return {
    schema: REPORT_SCHEMA,
    createdAt: '2025-01-01T00:00:00.000Z',
    system: { node: '20.0.0', platform: 'linux x64', cpu: 'Test CPU', cpuCores: 16, gpu: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0', driver: '13.0', cudaRuntime: '13.0', tensorrt: null, library: '0.1.0' },
    mode: 'gpu',
    notes: ['A note <with> markup & quotes "x"'],
    options: { batches: [1, 32], optBatch: 32, streams: [1], precisions: ['fp32', 'fp16'], backend: 'auto', warmUpMs: 200, iterations: 10, durationS: 3, cudaGraph: true, transfers: true, percentiles: [90, 95, 99], repeat: 1, seed: 42 },
    model: { path: '/cache/mobilenetv2.onnx', description: 'MobileNetV2 (generated, seed 42)', kind: 'onnx', onnxBytes: 14_000_000, inputs: [{ name: 'input', dims: ['batch', 3, 224, 224] }] },
    engines: (['fp32', 'fp16'] as const).map((precision) => ({
      precision, backend: 'builtin' as const, loaded: false, buildMs: 12_345, planBytes: precision === 'fp16' ? 7_000_000 : 14_100_000, onnxBytes: 14_000_000,
      sizeRatio: (precision === 'fp16' ? 7_000_000 : 14_100_000) / 14_000_000, profile: { min: 1, opt: 32, max: 32 }, layers: 65, activationBytes: 40e6, workspaceBytes: 1e6, weightBytes: 6.8e6, tacticCacheHits: 0,
      validation: { samples: 32, outputs: [{ name: 'logits', maxAbs: 1e-3, meanAbs: 1e-4, maxRel: 1e-2, meanRel: 1e-3, relL2: precision === 'fp16' ? 4e-4 : 2e-7 }], top1Agreement: 1 },
      skippedBatches: [],
    })),
    results: rs,
    fp16VsFp32: fp16VsFp32(rs),
    peers,
    peerRatios: peerRatios(rs, peers),
    profile: { precision: 'fp16', batch: 32, iterations: 50, ...withShares([{ name: 'conv_0', op: 'Conv', tactic: 'implicit_gemm_128x64', ms: 0.3 }, { name: 'gap', op: 'GlobalAveragePool', tactic: 'reduce', ms: 0.1 }]) },
    repeats: repeatAgreement(rs),
  };
}

/** Checks that tags nest and close (void elements self-closed), like an XML parser would. */
function checkWellFormed(html: string): void {
  const body = html.replace(/^<!DOCTYPE html>\s*/, '');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) {
      expect(stack.pop(), `closing </${name}>`).toBe(name);
    } else stack.push(name);
  }
  expect(stack).toEqual([]);
  // Every '<' starts a tag we understood: no stray markup from unescaped text.
  const tags = [...body.matchAll(/<[^>]*>/g)].length;
  const parsed = [...body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<]*")*)\s*(\/?)>/g)].length;
  expect(parsed).toBe(tags);
  // Text and attributes never hold a bare '&' (only entities).
  expect(body.match(/&(?!(amp|lt|gt|quot|#39);)/g)).toBeNull();
}

describe('report data', () => {
  it('summarizes a trace into throughput, statistics and warnings', () => {
    const r = configResult(trace(32, 1), meta('fp16'), [90, 99]);
    expect(r.id).toBe('fp16 b32 s1');
    expect(r.queries).toBe(40);
    expect(r.throughput.qps).toBeCloseTo(40 / (40 * 1.04) * 1000, 9);
    expect(r.throughput.ips).toBeCloseTo(r.throughput.qps * 32, 9);
    expect(r.h2dMs.median).toBeCloseTo(0.064, 12);
    expect(r.latencyMs.median).toBeCloseTo(r.h2dMs.median + r.computeMs.median + r.d2hMs.median, 2);
    expect(Object.keys(r.e2eMs.percentiles)).toEqual(['90', '99']);
    expect(r.totalComputeMs).toBeCloseTo(r.computeMs.mean * 40, 9);
    expect(r.warnings.map((w) => w.code)).toEqual(['unstable-compute']); // the ±2% ripple has a CoV of ~1.4%
    expect(configResult(trace(1, 1), meta('fp16', 1), [90]).id).toBe('fp16 b1 s1 r2');
  });

  it('computes FP16-vs-FP32 speed-ups and ours/peer ratios at matching batches', () => {
    const rs = results();
    const sp = fp16VsFp32(rs);
    expect(sp.map((s) => s.batch)).toEqual([1, 32]);
    for (const s of sp) expect(s.compute).toBeCloseTo(2, 6);
    const ratios = peerRatios(rs, [torchPeerReport()]);
    expect(ratios.map((r) => `${r.label} ${r.precision} b${r.batch}`)).toEqual(['PyTorch eager fp16 b1', 'PyTorch CUDA graph fp16 b1', 'PyTorch eager fp16 b32', 'PyTorch CUDA graph fp16 b32']);
    const eager1 = ratios[0];
    const ours = rs.find((r) => r.precision === 'fp16' && r.batch === 1)!;
    expect(eager1.compute).toBeCloseTo(ours.computeMs.median / 1.2095, 3); // median of 1.2 + i·0.001, i < 20
  });

  it('checks repeat agreement per configuration and metric', () => {
    const a = configResult(trace(1, 1), meta('fp16', 0), [90]);
    const b = configResult(trace(1, 1.001), meta('fp16', 1), [90]);
    const c = configResult(trace(1, 2), meta('fp16', 2), [90]);
    expect(repeatAgreement([a, b]).map((r) => [r.config, r.metric, r.agreement.agree])).toEqual([['fp16 b1 s1', 'computeMs', true], ['fp16 b1 s1', 'e2eMs', true]]);
    expect(repeatAgreement([a, c]).every((r) => !r.agreement.agree)).toBe(true);
    expect(repeatAgreement([a])).toEqual([]);
  });

  it('survives a JSON round trip with every schema field', () => {
    const r = report();
    const j = JSON.parse(JSON.stringify(r)) as BenchReport;
    expect(j.schema).toBe('node-tensorrt-bench/1');
    expect(Object.keys(j).sort()).toEqual(['createdAt', 'engines', 'fp16VsFp32', 'mode', 'model', 'notes', 'options', 'peerRatios', 'peers', 'profile', 'repeats', 'results', 'schema', 'system'].sort());
    const res = j.results[0];
    for (const k of ['latencyMs', 'e2eMs', 'enqueueMs', 'h2dMs', 'computeMs', 'd2hMs'] as const) {
      expect(Object.keys(res[k]).sort()).toEqual(['count', 'covPercent', 'iqr', 'max', 'mean', 'median', 'min', 'percentiles', 'q1', 'q3', 'stddev']);
    }
    expect(res).toHaveProperty('throughput.qps');
    expect(res).toHaveProperty('throughput.ips');
    expect(res).toHaveProperty('histogram.counts');
    expect(j.peers.map((p) => [p.name, p.status])).toEqual([['torch', 'ok'], ['ort', 'skipped'], ['trtexec', 'skipped']]);
    expect(j.engines[1]).toHaveProperty('validation.top1Agreement', 1);
  });
});

describe('text report', () => {
  it('prints trtexec-style blocks and ends with the summary table, one row per configuration', () => {
    const text = formatTextReport(report(), { profile: true });
    expect(text).toContain('=== Performance: fp16, batch 32, 1 stream (builtin, CUDA graph) ===');
    expect(text).toMatch(/GPU Compute Time: min = [\d.]+ ms, max = [\d.]+ ms, mean = [\d.]+ ms, median = [\d.]+ ms, percentile\(90%\) = [\d.]+ ms, percentile\(95%\) = [\d.]+ ms, percentile\(99%\) = [\d.]+ ms, CoV = [\d.]+%/);
    expect(text).toContain('[W] * GPU compute time is unstable');
    expect(text).toContain('trtexec: skipped — trtexec was not found on PATH');
    expect(text).toContain('=== Per-layer profile (fp16, batch 32, median of 50 iterations) ===');
    expect(text).toContain('NOTE: A note <with> markup');
    const tail = text.slice(text.lastIndexOf('=== Summary ==='));
    const rows = tail.split('\n').filter((l) => /^fp(16|32) b\d+ s\d+/.test(l));
    expect(rows.map((l) => l.split(/\s{2,}/)[0])).toEqual(['fp32 b1 s1', 'fp32 b32 s1', 'fp16 b1 s1', 'fp16 b32 s1']);
    expect(tail.split('\n')[1]).toMatch(/^config\s+qps\s+images\/s\s+e2e median\s+e2e p99\s+GPU median\s+FP16 speed-up\s+vs PyTorch eager\s+vs PyTorch CUDA graph$/);
    expect(rows[2]).toContain('2.00× /'); // fp16 b1: compute speed-up over fp32
    expect(text.trimEnd().endsWith('FP16 speed-up: FP32 median ÷ FP16 median, GPU compute / end-to-end.')).toBe(true);
  });

  it('shows torch.compile beside the other peers with its compile time', () => {
    const r = report();
    const compiled = torchReportFrom(
      { status: 'ok', info: { torch: '2.11.0' }, runs: [{ mode: 'compile', precision: 'fp16', batch: 32, compileMs: 93_400, walltimeMs: 1000, computeMs: [0.8, 0.9], e2eMs: [1.0, 1.1] }] },
      [90, 95, 99],
      'torch-compile',
    );
    r.peers = [r.peers[0], compiled, ...r.peers.slice(1)];
    r.peerRatios = peerRatios(r.results, r.peers);
    const text = formatTextReport(r, { profile: false });
    expect(text).toContain('PyTorch torch.compile max-autotune fp16 batch 32: compiled in 93.4 s');
    expect(text.slice(text.lastIndexOf('=== Summary ===')).split('\n')[1]).toMatch(/vs PyTorch torch\.compile max-autotune$/);
  });

  it('leaves the per-layer table out unless asked', () => {
    expect(formatTextReport(report(), { profile: false })).not.toContain('Per-layer profile');
  });

  it('aligns plain-text tables', () => {
    expect(textTable(['a', 'num'], [['xx', '1'], ['y', '22']])).toBe('a   num\n──  ───\nxx    1\ny    22');
  });

  it('has a summary row even for a configuration without a peer match', () => {
    const r = report();
    r.peerRatios = [];
    expect(summaryTable(r).split('\n')).toHaveLength(2 + r.results.length);
  });
});

describe('HTML report', () => {
  const html = formatHtmlReport(report());

  it('is one well-formed document with no external resources or scripts', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    checkWellFormed(html);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
  });

  it('has the throughput chart with every series, a histogram per configuration, and the tables', () => {
    const svgs = html.match(/<svg /g) ?? [];
    expect(svgs.length).toBe(3 + 4); // throughput, latency, batch-1 bars + one histogram per configuration
    const tput = html.slice(html.indexOf('aria-label="Throughput against batch size"'));
    for (const s of ['ours fp32', 'ours fp16', 'PyTorch eager fp16', 'PyTorch CUDA graph fp16']) expect(tput.slice(0, tput.indexOf('</svg>'))).toContain(`>${s}</text>`);
    for (const id of ['fp32 b1 s1', 'fp32 b32 s1', 'fp16 b1 s1', 'fp16 b32 s1']) {
      expect(html).toContain(`aria-label="${id}: 40 queries"`);
      expect(html).toContain(`<td class="l">${id}</td>`);
    }
    for (const id of ['throughput', 'results', 'warnings', 'histograms', 'engines', 'fp16', 'peers', 'profile', 'definitions']) expect(html).toContain(`<section id="${id}">`);
    expect(html).toContain('A note &lt;with&gt; markup &amp; quotes &quot;x&quot;');
  });

  it('shows the no-GPU note and still renders without peers or FP16', () => {
    const r = report(results().filter((x) => x.precision === 'fp32'));
    r.mode = 'cpu-reference';
    r.peers = [skipped('torch', 'PyTorch sees no CUDA device')];
    r.peerRatios = [];
    r.fp16VsFp32 = [];
    r.profile = { skipped: 'per-layer GPU profiles need a GPU backend' };
    const h = formatHtmlReport(r);
    checkWellFormed(h);
    expect(h).toContain('PyTorch sees no CUDA device');
    expect(h).not.toContain('<section id="fp16">');
    expect(h).toContain('Skipped: per-layer GPU profiles need a GPU backend');
  });
});

describe('chart axes', () => {
  it('picks round linear ticks and 1-2-5 log ticks that cover the data', () => {
    expect(linearTicks(0, 9.3)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(linearTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(logTicks(3, 400)).toEqual([2, 5, 10, 20, 50, 100, 200, 500]);
    const t = logTicks(0.37, 91_000);
    expect(t[0]).toBeLessThanOrEqual(0.37);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(91_000);
  });
});
