// Byte-range comparison at memcmp speed: lowering compares whole weight blobs (hundreds of MB for BERT-base), where a
// per-byte JS callback would cost seconds.

const view = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * Whether two byte ranges hold the same bytes.
 * @example sameBytes(a.weights, b.weights)
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && view(a).equals(view(b));
}
