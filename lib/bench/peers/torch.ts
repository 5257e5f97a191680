// The PyTorch peer: spawns scripts/peers/torch_peer.py on the same ONNX file and reads its one JSON object.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../native.js';
import type { Precision } from '../../types.js';
import { failed, runFromSamples, skipped, type PeerReport, type PeerRequest, type PeerRun } from './types.js';

/** Where the script lives in the package. @example torchPeerScript() // '…/scripts/peers/torch_peer.py' */
export function torchPeerScript(): string {
  return path.join(packageRoot(), 'scripts', 'peers', 'torch_peer.py');
}

interface RawRun {
  mode: 'eager' | 'cudagraph' | 'compile';
  precision: Precision;
  batch: number;
  walltimeMs?: number;
  compileMs?: number;
  /** The query ran decode + batched_nms after the network (--nms). */
  nms?: boolean;
  h2dMs?: number[];
  computeMs?: number[];
  d2hMs?: number[];
  e2eMs?: number[];
  error?: string;
}
interface RawOutput {
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  info?: Record<string, unknown>;
  check?: Record<string, unknown>;
  runs?: RawRun[];
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (e.g. ENOENT). */
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
}

/**
 * Runs a program to completion, forwarding its stderr lines, with a time limit.
 * @example const r = await runProcess('python3', ['-c', 'print(1)'], { timeoutMs: 5000 });
 */
export function runProcess(cmd: string, args: string[], o: { timeoutMs: number; onStderrLine?: (l: string) => void; env?: NodeJS.ProcessEnv }): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let pending = '';
    let timedOut = false;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) o.onStderrLine?.(l);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr, spawnError: e, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending) o.onStderrLine?.(pending);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** The last line of stdout that parses as a JSON object. @example lastJsonObject('log\n{"status":"ok"}') // { status: 'ok' } */
export function lastJsonObject(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(lines[i]) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* not this line */
    }
  }
  return undefined;
}

const tail = (s: string, n = 3): string => s.trim().split('\n').slice(-n).join(' | ');

const LABELS = { eager: 'PyTorch eager', cudagraph: 'PyTorch CUDA graph', compile: 'PyTorch torch.compile max-autotune' } as const;

/**
 * Turns the script's JSON into a PeerReport (statistics computed here, with the harness's definitions).
 * @example torchReportFrom(JSON.parse(stdout), [90, 99])
 */
export function torchReportFrom(raw: RawOutput, percentiles: readonly number[], name: 'torch' | 'torch-compile' = 'torch'): PeerReport {
  const info = { ...(raw.info ?? {}), ...(raw.check ? { check: raw.check } : {}) };
  if (raw.status === 'skipped') return skipped(name, raw.reason ?? 'skipped by the script', info);
  if (raw.status !== 'ok') return failed(name, raw.reason ?? 'the script failed', info);
  const runs: PeerRun[] = (raw.runs ?? []).map((r) => {
    const label = `${LABELS[r.mode] ?? `PyTorch ${String(r.mode)}`}${r.nms ? ' + batched_nms' : ''}`;
    const base = { peer: name, label, mode: r.mode, precision: r.precision, batch: r.batch };
    const compile = typeof r.compileMs === 'number' ? { compileMs: r.compileMs } : {};
    if (r.error || !r.e2eMs) return { ...runFromSamples(base, { walltimeMs: 0, e2eMs: [] }, percentiles), ...compile, error: r.error ?? 'no samples' };
    return { ...runFromSamples(base, { walltimeMs: r.walltimeMs ?? 0, e2eMs: r.e2eMs, computeMs: r.computeMs, h2dMs: r.h2dMs, d2hMs: r.d2hMs }, percentiles), ...compile };
  });
  return { name, status: 'ok', info, runs };
}

/**
 * Runs the PyTorch peer at the request's batches and precisions, eager and CUDA-graph, or says why it was skipped.
 * @example const report = await torchPeer(request);
 */
export function torchPeer(req: PeerRequest): Promise<PeerReport> {
  return runTorch(req, 'torch', ['eager', 'cudagraph'], 15_000);
}

/**
 * The same network through torch.compile(mode='max-autotune') (Triton autotuning and CUDA graphs), with the
 * compile time of each configuration; opt-in, as autotuning takes minutes per shape.
 * @example const report = await torchCompilePeer(request);
 */
export function torchCompilePeer(req: PeerRequest): Promise<PeerReport> {
  return runTorch(req, 'torch-compile', ['compile'], 900_000);
}

async function runTorch(req: PeerRequest, name: 'torch' | 'torch-compile', modes: string[], setupMs: number): Promise<PeerReport> {
  const configs = req.batches.length * req.precisions.length * modes.length;
  const perConfigMs = req.warmUpMs + req.durationS * 1000 + setupMs;
  const args = [
    torchPeerScript(),
    '--onnx', req.onnxPath,
    '--batches', req.batches.join(','),
    '--precisions', req.precisions.join(','),
    '--modes', modes.join(','),
    '--warmup-ms', String(req.warmUpMs),
    '--duration-s', String(req.durationS),
    '--iterations', String(req.iterations),
    '--seed', String(req.seed),
    '--device', String(req.device),
    ...(req.transfers ? [] : ['--no-transfers']),
    ...(req.nms ? ['--nms', `${req.nms.scoreThreshold},${req.nms.iouThreshold},${req.nms.maxOutput}`] : []),
  ];
  const r = await runProcess(req.python, args, {
    timeoutMs: 120_000 + configs * perConfigMs,
    onStderrLine: (l) => l.startsWith('[torch peer]') && req.log(l),
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  if (r.spawnError) {
    return skipped(name, r.spawnError.code === 'ENOENT' ? `${req.python} was not found (set --python to a Python with PyTorch)` : `could not start ${req.python}: ${r.spawnError.message}`);
  }
  if (r.timedOut) return failed(name, `the PyTorch peer did not finish in time (${tail(r.stderr)})`);
  const raw = lastJsonObject(r.stdout) as RawOutput | undefined;
  if (!raw) return failed(name, `the PyTorch peer printed no JSON (exit ${r.code ?? r.signal}): ${tail(r.stderr) || 'no output'}`);
  return torchReportFrom(raw, req.percentiles, name);
}
