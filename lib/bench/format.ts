// Number formatting and plain-text tables shared by the text and HTML reports.

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Milliseconds with 4 significant digits (trtexec prints 6; 4 is what the spread supports). @example fmtMs(0.123456) // '0.1235' */
export function fmtMs(v: number | null | undefined): string {
  if (!finite(v)) return '–';
  if (v === 0) return '0';
  return v >= 1000 ? v.toFixed(0) : v.toPrecision(4);
}

/** Bytes as B/KB/MB/GB (powers of 1024 written as KB/MB, like trtexec). @example fmtBytes(3 * 1024 * 1024) // '3.00 MB' */
export function fmtBytes(v: number | null | undefined): string {
  if (!finite(v)) return '–';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = v;
  while (x >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${x} B` : `${x.toFixed(2)} ${u[i]}`;
}

/** A rate with thousands separators and sensible precision. @example fmtRate(12345.6) // '12,346' */
export function fmtRate(v: number | null | undefined): string {
  if (!finite(v)) return '–';
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(3);
}

/** A fraction as a percentage. @example fmtPct(0.98889) // '98.89%' */
export function fmtPct(v: number | null | undefined, digits = 2): string {
  return finite(v) ? `${(v * 100).toFixed(digits)}%` : '–';
}

/** A speed-up or ratio. @example fmtX(1.8423) // '1.84×' */
export function fmtX(v: number | null | undefined): string {
  return finite(v) ? `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×` : '–';
}

/** Seconds from ms. @example fmtS(2950) // '2.95 s' */
export function fmtS(ms: number | null | undefined): string {
  return finite(ms) ? `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s` : '–';
}

/** Scientific notation for small errors. @example fmtSci(0.000123) // '1.23e-4' */
export function fmtSci(v: number | null | undefined): string {
  if (!finite(v)) return '–';
  if (v === 0) return '0';
  return v.toExponential(2).replace(/e([-+])0?(\d)/, 'e$1$2').replace('e+', 'e');
}

/**
 * A plain-text table: a header row, a rule, the rows; columns padded, numbers right-aligned.
 * @example textTable(['config', 'img/s'], [['fp16 b1', '1,234']])
 */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const al = align ?? headers.map((_, i) => (i === 0 ? 'l' : 'r'));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (al[i] === 'r' ? (c ?? '').padStart(widths[i]) : (c ?? '').padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
