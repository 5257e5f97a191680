// Packs constants into the builtin weights blob in the dtype a kernel reads, 256-byte aligned, deduplicated.
import { float32ToHalf, fromHalfBits, halfToFloat32 } from '../util/half.js';
import { SourceMemo } from '../util/memo.js';

const ALIGN = 256;
/** Constants up to this many bytes are shared by content. */
const SMALL = 64;
export type WeightDType = 'float32' | 'float16';

/** A constant's values as float32, whatever its stored type (float16 bits are decoded). */
export function floatValues(dtype: string, data: ArrayLike<number | bigint>): Float32Array {
  if (dtype === 'float16' && data instanceof Uint16Array) return halfToFloat32(data);
  if (data instanceof Float32Array) return data.slice();
  const out = new Float32Array(data.length);
  if (dtype === 'float16') for (let i = 0; i < out.length; i++) out[i] = fromHalfBits(Number(data[i]));
  else for (let i = 0; i < out.length; i++) out[i] = Number(data[i]);
  return out;
}

/** Float values as stored: float32 bytes, or float16 bits. */
function encode(values: Float32Array, dtype: WeightDType): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return new Uint8Array(float32ToHalf(values).buffer);
}

/** Packed weights by the constant data they came from (util/memo.ts). */
const packed = new SourceMemo<Uint8Array>();

export class WeightsBlob {
  #chunks: { offset: number; bytes: Uint8Array }[] = [];
  #size = 0;
  #byKey = new Map<string, { offset: number; bytes: number }>();
  #byContent = new Map<string, { offset: number; bytes: number }>();

  get size(): number {
    return this.#size;
  }

  /** Adds float values stored as `dtype`; returns offset and size. Same key → same storage. */
  add(key: string, values: Float32Array, dtype: WeightDType): { offset: number; bytes: number } {
    return this.#byKey.get(`${key}|${dtype}`) ?? this.#place(`${key}|${dtype}`, encode(values, dtype), dtype);
  }

  /**
   * Adds weights packed from `source` (a constant's data): the encoded bytes are remembered per source, key and dtype
   * (`packed`), so lowering the same constants again (each sample batch and dim value) packs them once.
   */
  addPacked(key: string, source: object, values: () => Float32Array, dtype: WeightDType): { offset: number; bytes: number } {
    return this.#byKey.get(`${key}|${dtype}`) ?? this.#place(`${key}|${dtype}`, packed.get(source, `${key}|${dtype}`, () => encode(values(), dtype)), dtype);
  }

  /** Adds raw bytes (integer constants) as-is. */
  addRaw(key: string, bytes: Uint8Array): { offset: number; bytes: number } {
    return this.#byKey.get(`${key}|raw`) ?? this.#place(`${key}|raw`, bytes, 'raw');
  }

  /**
   * Stores `bytes` under `key`. Small constants with equal bytes of one kind share storage (the scalars every encoder
   * layer of an export repeats), so layers reading them read one tensor (lower.ts sharedLayers).
   */
  #place(key: string, bytes: Uint8Array, kind: string): { offset: number; bytes: number } {
    const content = bytes.byteLength <= SMALL ? `${kind}|${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}` : undefined;
    let entry = content === undefined ? undefined : this.#byContent.get(content);
    if (!entry) {
      const offset = Math.ceil(this.#size / ALIGN) * ALIGN;
      this.#chunks.push({ offset, bytes });
      this.#size = offset + bytes.byteLength;
      entry = { offset, bytes: bytes.byteLength };
      if (content !== undefined) this.#byContent.set(content, entry);
    }
    this.#byKey.set(key, entry);
    return entry;
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.#size / ALIGN) * ALIGN);
    for (const c of this.#chunks) out.set(c.bytes, c.offset);
    return out;
  }
}

/** ONNX conv weights [K][C/g][R][S] → KRSC [K][R][S][C/g]. */
export function toKRSC(w: Float32Array, k: number, cg: number, r: number, s: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let ki = 0; ki < k; ki++)
    for (let ci = 0; ci < cg; ci++)
      for (let ri = 0; ri < r; ri++)
        for (let si = 0; si < s; si++) out[((ki * r + ri) * s + si) * cg + ci] = w[((ki * cg + ci) * r + ri) * s + si];
  return out;
}

/** ONNX depthwise weights [C][1][R][S] → RSC [R][S][C]. */
export function toRSC(w: Float32Array, c: number, r: number, s: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let ci = 0; ci < c; ci++) for (let i = 0; i < r * s; i++) out[i * c + ci] = w[ci * r * s + i];
  return out;
}

/** Row-major [rows][cols] → [cols][rows]. */
export function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  // In 32×32 tiles: both sides stay in cache (a 768×3072 matrix transposed row by row misses on every write).
  const T = 32;
  for (let i0 = 0; i0 < rows; i0 += T) {
    for (let j0 = 0; j0 < cols; j0 += T) {
      const i1 = Math.min(i0 + T, rows), j1 = Math.min(j0 + T, cols);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * rows + i] = w[i * cols + j];
    }
  }
  return out;
}
