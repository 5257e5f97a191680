// Sentence embeddings beside the engine: encoded texts written straight into a context's input
// buffers (ids, attention mask, token types), one run per batch, then the last hidden state mean-pooled
// over the mask and L2-normalised.
import type { InferenceContext } from '../context.js';
import type { Engine } from '../engine.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { TensorInfo } from '../types.js';
import { encodeTexts, type EncodedBatch, type TextTokenizer } from './tokenize.js';

/** Where a text encoder's inputs and output are, and the range its sequence may take. */
export interface TextModelSpec {
  ids: TensorInfo;
  mask?: TensorInfo;
  typeIds?: TensorInfo;
  output: TensorInfo;
  /** The sequence dim's name when it is dynamic. */
  sequenceDim?: string;
  minSequence: number;
  maxSequence: number;
  hidden: number;
}

const isIntInput = (t: TensorInfo) => (t.dtype === 'int64' || t.dtype === 'int32') && t.shape.length === 2;

/**
 * Finds a text encoder's inputs (input_ids, attention_mask, token_type_ids by name; else the int
 * [batch, sequence] inputs in order) and its [batch, sequence, hidden] output.
 * @example
 * const spec = textModelSpec(engine); // { ids: input_ids, mask: attention_mask, output: last_hidden_state, … }
 */
export function textModelSpec(engine: Engine): TextModelSpec {
  const ints = engine.inputs.filter(isIntInput);
  const named = (re: RegExp) => ints.find((t) => re.test(t.name));
  const ids = named(/input_ids|^ids$|tokens/i) ?? ints[0];
  if (!ids) throw new TensorRTError(ErrorCode.INVALID_INPUT, `A text model needs an int64 or int32 [batch, sequence] input of token ids; this one has ${engine.inputs.map((t) => `'${t.name}' ${t.dtype} [${t.shape.join(', ')}]`).join(', ')}`);
  const mask = named(/attention_mask|mask/i) ?? ints.find((t) => t !== ids && !/type/i.test(t.name));
  const typeIds = named(/token_type|segment/i);
  const other = engine.inputs.filter((t) => t !== ids && t !== mask && t !== typeIds);
  if (other.length) throw new TensorRTError(ErrorCode.INVALID_INPUT, `The text model has inputs besides ids, attention mask and token types: ${other.map((t) => `'${t.name}'`).join(', ')}`);
  const output = engine.outputs.find((t) => t.name === 'last_hidden_state') ?? engine.outputs.find((t) => t.shape.length === 3 && t.dtype === 'float32');
  const hidden = output?.shape[2];
  if (!output || typeof hidden !== 'number') {
    throw new TensorRTError(ErrorCode.INVALID_INPUT, `A text model needs a float32 [batch, sequence, hidden] output; this one has ${engine.outputs.map((t) => `'${t.name}' [${t.shape.join(', ')}]`).join(', ')}`);
  }
  const s = ids.shape[1];
  const range = typeof s === 'number' ? { min: s, max: s } : engine.dims[s];
  if (!range) throw new TensorRTError(ErrorCode.INVALID_INPUT, `The sequence dimension '${String(s)}' of '${ids.name}' has no range in the engine's profile`);
  return { ids, mask, typeIds, output, sequenceDim: typeof s === 'string' ? s : undefined, minSequence: range.min, maxSequence: range.max, hidden };
}

/**
 * Writes an encoded batch into the context's input buffers (ids and mask in the inputs' own int type,
 * token types zero), packed as [batch, sequence].
 * @example
 * writeTextInputs(ctx, spec, encodeTexts(tok, texts, { maxLength: spec.maxSequence }));
 */
export function writeTextInputs(ctx: InferenceContext, spec: TextModelSpec, enc: EncodedBatch): void {
  const n = enc.batch * enc.sequence;
  const put = (info: TensorInfo, values: ArrayLike<number> | undefined) => {
    const view = ctx.inputs[info.name];
    if (view.length < n) throw new TensorRTError(ErrorCode.INVALID_INPUT, `Input '${info.name}' holds ${view.length} values; ${enc.batch}×${enc.sequence} do not fit`);
    if (view instanceof BigInt64Array) for (let i = 0; i < n; i++) view[i] = BigInt(values ? values[i] : 0);
    else if (view instanceof Int32Array) for (let i = 0; i < n; i++) view[i] = values ? values[i] : 0;
    else throw new TensorRTError(ErrorCode.INVALID_INPUT, `Input '${info.name}' must be int64 or int32, got ${info.dtype}`);
  };
  put(spec.ids, enc.ids);
  if (spec.mask) put(spec.mask, enc.mask);
  if (spec.typeIds) put(spec.typeIds, undefined);
}

/**
 * Mean of each row's hidden states over its unmasked tokens, L2-normalised (sentence-transformers' pooling).
 * @example
 * const [v] = meanPool(hidden, mask, 1, 5, 64); // a unit vector of length 64
 */
export function meanPool(hidden: Float32Array, mask: ArrayLike<number>, batch: number, sequence: number, dim: number, normalize = true): Float32Array[] {
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const acc = new Float64Array(dim);
    let count = 0;
    for (let t = 0; t < sequence; t++) {
      if (!mask[b * sequence + t]) continue;
      count++;
      const o = (b * sequence + t) * dim;
      for (let k = 0; k < dim; k++) acc[k] += hidden[o + k];
    }
    const v = new Float32Array(dim);
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      v[k] = acc[k] / Math.max(count, 1);
      norm += v[k] * v[k];
    }
    if (normalize) {
      const s = 1 / Math.max(Math.sqrt(norm), 1e-12);
      for (let k = 0; k < dim; k++) v[k] *= s;
    }
    out.push(v);
  }
  return out;
}

/**
 * Cosine similarity of every pair of vectors.
 * @example
 * cosineMatrix([a, b])[0][1]; // a·b / (|a||b|)
 */
export function cosineMatrix(vectors: readonly Float32Array[]): number[][] {
  const norms = vectors.map((v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1);
  return vectors.map((a, i) => vectors.map((b, j) => a.reduce((s, x, k) => s + x * b[k], 0) / (norms[i] * norms[j])));
}

export interface EmbedResult {
  vectors: Float32Array[];
  /** Tokens per text (after truncation) and whether it was truncated. */
  lengths: number[];
  truncated: boolean[];
}

/**
 * Embeds texts with a text-encoder engine: batches of up to the context's maxBatch, each padded to its
 * longest text within the engine's sequence range (and options.maxLength), mean-pooled and L2-normalised.
 * @example
 * const { vectors } = await embedTexts(ctx, tok, ['a cat', 'a dog']); cosineMatrix(vectors);
 */
export async function embedTexts(ctx: InferenceContext, tok: TextTokenizer, texts: readonly string[], options: { maxLength?: number } = {}): Promise<EmbedResult> {
  const spec = textModelSpec(ctx.engine);
  const fixed = spec.minSequence === spec.maxSequence;
  // A shorter maxLength truncates further; it cannot go below what a fixed-sequence engine takes.
  const maxLength = fixed ? spec.maxSequence : Math.max(spec.minSequence, Math.min(spec.maxSequence, options.maxLength ?? spec.maxSequence));
  const res: EmbedResult = { vectors: [], lengths: [], truncated: [] };
  // Without an attention mask, padding would change the states of the real tokens: one text per run then.
  const step = spec.mask || fixed ? Math.max(1, Math.min(ctx.maxBatch, ctx.engine.profile.max)) : 1;
  for (let first = 0; first < texts.length; first += step) {
    const chunk = texts.slice(first, first + step);
    const enc = encodeTexts(tok, chunk, { maxLength, minLength: spec.minSequence, padTo: fixed ? spec.maxSequence : undefined });
    // A batch below the engine's minimum is padded with copies of its last row, then dropped.
    const batch = Math.max(enc.batch, ctx.engine.profile.min);
    const padded = batch === enc.batch ? enc : padRows(enc, batch);
    writeTextInputs(ctx, spec, padded);
    await ctx.run({ batch, ...(spec.sequenceDim ? { dims: { [spec.sequenceDim]: padded.sequence } } : {}) });
    const hidden = ctx.outputs[spec.output.name] as Float32Array;
    res.vectors.push(...meanPool(hidden, padded.mask, enc.batch, padded.sequence, spec.hidden));
    res.lengths.push(...enc.lengths);
    res.truncated.push(...enc.truncated);
  }
  return res;
}

function padRows(enc: EncodedBatch, batch: number): EncodedBatch {
  const s = enc.sequence;
  const ids = new Int32Array(batch * s);
  const mask = new Uint8Array(batch * s);
  ids.set(enc.ids);
  mask.set(enc.mask);
  for (let b = enc.batch; b < batch; b++) {
    ids.set(enc.ids.subarray((enc.batch - 1) * s, enc.batch * s), b * s);
    mask.set(enc.mask.subarray((enc.batch - 1) * s, enc.batch * s), b * s);
  }
  return { ...enc, batch, ids, mask };
}
