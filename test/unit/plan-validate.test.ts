// The builtin plan validator (native/builtin/validate.cc) on the CPU: real plans pass, and each way a crafted plan
// could make a kernel touch memory outside its buffers is refused with a coded error before anything is allocated.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_FORMAT_VERSION, OP_NAMES, Op, type Program } from '../../lib/builtin/program.js';
import { validateBuiltinProgram, validatedOps } from '../../lib/builtin/validate.js';
import type { PlanHeader } from '../../lib/plan.js';
import { seeds, type Seed } from '../../scripts/fuzz/seeds.js';

let all: Seed[];
beforeAll(() => {
  all = seeds();
});

const clone = (p: Program): Program => structuredClone(p);
const seed = (name: string) => all.find((s) => s.name === name)!;
const header = (s: Seed) => ({ ...s.header, payloadBytes: 0 }) as PlanHeader;

function refused(p: Program, weights: Uint8Array, h: PlanHeader | undefined, message: RegExp, code = 'ERR_PLAN_CORRUPT') {
  let err: unknown;
  try {
    validateBuiltinProgram(p, weights, h);
  } catch (e) {
    err = e;
  }
  expect(err, 'the program was accepted').toBeDefined();
  expect(err).toMatchObject({ code, message: expect.stringMatching(message) });
}

/** A program of one layer over fresh tensors: arena tensors of `bytes` each (batched as told), the layer writing the last. */
function single(op: keyof typeof Op, params: Program['layers'][0]['params'], tensors: { bytes: number; dtype?: number; batched?: boolean }[], inputs: number[], batchedLayer = true, maxBatch = 8): Program {
  let fixed = 0;
  let batched = 0;
  const ts = tensors.map((t, i) => {
    const isBatched = t.batched ?? true;
    const offset = isBatched ? batched : fixed;
    const size = Math.ceil(Math.max(t.bytes, 1) / 256) * 256;
    if (isBatched) batched += size;
    else fixed += size;
    return { dtype: t.dtype ?? 0, loc: 0 as const, batched: isBatched, offset, bytes: t.bytes, name: `t${i}`, shape: [], layout: 'rowmajor' as const };
  });
  return {
    formatVersion: BUILTIN_FORMAT_VERSION,
    tensors: ts,
    layers: [{ name: 'l', op: Op[op], inputs, outputs: [ts.length - 1], params, batched: batchedLayer, tactics: [{ upTo: maxBatch, tactic: op === 'conv' ? 'direct' : 'default' }] }],
    io: [],
    fixedArenaBytes: fixed,
    batchedArenaBytes: batched,
    weightsBytes: 0,
    minBatch: 1,
    optBatch: 1,
    maxBatch,
  };
}
const none = new Uint8Array(0);

describe('builtin plan validator', () => {
  it('accepts the programs the lowering makes, with their headers, and reports their sizes', () => {
    for (const s of all) {
      const r = validateBuiltinProgram(s.program, s.weights, header(s));
      expect(r.layers, s.name).toBe(s.program.layers.length);
      expect(r.arenaBytes).toBe(s.program.fixedArenaBytes + 3 * s.program.batchedArenaBytes);
      expect(r.weightsBytes).toBe(s.weights.byteLength);
    }
    const used = new Set(all.flatMap((s) => s.program.layers.map((l) => OP_NAMES[l.op])));
    expect([...used].sort()).toEqual(Object.values(OP_NAMES).sort());
  });

  it('has a rule for every op of the program format, and refuses an op without one', () => {
    const ops = validatedOps();
    for (const name of Object.values(OP_NAMES)) expect(ops).toContain(name);
    const known = new Set<number>(ops.map((o) => Op[o as keyof typeof Op]));
    const unknown = Array.from({ length: 64 }, (_, i) => i).filter((i) => !known.has(i));
    expect(unknown.length).toBeGreaterThan(40);
    for (const op of [...unknown, -1, 1 << 30]) {
      const p = single('fill', { n: 1, value: 0 }, [{ bytes: 4 }], []);
      p.layers[0].op = op;
      refused(p, none, undefined, new RegExp(`has op ${op}, which has no validation rule`));
    }
  });

  // Findings of the review: each passed the earlier checks, which ran at batch 1 with absolute strides.
  it('checks every access at the maximum batch: a batched Fill of an unbatched 64-byte tensor', () => {
    const ok = single('fill', { n: 16, value: 1 }, [{ bytes: 64, batched: false }], [], false);
    expect(() => validateBuiltinProgram(ok, none)).not.toThrow();
    refused(single('fill', { n: 16, value: 1 }, [{ bytes: 64, batched: false }], [], true), none, undefined, /touches elements 0\.\.127 .* holds 16 at batch 8/);
  });

  it('checks a batched Copy at batch 2: leading strides that leave the tensor', () => {
    // [1, 4] rows, x stride 2^28 along the batch: in bounds at batch 1, ~4 GB past the arena at batch 2.
    const p = single('copy', { dims: [1, 4], xs: [1 << 28, 1], ys: [4, 1], xoff: 0, yoff: 0 }, [{ bytes: 16 }, { bytes: 16 }], [0], true, 2);
    refused(p, none, undefined, /touches elements 0\.\.268435459 of its input .* at batch 2/);
  });

  it('refuses negative offsets and strides', () => {
    refused(single('copy', { dims: [4], xs: [1], ys: [1], xoff: 0, yoff: -4 }, [{ bytes: 16 }, { bytes: 16 }], [0]), none, undefined, /touches elements -4\.\.-1 of its output/);
    refused(single('copy', { dims: [4], xs: [-1], ys: [1], xoff: 0, yoff: 0 }, [{ bytes: 16 }, { bytes: 16 }], [0]), none, undefined, /touches elements -3\.\.0 of its input/);
    refused(single('matmul', { bc: 2, m: 1, n: 1, k: 1, sa: -3, sb: 1, sc: 1 }, [{ bytes: 8 }, { bytes: 8 }, { bytes: 8 }], [0, 1], false), none, undefined, /touches elements -3\.\.0 of its first operand/);
    // Negative strides that stay inside (a reversal) are fine; the same reversal scaled by the batch is not.
    const reverse = (batched: boolean) => single('copy', { dims: [4], xs: [-1], ys: [1], xoff: 3, yoff: 0 }, [{ bytes: 16 }, { bytes: 16 }], [0], batched);
    expect(() => validateBuiltinProgram(reverse(false), none)).not.toThrow();
    refused(reverse(true), none, undefined, /touches elements -28\.\.3 of its input .* at batch 8/);
  });

  it('checks dtypes against what each kernel reads', () => {
    // binary() reads both operands in the output's dtype: a float16 operand read as float32 runs past its end.
    refused(single('binary', { op: 0, dims: [4], sa: [1], sb: [1] }, [{ bytes: 8, dtype: 1 }, { bytes: 16 }, { bytes: 16 }], [0, 1]), none, undefined, /reads its first operand .*float16\) as float32/);
    refused(single('unary', { act: 1, n: 4 }, [{ bytes: 16, dtype: 2 }, { bytes: 16, dtype: 2 }], [0]), none, undefined, /needs a float32 or float16 output, not int32/);
    refused(single('copy', { dims: [4], xs: [1], ys: [1], xoff: 0, yoff: 0 }, [{ bytes: 4, dtype: 4 }, { bytes: 16, dtype: 2 }], [0]), none, undefined, /converts between dtypes/);
  });

  it('refuses empty input lists and absent required inputs (index -1)', () => {
    refused(single('conv', { n: 1, h: 1, w: 1, c: 1, k: 1, r: 1, s: 1, p: 1, q: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, g: 1, act: 0 }, [{ bytes: 4 }], []), none, undefined, /has input x = -1/);
    refused(single('binary', { op: 0, dims: [4], sa: [1], sb: [1] }, [{ bytes: 16 }, { bytes: 16 }], [-1, 0]), none, undefined, /has input a = -1/);
    refused(single('unary', { act: 1, n: 4 }, [{ bytes: 16 }, { bytes: 16 }], [7]), none, undefined, /has input x = 7 \(tensors: 2\)/);
    refused(single('unary', { act: 1, n: 4 }, [{ bytes: 16 }, { bytes: 16 }], [0, 0]), none, undefined, /too many inputs/);
  });

  it('uses checked arithmetic for every size', () => {
    const p = single('fill', { n: 1, value: 0 }, [{ bytes: 4 }], []);
    refused({ ...clone(p), batchedArenaBytes: 2 ** 50 }, none, undefined, /region size is negative or too large/);
    refused({ ...clone(p), batchedArenaBytes: 2 ** 38, maxBatch: 8 }, none, undefined, /the arena size overflows/);
    const q = clone(p);
    q.tensors[0].offset = 2 ** 52;
    refused(q, none, undefined, /offset \+ size overflows/);
    const f = single('fill', { n: 2 ** 39, value: 0 }, [{ bytes: 4 }], []);
    refused(f, none, undefined, /product overflows|touches elements/);
    const m = single('matmul', { bc: 1, m: 2 ** 31 - 1, n: 2 ** 31 - 1, k: 1, sa: 0, sb: 0, sc: 0 }, [{ bytes: 8 }, { bytes: 8 }, { bytes: 8 }], [0, 1]);
    refused(m, none, undefined, /overflows/);
  });

  it('checks the format version, tensor placement and what a layer may write', () => {
    const s = seed('cnn-fp32');
    const next = BUILTIN_FORMAT_VERSION + 1;
    refused({ ...clone(s.program), formatVersion: next }, s.weights, undefined, new RegExp(`format ${next} is not ${BUILTIN_FORMAT_VERSION}`), 'ERR_PLAN_MISMATCH');
    const misaligned = clone(s.program);
    misaligned.tensors[misaligned.io[0].tensor].offset += 16;
    refused(misaligned, s.weights, undefined, /is not 256-byte aligned/);
    const partial = single('fill', { n: 1, value: 0 }, [{ bytes: 6 }], []);
    refused(partial, none, undefined, /not a whole number of elements/);
    const toWeight = clone(s.program);
    const w = toWeight.tensors.findIndex((t) => t.loc === 1);
    toWeight.layers[0].outputs = [w];
    refused(toWeight, s.weights, undefined, /writes to a weight/);
    refused(single('binary', { op: 9, dims: [4], sa: [1], sb: [1] }, [{ bytes: 16 }, { bytes: 16 }, { bytes: 16 }], [0, 1]), none, undefined, /parameter 'op' = 9.* outside 0\.\.6/);
    refused(single('copy', { dims: [4], xs: [1], ys: [1], xoff: 0.5, yoff: 0 }, [{ bytes: 16 }, { bytes: 16 }], [0]), none, undefined, /parameter 'xoff'/);
    refused(single('copy', { dims: [1, 1, 1, 1, 1, 1, 4], xs: [0, 0, 0, 0, 0, 0, 1], ys: [0, 0, 0, 0, 0, 0, 1], xoff: 0, yoff: 0 }, [{ bytes: 16 }, { bytes: 16 }], [0]), none, undefined, /rank 7 outside 1\.\.6/);
  });

  it("refuses a header whose profile is not the program's (a profile above maxBatch)", () => {
    const s = seed('cnn-fp32');
    const h = header(s);
    expect(() => validateBuiltinProgram(s.program, s.weights, h)).not.toThrow();
    refused(s.program, s.weights, { ...h, profile: { min: 1, opt: 2, max: 1 << 20 } }, /batch profile 1\/2\/1048576 is not the program's 1\/2\/3/);
    refused(s.program, s.weights, { ...h, outputs: [{ ...h.outputs[0], dtype: 'float16' }] }, /another dtype in the header/);
    refused(s.program, s.weights, { ...h, inputs: [{ ...h.inputs[0], shape: ['batch', 3, 9, 8] }] }, /another shape in the header/);
    refused(s.program, s.weights, { ...h, inputs: [{ ...h.inputs[0], name: 'other' }] }, /'other' of the header is not in the program/);
    refused({ ...clone(s.program), maxBatch: 2 ** 21 }, s.weights, undefined, /bad batch profile/);
  });

  describe('inverted-residual and vision layers', () => {
    const layerOf = (p: Program, op: keyof typeof Op) => p.layers.find((l) => l.op === Op[op])!;
    // Tensor `id` moved to fresh room in the fixed arena at its batch-1 size, as a lowering that sized it for one row would.
    const unbatch = (p: Program, id: number) => {
      Object.assign(p.tensors[id], { batched: false, offset: p.fixedArenaBytes });
      p.fixedArenaBytes += Math.ceil(p.tensors[id].bytes / 256) * 256;
    };
    const edit = (name: string, f: (p: Program) => void) => {
      const s = seed(name);
      const p = clone(s.program);
      f(p);
      return [p, s.weights] as const;
    };

    it('mbconv: the chain tactic needs its intermediates for the whole batch; the fused tiles run float16 blocks only', () => {
      for (const name of ['mbconv-fp32', 'mbconv-fp16']) {
        const [p, w] = edit(name, (q) => unbatch(q, layerOf(q, 'mbconv').outputs[1]));
        refused(p, w, undefined, /\(mbconv\) touches elements .* of its expanded .* at batch 3/);
      }
      const fused = (name: string) => edit(name, (q) => (layerOf(q, 'mbconv').tactics = [{ upTo: 3, tactic: 'mbconv_8x8' }]));
      expect(() => validateBuiltinProgram(...fused('mbconv-fp16'))).not.toThrow();
      refused(...fused('mbconv-fp32'), undefined, /uses tactic 'mbconv_8x8', which cannot run this block and dtype/);
      refused(...edit('mbconv-fp16', (q) => (layerOf(q, 'mbconv').tactics = [{ upTo: 3, tactic: 'chain:direct+direct' }])), undefined, /malformed chain tactic/);
      refused(...edit('mbconv-fp16', (q) => (layerOf(q, 'mbconv').params.e = 32)), undefined, /touches elements .* of its expand weights/);
    });

    it('mbconv with an identity expand: its chain skips the expand, and only an identity expand may be skipped', () => {
      for (const name of ['mbconv1-fp32', 'mbconv1-fp16']) {
        const s = seed(name);
        const l = layerOf(s.program, 'mbconv');
        expect(l.params.id1).toBe(1);
        expect(l.tactics?.[0].tactic).toBe('chain:skip+direct+direct');
        // The placeholder `expanded` is one element: the chain never writes it.
        expect(s.program.tensors[l.outputs[1]].shape).toEqual([1]);
        expect(() => validateBuiltinProgram(s.program, s.weights)).not.toThrow();
        const chain = (t: string) => edit(name, (q) => (layerOf(q, 'mbconv').tactics = [{ upTo: 3, tactic: t }]));
        refused(...chain('chain:direct+direct+direct'), undefined, /runs its identity expand with 'direct' instead of 'skip'/);
        // Without id1 the chain would write the placeholder as an [n, h, w, e] activation.
        refused(...edit(name, (q) => delete layerOf(q, 'mbconv').params.id1), undefined, /touches elements .* of its expanded/);
        refused(...edit(name, (q) => (layerOf(q, 'mbconv').params.id1 = 2)), undefined, /parameter 'id1' = 2/);
      }
      refused(...edit('mbconv-fp16', (q) => (layerOf(q, 'mbconv').tactics = [{ upTo: 3, tactic: 'chain:skip+direct+direct' }])), undefined, /skips an expand stage that is not the identity/);
      // An identity expand maps c channels to c.
      const [p, w] = edit('mbconv1-fp16', (q) => Object.assign(layerOf(q, 'mbconv').params, { e: 8 }));
      refused(p, w, undefined, /identity expand from 16 to 8 channels/);
    });

    it('resize: a tap table as long as the output, and int32 offsets into it', () => {
      refused(...edit('vision-fp32', (q) => (layerOf(q, 'resize').params.q = 12)), undefined, /resize\) touches elements .* of its taps/);
      refused(...edit('vision-fp32', (q) => (layerOf(q, 'resize').params.taps = 5)), undefined, /parameter 'taps' = 5.* outside 1\.\.4/);
      // 2·taps·(p + q) past int32 would wrap the kernel's table offsets to negative reads, whatever the tensors hold.
      refused(...edit('vision-fp16', (q) => Object.assign(layerOf(q, 'resize').params, { p: 2 ** 28, taps: 4 })), undefined, /too large for 32-bit indexing/);
      // Only the NCHW writer may change the dtype, and only to float32 (kernels::resizeToNchw).
      const retyped = (nchw: boolean, dtype: number) =>
        edit('vision-fp16', (q) => {
          const r = layerOf(q, 'resize');
          if (nchw) r.params.nchw = 1;
          const y = r.outputs[0];
          q.tensors[y].dtype = dtype;
          q.io = q.io.filter((io) => io.tensor !== y);
        });
      expect(() => validateBuiltinProgram(...retyped(true, 1))).not.toThrow();
      refused(...retyped(false, 0), undefined, /resize\) reads its output \(tensor \d+, float32\) as float16/);
      refused(...retyped(true, 2), undefined, /resize\) reads its output \(tensor \d+, int32\) as float16/);
    });

    it('deconv, argmax and topk: groups, output dtypes and k', () => {
      refused(...edit('vision-fp32', (q) => (layerOf(q, 'deconv').params.g = 3)), undefined, /groups that do not divide/);
      refused(...edit('vision-fp32', (q) => (layerOf(q, 'deconv').params.s = 4)), undefined, /deconv\) touches elements .* of its weights/);
      const argmaxAsFloat = edit('vision-fp16', (q) => {
        const y = layerOf(q, 'argmax').outputs[0];
        q.tensors[y].dtype = 0;
        q.io = q.io.filter((io) => io.tensor !== y);
      });
      refused(...argmaxAsFloat, undefined, /reads its output .* as int64/);
      refused(...edit('vision-fp16', (q) => (layerOf(q, 'topk').params.k = 8)), undefined, /parameter 'k' = 8.* outside 0\.\.7/);
      refused(...edit('vision-fp16', (q) => (layerOf(q, 'topk').params.inner = 2)), undefined, /topk\) touches elements .* of its input/);
    });

    it('nms: a scratch of one counter and key per candidate for every image, apart from the outputs', () => {
      for (const name of ['detector-fp32', 'detector-fp16']) {
        refused(...edit(name, (q) => unbatch(q, layerOf(q, 'nms').outputs[4])), undefined, /touches elements .* of its scratch .* at batch 3/);
      }
      // Class-agnostic keeps one key per box, so the per-class count of keys does not fit its scratch.
      refused(...edit('detector-fp16', (q) => (layerOf(q, 'nms').params.agnostic = 0)), undefined, /of its scratch/);
      refused(...edit('detector-fp32', (q) => (layerOf(q, 'nms').params.k = 1025)), undefined, /parameter 'k' = 1025/);
      // Keys read back from the scratch index the boxes while other images' blocks already write their outputs.
      const [p, w] = edit('detector-fp32', (q) => {
        const [count, , , , scratch] = layerOf(q, 'nms').outputs;
        q.tensors[count].offset = q.tensors[scratch].offset;
      });
      refused(p, w, undefined, /has its scratch overlapping its count/);
    });
  });

  it('refuses tactics the kernels do not offer for the layer', () => {
    const s = seed('cnn-fp32');
    const conv = s.program.layers.findIndex((l) => l.op === Op.conv);
    const withTactic = (tactic: string) => {
      const p = clone(s.program);
      p.layers[conv].tactics = [{ upTo: 3, tactic }];
      return p;
    };
    expect(() => validateBuiltinProgram(withTactic('simt_64x64_sk4'), s.weights)).not.toThrow();
    refused(withTactic('tc_64x64x64_s3_sk4'), s.weights, undefined, /cannot run this shape and dtype/); // tensor cores need float16
    refused(withTactic('simt_64x64_sk3'), s.weights, undefined, /unknown tactic/);
    refused(withTactic('cublaslt_0_zz'), s.weights, undefined, /malformed tactic/);
    // External sources: cuBLASLt only for GEMM-shaped convolutions, cuDNN only for the output size it computes.
    expect(() => validateBuiltinProgram(withTactic('cudnn_implicit_gemm_fused'), s.weights)).not.toThrow();
    refused(withTactic(`cublaslt_1_${'0'.repeat(128)}`), s.weights, undefined, /not a GEMM/);
    const odd = withTactic('cudnn_fft');
    odd.layers[conv].params.p = Number(odd.layers[conv].params.p) - 1;
    refused(odd, s.weights, undefined, /cannot express/);
    const p = clone(s.program);
    p.layers[conv].tactics = [];
    refused(p, s.weights, undefined, /has no tactic/);
    const q = clone(s.program);
    q.layers[q.layers.findIndex((l) => l.op !== Op.conv)].tactics = [{ upTo: 3, tactic: 'direct' }];
    refused(q, s.weights, undefined, /takes only 'default'/);
  });
});
