// Seeded mutation fuzzing of the ONNX reader: bit flips, byte overwrites, truncations and splices
// of a real generated model. Every outcome must be a parsed graph or a TensorRTError with a reader
// code: no other exception, no internal-check fallback, no hang.
import { describe, expect, it } from 'vitest';
import { TensorRTError } from '../../lib/errors.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { optimize } from '../../lib/optimize/index.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { Rng } from '../../scripts/models/rng.js';

const CODES = new Set(['ERR_INVALID_MODEL', 'ERR_UNSUPPORTED_OP', 'ERR_UNSUPPORTED_OPSET', 'ERR_SHAPE_MISMATCH']);

type Outcome = 'parsed' | 'coded' | 'crash' | 'uncoded';

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function mutate(src: Uint8Array, rng: Rng, kind: number): Uint8Array {
  const pick = () => Math.floor(rng.next() * src.length);
  switch (kind) {
    case 0: {
      const b = src.slice();
      const flips = 1 + Math.floor(rng.next() * 8);
      for (let i = 0; i < flips; i++) b[pick()] ^= 1 << Math.floor(rng.next() * 8);
      return b;
    }
    case 1: {
      const b = src.slice();
      for (let i = 0; i < 1 + Math.floor(rng.next() * 4); i++) b[pick()] = Math.floor(rng.next() * 256);
      return b;
    }
    case 2:
      return src.slice(0, pick());
    case 3: {
      // Splice: drop or duplicate a run, shifting every later field.
      const at = pick();
      const len = 1 + Math.floor(rng.next() * 16);
      if (rng.next() < 0.5) return concat(src.subarray(0, at), src.subarray(at + len));
      return concat(src.subarray(0, at + len), src.subarray(at));
    }
    default: {
      // Large varints: 0xff continuation bytes make huge lengths and field numbers.
      const b = src.slice();
      const at = pick();
      for (let i = at; i < Math.min(b.length, at + 1 + Math.floor(rng.next() * 9)); i++) b[i] = 0xff;
      return b;
    }
  }
}

describe('reader fuzzing', () => {
  it('survives thousands of mutations of the small CNN with coded errors only', () => {
    const src = smallCnn({ seed: 5 });
    // Mutations land mostly in the weights unless aimed at the structure: the graph's protobuf
    // structure sits in the first few KiB and between tensors, so half the cases target the start.
    const rng = new Rng(Number(process.env.FUZZ_SEED ?? 20240601));
    const counts: Record<Outcome, number> = { parsed: 0, coded: 0, crash: 0, uncoded: 0 };
    const codes: Record<string, number> = {};
    const failures: string[] = [];
    const cases = Number(process.env.FUZZ_CASES ?? 3000);
    let slowest = 0;
    const head = src.subarray(0, 4096);
    for (let i = 0; i < cases; i++) {
      const kind = i % 5;
      const base = i % 2 === 0 ? src : concat(mutate(head, rng, kind), src.subarray(4096));
      const bytes = i % 2 === 0 ? mutate(base, rng, kind) : base;
      const t0 = performance.now();
      let outcome: Outcome;
      try {
        const g = parseModel(bytes);
        if (i % 10 === 0) optimize(g, { fuse: true, precision: 'fp16' });
        outcome = 'parsed';
      } catch (e) {
        if (!(e instanceof TensorRTError)) {
          outcome = 'crash';
          if (failures.length < 5) failures.push(`case ${i}: ${(e as Error)?.stack ?? String(e)}`);
        } else if (!CODES.has(e.code) || e.message.includes('internal check failed')) {
          outcome = 'uncoded';
          if (failures.length < 5) failures.push(`case ${i}: ${e.code} ${e.message}`);
        } else {
          outcome = 'coded';
          codes[e.code] = (codes[e.code] ?? 0) + 1;
        }
      }
      slowest = Math.max(slowest, performance.now() - t0);
      counts[outcome]++;
    }
    if (process.env.FUZZ_SEED) console.log(counts, codes);
    expect(failures).toEqual([]);
    expect(counts.crash).toBe(0);
    expect(counts.uncoded).toBe(0);
    // The fuzzer reaches both outcomes and more than one error path.
    expect(counts.parsed).toBeGreaterThan(cases * 0.05);
    expect(counts.coded).toBeGreaterThan(cases * 0.2);
    expect(Object.keys(codes).length).toBeGreaterThanOrEqual(2);
    expect(slowest).toBeLessThan(5000);
  });
});
