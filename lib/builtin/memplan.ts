// Activation memory planning: tensors whose lifetimes don't overlap share arena bytes (best-fit by size).
import type { ProgramLayer, ProgramTensor } from './program.js';

const ALIGN = 256;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export interface MemoryPlan {
  fixedArenaBytes: number;
  batchedArenaBytes: number;
}

/**
 * Assigns `offset` to every arena tensor. Batched tensors are planned per unit of batch capacity (offsets scale
 * with the context's capacity), unbatched ones in a fixed region. `pinned` tensors (I/O) live for the whole run;
 * arena tensors no layer touches are emptied.
 */
export function planMemory(tensors: ProgramTensor[], layers: ProgramLayer[], pinned: Set<number>): MemoryPlan {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  layers.forEach((l, i) => {
    for (const t of [...l.inputs, ...l.outputs]) {
      if (t < 0) continue;
      if (!first.has(t)) first.set(t, i);
      last.set(t, i);
    }
  });
  const end = layers.length;
  const plan = (batched: boolean): number => {
    const ids = tensors
      .map((_, i) => i)
      .filter((i) => tensors[i].loc === 0 && tensors[i].batched === batched && (first.has(i) || pinned.has(i)));
    ids.sort((a, b) => tensors[b].bytes - tensors[a].bytes || a - b);
    const placed: { start: number; stop: number; lo: number; hi: number }[] = [];
    let top = 0;
    for (const id of ids) {
      const start = pinned.has(id) ? -1 : first.get(id)!;
      const stop = pinned.has(id) ? end : last.get(id)!;
      const size = align(Math.max(tensors[id].bytes, 1));
      const busy = placed.filter((p) => p.start <= stop && start <= p.stop).sort((a, b) => a.lo - b.lo);
      let offset = 0;
      let best = -1;
      let bestGap = Infinity;
      for (const p of busy) {
        if (p.lo - offset >= size && p.lo - offset < bestGap) {
          best = offset;
          bestGap = p.lo - offset;
        }
        offset = Math.max(offset, p.hi);
      }
      const at = best >= 0 ? best : offset;
      tensors[id].offset = at;
      placed.push({ start, stop, lo: at, hi: at + size });
      top = Math.max(top, at + size);
    }
    return top;
  };
  // Arena tensors no layer touches (a merged layer's outputs, a dropped layer's) hold nothing: no bytes anywhere.
  tensors.forEach((t, i) => {
    if (t.loc !== 0 || first.has(i) || pinned.has(i)) return;
    t.offset = 0;
    t.bytes = 0;
    delete t.dimBytes;
  });
  return { batchedArenaBytes: plan(true), fixedArenaBytes: plan(false) };
}
