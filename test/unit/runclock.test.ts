// What 'auto' completion learns (native/addon/runclock.cc), driven on the CPU with simulated runs: it must wake just
// before runs end (low overhead), spin only briefly (low CPU), and follow runs that get longer or shorter.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/native.js';

const cxx = process.env.CXX ?? 'c++';
const haveCxx = spawnSync(cxx, ['--version']).status === 0;
const dir = mkdtempSync(path.join(os.tmpdir(), 'ntrt-runclock-'));
const bin = path.join(dir, 'runclock-sim');

interface Phase {
  medianOverheadUs: number;
  p90OverheadUs: number;
  spinFraction: number;
  lateFraction: number;
  jsLateFraction: number;
}
/** Phases of `runs` runs each, "durationUs:jitterUs"; wake-up latency of the sleeping thread in [min, max] µs. */
function simulate(phases: string[], wake = '3:15', runs = 300, seed = 1, js = '0:0'): Phase[] {
  return JSON.parse(execFileSync(bin, [String(seed), String(runs), ...phases, '--wake', wake, '--js', js], { encoding: 'utf8' })) as Phase[];
}

describe.skipIf(!haveCxx)(haveCxx ? "'auto' completion's run clock" : `'auto' completion's run clock [skipped: no C++ compiler (${cxx})]`, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles on its own (no CUDA, no N-API)', () => {
    const root = packageRoot();
    execFileSync(cxx, ['-std=c++17', '-O2', `-I${root}/native/addon`, `${root}/test/helpers/runclock-sim.cc`, `${root}/native/addon/runclock.cc`, '-o', bin]);
  });

  it('wakes just before steady runs end and spins a few percent of the run', () => {
    for (const seed of [1, 2, 3]) {
      const [p] = simulate(['800:10'], '3:15', 300, seed);
      expect(p.medianOverheadUs).toBeLessThanOrEqual(2);
      expect(p.spinFraction).toBeLessThan(0.05);
      expect(p.lateFraction).toBeLessThan(0.05);
    }
  });

  it('stays cheap with jittery runs and a jittery wake-up', () => {
    const [p] = simulate(['800:100'], '3:60');
    expect(p.medianOverheadUs).toBeLessThanOrEqual(2);
    expect(p.spinFraction).toBeLessThan(0.25);
    expect(p.lateFraction).toBeLessThan(0.15);
  });

  it('follows runs that get longer, and runs that get shorter without falling into spinning through them', () => {
    const [, longer] = simulate(['800:10', '2000:10']);
    expect(longer.spinFraction).toBeLessThan(0.05);
    const [, shorter] = simulate(['2000:10', '500:10']);
    expect(shorter.spinFraction).toBeLessThan(0.2);
    expect(shorter.lateFraction).toBeLessThan(0.1);
    expect(shorter.medianOverheadUs).toBeLessThanOrEqual(2);
  });

  it('wakes early enough for the JS thread it wakes to be awake at the end, and no earlier than that needs', () => {
    // The waiter asks the JS thread to poll when it wakes; that thread takes 20-40 µs to start.
    const [p] = simulate(['800:10'], '3:15', 600, 1, '20:40');
    expect(p.jsLateFraction).toBeLessThan(0.1);
    expect(p.medianOverheadUs).toBeLessThanOrEqual(2);
    expect(p.spinFraction).toBeLessThan(0.1);
    // A JS thread that polls at once is never late.
    const [q] = simulate(['800:10'], '3:15', 600, 1, '0:0');
    expect(q.jsLateFraction).toBe(0);
    expect(q.medianOverheadUs).toBeLessThanOrEqual(2);
  });

  it('spins through at most about half of a very short run', () => {
    const [p] = simulate(['100:5']);
    expect(p.spinFraction).toBeLessThan(0.55);
    expect(p.medianOverheadUs).toBeLessThanOrEqual(2);
  });
});
