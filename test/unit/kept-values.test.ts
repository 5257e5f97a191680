// What an engine and each context keep per value of a dynamic dimension (native/builtin/kept_values.h): the
// profile's min, opt and max for good, and a bounded number of other values, least recently used first out.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/native.js';

const cxx = process.env.CXX ?? 'c++';
const haveCxx = spawnSync(cxx, ['--version']).status === 0;
const dir = mkdtempSync(path.join(os.tmpdir(), 'ntrt-kept-'));
const bin = path.join(dir, 'kept-values-sim');
const sim = (capacity: number, pinned: number[], ops: string[]) =>
  JSON.parse(execFileSync(bin, [String(capacity), pinned.join(','), ...ops], { encoding: 'utf8' })) as { keys: number[]; dropped: number[]; found: number[] };

describe.skipIf(!haveCxx)(haveCxx ? 'values kept per dynamic dimension' : `values kept per dynamic dimension [skipped: no C++ compiler (${cxx})]`, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles on its own (no CUDA)', () => {
    execFileSync(cxx, ['-std=c++17', '-O2', `-I${packageRoot()}/native/builtin`, `${packageRoot()}/test/helpers/kept-values-sim.cc`, '-o', bin]);
  });

  it('a sweep over a long range keeps the pinned values and only the most recent others', () => {
    const ops = ['p1', 'p64', 'p128', ...Array.from({ length: 100 }, (_, i) => `p${i + 2}`)];
    const r = sim(16, [1, 64, 128], ops);
    expect(r.keys).toEqual([1, ...Array.from({ length: 16 }, (_, i) => 86 + i), 64, 128].sort((a, b) => a - b));
    expect(r.dropped).toEqual(Array.from({ length: 100 - 16 }, (_, i) => i + 2).filter((s) => s !== 64));
  });

  it('drops the least recently used value, not the oldest put: a found value stays', () => {
    const r = sim(2, [0], ['p0', 'p5', 'p6', 'f5', 'p7', 'f6', 'f5', 'f0']);
    expect(r.dropped).toEqual([6]);
    expect(r.keys).toEqual([0, 5, 7]);
    expect(r.found).toEqual([1, 0, 1, 1]);
  });

  it('never drops the value just put, nor a pinned one, even with room for none', () => {
    const r = sim(0, [3], ['p3', 'p9', 'p10', 'f3']);
    expect(r.keys).toEqual([3, 10]);
    expect(r.dropped).toEqual([9]);
    expect(r.found).toEqual([1]);
  });
});
