import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../lib/bench/command.js';
import type { BenchReport } from '../../lib/bench/report.js';
import { runBench } from '../../lib/bench/run.js';

// The whole harness, end to end, on the small digits model: the reference backend on a CPU-only machine.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bench end to end', () => {
  it('measures, compares with onnxruntime-node, and writes the text, JSON and HTML reports', async () => {
    const model = path.join(import.meta.dirname, '..', 'fixtures', 'digits', 'digits.onnx');
    const json = path.join(tmp, 'r.json');
    const html = path.join(tmp, 'r.html');
    let out = '';
    const err: string[] = [];
    const opts = parseBenchArgs([model, '--batch', '1,4', '--warmUp', '20', '--iterations', '3', '--duration', '0.05', '--peers', 'ort', '--json', json, '--report', html, '--validateSamples', '4', '--repeat', '2']);
    const report = await runBench(opts, { out: (t) => (out += t), err: (l) => err.push(l), tty: false });
    const fromFile = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(fromFile.schema).toBe('node-tensorrt-bench/1');
    expect(fromFile.results.length).toBe(report.results.length);
    const perRepeat = report.results.length / 2;
    expect(perRepeat).toBe(report.options.precisions.length * 2);
    // On the CPU the duration is a hard cap (a slow first query may be all there is); on a GPU both bounds hold.
    for (const r of report.results) expect(r.queries).toBeGreaterThanOrEqual(report.mode === 'gpu' ? 3 : 1);
    expect(report.repeats.length).toBe(perRepeat * 2);
    expect(report.peers.find((p) => p.name === 'ort')?.status).toBe('ok');
    expect(report.peerRatios.some((r) => r.peer === 'ort')).toBe(true);
    if (report.mode === 'cpu-reference') expect(report.notes[0]).toMatch(/^No CUDA device/);
    expect(out.slice(out.lastIndexOf('=== Summary ===')).split('\n').filter((l) => /^fp(16|32) b[14] s1/.test(l))).toHaveLength(perRepeat);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<section id="histograms">');
    expect(page).not.toMatch(/https?:\/\//);
    expect(err.some((l) => l.startsWith('[measure]'))).toBe(true);
  }, 180_000);
});
