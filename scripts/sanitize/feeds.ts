// Inputs of the sanitized runs: seeded, non-zero and realistic for each kind of plan (specs.ts FeedKind), and the
// hostile ones: token ids outside the embedding table and fully padded masks for BERT, NaN / ±Inf / −0 rows for
// TopK and ArgMax, NaN scores and boxes for the NMS stage.
import type { TypedArray } from '../../lib/tensor.js';
import type { TensorInfo } from '../../lib/types.js';
import { float32ToHalf } from '../../lib/util/half.js';
import { uniformRandom } from '../../lib/util/random.js';
import { NMS_BOXES, NMS_CLASSES, type FeedKind } from './specs.js';

export interface FeedPlan {
  kind: FeedKind;
  /** Elements per batch row of each input (the context's pinned view length / its maxBatch). */
  rows: Record<string, number>;
  extra?: Record<string, number>;
}

/** Float values of one input for `batch` rows. */
function floatsFor(kind: FeedKind, batch: number, row: number, seed: number, hostile: boolean): Float32Array {
  const r = uniformRandom(seed);
  const x = Float32Array.from({ length: batch * row }, () => r());
  if (kind === 'select') {
    for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i] * 4) / 4; // ties
    if (hostile) hostileRows(x, 5);
  } else if (kind === 'nms') {
    detections(x, batch, r, hostile);
  } else {
    for (let i = 0; i < x.length; i++) x[i] = x[i] * 2 || 0.5; // non-zero, about unit scale
  }
  return x;
}

/**
 * Rows of `len` values by row index mod 7: untouched, all NaN, NaN every third, ±Inf among NaN, NaN first then ties,
 * signed zeros, all +Inf (as native/builtin/kernels/tests/test_vision.cu hostileRows).
 * @example hostileRows(new Float32Array(35), 5)
 */
export function hostileRows(x: Float32Array, len: number): Float32Array {
  for (let i = 0; i < x.length; i++) {
    const j = i % len;
    switch (Math.floor(i / len) % 7) {
      case 1: x[i] = NaN; break;
      case 2: if (j % 3 === 1) x[i] = NaN; break;
      case 3: x[i] = [Infinity, -Infinity, NaN, x[i]][j % 4]; break;
      case 4: x[i] = j === 0 ? NaN : j % 2; break;
      case 5: x[i] = j % 2 ? -0 : 0; break;
      case 6: x[i] = Infinity; break;
      default: break;
    }
  }
  return x;
}

/** A raw detection output [batch, 4 + C, N]: overlapping boxes (cx, cy, w, h) and coarse scores (ties, many
 * candidates); hostile adds NaN and +Inf scores, NaN / Inf box coordinates and an image of NaN scores. */
function detections(x: Float32Array, batch: number, r: () => number, hostile: boolean): void {
  const n = NMS_BOXES;
  const c = NMS_CLASSES;
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < n; i++) {
      const at = (k: number) => (b * (4 + c) + k) * n + i;
      const u = () => (r() + 1) / 2;
      x[at(0)] = Math.floor(u() * 20) * 16 + u() * 8;
      x[at(1)] = Math.floor(u() * 20) * 16 + u() * 8;
      x[at(2)] = 8 + u() * 24;
      x[at(3)] = 8 + u() * 24;
      for (let k = 0; k < c; k++) x[at(4 + k)] = 0.2 + Math.round(u() * 4) / 5;
      if (!hostile) continue;
      if (i % 7 === 3) x[at(4 + (i % c))] = NaN;
      if (i % 11 === 5) x[at(4 + (i % c))] = Infinity;
      if (i % 13 === 6) x[at(1)] = NaN;
      if (i % 17 === 8) x[at(2)] = Infinity;
      if (b === batch - 1 && batch > 1) for (let k = 0; k < c; k++) x[at(4 + k)] = NaN;
    }
}

/** BERT ids in [1, vocab) and masks padded at the end of every row but the first; hostile: ids outside the table
 * (above it, negative beyond -vocab, 2^62) and a fully padded row. */
function bertFeed(info: TensorInfo, batch: number, row: number, vocab: number, seed: number, hostile: boolean): BigInt64Array {
  const r = uniformRandom(seed);
  if (info.name === 'attention_mask') {
    return BigInt64Array.from({ length: batch * row }, (_, i) => {
      const b = Math.floor(i / row);
      if (hostile && b === batch - 1 && batch > 1) return 0n;
      return i % row < row - ((b * 5) % row) ? 1n : 0n;
    });
  }
  const bad = [BigInt(vocab), BigInt(vocab + 1000), -BigInt(vocab) - 7n, -1n, 2n ** 62n];
  return BigInt64Array.from({ length: batch * row }, (_, i) => (hostile && i % 5 === 2 ? bad[Math.floor(i / 5) % bad.length] : BigInt(1 + Math.floor(((r() + 1) / 2) * (vocab - 1)))));
}

/**
 * The feeds of an infer() at `batch` rows for each input, by dtype and kind.
 * @example const feeds = feedsFor(engine.inputs, { kind: 'float', rows: { input: 3 * 64 * 64 } }, 2, 7, false);
 */
export function feedsFor(inputs: readonly TensorInfo[], p: FeedPlan, batch: number, seed: number, hostile: boolean): Record<string, TypedArray> {
  const out: Record<string, TypedArray> = {};
  inputs.forEach((info, k) => {
    const row = p.rows[info.name];
    const s = seed * 31 + k;
    if (info.dtype === 'int64' && p.kind === 'bert') out[info.name] = bertFeed(info, batch, row, p.extra?.vocab ?? 2, s, hostile);
    else if (info.dtype === 'int64') out[info.name] = BigInt64Array.from({ length: batch * row }, (_, i) => BigInt(i % 3));
    else if (info.dtype === 'int32') out[info.name] = Int32Array.from({ length: batch * row }, (_, i) => i % 3);
    else if (info.dtype === 'int8') out[info.name] = Int8Array.from({ length: batch * row }, (_, i) => i % 2);
    else if (info.dtype === 'bool' || info.dtype === 'uint8') out[info.name] = Uint8Array.from({ length: batch * row }, (_, i) => i % 2);
    else if (info.dtype === 'float16') out[info.name] = float32ToHalf(floatsFor(p.kind, batch, row, s, hostile));
    else out[info.name] = floatsFor(p.kind, batch, row, s, hostile);
  });
  return out;
}

/** Whether a plan kind has hostile inputs worth a run of their own. @example hasHostileFeeds('bert') // true */
export const hasHostileFeeds = (kind: FeedKind) => kind !== 'float';
