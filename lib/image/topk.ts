// Softmax and top-k over classifier outputs, one batch row at a time.
import { ErrorCode, TensorRTError } from '../errors.js';
import { describe, invalid, knownKeys, nonNegativeInteger, plainObject, positiveInteger } from '../validate.js';

/** One ranked class. */
export interface Prediction {
  index: number;
  /** From `labels`, when given and the index has one. */
  label?: string;
  /** Softmax of the row (or the value itself when the row is already a distribution). */
  probability: number;
  /** The raw output value. */
  logit: number;
}

export interface TopKOptions {
  labels?: readonly string[];
  /** Batch row to rank; needs `classes` (or `labels`) to know the row length. Default 0. */
  row?: number;
  /** Classes per row; default the whole array (no row) or `labels.length + labelOffset`. */
  classes?: number;
  /**
   * true (default): apply softmax. false: the values are probabilities already. 'auto': apply it unless the
   * row already is a distribution (all in [0, 1], summing to 1 within 1e-3), as for models ending in Softmax.
   */
  softmax?: boolean | 'auto';
  /** Output index of labels[0]: 1 for 1001-class models whose class 0 is 'background'. Default 0. */
  labelOffset?: number;
}

/** Scores or probabilities, one per class. */
export type Values = Float32Array | Float64Array | readonly number[];

/**
 * Numerically stable softmax (max subtracted, sums in float64).
 * @example softmax(new Float32Array([1, 2, 3])) // ≈ [0.0900, 0.2447, 0.6652]
 */
export function softmax(logits: Values, out: Float64Array = new Float64Array(logits.length)): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (Number.isNaN(v)) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected finite logits but logits[${i}] is NaN`);
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    // An all -Infinity row has no maximum to subtract; treat it as uniform rather than 0/0.
    const e = max === -Infinity ? 1 : Math.exp(logits[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < logits.length; i++) out[i] /= sum;
  return out;
}

/**
 * Is the row a probability distribution already (every value in [0, 1], summing to 1 within `tolerance`)?
 * @example isDistribution([0.1, 0.7, 0.2]) // true
 */
export function isDistribution(values: Values, tolerance = 1e-3): boolean {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) <= tolerance;
}

/**
 * The k most probable classes of one row, best first (ties: lower index first).
 * @example
 * const [best] = topK(ctx.outputs.logits as Float32Array, 5, { labels, row: 0, classes: 1000 });
 * console.log(best.label, best.probability);
 */
export function topK(logits: Values, k = 5, labelsOrOptions: readonly string[] | TopKOptions = {}): Prediction[] {
  if (!(logits instanceof Float32Array || logits instanceof Float64Array || Array.isArray(logits))) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a Float32Array, Float64Array or number[] for logits but received ${describe(logits)}`);
  }
  const o: TopKOptions = Array.isArray(labelsOrOptions) ? { labels: labelsOrOptions as readonly string[] } : (plainObject(labelsOrOptions, 'options') as TopKOptions);
  knownKeys(o as Record<string, unknown>, 'topK options', ['labels', 'row', 'classes', 'softmax', 'labelOffset']);
  positiveInteger(k, 'k');
  const labels = o.labels;
  if (labels !== undefined && !Array.isArray(labels)) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected an array of strings for labels but received ${describe(labels)}`);
  const offset = o.labelOffset === undefined ? 0 : nonNegativeInteger(o.labelOffset, 'labelOffset');
  const row = o.row === undefined ? 0 : nonNegativeInteger(o.row, 'row');
  const classes =
    o.classes !== undefined
      ? positiveInteger(o.classes, 'classes')
      : row > 0 && labels
        ? labels.length + offset
        : row > 0
          ? invalidRow(row)
          : logits.length;
  if ((row + 1) * classes > logits.length) {
    throw new TensorRTError(
      ErrorCode.INVALID_ARGUMENT,
      `Row ${row} of ${classes} classes does not fit in logits of length ${logits.length} (${Math.floor(logits.length / classes)} rows)`,
    );
  }
  const values = 'subarray' in logits ? logits.subarray(row * classes, (row + 1) * classes) : logits.slice(row * classes, (row + 1) * classes);
  const mode = o.softmax === undefined ? true : o.softmax;
  if (mode !== true && mode !== false && mode !== 'auto') invalid("true, false or 'auto'", 'softmax', mode);
  const probs = mode === true || (mode === 'auto' && !isDistribution(values)) ? softmax(values) : values;
  const best = selectTop(probs, Math.min(k, classes));
  return best.map((index) => {
    const p: Prediction = { index, probability: probs[index], logit: values[index] };
    const label = labels?.[index - offset];
    if (label !== undefined && index >= offset) p.label = label;
    return p;
  });
}

function invalidRow(row: number): never {
  throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected 'classes' (or 'labels') with row ${row}: the row length is unknown`);
}

/** Indices of the k largest values, in descending order, by insertion into a small sorted list. */
function selectTop(v: Values, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (top.length === k) {
      if (!(v[i] > v[top[k - 1]])) continue;
      top.pop();
    }
    let j = top.length;
    while (j > 0 && v[i] > v[top[j - 1]]) j--;
    top.splice(j, 0, i);
  }
  return top;
}
