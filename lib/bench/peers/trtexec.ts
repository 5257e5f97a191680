// The trtexec peer: NVIDIA's own tool on the same ONNX file, when it is installed. One build per precision
// (saved, then loaded per batch), and its "Performance summary" parsed into the harness's terms.
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Summary } from '../stats.js';
import { batchProfiles } from '../engines.js';
import { runProcess } from './torch.js';
import { failed, skipped, type PeerReport, type PeerRequest, type PeerRun } from './types.js';

/** trtexec on PATH, or in TensorRT's usual install folder; undefined when absent. @example findTrtexec() // '/usr/src/tensorrt/bin/trtexec' */
export function findTrtexec(envPath = process.env.PATH ?? ''): string | undefined {
  const dirs = [...envPath.split(path.delimiter).filter(Boolean), '/usr/src/tensorrt/bin'];
  for (const d of dirs) {
    const f = path.join(d, 'trtexec');
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** What trtexec's performance summary says; missing fields stay undefined. */
export interface TrtexecSummary {
  queries?: number;
  throughputQps?: number;
  walltimeMs?: number;
  latencyMs?: Summary;
  e2eMs?: Summary;
  enqueueMs?: Summary;
  h2dMs?: Summary;
  computeMs?: Summary;
  d2hMs?: Summary;
  /** From trtexec's "GPU compute time is unstable" warning, when it printed one. */
  computeCovPercent?: number;
  version?: string;
}

const NUM = '([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)';

/** Parses one of trtexec's statistics lines. @example parseTrtexecStats("min = 1 ms, max = 3 ms, mean = 2 ms, median = 2 ms, percentile(99%) = 3 ms")?.median // 2 */
export function parseTrtexecStats(text: string): Summary | undefined {
  const get = (k: string): number | undefined => {
    const m = new RegExp(`${k} = ${NUM} ms`).exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const min = get('min');
  const max = get('max');
  const mean = get('mean');
  const median = get('median');
  if (min === undefined || max === undefined || mean === undefined || median === undefined) return undefined;
  const percentiles: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`percentile\\(${NUM}%\\) = ${NUM} ms`, 'g'))) percentiles[String(Number(m[1]))] = Number(m[2]);
  return { count: NaN, min, max, mean, median, percentiles, stddev: NaN, covPercent: NaN, q1: NaN, q3: NaN, iqr: NaN };
}

/**
 * Parses trtexec's log: the "=== Performance summary ===" lines, the trace prolog and the CoV warning.
 * @example parseTrtexecOutput(log).computeMs?.median
 */
export function parseTrtexecOutput(log: string): TrtexecSummary {
  const out: TrtexecSummary = {};
  const line = (label: string): string | undefined => {
    const m = new RegExp(`\\] ${label.replace(/[()]/g, '\\$&')}: (.*)$`, 'm').exec(log) ?? new RegExp(`^${label}: (.*)$`, 'm').exec(log);
    return m?.[1];
  };
  const thr = line('Throughput');
  if (thr) out.throughputQps = Number(new RegExp(NUM).exec(thr)?.[1]);
  const wall = line('Total Host Walltime');
  if (wall) out.walltimeMs = Number(new RegExp(NUM).exec(wall)?.[1]) * 1000;
  const trace = /Timing trace has (\d+) queries over/.exec(log);
  if (trace) out.queries = Number(trace[1]);
  const stats: [keyof TrtexecSummary, string][] = [
    ['latencyMs', 'Latency'],
    ['e2eMs', 'End-to-End Host Latency'],
    ['enqueueMs', 'Enqueue Time'],
    ['h2dMs', 'H2D Latency'],
    ['computeMs', 'GPU Compute Time'],
    ['d2hMs', 'D2H Latency'],
  ];
  for (const [key, label] of stats) {
    const l = line(label);
    const s = l ? parseTrtexecStats(l) : undefined;
    if (s) (out as Record<string, unknown>)[key] = s;
  }
  const cov = new RegExp(`coefficient of variance = ${NUM}%`).exec(log);
  if (cov) {
    out.computeCovPercent = Number(cov[1]);
    if (out.computeMs) out.computeMs.covPercent = out.computeCovPercent;
  }
  if (out.computeMs && out.queries !== undefined) out.computeMs.count = out.queries;
  const v = /TensorRT v(\d+)/.exec(log);
  if (v) out.version = v[1];
  return out;
}

const shapeArg = (name: string, dims: number[]): string => `${/[:,]/.test(name) ? `'${name}'` : name}:${dims.join('x')}`;

/**
 * Builds with trtexec per precision and times each batch; skipped when trtexec is not installed.
 * @example const report = await trtexecPeer(request);
 */
export async function trtexecPeer(req: PeerRequest, exe = findTrtexec()): Promise<PeerReport> {
  if (!exe) return skipped('trtexec', 'trtexec was not found on PATH (it ships with the TensorRT SDK)');
  if (!req.hasGpu) return skipped('trtexec', req.noGpuReason ?? 'no CUDA device');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ntrt-trtexec-'));
  const info: Record<string, unknown> = { path: exe };
  const runs: PeerRun[] = [];
  try {
    const max = Math.max(...req.batches);
    const profiles = batchProfiles(req.io, req.optBatch, Math.max(max, req.optBatch));
    const names = Object.keys(profiles);
    const prof = (k: 'min' | 'opt' | 'max'): string[] => (names.length ? [`--${k}Shapes=${names.map((n) => shapeArg(n, profiles[n][k])).join(',')}`] : []);
    for (const precision of req.precisions) {
      const plan = path.join(dir, `model.${precision}.plan`);
      req.log(`[trtexec peer] building ${precision}`);
      const build = await runProcess(
        exe,
        [`--onnx=${req.onnxPath}`, `--saveEngine=${plan}`, ...prof('min'), ...prof('opt'), ...prof('max'), precision === 'fp16' ? '--fp16' : '--noTF32', '--skipInference', `--device=${req.device}`],
        { timeoutMs: 30 * 60_000 },
      );
      if (build.code !== 0) return failed('trtexec', `trtexec could not build the ${precision} engine: ${build.stdout.trim().split('\n').slice(-2).join(' | ')}`, info);
      for (const batch of req.batches) {
        const shapes = names.length ? [`--shapes=${names.map((n) => shapeArg(n, [batch, ...profiles[n].opt.slice(1)])).join(',')}`] : [];
        req.log(`[trtexec peer] ${precision} batch ${batch}`);
        const r = await runProcess(
          exe,
          [
            `--loadEngine=${plan}`,
            ...shapes,
            `--warmUp=${req.warmUpMs}`,
            `--iterations=${req.iterations}`,
            `--duration=${req.durationS}`,
            `--percentile=${req.percentiles.join(',')}`,
            `--device=${req.device}`,
            ...(req.cudaGraph ? ['--useCudaGraph'] : []),
            ...(req.transfers ? [] : ['--noDataTransfers']),
          ],
          { timeoutMs: 10 * 60_000 },
        );
        const s = parseTrtexecOutput(r.stdout);
        if (s.version) info.tensorrt = s.version;
        if (r.code !== 0 || !s.computeMs || !s.e2eMs || s.throughputQps === undefined) {
          return failed('trtexec', `trtexec failed at ${precision} batch ${batch}: ${r.stdout.trim().split('\n').slice(-2).join(' | ')}`, info);
        }
        const qps = s.throughputQps;
        runs.push({
          peer: 'trtexec',
          label: 'trtexec',
          mode: 'trtexec',
          precision,
          batch,
          queries: s.queries ?? NaN,
          walltimeMs: s.walltimeMs ?? NaN,
          throughput: { qps, ips: qps * batch },
          e2eMs: s.e2eMs,
          computeMs: s.computeMs,
          ...(s.h2dMs ? { h2dMs: s.h2dMs } : {}),
          ...(s.d2hMs ? { d2hMs: s.d2hMs } : {}),
          ...(s.latencyMs ? { latencyMs: s.latencyMs } : {}),
        });
      }
    }
  } catch (e) {
    return failed('trtexec', (e as Error).message.split('\n')[0], info);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { name: 'trtexec', status: 'ok', info, runs };
}
