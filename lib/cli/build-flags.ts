// The engine-build flags that `build` and `classify` share, and their translation into BuildOptions.
import type { Command } from 'commander';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { BuildOptions } from '../types.js';
import { BACKEND_CHOICES, parseChoice, parseIntegerArg, parseShapes, parseTrtexecShapes } from './args.js';

/** The values commander collects for the build flags. */
export interface RawBuildFlags {
  fp32?: boolean;
  backend?: string;
  shapes?: string[];
  minShapes?: string;
  optShapes?: string;
  maxShapes?: string;
  tacticCache?: string;
  tacticBatches?: string;
  workspace?: string;
  device?: string;
  optLevel?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Adds the build flags to a command.
 * @example addBuildFlags(new Command('build').argument('<model>'))
 */
export function addBuildFlags(cmd: Command): Command {
  return cmd
    .option('--fp32', 'keep FP32 precision (default: FP16 with FP32 I/O)')
    .option('--backend <name>', `engine backend: ${BACKEND_CHOICES.join(', ')}`, 'auto')
    .option('--shapes <name:min,opt,max>', 'batch profile of an input, e.g. input:1x3x224x224,8x3x224x224,32x3x224x224 (repeatable)', collect)
    .option('--minShapes <name:shape,…>', 'trtexec spelling: smallest shapes')
    .option('--optShapes <name:shape,…>', 'trtexec spelling: shapes tactics are timed at')
    .option('--maxShapes <name:shape,…>', 'trtexec spelling: largest shapes')
    .option('--tactic-cache <dir>', 'directory of the tactic timing cache (reused across builds)')
    .option('--tactic-batches <list>', 'builtin: batch sizes to also choose tactics at, besides min/opt/max (e.g. 8,32)')
    .option('--workspace <MiB>', 'scratch memory limit for tactics, in MiB')
    .option('--opt-level <0-5>', 'builder optimization level (tensorrt backend)')
    .option('--device <index>', 'GPU index', '0');
}

/**
 * Checks the build flags and turns them into BuildOptions (without onProgress).
 * @example resolveBuildFlags({ fp32: true, backend: 'builtin', device: '0' }) // { precision: 'fp32', backend: 'builtin', device: 0 }
 */
export function resolveBuildFlags(raw: RawBuildFlags): BuildOptions {
  const options: BuildOptions = {
    precision: raw.fp32 ? 'fp32' : 'fp16',
    backend: parseChoice(raw.backend ?? 'auto', '--backend', BACKEND_CHOICES),
    device: parseIntegerArg(raw.device ?? '0', '--device', 0),
  };
  const shapes = raw.shapes && raw.shapes.length > 0 ? parseShapes(raw.shapes) : undefined;
  const trtexec = parseTrtexecShapes(raw.minShapes, raw.optShapes, raw.maxShapes);
  if (shapes && Object.keys(trtexec).length > 0) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, '--shapes and --minShapes/--optShapes/--maxShapes are two spellings of one thing; pass one of them');
  }
  if (shapes) options.shapes = shapes;
  else if (Object.keys(trtexec).length > 0) options.shapes = trtexec;
  if (raw.tacticCache !== undefined) options.tacticCache = raw.tacticCache;
  if (raw.tacticBatches !== undefined) options.tacticBatches = raw.tacticBatches.split(',').map((b) => parseIntegerArg(b.trim(), '--tactic-batches', 1));
  if (raw.workspace !== undefined) options.workspace = parseIntegerArg(raw.workspace, '--workspace') * 1024 * 1024;
  if (raw.optLevel !== undefined) {
    const level = parseIntegerArg(raw.optLevel, '--opt-level', 0);
    if (level > 5) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected an integer in 0..5 for --opt-level but received '${raw.optLevel}' of type string`);
    options.optimizationLevel = level;
  }
  return options;
}
