// The structure-aware plan fuzzer in CI: seeded mutants of small real plans (fresh checksums) are either refused
// with a coded error or accepted, and every accepted mutant is in bounds by an independent checker (scripts/fuzz/bounds.ts).
import { describe, expect, it } from 'vitest';
import { OP_NAMES, type Program } from '../../lib/builtin/program.js';
import { outOfBounds } from '../../scripts/fuzz/bounds.js';
import { fuzzPlans } from '../../scripts/fuzz/mutate.js';
import { seeds } from '../../scripts/fuzz/seeds.js';

describe('plan fuzzer', () => {
  it("has a bounds checker that passes the seeds and catches the review's out-of-bounds programs", () => {
    for (const s of seeds()) expect(outOfBounds(s.program, s.weights.byteLength), s.name).toEqual([]);
    const p = structuredClone(seeds()[0].program);
    const fill = p.layers.findIndex((l) => l.op === 7 || l.op === 6);
    const t = p.tensors[p.layers[fill].outputs[0]];
    // The output made unbatched at its batch-1 size while the layer still scales with the batch.
    t.batched = false;
    expect(outOfBounds(p, seeds()[0].weights.byteLength).join()).toMatch(/at batch 3: elements 0\.\./);
    const q = structuredClone(seeds()[0].program);
    const copy = q.layers.find((l) => l.op === 6)!;
    copy.params.yoff = -4;
    expect(outOfBounds(q, seeds()[0].weights.byteLength).join()).toMatch(/copy y at batch 1: elements -4\.\./);
  });

  it('models the accesses of the inverted-residual and vision layers', () => {
    const all = seeds();
    const edited = (name: string, f: (p: Program) => void) => {
      const s = all.find((x) => x.name === name)!;
      const p = structuredClone(s.program);
      f(p);
      return outOfBounds(p, s.weights.byteLength).join();
    };
    const layer = (p: Program, op: string) => p.layers.find((l) => OP_NAMES[l.op] === op)!;
    // The depthwise intermediate at its batch-1 size (in fresh fixed-arena room): the chain writes past it at batch 3.
    const shrink = (p: Program) => {
      const t = p.tensors[layer(p, 'mbconv').outputs[2]];
      Object.assign(t, { batched: false, offset: p.fixedArenaBytes });
      p.fixedArenaBytes += Math.ceil(t.bytes / 256) * 256;
    };
    expect(edited('mbconv-fp16', shrink)).toMatch(/mbconv depthwise out at batch 3/);
    // The fused kernel never touches the chain's intermediates.
    expect(edited('mbconv-fp16', (p) => {
      shrink(p);
      layer(p, 'mbconv').tactics = [{ upTo: 3, tactic: 'mbconv_8x8' }];
    })).toBe('');
    expect(edited('vision-fp32', (p) => (layer(p, 'resize').params.p = 7))).toMatch(/resize taps at batch 1/);
    expect(edited('vision-fp32', (p) => (layer(p, 'deconv').params.r = 4))).toMatch(/deconv w at batch 1/);
    expect(edited('vision-fp32', (p) => (layer(p, 'argmax').params.len = 7))).toMatch(/argmax x at batch 1/);
    expect(edited('vision-fp32', (p) => (layer(p, 'topk').params.k = 4))).toMatch(/topk values at batch 1.*topk indices/);
    expect(edited('detector-fp32', (p) => (layer(p, 'nms').params.c = 4))).toMatch(/nms scores at batch 1.*nms scratch/);
    expect(edited('detector-fp32', (p) => {
      const [count, , , , scratch] = layer(p, 'nms').outputs;
      p.tensors[scratch].offset = p.tensors[count].offset;
    })).toMatch(/nms scratch shares bytes with output/);
  });

  it('seeds programs with a dynamic dim, and checks them at the values the validator vouches for', () => {
    const dim = seeds().filter((s) => s.program.dim);
    expect(dim.map((s) => [s.name, s.program.dim])).toEqual([
      ['encoder-dim-fp32', { name: 'S', min: 1, opt: 4, max: 6, base: 2 }],
      ['encoder-dim-fp16', { name: 'S', min: 1, opt: 4, max: 6, base: 2 }],
    ]);
    const p = structuredClone(dim[0].program);
    // A softmax whose row length grows one element per step of S faster than its tensors: out of bounds past the base.
    const softmax = p.layers.find((l) => OP_NAMES[l.op] === 'softmax' && l.perDim?.len)!;
    (softmax.perDim!.len as number[])[0] = (softmax.perDim!.len[0] as number) + 1;
    expect(outOfBounds(dim[0].program, dim[0].weights.byteLength)).toEqual([]);
    expect(outOfBounds(p, dim[0].weights.byteLength).join()).toMatch(/S = [46]: layer \d+ (softmax|reduce)/);
  });

  it('refuses or safely accepts 3000 seeded mutants: no crash, no out-of-bounds acceptance', () => {
    // PLAN_FUZZ_SEED runs another stream of mutants (CI uses 1).
    const first = Number(process.env.PLAN_FUZZ_SEED ?? 1);
    const r = fuzzPlans(seeds(), 3000, first);
    console.log(`plan fuzzer (seed ${first}): ${JSON.stringify(r.counts)} in ${r.ms.toFixed(0)} ms`);
    expect(r.failures.map((f) => `${f.outcome}: ${f.mutations.join(', ')}: ${f.detail}`)).toEqual([]);
    expect(r.counts.crash + r.counts.escape).toBe(0);
    // Both verdicts are exercised: the mutations are neither all fatal nor all harmless.
    expect(r.counts.refused).toBeGreaterThan(1000);
    expect(r.counts.accepted).toBeGreaterThan(100);
  });
});
