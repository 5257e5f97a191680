// Structure-aware mutations of builtin plans: program fields, tensors (dtype, place, size), layer inputs, outputs,
// parameters (shapes, strides, offsets), tactics, I/O and header fields; the container is rewritten with a fresh
// checksum, so only the validator stands between a mutant and the kernels.
import { Op, encodePayload, type Program } from '../../lib/builtin/program.js';
import { validateBuiltinPlan } from '../../lib/builtin/validate.js';
import { TensorRTError } from '../../lib/errors.js';
import { writePlan, type PlanHeader } from '../../lib/plan.js';
import { uniformRandom } from '../../lib/util/random.js';
import { outOfBounds } from './bounds.js';
import type { Seed } from './seeds.js';

type Rng = () => number;
const pick = <T>(r: Rng, a: readonly T[]): T => a[Math.floor(r() * a.length)];

/** A value near `v` or a boundary: the numbers that break size arithmetic. */
function interesting(r: Rng, v: number): number {
  const n = Number.isFinite(v) ? v : 0;
  return pick(r, [
    0, 1, -1, 2, 3, 4, 7, 8, 255, 256, 1024, n + 1, n - 1, n * 2, n * 3, -n, Math.floor(n / 2), n + 256, n * 8,
    2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, -(2 ** 31), 1.5, 1e300,
  ]);
}

/** Every op of the format, and a few numbers that are none. */
const OPS = [...Object.values(Op), 12, 17, 19, 25, 63];
/** The inverted-residual layer's own tactics: fused tiles (float16 only) and chains of conv tactics, some malformed. */
const MBCONV_TACTICS = ['mbconv_8x8', 'mbconv_4x4', 'mbconv_2x2', 'chain:direct+direct+direct', 'chain:gemv+dw_b16_px4+gemv', 'chain:direct+direct', 'chain:direct+tc_64x64x64_s3_sk16+direct', 'chain:'];

const TENSOR_KEYS = ['dtype', 'loc', 'batched', 'offset', 'bytes'] as const;
const PROGRAM_KEYS = ['fixedArenaBytes', 'batchedArenaBytes', 'weightsBytes', 'minBatch', 'optBatch', 'maxBatch', 'formatVersion'] as const;

function mutateProgram(r: Rng, p: Program, h: Omit<PlanHeader, 'payloadBytes'>): string {
  const layer = p.layers.length ? Math.floor(r() * p.layers.length) : -1;
  const l = layer >= 0 ? p.layers[layer] : undefined;
  const kind = Math.floor(r() * (p.dim ? 16 : 14));
  switch (kind) {
    case 14:
    case 15: {
      // Programs with a dim: its range and base, a tensor's size form, a layer's parameter forms.
      const d = p.dim!;
      const what = r();
      if (what < 0.25) {
        const k = pick(r, ['min', 'opt', 'max', 'base'] as const);
        d[k] = interesting(r, d[k]);
        // Half the time the header says the same (a consistent forgery), else only the program changed.
        if (k !== 'base' && r() < 0.5 && h.dims?.[d.name]) h.dims = { [d.name]: { ...h.dims[d.name], [k]: d[k] } };
        return `dim.${k} = ${d[k]}`;
      }
      if (what < 0.5) {
        const t = pick(r, p.tensors.filter((x) => x.dimBytes));
        if (!t) return 'none';
        const k = Math.floor(r() * 3);
        t.dimBytes![k] = interesting(r, t.dimBytes![k]);
        return `tensor dimBytes[${k}]`;
      }
      const withForms = p.layers.filter((x) => x.perDim);
      const ld = withForms.length ? pick(r, withForms) : l;
      if (!ld) return 'none';
      ld.perDim ??= {};
      const key = pick(r, [...Object.keys(ld.perDim), ...Object.keys(ld.params)]);
      const v = ld.params[key];
      const k = Math.floor(r() * 4);
      const form = ld.perDim[key] ?? [0, 0, 0, 0].map(() => (Array.isArray(v) ? v.map(() => 0) : 0)) as [number, number, number, number];
      const c = form[k];
      form[k] = Array.isArray(c) ? c.map((x) => (r() < 0.5 ? interesting(r, x) : x)) : interesting(r, c as number);
      ld.perDim[key] = form;
      return `layer perDim ${key}[${k}]`;
    }
    case 0: {
      const k = pick(r, PROGRAM_KEYS);
      p[k] = interesting(r, p[k]);
      return `program.${k} = ${p[k]}`;
    }
    case 1: {
      const t = pick(r, p.tensors);
      const k = pick(r, TENSOR_KEYS);
      if (k === 'batched') t.batched = !t.batched;
      else if (k === 'loc') t.loc = t.loc ? 0 : 1;
      else if (k === 'dtype') t.dtype = Math.floor(r() * 8);
      else t[k] = interesting(r, t[k]);
      return `tensor.${k}`;
    }
    case 2:
    case 3: {
      if (!l) return 'none';
      const key = pick(r, Object.keys(l.params));
      const v = l.params[key];
      if (Array.isArray(v)) {
        const u = [...v];
        const what = r();
        if (what < 0.15) u.pop();
        else if (what < 0.25) u.push(interesting(r, 1));
        else u[Math.floor(r() * u.length)] = interesting(r, u[Math.floor(r() * u.length)] ?? 1);
        l.params[key] = u;
      } else if (r() < 0.1) {
        delete l.params[key];
      } else {
        l.params[key] = interesting(r, v);
      }
      return `layer ${layer} param ${key}`;
    }
    case 4: {
      if (!l) return 'none';
      const list = r() < 0.7 ? l.inputs : l.outputs;
      const what = r();
      if (what < 0.2) list.pop();
      else if (what < 0.3) list.push(Math.floor(r() * p.tensors.length));
      else if (list.length) list[Math.floor(r() * list.length)] = pick(r, [-1, -2, p.tensors.length, Math.floor(r() * p.tensors.length), 2 ** 31 - 1]);
      return `layer ${layer} ${list === l.inputs ? 'inputs' : 'outputs'}`;
    }
    case 5:
      if (!l) return 'none';
      l.batched = !l.batched;
      return `layer ${layer} batched`;
    case 6:
      if (!l) return 'none';
      l.op = r() < 0.8 ? pick(r, OPS) : interesting(r, l.op);
      return `layer ${layer} op`;
    case 7: {
      if (!l) return 'none';
      const names = ['direct', 'gemv', 'default', 'simt_64x64_sk16', 'tc_64x64x64_s3_sk16', 'tcg_64x64x32', 'dw_b16_px4', 'dw_b4_px1', 'cudnn_fft_fused', 'cublaslt_0_' + '0'.repeat(128), 'flash_mma', 'flash_mma_w2', 'flash_mma_w8', 'flash_wmma', 'flash_warp', 'unfused', 'bogus', '', ...MBCONV_TACTICS];
      l.tactics = r() < 0.2 ? [] : [{ upTo: interesting(r, p.maxBatch), tactic: pick(r, names) }];
      return `layer ${layer} tactic`;
    }
    case 8: {
      const io = pick(r, p.io);
      const what = r();
      if (what < 0.3) io.tensor = Math.floor(r() * p.tensors.length);
      else if (what < 0.5) io.dtype = Math.floor(r() * 8);
      else if (what < 0.8) io.shape[Math.floor(r() * io.shape.length)] = interesting(r, 3);
      else io.name = pick(r, ['', p.io[0].name, 'z']);
      return 'io';
    }
    case 9: {
      const k = pick(r, ['min', 'opt', 'max'] as const);
      h.profile = { ...h.profile, [k]: interesting(r, h.profile[k]) };
      return `header.profile.${k}`;
    }
    case 10: {
      const list = r() < 0.5 ? h.inputs : h.outputs;
      const t = { ...list[0] };
      const what = r();
      if (what < 0.3) t.dtype = pick(r, ['float16', 'float32', 'int64', 'bogus'] as never[]);
      else if (what < 0.7) t.shape = t.shape.map((d) => (r() < 0.3 ? interesting(r, typeof d === 'number' ? d : 1) : d));
      else t.name = 'other';
      list[0] = t;
      return 'header io';
    }
    case 12: {
      // Type confusion anywhere in the program: what the native reader must refuse rather than misread.
      const slots: [Record<string, unknown> | unknown[], string | number][] = [];
      const walk = (v: unknown, depth: number) => {
        if (depth > 5 || v === null || typeof v !== 'object') return;
        for (const [k, x] of Object.entries(v)) {
          slots.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
          walk(x, depth + 1);
        }
      };
      walk(p, 0);
      const [container, key] = pick(r, slots);
      (container as Record<string | number, unknown>)[key] = pick(r, [null, 'x', '', {}, [], [[1]], true, false, -0, 1e21, -1e21, { length: 3 }]);
      return `type of ${String(key)}`;
    }
    case 11: {
      // Tensor count: drop the last tensor (dangling ids) or add a copy of one (unused, or a new target).
      if (r() < 0.5) p.tensors.pop();
      else p.tensors.push({ ...pick(r, p.tensors) });
      return 'tensor count';
    }
    default: {
      // Swap two layers' inputs: shapes that fit the wrong tensors.
      if (!l) return 'none';
      const other = pick(r, p.layers);
      [l.inputs, other.inputs] = [other.inputs, l.inputs];
      return 'swap inputs';
    }
  }
}

export type Outcome = 'accepted' | 'refused' | 'crash' | 'escape';

export interface CaseResult {
  outcome: Outcome;
  mutations: string[];
  detail?: string;
  /** The mutant, for accepted cases. */
  plan?: Uint8Array;
}

/**
 * Mutates `seed` (1..3 mutations from `caseSeed`), rewrites the plan with a fresh checksum and validates it.
 * `escape`: accepted although the independent checker finds an out-of-bounds access; `crash`: anything but a coded error.
 * @example fuzzCase(seeds()[0], 42).outcome // 'refused'
 */
export function fuzzCase(seed: Seed, caseSeed: number): CaseResult {
  // uniformRandom is in [-1, 1); consecutive seeds are spread by a multiplicative hash and a few warm-up draws.
  const u = uniformRandom(Math.imul(caseSeed, 2654435761) ^ 0x5bd1e995);
  for (let i = 0; i < 4; i++) u();
  const r = () => (u() + 1) / 2;
  const program = structuredClone(seed.program);
  const header = structuredClone(seed.header);
  const mutations: string[] = [];
  const count = 1 + Math.floor(r() * 3);
  for (let i = 0; i < count; i++) {
    try {
      mutations.push(mutateProgram(r, program, header));
    } catch {
      mutations.push('skipped (an earlier mutation changed the structure)');
    }
  }
  let plan: Uint8Array;
  try {
    const payload = encodePayload(program, seed.weights);
    if (r() < 0.05) {
      // Raw bytes of the program text, under a fresh checksum: what the payload decoder and reader must refuse.
      const at = 4 + Math.floor(r() * new DataView(payload.buffer).getUint32(0, true));
      payload[at] = Math.floor(r() * 256);
      mutations.push(`program byte ${at}`);
    }
    plan = writePlan(header, payload);
  } catch (e) {
    return { outcome: 'refused', mutations, detail: `unserializable: ${(e as Error).message}` };
  }
  let checked: Program;
  try {
    checked = validateBuiltinPlan(plan).program;
  } catch (e) {
    if (e instanceof TensorRTError && ['ERR_PLAN_CORRUPT', 'ERR_PLAN_MISMATCH'].includes(e.code)) return { outcome: 'refused', mutations, detail: e.message };
    return { outcome: 'crash', mutations, detail: String((e as Error)?.stack ?? e) };
  }
  // The program as the plan holds it (a raw byte change may have altered it beyond the structural mutations).
  const bad = outOfBounds(checked, seed.weights.byteLength);
  if (bad.length) return { outcome: 'escape', mutations, detail: bad.join('; '), plan };
  return { outcome: 'accepted', mutations, plan };
}

/**
 * Runs `cases` cases round-robin over `seeds`; counts outcomes and keeps the first few failures and accepted plans.
 * @example fuzzPlans(seeds(), 3000).counts // { accepted: 334, refused: 2666, crash: 0, escape: 0 }
 */
export function fuzzPlans(seeds: Seed[], cases: number, firstSeed = 1, keepAccepted = 0): { counts: Record<Outcome, number>; failures: CaseResult[]; accepted: CaseResult[]; ms: number } {
  const t0 = performance.now();
  const counts: Record<Outcome, number> = { accepted: 0, refused: 0, crash: 0, escape: 0 };
  const failures: CaseResult[] = [];
  const accepted: CaseResult[] = [];
  for (let i = 0; i < cases; i++) {
    const c = fuzzCase(seeds[i % seeds.length], firstSeed + i);
    counts[c.outcome]++;
    if ((c.outcome === 'crash' || c.outcome === 'escape') && failures.length < 10) failures.push(c);
    if (c.outcome === 'accepted' && accepted.length < keepAccepted) accepted.push(c);
  }
  return { counts, failures, accepted, ms: performance.now() - t0 };
}
