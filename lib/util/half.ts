// IEEE 754 binary16 conversion, round-to-nearest-even, as the GPU's __float2half_rn does.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → binary16 bits. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
  return sign | h;
}

/** binary16 bits → float32 value. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Rounds a value to the nearest float16, returned as a number. */
export function roundToHalf(value: number): number {
  return fromHalfBits(toHalfBits(value));
}

/** Every binary16 value as float32, by bits: decoding a weight is one load (lowering decodes hundreds of millions). */
let halfTable: Float32Array | undefined;
function halfValues(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = fromHalfBits(h);
  }
  return halfTable;
}

/**
 * Converts float32 values to binary16 bits (as toHalfBits, element by element). Float32Array input is read through
 * its bits; a value already representable in binary16 (a weight autocast stored as half) takes the short path.
 */
export function float32ToHalf(src: ArrayLike<number>, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (!(src instanceof Float32Array)) {
    for (let i = 0; i < src.length; i++) dst[i] = toHalfBits(src[i]);
    return dst;
  }
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    const exp = (x >>> 23) & 0xff;
    // Normal halves whose low 13 mantissa bits are zero convert exactly: sign, rebased exponent, top mantissa bits.
    if (exp > 112 && exp < 143 && (x & 0x1fff) === 0) dst[i] = ((x >>> 16) & 0x8000) | ((exp - 112) << 10) | ((x >>> 13) & 0x3ff);
    else dst[i] = toHalfBits(src[i]);
  }
  return dst;
}

/** Converts binary16 bits to a Float32Array. */
export function halfToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const table = halfValues();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]];
  return dst;
}
