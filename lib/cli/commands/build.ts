// `node-tensorrt build model.onnx -o model.plan`: build with a progress bar, save, print a summary.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import type { Engine } from '../../engine.js';
import { ErrorCode, TensorRTError } from '../../errors.js';
import { addBuildFlags, resolveBuildFlags, type RawBuildFlags } from '../build-flags.js';
import { formatBytes, formatMs, table } from '../format.js';
import { println, type CliIO } from '../io.js';
import { buildProgressReporter } from '../progress.js';

interface BuildFlags extends RawBuildFlags {
  output?: string;
  quiet?: boolean;
  json?: boolean;
}

/** Size of a file, or ERR_IO naming it. @example const onnxBytes = await fileSize('m.onnx', 'model'); */
export async function fileSize(file: string, what: string): Promise<number> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a regular file');
    return s.size;
  } catch (e) {
    throw new TensorRTError(ErrorCode.IO, `Could not read the ${what} ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The `build` command.
 * @example program.addCommand(buildCommand(processIO()));
 */
export function buildCommand(io: CliIO): Command {
  const cmd = new Command('build')
    .description('build an optimized engine (plan file) from an ONNX model')
    .argument('<model>', 'ONNX model')
    .option('-o, --output <plan>', 'plan file to write (default: the model path with .plan)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the build summary as JSON');
  addBuildFlags(cmd);
  return cmd.action(async (model: string, flags: BuildFlags) => {
    const options = resolveBuildFlags(flags);
    const output = flags.output ?? path.join(path.dirname(model), `${path.basename(model, path.extname(model))}.plan`);
    if (path.resolve(output) === path.resolve(model)) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `The output ${output} would overwrite the model; pass another -o`);
    }
    const onnxBytes = await fileSize(model, 'model');
    // Loaded here so that other commands and --help do not pay for the compiler and its backends.
    const { buildEngine } = await import('../../builder.js');
    const progress = buildProgressReporter(io.err, { quiet: flags.quiet || flags.json });
    const t0 = performance.now();
    let engine: Engine;
    try {
      engine = await buildEngine(model, { ...options, onProgress: progress.onProgress });
    } finally {
      progress.stop();
    }
    const wallMs = performance.now() - t0;
    try {
      await engine.save(output);
      const summary = buildSummary(engine, { model, output, onnxBytes, wallMs });
      if (flags.json) println(io.out, JSON.stringify(summary, null, 2));
      else for (const line of formatBuildSummary(summary)) println(io.out, line);
    } finally {
      engine.dispose();
    }
  });
}

/** The facts `build` reports, JSON-serializable. */
export interface BuildSummary {
  model: string;
  plan: string;
  backend: string;
  precision: string;
  device: number;
  deviceName: string | null;
  computeCapability: string | null;
  profile: { min: number; opt: number; max: number };
  buildMs: number;
  onnxBytes: number;
  planBytes: number;
  layers: number | null;
  tacticCacheHits: number | null;
  activationBytes: number | null;
  workspaceBytes: number | null;
  weightBytes: number | null;
}

/** @internal */
export function buildSummary(engine: Engine, f: { model: string; output: string; onnxBytes: number; wallMs: number }): BuildSummary {
  const info = engine.buildInfo;
  return {
    model: f.model,
    plan: f.output,
    backend: engine.backend,
    precision: engine.precision,
    device: engine.device,
    deviceName: engine.header.deviceName,
    computeCapability: engine.header.computeCapability,
    profile: { ...engine.profile },
    buildMs: info?.buildMs ?? f.wallMs,
    onnxBytes: f.onnxBytes,
    planBytes: engine.planBytes,
    layers: info ? info.layers.length : null,
    tacticCacheHits: info ? info.tacticCacheHits : null,
    activationBytes: info?.activationBytes ?? null,
    workspaceBytes: info?.workspaceBytes ?? null,
    weightBytes: info?.weightBytes ?? null,
  };
}

/**
 * The summary as lines of text.
 * @example formatBuildSummary(summary).forEach((l) => console.log(l));
 */
export function formatBuildSummary(s: BuildSummary): string[] {
  const device = s.device < 0 ? 'CPU' : `GPU ${s.device}${s.deviceName ? ` ${s.deviceName}` : ''}${s.computeCapability ? ` (sm ${s.computeCapability})` : ''}`;
  const rows: (string | number)[][] = [
    ['backend', `${s.backend} ${s.precision.toUpperCase()} on ${device}`],
    ['batch', `${s.profile.min}..${s.profile.max} (opt ${s.profile.opt})`],
    ['plan', `${formatBytes(s.planBytes)} (ONNX ${formatBytes(s.onnxBytes)}, ${(s.planBytes / Math.max(s.onnxBytes, 1)).toFixed(2)}x)`],
  ];
  if (s.layers !== null) rows.push(['layers', `${s.layers}${s.tacticCacheHits ? ` (${s.tacticCacheHits} from the tactic cache)` : ''}`]);
  if (s.activationBytes !== null) {
    rows.push(['memory', `activations ${formatBytes(s.activationBytes)}, workspace ${formatBytes(s.workspaceBytes ?? 0)}, weights ${formatBytes(s.weightBytes ?? 0)}`]);
  }
  return [`Built ${s.model} → ${s.plan} in ${formatMs(s.buildMs)}`, ...table(rows, '  ')];
}
