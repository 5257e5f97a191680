// Tokenization for text models: a tokenizer.json loaded with @huggingface/tokenizers, texts encoded with
// the model's special tokens, truncated to a maximum length and padded into one [batch, sequence] block.
import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';
import { ErrorCode, TensorRTError } from '../errors.js';
import { nonEmptyString, positiveInteger } from '../validate.js';

/**
 * What the text helpers need of a tokenizer. `loadTokenizer` returns @huggingface/tokenizers' Tokenizer, which fits
 * it; the library's own types stay out of ours, so a strict consumer compiles without them.
 */
export interface TextTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined | null;
}

/**
 * Loads a Hugging Face tokenizer.json (a path, or its parsed JSON).
 * @example
 * const tok = await loadTokenizer('tokenizer.json');
 */
export async function loadTokenizer(source: string | object): Promise<TextTokenizer> {
  let json: unknown = source;
  if (typeof source === 'string') {
    nonEmptyString(source, 'tokenizer');
    let text: string;
    try {
      text = await readFile(source, 'utf8');
    } catch (e) {
      throw new TensorRTError(ErrorCode.IO, `Could not read the tokenizer ${source}: ${(e as Error).message}`, { cause: e });
    }
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `The tokenizer ${source} is not JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  if (json === null || typeof json !== 'object' || !('model' in json)) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a tokenizer.json (an object with a 'model') for tokenizer`);
  }
  try {
    return new Tokenizer(json, {});
  } catch (e) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Could not load the tokenizer: ${(e as Error).message}`, { cause: e });
  }
}

/** Encoded texts as one padded block: row r holds text r's ids, then padding (mask 0). */
export interface EncodedBatch {
  batch: number;
  sequence: number;
  /** Row-major [batch, sequence]. */
  ids: Int32Array;
  mask: Uint8Array;
  /** Tokens per text before padding (after truncation). */
  lengths: number[];
  /** Whether a text was cut to fit. */
  truncated: boolean[];
}

export interface EncodeOptions {
  /** Longest sequence (special tokens included); longer texts are truncated. */
  maxLength: number;
  /** Shortest sequence to pad to (an engine whose sequence dim starts above 1). Default 1. */
  minLength?: number;
  /** Pad every row to exactly this length instead of the longest text (a fixed-sequence engine). */
  padTo?: number;
  /** Padding id; default the tokenizer's [PAD] (or <pad>), else 0. */
  padId?: number;
}

/**
 * The ids of `text` with the tokenizer's special tokens, keeping at most `max`: the text's own tokens are
 * cut from the end, the special tokens around them stay (what transformers' truncation does).
 */
function encodeTruncated(tok: TextTokenizer, text: string, max: number): { ids: number[]; truncated: boolean } {
  const full = tok.encode(text).ids;
  if (full.length <= max) return { ids: full, truncated: false };
  const body = tok.encode(text, { add_special_tokens: false }).ids;
  // Where the body sits inside the full encoding: the special prefix and suffix around it.
  let at = -1;
  for (let k = 0; k + body.length <= full.length && at < 0; k++) if (body.every((v: number, i: number) => full[k + i] === v)) at = k;
  if (at < 0) return { ids: full.slice(0, max), truncated: true };
  const prefix = full.slice(0, at);
  const suffix = full.slice(at + body.length);
  const room = max - prefix.length - suffix.length;
  if (room < 0) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `maxLength ${max} leaves no room for the ${prefix.length + suffix.length} special tokens`);
  return { ids: [...prefix, ...body.slice(0, room), ...suffix], truncated: true };
}

/**
 * Tokenizes texts into one padded [batch, sequence] block: sequence is the longest text (at least
 * minLength), or padTo; texts beyond maxLength are truncated.
 * @example
 * const enc = encodeTexts(tok, ['a cat', 'a dog sat'], { maxLength: 128 }); // enc.sequence === 5
 */
export function encodeTexts(tok: TextTokenizer, texts: readonly string[], options: EncodeOptions): EncodedBatch {
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, 'Expected a non-empty array of strings for texts');
  }
  const maxLength = positiveInteger(options.maxLength, 'maxLength');
  const minLength = positiveInteger(options.minLength ?? 1, 'minLength');
  const padTo = options.padTo === undefined ? undefined : positiveInteger(options.padTo, 'padTo');
  if (padTo !== undefined && padTo > maxLength) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `padTo ${padTo} exceeds maxLength ${maxLength}`);
  const padId = options.padId ?? tok.token_to_id('[PAD]') ?? tok.token_to_id('<pad>') ?? 0;
  const rows = texts.map((t) => encodeTruncated(tok, t, maxLength));
  const sequence = padTo ?? Math.min(maxLength, Math.max(minLength, ...rows.map((r) => r.ids.length)));
  const batch = texts.length;
  const ids = new Int32Array(batch * sequence).fill(padId);
  const mask = new Uint8Array(batch * sequence);
  rows.forEach((r, b) => {
    ids.set(r.ids, b * sequence);
    mask.fill(1, b * sequence, b * sequence + r.ids.length);
  });
  return { batch, sequence, ids, mask, lengths: rows.map((r) => r.ids.length), truncated: rows.map((r) => r.truncated) };
}
