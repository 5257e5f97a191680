// The `bench` command (commander): option names follow trtexec where it has them. Mounted by the CLI as
// `node-tensorrt bench` and run standalone by scripts/bench.ts (`npm run bench`).
import { Command, Option } from 'commander';
import { TensorRTError } from '../errors.js';
import { resolveBenchOptions, type BenchOptions, type RawBenchOptions } from './options.js';
import { runBench } from './run.js';

/**
 * The `bench` command. Its action resolves the options and runs the benchmark; bad options exit with status 2
 * and a message naming the flag, other failures with status 1.
 * @example await benchCommand().parseAsync(process.argv);
 */
export function benchCommand(): Command {
  const cmd = new Command('bench')
    .description('Benchmark an ONNX model or plan like trtexec: FP32 vs FP16 engines, peers side by side, accuracy, and an HTML report. Without a model, the generated MobileNetV2.')
    .argument('[model]', 'ONNX model or plan file (default: the generated MobileNetV2, cached)')
    .option('--batch <list>', 'batch sizes, comma-separated (default: 1,32,256; on a CPU-only machine: 1)')
    .option('--optBatch <n>', "batch of the build profile's opt shape (default: the largest batch)")
    .option('--dims <list>', 'pin symbolic dims besides the batch, for engines and peers: name=value, comma-separated (e.g. sequence=128)')
    .option('--warmUp <ms>', 'warm-up time per configuration, excluded from the results (default: 200)')
    .option('--iterations <n>', 'least number of timed queries per configuration (default: 10)')
    .option('--duration <s>', 'least timed seconds per configuration (default: 3)')
    .option('--streams <list>', 'concurrent contexts (one CUDA stream each), comma-separated for several configurations (default: 1)')
    .option('--useCudaGraph', 'replay CUDA graphs (the default)')
    .option('--noCudaGraph', 'launch kernels one by one instead of replaying a CUDA graph')
    .option('--noDataTransfers', 'time without host↔device copies')
    .option('--percentile <list>', 'percentiles to report, comma-separated (default: 90,95,99)')
    .addOption(new Option('--precision <p>', 'engine precision (default: both)').choices(['fp16', 'fp32', 'both']))
    .addOption(new Option('--backend <name>', 'engine backend (default: auto)').choices(['auto', 'builtin', 'tensorrt', 'reference']))
    .option('--device <n>', 'GPU index (default: 0)')
    .option('--json <file>', 'write the whole report as JSON')
    .option('--report <file>', 'write the HTML report here (default: bench-report.html)')
    .option('--noReport', 'write no HTML report')
    .option('--peers <list>', "peers to run: torch,torch-compile,ort,trtexec or 'none' (default: torch,ort,trtexec; torch-compile takes minutes)")
    .option('--accuracy', "also score a held-out split with the reference, FP32 and FP16 engines and onnxruntime-node: the digits (classification) or the shapes detector's (mAP@0.5)")
    .option('--dataset <dir>', "the --accuracy set: 'digits', 'shapes' or a folder with a test.json (default: the model's folder when it has one, else digits)")
    .option('--digits <dir>', 'same as --dataset (kept for older scripts)')
    .option('--nms [score,iou,max]', 'append the postprocess.nms stage to the engines (YOLO-style output) and run batched_nms after the PyTorch peer (default: 0.25,0.45,100)')
    .option('--exportProfile [file]', 'print the per-layer profile table; with a file, also write it as JSON')
    .option('--repeat <n>', 'run the whole measurement n times and check that the medians agree (default: 1)')
    .option('--validateSamples <n>', 'samples for the agreement check against the reference backend (default: 32)')
    .option('--seed <n>', 'seed of the random inputs and the generated model (default: 42)')
    .option('--tacticCache <dir>', 'tactic (timing) cache folder for the builder')
    .option('--cacheDir <dir>', 'where the generated model is cached (default: ~/.cache/node-tensorrt)')
    .option('--python <cmd>', 'Python with PyTorch for the torch peer (default: python3)')
    .showHelpAfterError('(run with --help for the options)');
  cmd.action(async function (this: Command, model: string | undefined) {
    let opts: BenchOptions;
    try {
      opts = resolveBenchOptions(this.opts<RawBenchOptions>(), model);
    } catch (e) {
      if (e instanceof TensorRTError) this.error(`error: ${e.message}`, { exitCode: 2, code: e.code });
      throw e;
    }
    await runBench(opts);
  });
  return cmd;
}

/**
 * Parses bench arguments into resolved options without running anything (for tests and embedding).
 * Throws ERR_INVALID_ARGUMENT for bad values and commander's error for unknown flags.
 * @example parseBenchArgs(['model.onnx', '--batch', '1,8']).batches // [1, 8]
 */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const cmd = benchCommand().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let resolved: BenchOptions | undefined;
  cmd.action(function (this: Command, model: string | undefined) {
    resolved = resolveBenchOptions(this.opts<RawBenchOptions>(), model);
  });
  cmd.parse([...argv], { from: 'user' });
  return resolved!;
}
