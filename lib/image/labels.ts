// Class-label files: one label per line, ImageNet synset lines, or JSON (an array or an index → label map).
import { ErrorCode, TensorRTError } from '../errors.js';
import { readInputFile } from '../util/fs.js';
import { describe, nonEmptyString } from '../validate.js';

const SYNSET = /^n\d{8}\s+(.*)$/;

/**
 * Parses label text. Accepted formats:
 * - one label per line (blank lines inside keep their index; trailing ones are dropped);
 * - ImageNet synset lines, `n01440364 tench, Tinca tinca` → `tench, Tinca tinca`;
 * - a JSON array of strings, `["tench", …]`;
 * - a JSON object keyed by class index, `{"0": "tench", …}` or Keras' `{"0": ["n01440364", "tench"], …}`.
 * @example parseLabels('n01440364 tench, Tinca tinca\nn01443537 goldfish') // ['tench, Tinca tinca', 'goldfish']
 */
export function parseLabels(text: string, name = 'labels'): string[] {
  if (typeof text !== 'string') throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a string for ${name} but received ${describe(text)}`);
  const body = text.replace(/^\uFEFF/, '');
  const trimmed = body.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return parseJson(trimmed, name);
  const lines = body.split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `${name} contains no labels`);
  const nonEmpty = lines.filter((l) => l !== '');
  if (nonEmpty.every((l) => SYNSET.test(l))) return lines.map((l) => (l === '' ? '' : SYNSET.exec(l)![1].trim()));
  return lines;
}

function parseJson(text: string, name: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `${name} looks like JSON but does not parse: ${(e as Error).message}`, { cause: e });
  }
  const label = (x: unknown, at: string): string => {
    if (typeof x === 'string') return x;
    // Keras' imagenet_class_index.json: [wnid, name]
    if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') return x[1];
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a string or [id, name] for ${name}${at} but received ${describe(x)}`);
  };
  if (Array.isArray(v)) {
    if (v.length === 0) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `${name} contains no labels`);
    return v.map((x, i) => label(x, `[${i}]`));
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `${name} contains no labels`);
  const out: string[] = new Array(entries.length);
  for (const [k, x] of entries) {
    const i = Number(k);
    if (!/^\d+$/.test(k) || i >= entries.length) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected class indices 0..${entries.length - 1} as the keys of ${name} but found '${k}'`);
    }
    out[i] = label(x, `['${k}']`);
  }
  return out;
}

/**
 * Reads a label file (see parseLabels for the formats).
 * @example const labels = await loadLabels('imagenet_classes.txt'); // labels[0] === 'tench'
 */
export async function loadLabels(path: string): Promise<string[]> {
  nonEmptyString(path, 'path');
  return parseLabels((await readInputFile(path, 'labels')).toString('utf8'), path);
}
