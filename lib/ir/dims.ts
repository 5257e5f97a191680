// Symbolic dimension arithmetic: shapes hold numbers and symbols ('batch'); a product of dims is
// kept as a number times a multiset of symbols so Reshape's -1 can be solved symbolically.
import type { Dim } from './types.js';

export interface DimProduct {
  factor: number;
  symbols: Map<string, number>;
}

/**
 * The product of dims as factor × symbols, e.g. ['batch', 3, 4] → 12·batch. A composite symbol such as
 * 'batch*sequence' (what flattening two dynamic dims yields) counts as its factors.
 */
export function dimProduct(dims: readonly Dim[]): DimProduct {
  const p: DimProduct = { factor: 1, symbols: new Map() };
  for (const d of dims) {
    if (typeof d === 'number') p.factor *= d;
    else for (const f of d.split('*')) {
      const n = Number(f);
      if (f !== '' && Number.isInteger(n)) p.factor *= n;
      else p.symbols.set(f, (p.symbols.get(f) ?? 0) + 1);
    }
  }
  return p;
}

/** A product as one Dim: a number, a plain symbol, or a composite symbol such as 'batch*sequence' or '4*batch'. */
export function productToDim(p: DimProduct): Dim {
  if (p.symbols.size === 0 || p.factor === 0) return p.factor;
  const parts: string[] = [];
  for (const s of [...p.symbols.keys()].sort()) for (let i = 0; i < p.symbols.get(s)!; i++) parts.push(s);
  if (p.factor !== 1) parts.unshift(String(p.factor));
  return parts.join('*');
}

/** The product of dims as one Dim, e.g. ['batch', 'sequence'] → 'batch*sequence'. */
export function multiplyDims(dims: readonly Dim[]): Dim {
  return productToDim(dimProduct(dims));
}

/** The symbols a dim is made of ('batch*sequence' → ['batch', 'sequence']); [] for a number. */
export function dimSymbols(d: Dim): string[] {
  return typeof d === 'number' ? [] : [...dimProduct([d]).symbols.keys()];
}

/** A dim's value once its symbols are bound, or undefined when one is unbound. */
export function evalDim(d: Dim, bound: ReadonlyMap<string, number>): number | undefined {
  if (typeof d === 'number') return d;
  const p = dimProduct([d]);
  let v = p.factor;
  for (const [s, n] of p.symbols) {
    const b = bound.get(s);
    if (b === undefined) return undefined;
    v *= b ** n;
  }
  return v;
}

/** total / part as a single Dim (possibly a composite symbol), or undefined when it is not a whole product. */
export function divideDims(total: DimProduct, part: DimProduct): Dim | undefined {
  const syms = new Map(total.symbols);
  for (const [s, n] of part.symbols) {
    const left = (syms.get(s) ?? 0) - n;
    if (left < 0) return undefined;
    if (left === 0) syms.delete(s);
    else syms.set(s, left);
  }
  if (part.factor === 0) return total.factor === 0 && syms.size === 0 ? 0 : undefined;
  const f = total.factor / part.factor;
  if (!Number.isInteger(f)) return undefined;
  return productToDim({ factor: f, symbols: syms });
}

/** Whether two dim products are equal. */
export function sameProduct(a: DimProduct, b: DimProduct): boolean {
  if (a.factor !== b.factor || a.symbols.size !== b.symbols.size) return false;
  for (const [s, n] of a.symbols) if (b.symbols.get(s) !== n) return false;
  return true;
}

/** Numpy-style broadcast of two shapes; a string describing the conflict when they don't broadcast. */
export function broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] | string {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 1 : a[i - (n - a.length)];
    const y = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (x === y || y === 1) out[i] = x;
    else if (x === 1) out[i] = y;
    else return `cannot broadcast [${a.join(', ')}] with [${b.join(', ')}]`;
  }
  return out;
}

/** Normalizes a possibly negative axis; undefined when out of range. */
export function normAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank && Number.isInteger(a) ? a : undefined;
}

/** Whether every dim is a number. */
export function allStatic(dims: readonly Dim[]): dims is number[] {
  return dims.every((d) => typeof d === 'number');
}

/** Flat index map for broadcasting a static `from` shape onto a static `to` shape. */
export function broadcastIndex(to: number[], from: number[]): (i: number) => number {
  const r = to.length;
  const strides: number[] = new Array(r).fill(0);
  let s = 1;
  for (let i = from.length - 1; i >= 0; i--) {
    strides[r - from.length + i] = from[i] === 1 ? 0 : s;
    s *= from[i];
  }
  return (flat) => {
    let j = 0;
    for (let d = r - 1; d >= 0; d--) {
      const c = flat % to[d];
      flat = (flat - c) / to[d];
      j += c * strides[d];
    }
    return j;
  };
}
