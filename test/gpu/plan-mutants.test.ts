// Accepted plan mutants on the GPU: each loads and runs at batch 1 and its maximum batch, or fails with a coded
// error; none may touch memory outside its buffers. Run under compute-sanitizer to prove the last part:
//   compute-sanitizer --tool memcheck --error-exitcode 1 npx vitest run test/gpu/plan-mutants.test.ts
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../lib/builder.js';
import { decodePayload, Op, programAtDim } from '../../lib/builtin/program.js';
import { validateBuiltinPlan, validateBuiltinProgram } from '../../lib/builtin/validate.js';
import { capabilities } from '../../lib/capabilities.js';
import { readPlan } from '../../lib/plan.js';
import { fillUniform } from '../../lib/util/random.js';
import { fuzzPlans } from '../../scripts/fuzz/mutate.js';
import { seeds } from '../../scripts/fuzz/seeds.js';
import { buildEngine } from '../../lib/builder.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { runMutant } from '../../scripts/sanitize/run.js';
import { simulate } from '../helpers/program-sim.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const SAMPLE = Number(process.env.NTRT_MUTANTS ?? 200);

const runPlan = runMutant;

describe.skipIf(!hasGpu)(gpuSuite('accepted plan mutants on the GPU'), () => {
  const cc = hasGpu ? capabilities().cuda.devices[0].computeCapability : '0.0';

  it('runs the CPU-assembled seed plans and matches the CPU simulation of their programs', async () => {
    for (const s of seeds(cc)) {
      const engine = await loadEngine(s.plan);
      const ctx = await engine.createContext();
      const out = s.program.io.find((io) => !io.isInput)!.name;
      // A program with a dim runs at its max and at a value between its samples.
      for (const len of s.program.dim ? [s.program.dim.max, 3] : [undefined]) {
        const program = len === undefined ? s.program : programAtDim(s.program, len);
        // Every input at the maximum batch: floats uniform, ids small (inside any table of the seeds).
        const feeds: Record<string, Float32Array | BigInt64Array | Int32Array | Uint8Array> = {};
        for (const io of program.io.filter((v) => v.isInput)) {
          const view = ctx.inputs[io.name];
          const n = io.shape.reduce((a, d) => a * (d < 0 ? engine.profile.max : d), 1);
          if (view instanceof Float32Array) feeds[io.name] = fillUniform(new Float32Array(n), 5);
          else if (view instanceof BigInt64Array) feeds[io.name] = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 3));
          else if (view instanceof Int32Array) feeds[io.name] = Int32Array.from({ length: n }, (_, i) => i % 3);
          else feeds[io.name] = Uint8Array.from({ length: n }, (_, i) => i % 2);
        }
        const got = await ctx.infer(feeds as never, len === undefined ? {} : { dims: { [s.program.dim!.name]: len } });
        const want = simulate(program, s.weights, feeds as never, engine.profile.max)[out];
        const y = got[out];
        let err = 0;
        for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(Number(y[i]) - want[i]));
        expect(err, `${s.name}${len === undefined ? '' : ` at ${len}`}`).toBeLessThan(s.name.endsWith('fp16') ? 5e-2 : 1e-4);
      }
      engine.dispose({ contexts: true });
    }
  });

  it("refuses a context larger than the program's maximum batch in native code too", async () => {
    const engine = await loadEngine(seeds(cc)[0].plan);
    await expect(engine.native.createContext(engine.profile.max + 1, false, 0)).rejects.toMatchObject({ code: 'ERR_BATCH_OUT_OF_RANGE' });
    engine.dispose();
  });

  it(`runs ${SAMPLE} accepted mutants: each runs or fails with a coded error`, async () => {
    const { accepted, counts } = fuzzPlans(seeds(cc), SAMPLE * 12, 7, SAMPLE);
    expect(counts.crash + counts.escape).toBe(0);
    const outcomes: Record<string, number> = {};
    for (const c of accepted) {
      // Mutated sizes may be valid but huge (up to 2^40 bytes): keep host and device memory of the test bounded.
      const r = validateBuiltinPlan(c.plan!).report;
      if (r.arenaBytes + r.pinnedBytes > 256 * 2 ** 20) {
        outcomes['skipped (over 256 MiB)'] = (outcomes['skipped (over 256 MiB)'] ?? 0) + 1;
        continue;
      }
      const o = await runPlan(c.plan!);
      outcomes[o] = (outcomes[o] ?? 0) + 1;
    }
    console.log(`accepted mutants on the GPU (${accepted.length}): ${JSON.stringify(outcomes)}`);
    expect(outcomes.ran ?? 0).toBeGreaterThan(accepted.length / 3);
  }, 600_000);

  it("accepts every tactic the builder offers (the validator's tactic table matches the kernels')", async () => {
    for (const precision of ['fp16', 'fp32'] as const) {
      const engine = await buildEngine(smallCnn({ seed: 7 }), { backend: 'builtin', precision, shapes: { input: { min: [1, 3, 32, 32], opt: [4, 3, 32, 32], max: [16, 3, 32, 32] } } });
      const { program, weights } = decodePayload(readPlan(engine.serialize()).payload);
      const offered = new Set<string>();
      program.layers.forEach((l, i) => {
        if (l.op !== Op.conv) return;
        for (const c of engine.buildInfo!.layers[i].candidates) {
          offered.add(c.tactic);
          const p = structuredClone(program);
          p.layers[i].tactics = [{ upTo: program.maxBatch, tactic: c.tactic }];
          expect(() => validateBuiltinProgram(p, weights), `${precision} ${l.name} ${c.tactic}`).not.toThrow();
        }
      });
      expect(offered.size).toBeGreaterThan(3);
      engine.dispose();
    }
  }, 600_000);
});
