import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { onnxGraphIO } from '../../lib/bench/onnx-io.js';
import { runPeers } from '../../lib/bench/peers/index.js';
import { ortPeer } from '../../lib/bench/peers/ort.js';
import { lastJsonObject, torchPeer, torchReportFrom } from '../../lib/bench/peers/torch.js';
import { findTrtexec, parseTrtexecOutput, trtexecPeer } from '../../lib/bench/peers/trtexec.js';
import type { PeerRequest } from '../../lib/bench/peers/types.js';

const digits = path.join(import.meta.dirname, '..', 'fixtures', 'digits', 'digits.onnx');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-peers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const request = (over: Partial<PeerRequest> = {}): PeerRequest => ({
  onnxPath: digits,
  io: onnxGraphIO(readFileSync(digits)),
  batches: [1, 4],
  optBatch: 4,
  precisions: ['fp16'],
  warmUpMs: 0,
  iterations: 3,
  durationS: 0.05,
  transfers: true,
  cudaGraph: true,
  percentiles: [90, 99],
  seed: 1,
  device: 0,
  python: 'python3',
  hasGpu: false,
  log: () => undefined,
  ...over,
});

describe('PyTorch peer', () => {
  it('is skipped with the reason when the Python cannot be found', async () => {
    const r = await torchPeer(request({ python: path.join(tmp, 'no-such-python') }));
    expect(r).toMatchObject({ name: 'torch', status: 'skipped', runs: [] });
    expect(r.reason).toBe(`${path.join(tmp, 'no-such-python')} was not found (set --python to a Python with PyTorch)`);
  });

  it('fails clearly when the program prints no JSON', async () => {
    const r = await torchPeer(request({ python: '/bin/false' }));
    expect(r).toMatchObject({ status: 'failed', reason: 'the PyTorch peer printed no JSON (exit 1): no output' });
  });

  it('runs, or says why not, with the Python on PATH', async () => {
    const r = await torchPeer(request({ batches: [1], precisions: ['fp16'], durationS: 0, iterations: 2 }));
    if (r.status === 'ok') {
      // A machine with PyTorch and a CUDA device: both modes at batch 1, checked against onnxruntime.
      expect(r.runs.map((x) => `${x.label} ${x.precision} ${x.batch}`)).toEqual(['PyTorch eager fp16 1', 'PyTorch CUDA graph fp16 1']);
      for (const x of r.runs) expect(x.computeMs!.median).toBeGreaterThan(0);
    } else {
      expect(r.status).toBe('skipped');
      expect(r.reason).toMatch(/^(PyTorch is not importable|PyTorch .* sees no CUDA device|the onnx package is not importable|python3 was not found)/);
    }
  }, 120_000);

  it("turns the script's samples into summaries with the harness's definitions", () => {
    const r = torchReportFrom(
      {
        status: 'ok',
        info: { torch: '2.11.0' },
        check: { ok: true, fp32RelL2: 1e-7 },
        runs: [
          { mode: 'cudagraph', precision: 'fp16', batch: 8, walltimeMs: 500, h2dMs: [0.1, 0.1], computeMs: [1, 3], d2hMs: [0.01, 0.01], e2eMs: [1.2, 3.2] },
          { mode: 'eager', precision: 'fp16', batch: 256, error: 'out of memory: CUDA out of memory' },
        ],
      },
      [50],
    );
    expect(r.info).toEqual({ torch: '2.11.0', check: { ok: true, fp32RelL2: 1e-7 } });
    const [g, oom] = r.runs;
    expect(g).toMatchObject({ label: 'PyTorch CUDA graph', mode: 'cudagraph', batch: 8, queries: 2, throughput: { qps: 4, ips: 32 } });
    expect(g.computeMs).toMatchObject({ median: 2, min: 1, max: 3, percentiles: { '50': 1 } });
    expect(oom).toMatchObject({ label: 'PyTorch eager', error: 'out of memory: CUDA out of memory', queries: 0 });
    expect(torchReportFrom({ status: 'skipped', reason: 'no torch' }, [90])).toMatchObject({ status: 'skipped', reason: 'no torch' });
    const compiled = torchReportFrom({ status: 'ok', runs: [{ mode: 'compile', precision: 'fp16', batch: 256, compileMs: 91_000, walltimeMs: 100, e2eMs: [5, 7], computeMs: [4, 6] }] }, [50], 'torch-compile');
    expect(compiled).toMatchObject({ name: 'torch-compile', status: 'ok' });
    expect(compiled.runs[0]).toMatchObject({ peer: 'torch-compile', label: 'PyTorch torch.compile max-autotune', mode: 'compile', compileMs: 91_000, queries: 2 });
    expect(compiled.runs[0].computeMs!.median).toBe(5);
    expect(torchReportFrom({ status: 'failed', reason: "ONNX op 'Foo' (node 'n1') is not supported" }, [90])).toMatchObject({ status: 'failed' });
  });

  it('asks the script for decode + batched_nms under --nms, and labels those runs', async () => {
    const fake = path.join(tmp, 'fake-python');
    writeFileSync(fake, '#!/bin/sh\nprintf \'{"status":"skipped","reason":"%s"}\\n\' "$*"\n');
    chmodSync(fake, 0o755);
    const nms = { scoreThreshold: 0.25, iouThreshold: 0.45, maxOutput: 100 };
    expect((await torchPeer(request({ python: fake, nms }))).reason).toMatch(/ --nms 0\.25,0\.45,100$/);
    expect((await torchPeer(request({ python: fake }))).reason).not.toMatch(/--nms/);
    const r = torchReportFrom({ status: 'ok', runs: [{ mode: 'cudagraph', precision: 'fp16', batch: 1, nms: true, walltimeMs: 10, e2eMs: [1], computeMs: [1] }] }, [50]);
    expect(r.runs[0].label).toBe('PyTorch CUDA graph + batched_nms');
    const peers = await runPeers(request({ nms }), ['torch', 'ort', 'trtexec']);
    expect(peers.map((p) => [p.name, p.status, p.reason])).toEqual([
      ['torch', 'skipped', 'no CUDA device'],
      ['ort', 'skipped', '--nms: this peer would time the network without the NMS stage, which is not comparable'],
      ['trtexec', 'skipped', '--nms: this peer would time the network without the NMS stage, which is not comparable'],
    ]);
  });

  it('reads the last JSON object from mixed output', () => {
    expect(lastJsonObject('noise\n{"a":1}\n{"status":"ok"}\n')).toEqual({ status: 'ok' });
    expect(lastJsonObject('{"a":1}\n{broken\n')).toEqual({ a: 1 });
    expect(lastJsonObject('nothing')).toBeUndefined();
  });
});

describe('onnxruntime-node peer', () => {
  it('times the model on the CPU at each batch, bounded by the duration', async () => {
    const r = await ortPeer(request({ batches: [4, 1] }));
    expect(r.status).toBe('ok');
    expect(r.info.executionProvider).toBe('cpu');
    expect(r.runs.map((x) => [x.label, x.mode, x.precision, x.batch])).toEqual([
      ['onnxruntime-node (CPU)', 'cpu', 'fp32', 1],
      ['onnxruntime-node (CPU)', 'cpu', 'fp32', 4],
    ]);
    for (const x of r.runs) {
      expect(x.queries).toBeGreaterThanOrEqual(3);
      expect(x.e2eMs.median).toBeGreaterThan(0);
      expect(x.throughput.ips).toBeCloseTo(x.throughput.qps * x.batch, 9);
      expect(Object.keys(x.e2eMs.percentiles)).toEqual(['90', '99']);
    }
  });

  it('fails with the reason for a file onnxruntime cannot load', async () => {
    const bad = path.join(tmp, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    const r = await ortPeer(request({ onnxPath: bad }));
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/^onnxruntime could not load the model: /);
  });
});

const TRTEXEC_LOG = `&&&& RUNNING TensorRT.trtexec [TensorRT v100900] [b34] # trtexec --loadEngine=model.plan
[01/01/2025-00:00:00] [I] Warmup completed 40 queries over 200 ms
[01/01/2025-00:00:00] [I] Timing trace has 2500 queries over 3.00123 s
[01/01/2025-00:00:00] [I] === Performance summary ===
[01/01/2025-00:00:00] [I] Throughput: 833.2 qps
[01/01/2025-00:00:00] [I] Latency: min = 1.1 ms, max = 1.9 ms, mean = 1.2 ms, median = 1.19 ms, percentile(90%) = 1.3 ms, percentile(95%) = 1.35 ms, percentile(99%) = 1.6 ms
[01/01/2025-00:00:00] [I] Enqueue Time: min = 0.01 ms, max = 0.05 ms, mean = 0.02 ms, median = 0.02 ms, percentile(90%) = 0.03 ms, percentile(95%) = 0.03 ms, percentile(99%) = 0.04 ms
[01/01/2025-00:00:00] [I] H2D Latency: min = 0.1 ms, max = 0.2 ms, mean = 0.12 ms, median = 0.12 ms, percentile(90%) = 0.13 ms, percentile(95%) = 0.14 ms, percentile(99%) = 0.15 ms
[01/01/2025-00:00:00] [I] GPU Compute Time: min = 0.9 ms, max = 1.6 ms, mean = 1.01 ms, median = 1 ms, percentile(90%) = 1.1 ms, percentile(95%) = 1.15 ms, percentile(99%) = 1.4 ms
[01/01/2025-00:00:00] [I] D2H Latency: min = 0.005 ms, max = 0.01 ms, mean = 0.006 ms, median = 0.006 ms, percentile(90%) = 0.007 ms, percentile(95%) = 0.008 ms, percentile(99%) = 0.009 ms
[01/01/2025-00:00:00] [I] Total Host Walltime: 3.00123 s
[01/01/2025-00:00:00] [I] Total GPU Compute Time: 2.525 s
[01/01/2025-00:00:00] [W] * GPU compute time is unstable, with coefficient of variance = 4.2%.
[01/01/2025-00:00:00] [I] End-to-End Host Latency: min = 1.5 ms, max = 2.5 ms, mean = 1.7 ms, median = 1.65 ms, percentile(90%) = 1.9 ms, percentile(95%) = 2 ms, percentile(99%) = 2.2 ms
&&&& PASSED TensorRT.trtexec [TensorRT v100900] [b34]`;

describe('trtexec peer', () => {
  it("parses trtexec's performance summary", () => {
    const s = parseTrtexecOutput(TRTEXEC_LOG);
    expect(s).toMatchObject({ queries: 2500, throughputQps: 833.2, walltimeMs: 3001.23, computeCovPercent: 4.2, version: '100900' });
    expect(s.computeMs).toMatchObject({ count: 2500, min: 0.9, max: 1.6, mean: 1.01, median: 1, covPercent: 4.2, percentiles: { '90': 1.1, '95': 1.15, '99': 1.4 } });
    expect(s.latencyMs?.median).toBe(1.19);
    expect(s.e2eMs?.percentiles['99']).toBe(2.2);
    expect(s.enqueueMs?.max).toBe(0.05);
    expect(s.h2dMs?.mean).toBe(0.12);
    expect(s.d2hMs?.percentiles['95']).toBe(0.008);
    // Older trtexec: one percentile and no CoV.
    const old = parseTrtexecOutput('[I] GPU Compute Time: min = 0.3 ms, max = 0.6 ms, mean = 0.5 ms, median = 0.49 ms, percentile(99%) = 0.59 ms');
    expect(old.computeMs).toMatchObject({ median: 0.49, percentiles: { '99': 0.59 } });
    expect(old.computeMs?.covPercent).toBeNaN();
  });

  it('is skipped when trtexec is absent, and found on PATH when present', async () => {
    expect(await trtexecPeer(request(), undefined)).toMatchObject({ status: 'skipped', reason: 'trtexec was not found on PATH (it ships with the TensorRT SDK)' });
    const bin = path.join(tmp, 'bin');
    mkdirSync(bin);
    const exe = path.join(bin, 'trtexec');
    writeFileSync(exe, '#!/bin/sh\nexit 0\n');
    chmodSync(exe, 0o755);
    expect(findTrtexec(`/nonexistent${path.delimiter}${bin}`)).toBe(exe);
    expect(await trtexecPeer(request({ hasGpu: false }), exe)).toMatchObject({ status: 'skipped', reason: 'no CUDA device' });
  });

  it('builds once per precision, then runs each batch with trtexec flags', async () => {
    // A stand-in executable that records its arguments and prints a trtexec summary.
    const exe = path.join(tmp, 'fake-trtexec');
    const argsLog = path.join(tmp, 'args.log');
    const summary = path.join(tmp, 'summary.log');
    writeFileSync(summary, TRTEXEC_LOG + '\n');
    writeFileSync(exe, `#!/bin/sh\necho "$@" >> '${argsLog}'\ncase "$*" in *--skipInference*) exit 0;; esac\ncat '${summary}'\n`);
    chmodSync(exe, 0o755);
    const r = await trtexecPeer(request({ hasGpu: true, batches: [1, 4], precisions: ['fp16'], transfers: false }), exe);
    expect(r.status).toBe('ok');
    const calls = readFileSync(argsLog, 'utf8').trim().split('\n');
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatch(/--onnx=.*digits\.onnx --saveEngine=.*model\.fp16\.plan --minShapes=input:1x1x8x8 --optShapes=input:4x1x8x8 --maxShapes=input:4x1x8x8 --fp16 --skipInference --device=0/);
    expect(calls[1]).toMatch(/--loadEngine=.*model\.fp16\.plan --shapes=input:1x1x8x8 --warmUp=0 --iterations=3 --duration=0.05 --percentile=90,99 --device=0 --useCudaGraph --noDataTransfers/);
    expect(calls[2]).toContain('--shapes=input:4x1x8x8');
    expect(r.runs.map((x) => [x.batch, x.throughput.qps, x.throughput.ips, x.computeMs?.median])).toEqual([
      [1, 833.2, 833.2, 1],
      [4, 833.2, 3332.8, 1],
    ]);
    expect(r.info.tensorrt).toBe('100900');
  });
});

describe('peer selection', () => {
  it('skips the GPU peers in a run without a GPU, with the reason', async () => {
    const r = await runPeers(request({ hasGpu: false, noGpuReason: 'no CUDA device (no driver)', batches: [1] }), ['torch', 'ort', 'trtexec']);
    expect(r.map((p) => [p.name, p.status, p.reason])).toEqual([
      ['torch', 'skipped', 'no CUDA device (no driver)'],
      ['ort', 'ok', undefined],
      ['trtexec', 'skipped', 'no CUDA device (no driver)'],
    ]);
  });

  it('lists unrequested peers as skipped, and all of them for a plan file', async () => {
    const r = await runPeers(request(), []);
    expect(r.map((p) => [p.name, p.status, p.reason])).toEqual([
      ['torch', 'skipped', 'not requested (--peers)'],
      ['ort', 'skipped', 'not requested (--peers)'],
      ['trtexec', 'skipped', 'not requested (--peers)'],
    ]);
    const compile = await runPeers(request({ hasGpu: false, noGpuReason: 'no CUDA device (no driver)' }), ['torch-compile']);
    expect(compile.map((p) => [p.name, p.status, p.reason])).toEqual([
      ['torch', 'skipped', 'not requested (--peers)'],
      ['torch-compile', 'skipped', 'no CUDA device (no driver)'],
      ['ort', 'skipped', 'not requested (--peers)'],
      ['trtexec', 'skipped', 'not requested (--peers)'],
    ]);
    const plan = await runPeers({ planOnly: 'peers need the ONNX model; a plan file was given' }, ['torch', 'ort']);
    expect(plan.map((p) => p.reason)).toEqual(['peers need the ONNX model; a plan file was given', 'peers need the ONNX model; a plan file was given', 'not requested (--peers)']);
  });
});
