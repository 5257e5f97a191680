// `node-tensorrt serve model`: an HTTP server speaking the KServe v2 protocol through a dynamic batcher, until
// SIGTERM or SIGINT (then it stops taking requests, finishes the queued ones and exits 0).
import path from 'node:path';
import { Command } from 'commander';
import { ErrorCode, TensorRTError } from '../../errors.js';
import { isPlan } from '../../plan.js';
import type { Pool } from '../../pool.js';
import type { ShapeProfile } from '../../types.js';
import { readInputFile } from '../../util/fs.js';
import { describe } from '../../validate.js';
import { BACKEND_CHOICES, parseIntegerArg } from '../args.js';
import { resolveBuildFlags } from '../build-flags.js';
import { addCacheFlags, openEngine } from '../cache.js';
import { println, type CliIO } from '../io.js';

interface ServeFlags {
  name?: string;
  host: string;
  port: string;
  maxBatch?: string;
  maxDelayMs: string;
  contexts: string;
  maxQueue?: string;
  timeoutMs?: string;
  bodyLimit: string;
  decodeThreads?: string;
  device: string;
  backend?: string;
  fp32?: boolean;
  shapes?: string[];
  tacticCache?: string;
  cacheDir?: string;
  cache?: boolean;
  quiet?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A non-negative decimal number of milliseconds, e.g. '0', '2', '0.5'. */
function parseMs(value: string, flag: string): number {
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value)) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a non-negative number of milliseconds for ${flag} but received ${describe(value)}`);
  return Number(value);
}

/** How the process waits for SIGTERM/SIGINT; tests replace it. */
export type SignalWaiter = () => Promise<string>;

const waitForSignal: SignalWaiter = () =>
  new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGTERM', on).off('SIGINT', on);
      // A second signal while draining ends the process at once.
      process.once('SIGTERM', () => process.exit(1)).once('SIGINT', () => process.exit(1));
      resolve(sig);
    };
    process.on('SIGTERM', on).on('SIGINT', on);
  });

/**
 * The `serve` command.
 * @example program.addCommand(serveCommand(processIO()));
 */
export function serveCommand(io: CliIO, signal: SignalWaiter = waitForSignal): Command {
  return addCacheFlags(new Command('serve'))
    .description('serve a model over HTTP with the KServe v2 inference protocol (as Triton does), through a dynamic batcher')
    .argument('<model>', 'ONNX model (built and cached) or plan file')
    .option('--name <name>', 'model name in URLs (default: the file name without its extension)')
    .option('--host <address>', 'interface to listen on', '127.0.0.1')
    .option('--port <n>', 'TCP port (0: any free port)', '8000')
    .option('--max-batch <n>', 'most rows per batch run (default: the engine profile max; 1 turns batching off)')
    .option('--max-delay-ms <ms>', 'longest wait for a fuller batch while a context is free', '0')
    .option('--contexts <k>', 'contexts per GPU', '4')
    .option('--max-queue <n>', 'most requests waiting; more get 503 (default: unbounded)')
    .option('--timeout-ms <ms>', 'longest wait in the queue per request; longer gets 503 (default: none)')
    .option('--body-limit <MiB>', 'largest request body; larger gets 413', '64')
    .option('--decode-threads <n>', 'threads that parse large JSON bodies off the event loop (default: cores − 1, at most 8; 0: none)')
    .option('--device <N|all>', "GPU index, or 'all' for every GPU", '0')
    .option('--backend <name>', `engine backend: ${BACKEND_CHOICES.join(', ')}`, 'auto')
    .option('--fp32', 'keep FP32 precision when building from ONNX (default: FP16 with FP32 I/O)')
    .option('--shapes <name:min,opt,max>', 'batch profile of an input when building from ONNX (default: 1..max-batch, or 1..32)', collect)
    .option('--tactic-cache <dir>', 'directory of the tactic timing cache')
    .action(async (model: string, flags: ServeFlags) => {
      const port = parseIntegerArg(flags.port, '--port', 0);
      const maxBatch = flags.maxBatch === undefined ? undefined : parseIntegerArg(flags.maxBatch, '--max-batch');
      const maxDelayMs = parseMs(flags.maxDelayMs, '--max-delay-ms');
      const contexts = parseIntegerArg(flags.contexts, '--contexts');
      const maxQueue = flags.maxQueue === undefined ? undefined : parseIntegerArg(flags.maxQueue, '--max-queue');
      const timeoutMs = flags.timeoutMs === undefined ? undefined : parseMs(flags.timeoutMs, '--timeout-ms');
      const bodyLimit = parseIntegerArg(flags.bodyLimit, '--body-limit') * 1024 * 1024;
      const decodeThreads = flags.decodeThreads === undefined ? undefined : parseIntegerArg(flags.decodeThreads, '--decode-threads', 0);
      const all = flags.device === 'all';
      const build = resolveBuildFlags({ backend: flags.backend, fp32: flags.fp32, shapes: flags.shapes, tacticCache: flags.tacticCache, device: all ? '0' : flags.device });
      const name = flags.name ?? path.basename(model, path.extname(model));
      const bytes = await readInputFile(model, 'model');

      // Loaded here so that other commands and --help do not pay for the compiler, the backends and fastify.
      const { createPool } = await import('../../pool.js');
      const { startServer } = await import('../../serve/http.js');
      if (!isPlan(bytes)) build.shapes ??= await defaultShapes(bytes, maxBatch ?? 32);
      const { engine } = await openEngine(model, bytes, build, flags, io);
      let pool: Pool | undefined;
      try {
        if (all && engine.backend !== 'reference') pool = await createPool(engine, { devices: 'all', contextsPerDevice: contexts, maxBatch });
        const server = await startServer(pool ?? engine, { name, host: flags.host, port, bodyLimit, maxBatch, maxDelayMs, maxQueue, timeoutMs, decodeThreads, contexts: pool ? undefined : contexts });
        const where = pool ? `${pool.devices.length} GPU${pool.devices.length === 1 ? '' : 's'}` : engine.device >= 0 ? `GPU ${engine.device}` : 'CPU';
        println(io.out, `serving '${name}' (${engine.backend} ${engine.precision.toUpperCase()} on ${where}, ${server.batcher.contexts.length} contexts, max batch ${server.batcher.maxBatch}, max delay ${maxDelayMs} ms)`);
        if (server.batcher.maxBatch === 1 && engine.profile.max === 1) {
          println(io.err, 'warning: the engine runs batch 1 only, so requests run one at a time; build it from a model with a dynamic batch dimension to batch them');
        }
        println(io.out, `listening on ${server.url} — POST ${server.url}/v2/models/${name}/infer`);
        const sig = await signal();
        const queued = server.batcher.stats();
        println(io.out, `${sig}: not taking new requests; finishing ${queued.queued + queued.running} queued or running`);
        await server.close();
        const s = server.batcher.stats();
        println(io.out, `stopped after ${s.completed} requests in ${s.batches} batches (mean batch ${s.meanBatchSize.toFixed(2)})`);
      } finally {
        pool?.dispose();
        engine.dispose({ contexts: true });
      }
    });
}

/** A profile of 1..maxBatch (opt maxBatch) for every input whose batch is dynamic, so batches can be gathered. */
async function defaultShapes(bytes: Uint8Array, maxBatch: number): Promise<Record<string, ShapeProfile> | undefined> {
  const { parseModel } = await import('../../onnx/index.js');
  const inputs = parseModel(bytes).inputs;
  const dynamic = inputs.filter((i) => i.type.shape.length > 0 && typeof i.type.shape[0] !== 'number');
  if (dynamic.length === 0) return undefined;
  const shapes: Record<string, ShapeProfile> = {};
  for (const i of dynamic) {
    const rest = i.type.shape.slice(1);
    if (rest.some((d) => typeof d !== 'number')) return undefined; // let the builder say what it needs
    const at = (b: number) => [b, ...(rest as number[])];
    shapes[i.name] = { min: at(1), opt: at(maxBatch), max: at(maxBatch) };
  }
  return shapes;
}
