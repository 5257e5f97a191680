// One `bench` run from resolved options: engines (engines.ts), measurements (harness.ts), peers, accuracy,
// then the reports (report*.ts). Progress goes to stderr; the text report to stdout.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import cliProgress from 'cli-progress';
import { capabilities, type BackendName, type Capabilities } from '../capabilities.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Engine } from '../engine.js';
import type { InferenceContext } from '../context.js';
import type { BuildProgress, Precision } from '../types.js';
import { libraryVersion } from '../version.js';
import { resolveDatasetDir, runAccuracy } from './accuracy.js';
import { batchesFor, buildEngines, prepareModel, validateEngines, type BuiltEngine, type PreparedModel } from './engines.js';
import { fillInputs, measure } from './harness.js';
import type { BenchOptions } from './options.js';
import { runPeers } from './peers/index.js';
import { configResult, fp16VsFp32, peerRatios, repeatAgreement, REPORT_SCHEMA, withShares, type BenchReport, type ConfigResult, type EngineReport, type ProfileReport, type SystemInfo } from './report.js';
import { formatHtmlReport } from './report-html.js';
import { formatTextReport } from './report-text.js';
import { fmtMs, fmtRate } from './format.js';

export interface BenchIO {
  /** The report (stdout). */
  out: (text: string) => void;
  /** Progress and notes (stderr). */
  err: (line: string) => void;
  /** Whether stderr is a terminal (progress bars). */
  tty: boolean;
}

const stdio: BenchIO = { out: (t) => process.stdout.write(t), err: (l) => process.stderr.write(`${l}\n`), tty: Boolean(process.stderr.isTTY) };

/** Iterations of the per-layer profile. */
export const PROFILE_ITERATIONS = 50;

/** The machine, for the report header. @example systemInfo(capabilities()).gpu */
export function systemInfo(caps: Capabilities, device = 0): SystemInfo {
  const d = caps.cuda.devices[device] ?? caps.cuda.devices[0];
  return {
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cpuCores: os.cpus().length,
    gpu: caps.cuda.available && d ? d.name : null,
    computeCapability: caps.cuda.available && d ? d.computeCapability : null,
    driver: caps.cuda.driverVersion,
    cudaRuntime: caps.cuda.runtimeVersion,
    tensorrt: caps.tensorrt.available ? caps.tensorrt.version : null,
    library: libraryVersion(),
  };
}

interface Plan {
  gpu: boolean;
  backend: 'auto' | BackendName;
  precisions: Precision[];
  batches: number[];
  optBatch: number;
  notes: string[];
}

/** What will run on this machine: a CPU-only machine gets the reference backend, FP32, batch 1 unless told. @example planRun(opts, capabilities()).backend */
export function planRun(opts: BenchOptions, caps: Pick<Capabilities, 'cuda'>): Plan {
  const notes: string[] = [];
  let { precisions, batches } = opts;
  let backend = opts.backend;
  const gpu = caps.cuda.available && backend !== 'reference';
  if (!caps.cuda.available) {
    if (backend === 'builtin' || backend === 'tensorrt') {
      throw new TensorRTError(ErrorCode.NO_CUDA_DEVICE, `--backend ${backend} needs a CUDA device: ${caps.cuda.reason ?? 'none found'}. Use --backend reference (or auto) to run on the CPU.`);
    }
    backend = 'reference';
    notes.push(
      `No CUDA device (${caps.cuda.reason ?? 'none found'}): running the reference backend (CPU, FP32) against onnxruntime-node on the CPU. These numbers say nothing about GPU speed.`,
    );
  }
  if (opts.nms) {
    const n = opts.nms;
    notes.push(
      `--nms: the engines end with the postprocess.nms stage (score > ${n.scoreThreshold}, IoU ${n.iouThreshold}, max ${n.maxOutput} per image) and the PyTorch peer decodes and runs torchvision's batched_nms per image after the network; onnxruntime and trtexec would time the network alone, so they are skipped.`,
    );
  }
  if (!gpu) {
    if (precisions.includes('fp16')) notes.push('The reference backend computes in FP32 only; FP16 needs a GPU backend.');
    precisions = ['fp32'];
    if (!opts.batchesExplicit) batches = [1];
  }
  return { gpu, backend, precisions, batches, optBatch: opts.optBatch ?? Math.max(...batches), notes };
}

function buildProgress(io: BenchIO): { onProgress: (p: Precision, e: BuildProgress) => void; stop: () => void } {
  let bar: cliProgress.SingleBar | undefined;
  let phase = '';
  return {
    onProgress: (precision, e) => {
      if (e.phase !== phase) {
        bar?.stop();
        bar = undefined;
        phase = e.phase;
        if (!io.tty || e.phase !== 'tactics') io.err(`[build ${precision}] ${e.phase}`);
      }
      if (io.tty && e.phase === 'tactics' && e.total > 0) {
        if (!bar) {
          bar = new cliProgress.SingleBar({ format: `[build ${precision}] timing tactics {bar} {value}/{total} {layer}`, stream: process.stderr, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
          bar.start(e.total, e.done, { layer: e.layer ?? '' });
        }
        bar.update(e.done, { layer: e.layer ?? '' });
      }
    },
    stop: () => bar?.stop(),
  };
}

async function withContexts<T>(engine: Engine, n: number, batch: number, cudaGraph: boolean, f: (ctxs: InferenceContext[]) => Promise<T>): Promise<T> {
  const ctxs: InferenceContext[] = [];
  try {
    for (let i = 0; i < n; i++) ctxs.push(await engine.createContext({ maxBatch: batch, cudaGraph }));
    return await f(ctxs);
  } finally {
    for (const c of ctxs) c.dispose();
  }
}

async function measureAll(engines: readonly BuiltEngine[], plan: Plan, opts: BenchOptions, io: BenchIO): Promise<ConfigResult[]> {
  const results: ConfigResult[] = [];
  for (let repeat = 0; repeat < opts.repeat; repeat++) {
    for (const b of engines) {
      for (const batch of batchesFor(b.engine, plan.batches).ok) {
        for (const streams of opts.streams) {
          const trace = await withContexts(b.engine, streams, batch, opts.cudaGraph, async (ctxs) => {
            ctxs.forEach((c, i) => fillInputs(c.inputs, opts.seed + 1000 * i + batch));
            return measure(ctxs, {
              batch,
              warmUpMs: opts.warmUpMs,
              iterations: opts.iterations,
              durationMs: opts.durationS * 1000,
              transfers: opts.transfers,
              // On the CPU the duration is a hard bound: a slow query must not stretch a run to minutes.
              ...(plan.gpu ? {} : { capMs: opts.durationS * 1000 }),
            });
          });
          const r = configResult(trace, { precision: b.precision, backend: b.backend, cudaGraph: opts.cudaGraph && plan.gpu, iterations: opts.iterations, repeat, gpu: plan.gpu }, opts.percentiles);
          io.err(`[measure] ${r.id}: ${fmtRate(r.throughput.ips)} images/s, e2e median ${fmtMs(r.e2eMs.median)} ms, compute median ${fmtMs(r.computeMs.median)} ms (${r.queries} queries)`);
          results.push(r);
        }
      }
    }
  }
  return results;
}

async function profile(engines: readonly BuiltEngine[], plan: Plan): Promise<ProfileReport | { skipped: string }> {
  const b = engines.find((e) => e.precision === 'fp16') ?? engines[0];
  if (!b) return { skipped: 'no engine' };
  if (b.backend === 'reference') return { skipped: 'per-layer GPU profiles need a GPU backend' };
  const ok = batchesFor(b.engine, [plan.optBatch, ...plan.batches]).ok;
  const batch = ok[0];
  if (batch === undefined) return { skipped: 'no batch inside the engine profile' };
  try {
    return await withContexts(b.engine, 1, batch, false, async ([ctx]) => {
      fillInputs(ctx.inputs, 7);
      const layers = await ctx.profileLayers({ batch, iterations: PROFILE_ITERATIONS });
      return { precision: b.precision, batch, iterations: PROFILE_ITERATIONS, ...withShares(layers) };
    });
  } catch (e) {
    return { skipped: `the ${b.backend} backend could not profile layers: ${(e as Error).message.split('\n')[0]}` };
  }
}

function engineReport(b: BuiltEngine, batches: readonly number[]): EngineReport {
  const i = b.buildInfo;
  return {
    precision: b.precision,
    backend: b.backend,
    loaded: b.loaded,
    buildMs: b.buildMs,
    planBytes: b.planBytes,
    onnxBytes: b.onnxBytes,
    sizeRatio: b.onnxBytes ? b.planBytes / b.onnxBytes : null,
    profile: { ...b.engine.profile },
    layers: i ? i.layers.length : null,
    activationBytes: i?.activationBytes ?? null,
    workspaceBytes: i?.workspaceBytes ?? null,
    weightBytes: i?.weightBytes ?? null,
    tacticCacheHits: i?.tacticCacheHits ?? null,
    skippedBatches: batchesFor(b.engine, batches).skipped,
  };
}

/**
 * Runs the whole benchmark and writes the reports. Resolves to the report (also written with --json).
 * @example const report = await runBench(resolveBenchOptions({ batch: '1,8', duration: '1' }));
 */
export async function runBench(opts: BenchOptions, io: BenchIO = stdio): Promise<BenchReport> {
  const caps = capabilities();
  const plan = planRun(opts, caps);
  for (const n of plan.notes) io.err(`NOTE: ${n}`);
  const model: PreparedModel = await prepareModel(opts.model, { cacheDir: opts.cacheDir, seed: opts.seed, dims: opts.dims });
  io.err(`[model] ${model.description}: ${model.path}`);
  if (opts.nms && model.kind === 'plan') {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, '--nms appends the NMS stage when the engines are built, but a plan file was given; benchmark the ONNX model, or a plan built with postprocess.nms without --nms');
  }
  const progress = buildProgress(io);
  let engines: BuiltEngine[];
  try {
    engines = await buildEngines(model, {
      backend: plan.backend,
      precisions: plan.precisions,
      batches: plan.batches,
      optBatch: plan.optBatch,
      device: opts.device,
      tacticCache: opts.tacticCache,
      onProgress: progress.onProgress,
      ...(opts.nms ? { postprocess: { nms: { ...opts.nms } } } : {}),
    });
  } finally {
    progress.stop();
  }
  try {
    for (const b of engines) io.err(`[build] ${b.precision} ${b.backend}: ${(b.buildMs / 1000).toFixed(2)} s, plan ${b.planBytes} bytes`);
    const engineReports = engines.map((b) => engineReport(b, plan.batches));
    for (const e of engineReports) if (e.skippedBatches.length) plan.notes.push(`The ${e.precision} engine's profile (batch ${e.profile.min}..${e.profile.max}) excludes batch ${e.skippedBatches.join(', ')}; skipped.`);
    if (plan.gpu) {
      io.err(`[validate] against the reference backend, ${opts.validateSamples} samples at batch 1`);
      const v = await validateEngines(engines, { samples: opts.validateSamples, seed: opts.seed });
      for (const r of v) {
        const e = engineReports.find((x) => x.precision === r.precision)!;
        if (r.report) e.validation = r.report;
        else e.validationSkipped = r.skipped;
      }
    } else for (const e of engineReports) e.validationSkipped = 'the engine is the reference backend itself';
    const results = await measureAll(engines, plan, opts, io);
    const prof = await profile(engines, plan);
    for (const b of engines) b.engine.dispose({ contexts: true });
    engines = [];

    const peers = await runPeers(
      model.kind === 'plan'
        ? { planOnly: 'peers need the ONNX model; a plan file was given' }
        : {
            onnxPath: model.path,
            io: model.io!,
            batches: plan.batches,
            optBatch: plan.optBatch,
            precisions: plan.precisions,
            warmUpMs: opts.warmUpMs,
            iterations: opts.iterations,
            durationS: opts.durationS,
            transfers: opts.transfers,
            cudaGraph: opts.cudaGraph,
            percentiles: opts.percentiles,
            seed: opts.seed,
            device: opts.device,
            python: opts.python,
            hasGpu: plan.gpu,
            ...(opts.nms ? { nms: opts.nms } : {}),
            noGpuReason: caps.cuda.available ? 'this run uses the reference backend on the CPU' : `no CUDA device (${caps.cuda.reason ?? 'none found'})`,
            log: io.err,
          },
      opts.peers,
    );
    const accuracy = opts.accuracy ? await runAccuracy({ dir: await resolveDatasetDir(opts.dataset, opts.model), backend: plan.backend, hasGpu: plan.gpu, device: opts.device, log: io.err }) : undefined;

    const report: BenchReport = {
      schema: REPORT_SCHEMA,
      createdAt: new Date().toISOString(),
      system: systemInfo(caps, opts.device),
      mode: plan.gpu ? 'gpu' : 'cpu-reference',
      notes: plan.notes,
      options: {
        batches: plan.batches,
        optBatch: plan.optBatch,
        streams: opts.streams,
        precisions: plan.precisions,
        backend: plan.backend,
        warmUpMs: opts.warmUpMs,
        iterations: opts.iterations,
        durationS: opts.durationS,
        cudaGraph: opts.cudaGraph,
        transfers: opts.transfers,
        percentiles: opts.percentiles,
        repeat: opts.repeat,
        seed: opts.seed,
        ...(opts.nms ? { nms: opts.nms } : {}),
      },
      model: { path: model.path, description: model.description, kind: model.kind, onnxBytes: model.onnxBytes, inputs: (model.io?.inputs ?? []).map((i) => ({ name: i.name, dims: i.dims })) },
      engines: engineReports,
      results,
      fp16VsFp32: fp16VsFp32(results),
      peers,
      peerRatios: peerRatios(results, peers),
      profile: prof,
      ...(accuracy ? { accuracy } : {}),
      repeats: repeatAgreement(results),
    };
    await writeReports(report, opts, io);
    return report;
  } finally {
    for (const b of engines) b.engine.dispose({ contexts: true });
  }
}

/** Writes --json, --report and --exportProfile files and prints the text report. */
async function writeReports(report: BenchReport, opts: BenchOptions, io: BenchIO): Promise<void> {
  const write = async (file: string, text: string, what: string): Promise<void> => {
    try {
      await writeFile(file, text);
      io.err(`[report] ${what}: ${file}`);
    } catch (e) {
      throw new TensorRTError(ErrorCode.IO, `Could not write the ${what} to ${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  if (opts.json) await write(opts.json, JSON.stringify(report, null, 1) + '\n', 'JSON report');
  if (opts.report) await write(opts.report, formatHtmlReport(report), 'HTML report');
  if (typeof opts.exportProfile === 'string') await write(opts.exportProfile, JSON.stringify(report.profile, null, 1) + '\n', 'per-layer profile');
  io.out(formatTextReport(report, { profile: opts.exportProfile !== false }));
}
