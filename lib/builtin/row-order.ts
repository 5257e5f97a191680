// Token-order transposes dropped: torch's MultiheadAttention (batch_first) exports a transpose of [B, S, E] to
// [S, B, E] before its input projection and one back after its output projection. Between them every layer either
// works on rows independently (the projections are GEMMs over rows) or reads its rows through strides (attention),
// so the order of the rows does not matter as long as every layer in between agrees on it. This pass keeps the rows
// in the order they arrive ([B, S]): it removes both copies, re-points the layers between them at the untransposed
// tensors, and rewrites the attention strides for that order. ViT-B/16 has 24 such copies (7% of its time at batch
// 256, and two launches of each encoder block's nine at batch 1).
//
// It runs on a merged program (parameters affine in the batch, program.ts), before memory is planned, and changes
// nothing unless the whole region between the copies is of the forms below, checked at batch 1 and 2 (an affine
// parameter is fixed by two values), or at the one batch of a fixed-batch program:
//   - entry: a copy [B, S, E] → [S, B, E] (dims [S, B, E], input strides [E, S·E, 1], output contiguous);
//   - inside: 1×1 convolutions over B·S rows (row i out from row i in, a residual in the same order), and attention
//     whose Q, K, V and O rows are indexed (batch, head, sequence) with batch stride L and sequence stride B·L for
//     rows of L elements;
//   - exit: a copy [S, B, E] → [B, S, E] (dims [B, S, E], input strides [E, B·E, 1], output contiguous).
import { paramsAt, type ProgramLayer, type ProgramTensor } from './program.js';

const OP_CONV = 0;
const OP_COPY = 6;
const OP_ATTENTION = 15;

type Params = ProgramLayer['params'];
const nums = (p: Params, k: string) => p[k] as number[];
const num = (p: Params, k: string) => p[k] as number;
const eq = (a: number[] | undefined, b: number[]) => !!a && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The batches a region's parameters are checked at, each with the parameters there: 1 and 2 for a program whose
 * layers are affine in the batch (two values fix an affine parameter), or the one batch of a fixed-batch program.
 */
type Forms = { b: number; at: (l: ProgramLayer) => Params }[];

function formsOf(entry: ProgramLayer): Forms | undefined {
  if (entry.perBatch) return [1, 2].map((b) => ({ b, at: (l: ProgramLayer) => paramsAt(l, b) }));
  const d = nums(entry.params, 'dims');
  // A layer that does depend on the batch (increments, or scaled by it at run time) has no single form here: it
  // reads as nothing, and every check fails.
  if (entry.batched || d?.length !== 3) return undefined;
  return [{ b: d[1], at: (l: ProgramLayer) => (l.perBatch || l.batched ? {} : l.params) }];
}

/** [S, E] of a token transpose [B, S, E] → [S, B, E], or undefined. */
function entryOf(l: ProgramLayer, forms: Forms): [number, number] | undefined {
  if (l.op !== OP_COPY || l.perDim) return undefined;
  const d = nums(forms[0].at(l), 'dims');
  if (d?.length !== 3) return undefined;
  const [s, , e] = d;
  for (const { b, at } of forms) {
    const p = at(l);
    if (!eq(nums(p, 'dims'), [s, b, e]) || !eq(nums(p, 'xs'), [e, s * e, 1]) || !eq(nums(p, 'ys'), [b * e, e, 1])) return undefined;
    if (num(p, 'xoff') !== 0 || num(p, 'yoff') !== 0) return undefined;
  }
  return [s, e];
}

/** Whether `l` is the transpose back, [S, B, E] → [B, S, E], for these S and E. */
function isExit(l: ProgramLayer, s: number, e: number, forms: Forms): boolean {
  if (l.op !== OP_COPY || l.perDim) return false;
  for (const { b, at } of forms) {
    const p = at(l);
    if (!eq(nums(p, 'dims'), [b, s, e]) || !eq(nums(p, 'xs'), [e, b * e, 1]) || !eq(nums(p, 'ys'), [s * e, e, 1])) return false;
    if (num(p, 'xoff') !== 0 || num(p, 'yoff') !== 0) return false;
  }
  return true;
}

/** Whether conv `l` maps B·S rows to B·S rows one by one. */
function isRowGemm(l: ProgramLayer, s: number, forms: Forms): boolean {
  if (l.op !== OP_CONV || l.perDim) return false;
  for (const { b, at } of forms) {
    const p = at(l);
    const ones = ['h', 'w', 'r', 's', 'p', 'q', 'sh', 'sw', 'dh', 'dw', 'g'].every((k) => num(p, k) === 1);
    if (!ones || num(p, 'ph') !== 0 || num(p, 'pw') !== 0 || num(p, 'n') !== b * s) return false;
  }
  return true;
}

/** Row length of the strides `key` of attention `l` when they index [S, B] rows of that length, else undefined. */
function attentionRows(l: ProgramLayer, key: string, s: number, head: string, forms: Forms): number | undefined {
  const len = nums(forms[0].at(l), key)?.[0];
  if (len === undefined) return undefined;
  for (const { b, at } of forms) {
    const p = at(l);
    const st = nums(p, key);
    if (!st || num(p, 'b') !== b || num(p, 'sq') !== s || num(p, 'sk') !== s || st[3] !== 1 || st[0] !== len || st[2] !== b * len) return undefined;
    // Heads sit inside a row: the last head's last feature must still be in it.
    if (st[1] * (num(p, 'h') - 1) + num(p, head) > len) return undefined;
  }
  return len;
}

/** The attention layer with its Q/K/V/O strides for rows in [B, S] order. */
function reorderedAttention(l: ProgramLayer, s: number): ProgramLayer {
  const params = { ...l.params };
  const perBatch = l.perBatch ? { ...l.perBatch } : undefined;
  for (const key of ['qs', 'ks', 'vs', 'os']) {
    const st = [...nums(params, key)];
    const len = st[0];
    st[0] = s * len;
    st[2] = len;
    params[key] = st;
    if (!perBatch) continue;
    const inc = [...((perBatch[key] as number[] | undefined) ?? [0, 0, 0, 0])];
    inc[0] = 0;
    inc[2] = 0;
    perBatch[key] = inc;
  }
  return perBatch ? { ...l, params, perBatch } : { ...l, params };
}

/**
 * The program without the token transposes it can do without (see the top of this file); layers it leaves alone are
 * the same objects. `pinned` tensors (I/O) are never renamed or dropped.
 */
export function rowOrderKept(layers: ProgramLayer[], tensors: ProgramTensor[], pinned: Set<number>): ProgramLayer[] {
  const readers = new Map<number, number[]>();
  const writers = new Map<number, number>();
  layers.forEach((l, i) => {
    for (const t of new Set(l.inputs)) if (t >= 0) (readers.get(t) ?? readers.set(t, []).get(t)!).push(i);
    for (const t of l.outputs) writers.set(t, (writers.get(t) ?? 0) + 1);
  });
  const single = (t: number) => writers.get(t) === 1 && !pinned.has(t);
  const out: (ProgramLayer | null)[] = [...layers];
  const rename = new Map<number, number>();
  layers.forEach((entry, i) => {
    const forms = formsOf(entry);
    const se = forms && entryOf(entry, forms);
    if (!forms || !se || out[i] !== entry) return;
    const [s, e] = se;
    const src = entry.inputs[0], first = entry.outputs[0];
    if (tensors[src].dtype !== tensors[first].dtype || !single(first)) return;
    // Grow the region from the entry's output, with each tensor's row length; every reader must be of a form above.
    const rowLen = new Map([[first, e]]);
    const queue = [first];
    const attention = new Set<number>(), exits = new Set<number>(), inside = new Set<number>();
    let ok = true;
    const join = (l: ProgramLayer, len: number) => {
      const o = l.outputs[0];
      if (rowLen.has(o)) return;
      ok = ok && l.outputs.length === 1 && single(o);
      rowLen.set(o, len);
      queue.push(o);
    };
    while (ok && queue.length) {
      const t = queue.shift()!;
      for (const r of readers.get(t) ?? []) {
        const l = layers[r];
        if (exits.has(r) || inside.has(r)) continue;
        if (out[r] !== l) ok = false;
        else if (isExit(l, s, e, forms) && l.inputs[0] === t) {
          ok = tensors[l.outputs[0]].dtype === tensors[t].dtype && single(l.outputs[0]);
          exits.add(r);
        } else if (isRowGemm(l, s, forms) && (l.inputs[0] === t || l.inputs[3] === t)) {
          inside.add(r);
          join(l, num(l.params, 'k'));
        } else if (l.op === OP_ATTENTION && !l.perDim && [0, 1, 2].some((k) => l.inputs[k] === t)) {
          const lens = (['qs', 'ks', 'vs', 'os'] as const).map((key) => attentionRows(l, key, s, key === 'qs' || key === 'ks' ? 'd' : 'dv', forms));
          ok = lens.every((n) => n !== undefined);
          attention.add(r);
          inside.add(r);
          if (ok) join(l, lens[3]!);
        } else {
          ok = false;
        }
        if (!ok) break;
      }
    }
    // Every inside layer reads its rows from the finished region, at the row length it indexes them by; the masks
    // and weights come from outside it.
    for (const r of ok ? inside : []) {
      const l = layers[r];
      if (l.op === OP_ATTENTION) {
        ok = ok && ['qs', 'ks', 'vs'].every((key, k) => rowLen.get(l.inputs[k]) === nums(l.params, key)[0]) && !rowLen.has(l.inputs[3] ?? -1);
      } else {
        const res = l.inputs[3] ?? -1;
        ok = ok && rowLen.get(l.inputs[0]) === num(l.params, 'c') && (res < 0 || rowLen.get(res) === num(l.params, 'k'));
        ok = ok && !rowLen.has(l.inputs[1]) && !rowLen.has(l.inputs[2] ?? -1);
      }
    }
    for (const r of exits) ok = ok && rowLen.get(layers[r].inputs[0]) === e;
    if (!ok || !exits.size) return;
    out[i] = null;
    rename.set(first, src);
    for (const r of exits) {
      out[r] = null;
      rename.set(layers[r].outputs[0], layers[r].inputs[0]);
    }
    for (const r of attention) out[r] = reorderedAttention(layers[r], s);
  });
  if (!rename.size) return layers;
  const resolve = (t: number): number => (rename.has(t) ? resolve(rename.get(t)!) : t);
  return out
    .filter((l): l is ProgramLayer => l !== null)
    .map((l) => (l.inputs.some((t) => rename.has(t)) ? { ...l, inputs: l.inputs.map(resolve) } : l));
}
