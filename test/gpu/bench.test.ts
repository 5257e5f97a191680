import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../lib/bench/command.js';
import type { BenchReport } from '../../lib/bench/report.js';
import { runBench } from '../../lib/bench/run.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-gpu-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const digits = path.join(import.meta.dirname, '..', 'fixtures', 'digits', 'digits.onnx');

describe.skipIf(!hasGpu)(gpuSuite('bench on the GPU'), () => {
  it('measures FP32 and FP16 engines with device timings, validates them, profiles layers and runs the peers', async () => {
    const json = path.join(tmp, 'r.json');
    const err: string[] = [];
    let out = '';
    const opts = parseBenchArgs([digits, '--batch', '1,16', '--warmUp', '50', '--iterations', '20', '--duration', '0.2', '--streams', '1,2', '--json', json, '--report', path.join(tmp, 'r.html'), '--validateSamples', '8', '--exportProfile']);
    const report: BenchReport = await runBench(opts, { out: (t) => (out += t), err: (l) => err.push(l), tty: false });
    expect(report.mode).toBe('gpu');
    expect(report.results.map((r) => r.id)).toEqual(['fp32 b1 s1', 'fp32 b1 s2', 'fp32 b16 s1', 'fp32 b16 s2', 'fp16 b1 s1', 'fp16 b1 s2', 'fp16 b16 s1', 'fp16 b16 s2']);
    for (const r of report.results) {
      expect(r.queries).toBeGreaterThanOrEqual(20);
      expect(r.walltimeMs).toBeGreaterThanOrEqual(200);
      expect(r.computeMs.median).toBeGreaterThan(0);
      expect(r.h2dMs.median).toBeGreaterThan(0);
      expect(r.d2hMs.median).toBeGreaterThan(0);
      expect(r.e2eMs.median).toBeGreaterThanOrEqual(r.computeMs.median);
      expect(r.enqueueMs.median).toBeLessThan(r.e2eMs.median);
    }
    for (const e of report.engines) {
      expect(e.validation?.top1Agreement, e.validationSkipped).toBe(1);
      expect(e.planBytes).toBeGreaterThan(0);
    }
    expect(report.fp16VsFp32).toHaveLength(4);
    if (report.engines[0].backend === 'builtin') {
      expect('layers' in report.profile && report.profile.layers.length).toBeGreaterThan(0);
      expect(out).toContain('=== Per-layer profile');
    }
    const torch = report.peers.find((p) => p.name === 'torch')!;
    if (torch.status === 'ok') {
      expect((torch.info.check as { ok: boolean }).ok).toBe(true);
      expect(torch.runs.filter((r) => !r.error)).toHaveLength(2 * 2 * 2);
      expect(report.peerRatios.filter((r) => r.peer === 'torch' && r.compute !== null).length).toBeGreaterThan(0);
    } else expect(torch.reason).toBeTruthy();
    const ortLoads = await import('onnxruntime-node').then(() => true, () => false);
    expect(report.peers.find((p) => p.name === 'ort')?.status).toBe(ortLoads ? 'ok' : 'skipped');
    expect(JSON.parse(readFileSync(json, 'utf8')).schema).toBe('node-tensorrt-bench/1');
  }, 600_000);
});
