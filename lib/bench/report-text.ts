// The text report on stdout: trtexec-style blocks per configuration, then engines, peers, accuracy, and last a
// summary table.
import type { Summary } from './stats.js';
import { fmtBytes, fmtMs, fmtPct, fmtRate, fmtS, fmtSci, fmtX, textTable } from './format.js';
import type { BenchReport, ConfigResult, PeerRatioRow, ProfileReport } from './report.js';
import { accuracyText } from './report-accuracy.js';

/** trtexec's statistics line. @example formatStats(r.computeMs, [90, 99]) // "min = 0.41 ms, max = …, percentile(99%) = 0.52 ms, CoV = 0.80%" */
export function formatStats(s: Summary, percentiles: readonly number[]): string {
  const p = percentiles.map((q) => `percentile(${q}%) = ${fmtMs(s.percentiles[String(q)])} ms`).join(', ');
  const cov = Number.isFinite(s.covPercent) ? `, CoV = ${s.covPercent.toFixed(2)}%` : '';
  return `min = ${fmtMs(s.min)} ms, max = ${fmtMs(s.max)} ms, mean = ${fmtMs(s.mean)} ms, median = ${fmtMs(s.median)} ms${p ? `, ${p}` : ''}${cov}`;
}

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

/** One configuration's performance summary, in trtexec's order and words. @example formatConfig(report.results[0], [90, 95, 99], true) */
export function formatConfig(r: ConfigResult, percentiles: readonly number[], gpu: boolean): string {
  const dev = gpu ? 'GPU Compute Time' : 'Compute Time (host clock)';
  const lines = [
    `=== Performance: ${r.precision}, batch ${r.batch}, ${plural(r.streams, 'stream')}${r.repeat ? `, repeat ${r.repeat + 1}` : ''} (${r.backend}${r.cudaGraph && gpu ? ', CUDA graph' : ''}${r.transfers ? '' : ', no data transfers'}) ===`,
    `Throughput: ${fmtRate(r.throughput.qps)} qps (${fmtRate(r.throughput.ips)} images/s)`,
    `Latency: ${formatStats(r.latencyMs, percentiles)}`,
    `End-to-End Host Latency: ${formatStats(r.e2eMs, percentiles)}`,
    `Enqueue Time: ${formatStats(r.enqueueMs, percentiles)}`,
    `H2D Latency: ${formatStats(r.h2dMs, percentiles)}`,
    `${dev}: ${formatStats(r.computeMs, percentiles)}`,
    `D2H Latency: ${formatStats(r.d2hMs, percentiles)}`,
    `Total Host Walltime: ${fmtS(r.walltimeMs)} (${r.queries} queries after ${r.warmUp.queries} warm-up queries over ${fmtMs(r.warmUp.ms)} ms)`,
    `Total ${gpu ? 'GPU ' : ''}Compute Time: ${fmtS(r.totalComputeMs)}`,
  ];
  for (const w of r.warnings) lines.push(`[W] * ${w.message}`, `[W]   ${w.hint}`);
  return lines.join('\n');
}

function enginesTable(report: BenchReport): string {
  const rows = report.engines.map((e) => {
    const v = e.validation;
    const acc = v ? `top-1 ${fmtPct(v.top1Agreement, 1)}, rel L2 ${fmtSci(v.outputs[0]?.relL2)} (${v.samples} samples)` : (e.validationSkipped ?? '–');
    return [e.precision, e.backend, e.loaded ? `${fmtS(e.buildMs)} (load)` : fmtS(e.buildMs), fmtBytes(e.planBytes), e.sizeRatio === null ? '–' : fmtX(e.sizeRatio), e.layers === null ? '–' : String(e.layers), fmtBytes(e.activationBytes), acc];
  });
  return textTable(['precision', 'backend', 'build', 'plan size', 'vs ONNX', 'layers', 'activations', 'agreement with the reference'], rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l']);
}

function peersText(report: BenchReport): string {
  const lines: string[] = [];
  for (const p of report.peers) {
    if (p.status !== 'ok') {
      lines.push(`${p.name}: ${p.status} — ${p.reason ?? ''}`);
      continue;
    }
    const info = Object.entries(p.info)
      .filter(([k, v]) => k !== 'check' && v !== null && typeof v !== 'object')
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    lines.push(`${p.name}: ok (${info})`);
    const check = p.info.check as Record<string, unknown> | undefined;
    if (check) {
      lines.push(
        check.skipped
          ? `  output check against onnxruntime skipped: ${String(check.skipped)}`
          : `  output check against onnxruntime (CPU): rel L2 fp32 ${fmtSci(check.fp32RelL2 as number)}, fp16 ${fmtSci(check.fp16RelL2 as number)}, top-1 agreement ${fmtPct(check.top1Agreement as number, 0)}`,
      );
    }
    for (const r of p.runs.filter((x) => x.compileMs !== undefined)) lines.push(`  ${r.label} ${r.precision} batch ${r.batch}: compiled in ${(r.compileMs! / 1000).toFixed(1)} s`);
    for (const r of p.runs.filter((x) => x.error)) lines.push(`  ${r.label} ${r.precision} batch ${r.batch}: ${r.error}`);
  }
  return lines.join('\n');
}

function ratioCell(rows: readonly PeerRatioRow[], r: ConfigResult, label: string): string {
  const row = rows.find((x) => x.label === label && x.precision === r.precision && x.batch === r.batch);
  if (!row) return '–';
  const c = row.compute === null ? '' : `${fmtX(1 / row.compute)} / `;
  return `${c}${fmtX(1 / row.e2e)}`;
}

/**
 * The summary table printed last: one row per configuration of the first repeat, with FP16-vs-FP32 and peer
 * speed-ups (peer median ÷ our median: above 1× we are faster).
 * @example console.log(summaryTable(report));
 */
export function summaryTable(report: BenchReport): string {
  const firsts = report.results.filter((r) => r.repeat === 0);
  const pct = report.options.percentiles.includes(99) ? 99 : report.options.percentiles[report.options.percentiles.length - 1];
  const labels = [...new Set(report.peerRatios.map((r) => r.label))];
  const headers = ['config', 'qps', 'images/s', 'e2e median', `e2e p${pct ?? ''}`, report.mode === 'gpu' ? 'GPU median' : 'compute median', 'FP16 speed-up', ...labels.map((l) => `vs ${l}`)];
  const rows = firsts.map((r) => {
    const sp = r.precision === 'fp16' ? report.fp16VsFp32.find((s) => s.batch === r.batch && s.streams === r.streams) : undefined;
    return [
      `${r.precision} b${r.batch} s${r.streams}`,
      fmtRate(r.throughput.qps),
      fmtRate(r.throughput.ips),
      `${fmtMs(r.e2eMs.median)} ms`,
      pct === undefined ? '–' : `${fmtMs(r.e2eMs.percentiles[String(pct)])} ms`,
      `${fmtMs(r.computeMs.median)} ms`,
      sp ? `${fmtX(sp.compute)} / ${fmtX(sp.e2e)}` : '–',
      ...labels.map((l) => (r.streams === 1 ? ratioCell(report.peerRatios, r, l) : '–')),
    ];
  });
  return textTable(headers, rows);
}

/**
 * The whole text report. With `profile`, includes the per-layer table (like trtexec --exportProfile).
 * @example process.stdout.write(formatTextReport(report, { profile: false }));
 */
export function formatTextReport(report: BenchReport, show: { profile: boolean }): string {
  const gpu = report.mode === 'gpu';
  const s = report.system;
  const o = report.options;
  const out: string[] = [];
  out.push('=== node-tensorrt bench ===');
  for (const n of report.notes) out.push(`NOTE: ${n}`);
  out.push(`System: ${s.gpu ? `${s.gpu} (sm_${(s.computeCapability ?? '').replace('.', '')}), driver ${s.driver ?? '?'}, CUDA runtime ${s.cudaRuntime ?? '?'}` : 'no CUDA device'}; TensorRT ${s.tensorrt ?? 'not available'}; Node ${s.node}, ${s.platform}, ${s.cpu} (${s.cpuCores} cores); node-tensorrt ${s.library}`);
  const m = report.model;
  out.push(`Model: ${m.description} — ${m.path}${m.onnxBytes !== null ? `, ${fmtBytes(m.onnxBytes)} ONNX` : ''}; inputs ${m.inputs.map((i) => `'${i.name}' [${i.dims.join(', ')}]`).join(', ')}`);
  out.push(
    `Timing: warm-up ${o.warmUpMs} ms, at least ${o.iterations} iterations and ${o.durationS} s per configuration; ${gpu ? `CUDA graphs ${o.cudaGraph ? 'on' : 'off'}, ` : ''}data transfers ${o.transfers ? 'on' : 'off'}; percentiles ${o.percentiles.join('/')} (trtexec's definition); seeded random inputs (seed ${o.seed})`,
  );
  out.push('', '=== Engines ===', enginesTable(report));
  for (const r of report.results) out.push('', formatConfig(r, o.percentiles, gpu));
  if (report.fp16VsFp32.length) {
    out.push('', '=== FP16 vs FP32 ===');
    out.push(textTable(['batch', 'streams', 'compute speed-up', 'e2e speed-up', 'throughput ratio'], report.fp16VsFp32.map((r) => [String(r.batch), String(r.streams), fmtX(r.compute), fmtX(r.e2e), fmtX(r.throughput)])));
  }
  out.push('', '=== Peers ===', peersText(report));
  if (report.accuracy) out.push('', ...accuracyText(report.accuracy));
  if (report.repeats.length) {
    out.push('', `=== Repeat agreement (${o.repeat} runs; agree = spread of medians ≤ largest interquartile range) ===`);
    out.push(
      textTable(
        ['config', 'metric', 'medians (ms)', 'spread', 'tolerance', 'agree'],
        report.repeats.map((r) => [r.config, r.metric === 'computeMs' ? 'compute' : 'e2e', r.agreement.medians.map(fmtMs).join(' / '), fmtMs(r.agreement.spread), fmtMs(r.agreement.tolerance), r.agreement.agree ? 'yes' : 'NO']),
        ['l', 'l', 'r', 'r', 'r', 'l'],
      ),
    );
  }
  if (show.profile) {
    if ('layers' in report.profile) out.push('', ...profileText(report.profile));
    else out.push('', `=== Per-layer profile === skipped: ${report.profile.skipped}`);
  }
  out.push('', '=== Summary ===', summaryTable(report));
  if (report.peerRatios.length) out.push('vs peers: peer median ÷ our median, GPU compute / end-to-end; above 1× node-tensorrt is faster.');
  if (report.fp16VsFp32.length) out.push('FP16 speed-up: FP32 median ÷ FP16 median, GPU compute / end-to-end.');
  return out.join('\n') + '\n';
}

function profileText(p: ProfileReport): string[] {
  return [
    `=== Per-layer profile (${p.precision}, batch ${p.batch}, median of ${p.iterations} iterations) ===`,
    textTable(
      ['layer', 'op', 'tactic', 'time (ms)', 'share'],
      [...p.layers.map((l) => [l.name, l.op, l.tactic, fmtMs(l.ms), fmtPct(l.share, 1)]), ['Total', '', '', fmtMs(p.totalMs), '100.0%']],
      ['l', 'l', 'l', 'r', 'r'],
    ),
  ];
}
