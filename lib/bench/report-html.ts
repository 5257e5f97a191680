// The HTML report: one self-contained, well-formed (XHTML-compatible) file with inline CSS and SVG charts.
// No scripts, no fonts, no network.
import { fmtBytes, fmtMs, fmtPct, fmtRate, fmtS, fmtSci, fmtX } from './format.js';
import type { BenchReport, ConfigResult, ProfileReport } from './report.js';
import type { PeerRun } from './peers/types.js';
import { accuracyHtml } from './report-accuracy.js';
import { barChart, esc, histogramChart, lineChart, type Series } from './svg.js';

/** Colours: ours solid blues, peers dashed warm/green/purple. */
const COLORS: Record<string, string> = {
  'ours fp16': '#1d4ed8',
  'ours fp32': '#60a5fa',
  'PyTorch eager fp16': '#f97316',
  'PyTorch CUDA graph fp16': '#dc2626',
  'PyTorch eager fp32': '#fdba74',
  'PyTorch CUDA graph fp32': '#f87171',
  'onnxruntime-node (CPU) fp32': '#16a34a',
  'trtexec fp16': '#7c3aed',
  'trtexec fp32': '#c4b5fd',
};
const colorOf = (name: string, i: number): string => COLORS[name] ?? ['#0891b2', '#be185d', '#65a30d', '#a16207'][i % 4];

const CSS = `
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--accent:#1d4ed8;--warn:#b45309;--bad:#b91c1c;--good:#15803d}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:linear-gradient(120deg,#0f172a,#1e3a8a);color:#fff;padding:28px 40px}
header h1{margin:0 0 4px;font-size:24px;font-weight:650}header p{margin:2px 0;color:#cbd5e1}
.chips{margin-top:12px;display:flex;flex-wrap:wrap;gap:8px}.chip{background:rgba(255,255,255,.12);border-radius:999px;padding:3px 12px;font-size:12px;color:#e2e8f0}
main{max-width:1180px;margin:0 auto;padding:24px 40px 60px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 24px;margin:18px 0;box-shadow:0 1px 2px rgba(15,23,42,.04)}
h2{font-size:17px;margin:0 0 12px}h3{font-size:14px;margin:16px 0 8px;color:#334155}
.note{background:#fffbeb;border:1px solid #fcd34d;color:#78350f;border-radius:10px;padding:12px 16px;margin:18px 0}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin:18px 0}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 18px}.kpi .v{font-size:21px;white-space:nowrap;font-weight:650;color:var(--accent)}.kpi .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.kpi .s{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:#f1f5f9;font-weight:600;color:#334155;position:sticky;top:0}td.l,th.l{text-align:left}tr:hover td{background:#f8fafc}
.scroll{overflow-x:auto}.wrap{white-space:normal;display:inline-block;max-width:760px}.muted{color:var(--muted);fill:var(--muted)}.warn{color:var(--warn)}.bad{color:var(--bad);font-weight:600}.good{color:var(--good);font-weight:600}
.grid-hist{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:10px}
.chart{max-width:100%;height:auto;font-family:inherit}.chart.wide{width:100%;max-width:980px;display:block;margin:6px auto 18px}.chart .grid{stroke:#eef2f7}.chart .frame{fill:none;stroke:#cbd5e1}.chart .tick{font-size:11px;fill:#64748b}
.chart .axis-label{font-size:12px;fill:#334155}.chart .chart-title{font-size:14px;font-weight:600;fill:#0f172a}.chart .chart-title.small{font-size:12px}.chart .axis-label.small{font-size:10px}
.chart .legend{font-size:12px;fill:#334155}.chart .value{font-size:12px;fill:#0f172a}.chart .overflow{fill:#94a3b8}
.chart .mark-median{stroke:#0f172a;stroke-width:1.5}.chart .mark-tail{stroke:#dc2626;stroke-width:1.5;stroke-dasharray:4 3}.chart .mark-label{font-size:10px;stroke:none}
.chart text.mark-median{fill:#0f172a}.chart text.mark-tail{fill:#dc2626}
.bar{display:inline-block;height:10px;background:var(--accent);border-radius:2px;vertical-align:middle;margin-right:6px}
ul.warnings{margin:0;padding-left:18px}ul.warnings li{margin:4px 0}code{background:#f1f5f9;border-radius:4px;padding:1px 5px;font-size:12px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}dt{font-weight:600}dd{margin:0;color:#334155}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:30px}
`;

function table(headers: readonly string[], rows: readonly (readonly string[])[], left = 1): string {
  const th = headers.map((h, i) => `<th${i < left ? ' class="l"' : ''}>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td${i < left ? ' class="l"' : ''}>${c}</td>`).join('')}</tr>`).join('');
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table></div>`;
}

/** Every throughput/latency series: ours per precision (1 stream, first repeat) and each peer mode × precision. @example seriesOf(report, (r) => r.throughput.ips) */
export function seriesOf(report: BenchReport, y: (r: ConfigResult | PeerRun) => number): Series[] {
  const out: Series[] = [];
  for (const p of report.options.precisions) {
    const pts = report.results.filter((r) => r.precision === p && r.streams === 1 && r.repeat === 0).map((r) => ({ x: r.batch, y: y(r) }));
    if (pts.length) out.push({ name: `ours ${p}`, color: '', points: pts });
  }
  for (const peer of report.peers) {
    const groups = new Map<string, PeerRun[]>();
    for (const r of peer.runs.filter((x) => !x.error)) {
      const k = `${r.label} ${r.precision}`;
      groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    for (const [name, runs] of groups) out.push({ name, color: '', dashed: true, points: runs.map((r) => ({ x: r.batch, y: y(r) })) });
  }
  return out.map((s, i) => ({ ...s, color: colorOf(s.name, i) }));
}

function kpis(report: BenchReport): string {
  const firsts = report.results.filter((r) => r.repeat === 0);
  const best = [...firsts].sort((a, b) => b.throughput.ips - a.throughput.ips)[0];
  const minBatch = Math.min(...firsts.map((r) => r.batch));
  const lat = firsts.filter((r) => r.batch === minBatch && r.streams === 1).sort((a, b) => a.e2eMs.median - b.e2eMs.median)[0];
  const cards: [string, string, string][] = [];
  if (best) cards.push(['Peak throughput', `${fmtRate(best.throughput.ips)} img/s`, `${best.precision}, batch ${best.batch}, ${best.streams} stream${best.streams > 1 ? 's' : ''}`]);
  if (lat) cards.push([`Latency, batch ${lat.batch}`, `${fmtMs(lat.e2eMs.median)} ms`, `${lat.precision} median end-to-end; ${report.mode === 'gpu' ? 'GPU' : 'compute'} ${fmtMs(lat.computeMs.median)} ms`]);
  const sp = report.fp16VsFp32;
  if (sp.length) {
    const big = sp.reduce((a, b) => (b.batch > a.batch ? b : a));
    cards.push(['FP16 vs FP32', fmtX(big.compute), `GPU compute speed-up at batch ${big.batch}`]);
  }
  const fp16 = report.engines.find((e) => e.precision === 'fp16') ?? report.engines[0];
  if (fp16?.sizeRatio) cards.push(['Engine size', fmtBytes(fp16.planBytes), `${fp16.precision} plan, ${fmtX(fp16.sizeRatio)} the ONNX file`]);
  const torch = report.peerRatios.filter((r) => r.label === 'PyTorch CUDA graph' && r.precision === 'fp16' && r.compute !== null);
  if (torch.length) {
    const big = torch.reduce((a, b) => (b.batch > a.batch ? b : a));
    cards.push(['vs PyTorch (CUDA graph)', fmtX(1 / big.compute!), `GPU compute speed-up, fp16 batch ${big.batch}`]);
  }
  const v = report.engines.find((e) => e.precision === 'fp16' && e.validation)?.validation;
  if (v) cards.push(['FP16 agreement', fmtPct(v.top1Agreement, 1), `top-1 vs the FP32 reference, ${v.samples} samples`]);
  return `<div class="kpis">${cards.map(([l, val, s]) => `<div class="kpi"><div class="l">${esc(l)}</div><div class="v">${esc(val)}</div><div class="s">${esc(s)}</div></div>`).join('')}</div>`;
}

function resultsTable(report: BenchReport): string {
  const pcts = report.options.percentiles;
  const gpu = report.mode === 'gpu';
  const rows = report.results.map((r) => [
    esc(r.id),
    fmtRate(r.throughput.qps),
    fmtRate(r.throughput.ips),
    ...[r.e2eMs, r.latencyMs, r.computeMs].flatMap((s) => [fmtMs(s.median), ...pcts.map((p) => fmtMs(s.percentiles[String(p)]))]),
    fmtMs(r.enqueueMs.median),
    fmtMs(r.h2dMs.median),
    fmtMs(r.d2hMs.median),
    `<span class="${r.computeMs.covPercent > 1 ? 'warn' : ''}">${Number.isFinite(r.computeMs.covPercent) ? `${r.computeMs.covPercent.toFixed(2)}%` : '–'}</span>`,
    String(r.queries),
    fmtS(r.walltimeMs),
  ]);
  const stat = (n: string): string[] => [`${n} median`, ...pcts.map((p) => `${n} p${p}`)];
  return table(['config', 'qps', 'images/s', ...stat('e2e'), ...stat('latency'), ...stat(gpu ? 'GPU' : 'compute'), 'enqueue', 'H2D', 'D2H', 'CoV', 'queries', 'walltime'], rows);
}

function histograms(report: BenchReport): string {
  const tail = report.options.percentiles[report.options.percentiles.length - 1];
  const charts = report.results.map((r) =>
    histogramChart(r.histogram, {
      title: `${r.id}: ${r.queries} queries`,
      median: r.e2eMs.median,
      ...(tail !== undefined ? { tail: { label: `p${tail}`, value: r.e2eMs.percentiles[String(tail)] } } : {}),
      color: colorOf(`ours ${r.precision}`, 0),
    }),
  );
  return `<div class="grid-hist">${charts.join('')}</div>`;
}

function warningsHtml(report: BenchReport): string {
  const items = report.results.flatMap((r) => r.warnings.map((w) => `<li><b>${esc(r.id)}</b>: ${esc(w.message)} <span class="muted">${esc(w.hint)}</span></li>`));
  return items.length ? `<ul class="warnings">${items.join('')}</ul>` : '<p class="muted">No warnings: no configuration was enqueue-bound, transfer-bound or unstable by trtexec\'s rules.</p>';
}

function enginesHtml(report: BenchReport): string {
  return table(
    ['precision', 'backend', 'build', 'plan', 'ONNX', 'plan/ONNX', 'profile', 'layers', 'activations', 'workspace', 'weights', 'top-1 vs reference', 'max |Δ|', 'rel L2'],
    report.engines.map((e) => [
      e.precision,
      e.backend,
      `${fmtS(e.buildMs)}${e.loaded ? ' (load)' : ''}`,
      fmtBytes(e.planBytes),
      fmtBytes(e.onnxBytes),
      e.sizeRatio === null ? '–' : fmtX(e.sizeRatio),
      `${e.profile.min}..${e.profile.max} (opt ${e.profile.opt})`,
      e.layers === null ? '–' : String(e.layers),
      fmtBytes(e.activationBytes),
      fmtBytes(e.workspaceBytes),
      fmtBytes(e.weightBytes),
      e.validation ? fmtPct(e.validation.top1Agreement, 1) : `<span class="wrap muted">${esc(e.validationSkipped ?? '–')}</span>`,
      e.validation ? fmtSci(e.validation.outputs[0]?.maxAbs) : '–',
      e.validation ? fmtSci(e.validation.outputs[0]?.relL2) : '–',
    ]),
    2,
  );
}

/** The PyTorch peer's output check against onnxruntime, in words. */
function checkText(c: Record<string, unknown>): string {
  if (c.skipped) return `output check against onnxruntime skipped: ${String(c.skipped)}`;
  const parts = [`fp32 rel L2 ${fmtSci(c.fp32RelL2 as number)}`];
  if (c.fp16RelL2 !== undefined) parts.push(`fp16 rel L2 ${fmtSci(c.fp16RelL2 as number)}`);
  if (c.top1Agreement !== undefined) parts.push(`top-1 agreement ${fmtPct(c.top1Agreement as number, 1)}`);
  return `output vs onnxruntime (CPU): ${parts.join(', ')}`;
}

function peersHtml(report: BenchReport): string {
  const status = table(
    ['peer', 'status', 'details'],
    report.peers.map((p) => {
      const cls = p.status === 'ok' ? 'good' : p.status === 'failed' ? 'bad' : 'muted';
      const info = Object.entries(p.info)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => (k === 'check' ? checkText(v as Record<string, unknown>) : `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`))
        .map(esc)
        .join('; ');
      return [esc(p.name), `<span class="${cls}">${esc(p.status)}</span>`, `<span class="wrap">${esc(p.reason ?? '')}${p.reason && info ? ' — ' : ''}${info}</span>`];
    }),
    3,
  );
  const ratios = report.peerRatios.length
    ? table(
        ['peer', 'ours', 'peer precision', 'batch', 'GPU compute ours/peer', 'e2e ours/peer', 'speed-up (e2e)', 'images/s ours/peer'],
        report.peerRatios.map((r) => [esc(r.label), r.precision, r.peerPrecision, String(r.batch), r.compute === null ? '–' : r.compute.toFixed(3), r.e2e.toFixed(3), `<span class="${r.e2e < 1 ? 'good' : 'bad'}">${fmtX(1 / r.e2e)}</span>`, fmtX(r.throughput)]),
        1,
      )
    : '<p class="muted">No peer ran, so there is nothing to compare with.</p>';
  return `${status}<h3>Ratios (time ours/peer: below 1 means node-tensorrt is faster)</h3>${ratios}`;
}

function profileHtml(p: ProfileReport | { skipped: string }): string {
  if ('skipped' in p) return `<section id="profile"><h2>Per-layer profile</h2><p class="muted">Skipped: ${esc(p.skipped)}</p></section>`;
  const top = [...p.layers].sort((a, b) => b.ms - a.ms);
  const max = top[0]?.share ?? 1;
  const rows = p.layers.map((l) => [esc(l.name), esc(l.op), esc(l.tactic), fmtMs(l.ms), `<span class="bar" style="width:${Math.max(1, Math.round((l.share / (max || 1)) * 120))}px"></span>${fmtPct(l.share, 1)}`]);
  rows.push(['<b>Total</b>', '', '', `<b>${fmtMs(p.totalMs)}</b>`, '100%']);
  return `<section id="profile"><h2>Per-layer profile (${esc(p.precision)}, batch ${p.batch}, median of ${p.iterations} iterations)</h2>${table(['layer', 'op', 'tactic', 'ms', 'share'], rows, 3)}</section>`;
}

function repeatsHtml(report: BenchReport): string {
  if (!report.repeats.length) return '';
  const rows = report.repeats.map((r) => [esc(r.config), r.metric === 'computeMs' ? 'compute' : 'e2e', r.agreement.medians.map(fmtMs).join(' / '), fmtMs(r.agreement.spread), fmtMs(r.agreement.tolerance), `<span class="${r.agreement.agree ? 'good' : 'bad'}">${r.agreement.agree ? 'yes' : 'no'}</span>`]);
  return `<section id="repeats"><h2>Repeat agreement (${report.options.repeat} runs)</h2><p class="muted">Two runs agree when the spread of their medians is no larger than the largest interquartile range (p75 − p25) among them.</p>${table(['config', 'metric', 'medians (ms)', 'spread', 'tolerance', 'agree'], rows, 2)}</section>`;
}

const DEFINITIONS: [string, string][] = [
  ['Throughput', 'queries ÷ total host walltime (qps); images/s = qps × batch. Each context (stream) has one query in flight at a time; with --streams N, N contexts run concurrently and their copies and kernels overlap (trtexec overlaps consecutive queries on one stream, so compare its single-stream throughput with ours at --streams 2).'],
  ['End-to-end latency', 'host clock from calling run() to its promise resolving, copies included unless --noDataTransfers.'],
  ['Latency', 'H2D + GPU compute + D2H of one query, from device events (trtexec\'s "Latency").'],
  ['Enqueue time', 'host time for run() to return its promise. Above 80% of GPU compute, the host sets the pace (enqueue-bound).'],
  ['GPU compute', 'device-event time of the kernels of one query. CoV = population standard deviation ÷ mean; above 1% it is flagged unstable.'],
  ['Percentiles', 'trtexec\'s definition: sort ascending, drop the largest ⌊(1 − p/100)·n⌋ samples, take the largest left. Always an observed sample; median = middle sample or mean of the two middle ones.'],
  ['Warm-up', 'queries during the warm-up time are run and discarded; timing then runs until both the iteration count and the duration are met.'],
];

/**
 * The HTML report as one string.
 * @example await writeFile('bench-report.html', formatHtmlReport(report));
 */
export function formatHtmlReport(report: BenchReport): string {
  const s = report.system;
  const batches = [...new Set(report.results.map((r) => r.batch))].sort((a, b) => a - b);
  const tput = lineChart(seriesOf(report, (r) => r.throughput.ips), { title: 'Throughput against batch size', xLabel: 'batch size', yLabel: 'images / s', xLog: true, yLog: true, xTicks: batches });
  const lat = lineChart(seriesOf(report, (r) => r.e2eMs.median), { title: 'Median end-to-end latency against batch size', xLabel: 'batch size', yLabel: 'ms per query', xLog: true, yLog: true, xTicks: batches });
  const b0 = batches[0];
  const bars = seriesOf(report, (r) => r.e2eMs.median)
    .map((se) => ({ label: se.name, value: se.points.find((p) => p.x === b0)?.y ?? NaN, color: se.color }))
    .filter((r) => Number.isFinite(r.value))
    .sort((a, b) => a.value - b.value);
  const chips = [s.gpu ? `${s.gpu} (sm_${(s.computeCapability ?? '').replace('.', '')})` : 'no CUDA device', s.driver ? `driver ${s.driver}` : '', s.cudaRuntime ? `CUDA ${s.cudaRuntime}` : '', `TensorRT ${s.tensorrt ?? 'not available'}`, `Node ${s.node}`, `${s.cpu} × ${s.cpuCores}`, `node-tensorrt ${s.library}`].filter(Boolean);
  const o = report.options;
  const html = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>',
    `<title>node-tensorrt bench: ${esc(report.model.description)}</title><style>${CSS}</style></head><body>`,
    `<header><h1>node-tensorrt bench</h1><p>${esc(report.model.description)} · ${esc(o.precisions.join(' vs ').toUpperCase())} · batches ${esc(o.batches.join(', '))} · ${esc(report.createdAt)}</p>`,
    `<div class="chips">${chips.map((c) => `<span class="chip">${esc(c)}</span>`).join('')}</div></header><main>`,
    ...report.notes.map((n) => `<div class="note">${esc(n)}</div>`),
    kpis(report),
    `<section id="throughput"><h2>Throughput and latency</h2>${tput}${lat}${bars.length ? barChart(bars, { title: `Median end-to-end latency at batch ${b0}`, unit: 'ms' }) : ''}</section>`,
    `<section id="results"><h2>Results per configuration</h2><p class="muted">Times in ms. Warm-up ${o.warmUpMs} ms; at least ${o.iterations} iterations and ${o.durationS} s each; ${report.mode === 'gpu' ? `CUDA graphs ${o.cudaGraph ? 'on' : 'off'}; ` : ''}data transfers ${o.transfers ? 'on' : 'off'}.</p>${resultsTable(report)}</section>`,
    `<section id="warnings"><h2>Warnings</h2>${warningsHtml(report)}</section>`,
    `<section id="histograms"><h2>Latency distributions</h2>${histograms(report)}</section>`,
    `<section id="engines"><h2>Engines</h2><p class="muted">Model: ${esc(report.model.path)}${report.model.onnxBytes !== null ? ` (${fmtBytes(report.model.onnxBytes)})` : ''}; inputs ${esc(report.model.inputs.map((i) => `${i.name} [${i.dims.join(', ')}]`).join(', '))}.</p>${enginesHtml(report)}</section>`,
    report.fp16VsFp32.length
      ? `<section id="fp16"><h2>FP16 against FP32</h2>${table(['batch', 'streams', 'GPU compute speed-up', 'e2e speed-up', 'throughput ratio'], report.fp16VsFp32.map((r) => [String(r.batch), String(r.streams), fmtX(r.compute), fmtX(r.e2e), fmtX(r.throughput)]))}</section>`
      : '',
    `<section id="peers"><h2>Peers</h2>${peersHtml(report)}</section>`,
    accuracyHtml(report.accuracy, table),
    profileHtml(report.profile),
    repeatsHtml(report),
    `<section id="definitions"><h2>Definitions</h2><dl>${DEFINITIONS.map(([t, d]) => `<dt>${esc(t)}</dt><dd>${esc(d)}</dd>`).join('')}</dl></section>`,
    `<footer>Generated by node-tensorrt bench (${esc(report.schema)}) on ${esc(report.createdAt)}.</footer>`,
    '</main></body></html>',
  ];
  return html.join('\n') + '\n';
}
