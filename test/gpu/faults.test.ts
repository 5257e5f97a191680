// Faults: every allocation, launch and copy point of build, load, context creation and run (replaying graphs, where
// a run is one launch, and launching directly, where its copies are points of their own) fails in turn
// (NODE_TENSORRT_FAULT's switch) with a coded error, no leak and a working next call; and a run that faults on
// the GPU settles in every completion mode, leaving the context refusing further calls with ERR_CUDA_FAULT.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngine, loadEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { TensorRTError } from '../../lib/errors.js';
import { memoryInfo } from '../../lib/memory.js';
import { loadAddon, packageRoot, type FaultKind } from '../../lib/native.js';
import { fillUniform } from '../../lib/util/random.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const KINDS: Exclude<FaultKind, 'device'>[] = ['alloc', 'launch', 'copy'];
const SAMPLE = 40; // most points walked per kind and phase; a build's launch points number in the thousands
const model = smallCnn({ seed: 11 });
const shapes = { input: { min: [1, 3, 32, 32], opt: [4, 3, 32, 32], max: [64, 3, 32, 32] } };
const x = fillUniform(new Float32Array(64 * 3 * 32 * 32), 5);

/** 1-based points to walk out of `n`: all of them, or SAMPLE evenly spread including the first and the last. */
function points(n: number): number[] {
  if (n <= SAMPLE) return Array.from({ length: n }, (_, i) => i + 1);
  return [...new Set(Array.from({ length: SAMPLE }, (_, i) => 1 + Math.round((i * (n - 1)) / (SAMPLE - 1))))];
}

describe.skipIf(!hasGpu)(gpuSuite('fault injection and device faults'), () => {
  const addon = loadAddon();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ntrt-faults-'));
  afterAll(() => {
    addon.faultInjection('');
    rmSync(dir, { recursive: true, force: true });
  });

  it('walks every allocation, launch and copy point: each fails with a coded error, leaks nothing, and the next call works', async () => {
    let plan: Uint8Array;
    const phases: { name: string; setup: () => Promise<unknown>; act: (s: unknown) => Promise<unknown>; teardown: (s: unknown, r: unknown) => void }[] = [
      {
        name: 'build',
        setup: async () => undefined,
        act: () => buildEngine(model, { backend: 'builtin', shapes }),
        teardown: (_s, r) => (r as Engine | undefined)?.dispose(),
      },
      {
        name: 'load',
        setup: async () => undefined,
        act: () => loadEngine(plan),
        teardown: (_s, r) => (r as Engine | undefined)?.dispose(),
      },
      {
        name: 'context',
        setup: () => loadEngine(plan),
        act: (e) => (e as Engine).createContext({ maxBatch: 64 }),
        teardown: (e) => (e as Engine).dispose({ contexts: true }),
      },
      // Replaying graphs (a run is one launch after its capture) and launching directly (every copy a point).
      ...[true, false].map((cudaGraph) => ({
        name: cudaGraph ? 'run' : 'run-direct',
        setup: async () => {
          const e = await loadEngine(plan);
          return { e, c: await e.createContext({ maxBatch: 64, cudaGraph }) };
        },
        act: async (s: unknown) => {
          const { c } = s as { c: Awaited<ReturnType<Engine['createContext']>> };
          (c.inputs.input as Float32Array).set(x);
          await c.run({ batch: 64 }); // first run at a batch: graph capture (with graphs on), then replay
          await c.run({ batch: 64 });
          await c.infer({ input: x.subarray(0, 3 * 32 * 32) });
          c.imagePixels().fill(7);
          await c.runImages({ batch: 2, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
          return c;
        },
        teardown: (s: unknown) => (s as { e: Engine }).e.dispose({ contexts: true }),
      })),
    ];
    const built = await buildEngine(model, { backend: 'builtin', shapes });
    plan = built.serialize();
    built.dispose();
    const report: string[] = [];
    for (const phase of phases) {
      // Warm-up: eight at once, twice, so every thread-pool thread has made its per-thread library handles (cuDNN,
      // cuBLASLt: megabytes that live as long as the thread) before memory is measured, whichever thread takes which
      // call; then count the points of one pass.
      for (let round = 0; round < 2; round++) {
        await Promise.all(
          [0, 1, 2, 3, 4, 5, 6, 7].map(async () => {
            const s = await phase.setup();
            phase.teardown(s, await phase.act(s));
          }),
        );
      }
      const s0 = await phase.setup();
      addon.faultInjection('');
      const r0 = await phase.act(s0);
      const counts = addon.faultInjection().counts;
      phase.teardown(s0, r0);
      // Two walks; memory is compared across the second. The first loads what a failure path needs once and keeps
      // for the process (kernel modules CUDA loads lazily on their first launch, library handles of the thread a
      // fallback runs on); a leak on a failure path recurs at every failing point, so the second walk shows it too.
      for (const pass of [1, 2]) {
        const before = memoryInfo(0).free;
        const freeAfter: string[] = []; // free memory after each kind's walk: a leak per fault grows kind by kind
        for (const kind of KINDS) {
          const walked = points(counts[kind]);
          const outcomes = new Map<string, number>();
          for (const at of walked) {
            const s = await phase.setup();
            addon.faultInjection(`${kind}:${at}`);
            let result: unknown;
            let outcome = 'ok';
            try {
              result = await phase.act(s);
            } catch (e) {
              if (!(e instanceof TensorRTError)) throw new Error(`${phase.name} ${kind}:${at} threw an uncoded error: ${String(e)}`);
              outcome = e.code;
              expect(e.code, `${phase.name} ${kind}:${at}: ${e.message}`).not.toBe('ERR_INTERNAL');
            } finally {
              // Tactic timing stops early for clearly slow candidates, so a build's launch and copy counts vary a little.
              if (addon.faultInjection().fired[kind] === 0) outcome = 'unreached';
              addon.faultInjection('');
            }
            phase.teardown(s, result);
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
            if (outcome !== 'ok' && (phase.name !== 'build' || at === walked[walked.length - 1])) {
              const s2 = await phase.setup(); // the next call works
              phase.teardown(s2, await phase.act(s2));
            }
          }
          report.push(
            `${phase.name.padEnd(10)} ${pass} ${kind.padEnd(7)} ${String(walked.length).padStart(4)} of ${String(counts[kind]).padEnd(5)} ${[...outcomes].map(([c, n]) => `${c}×${n}`).join(', ')}`,
          );
          if (phase.name !== 'build' && kind === 'alloc') expect(counts.alloc, `${phase.name} allocates`).toBeGreaterThan(0);
          const unreached = outcomes.get('unreached') ?? 0;
          expect(unreached, `${phase.name} ${kind}: points not reached`).toBeLessThanOrEqual(phase.name === 'build' ? walked.length / 10 : 0);
          freeAfter.push(`${kind} ${(memoryInfo(0).free / 2 ** 20).toFixed(1)}`);
        }
        const after = memoryInfo(0).free;
        report.push(`${phase.name.padEnd(10)} ${pass} GPU free ${(before / 2 ** 20).toFixed(1)} MiB → ${(after / 2 ** 20).toFixed(1)} MiB (after ${freeAfter.join(', ')})`);
        if (pass === 2) expect(before - after, `${phase.name}: GPU memory leaked (${report[report.length - 1]})`).toBeLessThanOrEqual(2 * 2 ** 20);
      }
    }
    console.log(`fault-injection walk (phase, pass, kind, points walked of points reached, outcomes):\n${report.join('\n')}`);
  }, 900_000);

  it('settles a run that faults on the GPU in every completion mode; the context then refuses with ERR_CUDA_FAULT and the process exits', async () => {
    const script = path.join(packageRoot(), 'test/gpu/fixtures/device-fault.mjs');
    expect(existsSync(path.join(packageRoot(), 'dist/lib/index.js')), 'run `npm run build:ts` first: the child process loads dist/').toBe(true);
    const e = await buildEngine(model, { backend: 'builtin', shapes: { input: { min: [1, 3, 32, 32], opt: [1, 3, 32, 32], max: [1, 3, 32, 32] } } });
    const file = path.join(dir, 'small.plan');
    writeFileSync(file, e.serialize());
    e.dispose();
    for (const sync of ['auto', 'callback', 'spin', 'blocking']) {
      const r = spawnSync(process.execPath, [script, file, sync], { encoding: 'utf8', timeout: 60_000 });
      expect(r.signal, `${sync}: the child hung (a run never settled) — stderr: ${r.stderr}`).toBeNull();
      expect(r.status, `${sync}: ${r.stderr}`).toBe(0);
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
      console.log(`${sync}: settled in ${got.ms.toFixed(1)} ms: ${got.first.slice(0, 120)}`);
      expect(got.first).toMatch(/^ERR_CUDA_FAULT cudaErrorIllegalAddress: .*restart the process/);
      expect(got.again).toMatch(/^ERR_CUDA_FAULT This context is unusable/);
      expect(got.infer).toMatch(/^ERR_CUDA_FAULT /);
      expect(got.otherRun).toMatch(/^ERR_[A-Z_]+ /); // sticky: the other context of the process fails too, coded
      expect(got.info.fault).toBe('cudaErrorIllegalAddress');
      expect(got.streamSync).toMatch(/^ERR_CUDA_FAULT /); // Stream and Event waits see the fault too
      expect(got.eventSync).toMatch(/^ERR_CUDA_FAULT /);
    }
  }, 300_000);
});
