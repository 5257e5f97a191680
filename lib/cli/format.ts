// Text formatting for the command line: sizes, durations, aligned columns.
import type { Dim } from '../types.js';

/**
 * Bytes in binary units.
 * @example formatBytes(14_000_000) // '13.4 MiB'
 */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/**
 * Milliseconds with a precision that suits their size.
 * @example formatMs(0.4213) // '0.421 ms'
 */
export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

/**
 * A shape as `[batch, 3, 224, 224]`.
 * @example formatShape(['batch', 3, 224, 224]) // '[batch, 3, 224, 224]'
 */
export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Rows of cells, left-aligned in columns separated by two spaces (numbers right-aligned).
 * @example table([['a', 1], ['bcd', 22]], '  ') // ['  a     1', '  bcd  22']
 */
export function table(rows: readonly (readonly (string | number)[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => {
          const s = String(c);
          const last = i === r.length - 1;
          if (typeof c === 'number') return s.padStart(widths[i]);
          return last ? s : s.padEnd(widths[i]);
        })
        .join('  ')
        .trimEnd(),
  );
}
