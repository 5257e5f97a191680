// Inline SVG charts for the HTML report, written by hand: no scripts, no network, valid XML.
import type { Histogram } from './stats.js';

/** Escapes text for XML/HTML content and attribute values. @example esc('a<b') // 'a&lt;b' */
export function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const r2 = (v: number): string => (Math.round(v * 100) / 100).toString();

/** Short numbers for axis labels: 1.2k, 35, 0.25, 1.5M. @example fmtTick(12500) // '12.5k' */
export function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a === 0) return '0';
  if (a < 0.01) return v.toExponential(0);
  return `${+v.toPrecision(3)}`;
}

/** Round-number ticks covering [lo, hi] on a linear axis. @example linearTicks(0, 9.3) // [0, 2, 4, 6, 8, 10] */
export function linearTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  if (out[out.length - 1] < hi) out.push(+(out[out.length - 1] + step).toPrecision(12));
  return out;
}

/** 1-2-5 ticks covering [lo, hi] on a log axis. @example logTicks(3, 400) // [2, 5, 10, 20, 50, 100, 200, 500] */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  // Fewer decades, finer steps, so that a narrow range still gets a few labelled ticks.
  const mult = e1 - e0 > 4 ? [1] : e1 - e0 > 1 ? [1, 2, 5] : [1, 1.5, 2, 3, 4, 5, 6, 8];
  for (let e = e0; e <= e1; e++) for (const m of mult) out.push(m * 10 ** e);
  const first = Math.max(0, out.findIndex((v) => v > lo) - 1);
  let last = out.findIndex((v) => v >= hi);
  if (last < 0) last = out.length - 1;
  return out.slice(first, last + 1).map((v) => +v.toPrecision(6));
}

export interface Series {
  name: string;
  color: string;
  /** Dashed line, e.g. for peers. */
  dashed?: boolean;
  points: { x: number; y: number }[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  width?: number;
  height?: number;
  /** Tick values to label on x (e.g. the batch sizes). */
  xTicks?: number[];
}

/**
 * A line chart with markers, axes, grid and a legend. Non-positive values are dropped on log axes.
 * @example lineChart([{ name: 'fp16', color: '#2563eb', points: [{ x: 1, y: 900 }, { x: 32, y: 9000 }] }], { title: 'Throughput', xLabel: 'batch', yLabel: 'images/s', xLog: true, yLog: true })
 */
export function lineChart(series: readonly Series[], o: LineChartOptions): string {
  const W = o.width ?? 800;
  const H = o.height ?? 380;
  const legendW = 240;
  const m = { l: 64, r: legendW + 16, t: 34, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const ok = (v: number, log?: boolean): boolean => Number.isFinite(v) && (!log || v > 0);
  const pts = series.flatMap((s) => s.points).filter((p) => ok(p.x, o.xLog) && ok(p.y, o.yLog));
  const head = `<svg class="chart wide" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">`;
  const title = `<text x="${m.l}" y="20" class="chart-title">${esc(o.title)}</text>`;
  if (pts.length === 0) return `${head}${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no data</text></svg>`;
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (o.xLog) {
    if (x1 === x0) [x0, x1] = [x0 / 2, x1 * 2];
  } else if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  const yt = o.yLog ? logTicks(y0 === y1 ? y0 / 2 : y0, y0 === y1 ? y1 * 2 : y1) : linearTicks(Math.min(0, y0), y1 === y0 ? y1 + 1 : y1);
  [y0, y1] = [yt[0], yt[yt.length - 1]];
  const xt = o.xTicks?.filter((v) => ok(v, o.xLog)) ?? (o.xLog ? logTicks(x0, x1) : linearTicks(x0, x1));
  if (o.xTicks === undefined) [x0, x1] = [Math.min(x0, xt[0]), Math.max(x1, xt[xt.length - 1])];
  const fx = (v: number): number => m.l + (o.xLog ? (Math.log(v) - Math.log(x0)) / (Math.log(x1) - Math.log(x0) || 1) : (v - x0) / (x1 - x0 || 1)) * pw;
  const fy = (v: number): number => m.t + ph - (o.yLog ? (Math.log(v) - Math.log(y0)) / (Math.log(y1) - Math.log(y0) || 1) : (v - y0) / (y1 - y0 || 1)) * ph;
  const parts: string[] = [head, title];
  for (const t of yt) parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${r2(fy(t))}" y2="${r2(fy(t))}" class="grid"/><text x="${m.l - 6}" y="${r2(fy(t) + 4)}" text-anchor="end" class="tick">${esc(fmtTick(t))}</text>`);
  for (const t of xt) parts.push(`<line x1="${r2(fx(t))}" x2="${r2(fx(t))}" y1="${m.t}" y2="${m.t + ph}" class="grid"/><text x="${r2(fx(t))}" y="${m.t + ph + 16}" text-anchor="middle" class="tick">${esc(fmtTick(t))}</text>`);
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="frame"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle" class="axis-label">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${esc(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const sp = s.points.filter((p) => ok(p.x, o.xLog) && ok(p.y, o.yLog)).sort((a, b) => a.x - b.x);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (sp.length > 1) parts.push(`<polyline points="${sp.map((p) => `${r2(fx(p.x))},${r2(fy(p.y))}`).join(' ')}" fill="none" stroke="${esc(s.color)}" stroke-width="2.2"${dash}/>`);
    for (const p of sp) parts.push(`<circle cx="${r2(fx(p.x))}" cy="${r2(fy(p.y))}" r="3.6" fill="${esc(s.color)}"><title>${esc(`${s.name}: ${fmtTick(p.y)} at ${fmtTick(p.x)}`)}</title></circle>`);
    const ly = m.t + 8 + i * 20;
    const lx = W - legendW;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${esc(s.color)}" stroke-width="2.5"${dash}/><circle cx="${lx + 11}" cy="${ly}" r="3.2" fill="${esc(s.color)}"/><text x="${lx + 30}" y="${ly + 4}" class="legend">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * A latency histogram with the median and a tail percentile marked.
 * @example histogramChart(result.histogram, { title: 'fp16 b1', median: 0.41, tail: { label: 'p99', value: 0.52 } })
 */
export function histogramChart(h: Histogram, o: { title: string; median: number; tail?: { label: string; value: number }; width?: number; height?: number; color?: string }): string {
  const W = o.width ?? 340;
  const H = o.height ?? 190;
  const m = { l: 40, r: 12, t: 28, b: 34 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const head = `<svg class="chart hist" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">`;
  const title = `<text x="${m.l}" y="18" class="chart-title small">${esc(o.title)}</text>`;
  const total = h.counts.reduce((a, b) => a + b, 0) + h.over;
  if (total === 0) return `${head}${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no samples</text></svg>`;
  const bars = h.counts.length + (h.over ? 1 : 0);
  const maxC = Math.max(...h.counts, h.over);
  const bw = pw / bars;
  const yt = linearTicks(0, maxC, 3);
  const fy = (c: number): number => m.t + ph - (c / yt[yt.length - 1]) * ph;
  const lo = h.lo;
  const span = h.width > 0 ? h.width * h.counts.length : 1;
  const fx = (v: number): number => m.l + Math.min(1, Math.max(0, (v - lo) / span)) * h.counts.length * bw;
  const parts = [head, title];
  for (const t of yt) parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${r2(fy(t))}" y2="${r2(fy(t))}" class="grid"/><text x="${m.l - 5}" y="${r2(fy(t) + 4)}" text-anchor="end" class="tick">${esc(fmtTick(t))}</text>`);
  h.counts.forEach((c, i) => {
    if (c === 0) return;
    const a = lo + i * h.width;
    parts.push(`<rect x="${r2(m.l + i * bw + 0.5)}" y="${r2(fy(c))}" width="${r2(Math.max(0.5, bw - 1))}" height="${r2(m.t + ph - fy(c))}" fill="${esc(o.color ?? '#2563eb')}"><title>${esc(`${fmtTick(a)}–${fmtTick(a + h.width)} ms: ${c}`)}</title></rect>`);
  });
  if (h.over) {
    const x = m.l + h.counts.length * bw;
    parts.push(`<rect x="${r2(x + 0.5)}" y="${r2(fy(h.over))}" width="${r2(Math.max(0.5, bw - 1))}" height="${r2(m.t + ph - fy(h.over))}" class="overflow"><title>${esc(`> ${fmtTick(h.hi)} ms: ${h.over}`)}</title></rect>`);
  }
  const marks: [string, number, string][] = [['median', o.median, 'mark-median']];
  if (o.tail) marks.push([o.tail.label, o.tail.value, 'mark-tail']);
  marks.forEach(([label, v, cls], i) => {
    if (!Number.isFinite(v)) return;
    const x = fx(v);
    // Labels sit inside the plot, beside their line, on the side with room.
    const right = x < m.l + pw * 0.6;
    const tx = r2(right ? x + 3 : x - 3);
    parts.push(`<line x1="${r2(x)}" x2="${r2(x)}" y1="${m.t}" y2="${m.t + ph}" class="${cls}"/><text x="${tx}" y="${m.t + 11 + i * 12}" text-anchor="${right ? 'start' : 'end'}" class="mark-label ${cls}">${esc(`${label} ${fmtTick(v)}`)}</text>`);
  });
  const ticks = [lo, lo + span / 2, lo + span];
  for (const t of ticks) parts.push(`<text x="${r2(fx(t))}" y="${m.t + ph + 14}" text-anchor="middle" class="tick">${esc(fmtTick(t))}</text>`);
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="frame"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 4}" text-anchor="middle" class="axis-label small">end-to-end latency (ms)</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Horizontal bars, one per row, labelled with a formatted value.
 * @example barChart([{ label: 'ours fp16', value: 0.4, color: '#2563eb' }], { title: 'Median latency, batch 1', unit: 'ms' })
 */
export function barChart(rows: readonly { label: string; value: number; color: string; note?: string }[], o: { title: string; unit: string; width?: number }): string {
  const W = o.width ?? 720;
  const rowH = 26;
  const m = { l: 210, r: 110, t: 34, b: 12 };
  const H = m.t + m.b + rowH * Math.max(1, rows.length);
  const pw = W - m.l - m.r;
  const max = Math.max(...rows.map((r) => (Number.isFinite(r.value) ? r.value : 0)), 0);
  const parts = [`<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">`, `<text x="12" y="20" class="chart-title">${esc(o.title)}</text>`];
  rows.forEach((r, i) => {
    const y = m.t + i * rowH;
    const w = max > 0 && Number.isFinite(r.value) ? (r.value / max) * pw : 0;
    parts.push(`<text x="${m.l - 8}" y="${y + 17}" text-anchor="end" class="legend">${esc(r.label)}</text>`);
    parts.push(`<rect x="${m.l}" y="${y + 5}" width="${r2(Math.max(1, w))}" height="${rowH - 10}" rx="3" fill="${esc(r.color)}"/>`);
    parts.push(`<text x="${r2(m.l + Math.max(1, w) + 6)}" y="${y + 17}" class="value">${esc(`${Number.isFinite(r.value) ? fmtTick(r.value) : '–'} ${o.unit}${r.note ? `  ${r.note}` : ''}`)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
