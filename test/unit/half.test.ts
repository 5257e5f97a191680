import { describe, expect, it } from 'vitest';
import { float32ToHalf, fromHalfBits, halfToFloat32, roundToHalf, toHalfBits } from '../../lib/util/half.js';

describe('float16 conversion', () => {
  it('converts exact values', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(0)).toBe(0);
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(toHalfBits(2 ** -24)).toBe(1);
  });
  it('rounds to nearest even', () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1)
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 1+2^-10 and 1+2^-9: ties to even (1+2^-9)
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
  });
  it('saturates and keeps specials', () => {
    expect(toHalfBits(70000)).toBe(0x7c00);
    expect(toHalfBits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
    expect(toHalfBits(1e-10)).toBe(0);
  });
  it('round-trips every finite half', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      const v = fromHalfBits(h);
      const back = toHalfBits(v);
      if (v === 0) expect(back & 0x7fff).toBe(0);
      else expect(back).toBe(h);
    }
  });
  it('relative rounding error is at most 2^-11 in the normal range', () => {
    let seed = 7;
    for (let i = 0; i < 10000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const x = ((seed / 2 ** 32) * 2 - 1) * 1000;
      if (Math.abs(x) < 2 ** -14) continue;
      expect(Math.abs(roundToHalf(x) - x) / Math.abs(x)).toBeLessThanOrEqual(2 ** -11);
    }
  });

  it('converts whole arrays exactly as value by value (the bit-level short path and the decoding table)', () => {
    const all = new Uint16Array(0x10000).map((_, h) => h);
    const decoded = halfToFloat32(all);
    for (let h = 0; h < 0x10000; h++) expect(Object.is(decoded[h], Math.fround(fromHalfBits(h)))).toBe(true);
    // Every half (exact: the short path), their neighbours one float32 ulp away (rounded), and awkward values.
    const values = new Float32Array(3 * 0x10000 + 8);
    const bits = new Uint32Array(values.buffer);
    for (let h = 0; h < 0x10000; h++) {
      values[3 * h] = decoded[h];
      bits[3 * h + 1] = bits[3 * h] + 1;
      bits[3 * h + 2] = bits[3 * h] - 1;
    }
    values.set([65504, 65520, 2 ** -24, 2 ** -25, 2 ** -14, -0, Infinity, NaN], 3 * 0x10000);
    const fast = float32ToHalf(values);
    for (let i = 0; i < values.length; i++) expect(fast[i]).toBe(toHalfBits(values[i]));
    expect(Array.from(float32ToHalf([1, -2, 0.1]))).toEqual([toHalfBits(1), toHalfBits(-2), toHalfBits(0.1)]);
  });
});
