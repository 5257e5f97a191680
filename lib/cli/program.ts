// The `node-tensorrt` command: commander program, subcommands, and the error → exit code policy.
import { Command, CommanderError } from 'commander';
import { TensorRTError } from '../errors.js';
import { libraryVersion } from '../version.js';
import { benchCommand } from '../bench/command.js';
import { buildCommand } from './commands/build.js';
import { capabilitiesCommand } from './commands/capabilities.js';
import { classifyCommand } from './commands/classify.js';
import { embedCommand } from './commands/embed.js';
import { inspectCommand } from './commands/inspect.js';
import { serveCommand } from './commands/serve.js';
import { detectCommand, segmentCommand } from './commands/vision.js';
import { processIO, type CliIO } from './io.js';

/** Commander's settings for a command and all its subcommands: throw instead of exiting, write to `io`. */
function configure(cmd: Command, io: CliIO): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });
  for (const sub of cmd.commands) configure(sub, io);
}

/**
 * The program with every subcommand, writing to `io`; exported so tests can parse arguments in-process.
 * @example await createProgram().parseAsync(['inspect', 'model.onnx'], { from: 'user' });
 */
export function createProgram(io: CliIO = processIO()): Command {
  const program = new Command('node-tensorrt')
    .description('TensorRT-class GPU inference for Node.js: build, inspect, classify, embed, serve, benchmark')
    .version(libraryVersion(), '-v, --version')
    .addCommand(inspectCommand(io))
    .addCommand(buildCommand(io))
    .addCommand(classifyCommand(io))
    .addCommand(detectCommand(io))
    .addCommand(segmentCommand(io))
    .addCommand(embedCommand(io))
    .addCommand(serveCommand(io))
    .addCommand(capabilitiesCommand(io));
  for (const cmd of [program, ...program.commands]) cmd.showHelpAfterError('(add --help for usage)');
  program.addCommand(benchCommand());
  configure(program, io);
  return program;
}

/**
 * Runs the CLI on `argv` (without node and the script) and returns the exit code: 0 on success; 1 for a coded
 * error (`error [CODE]: message` on stderr) or a usage error; 2 for an unexpected error (its stack on stderr).
 * @example process.exitCode = await runCli(['capabilities', '--json']);
 */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    // Commander has already printed usage errors and help.
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof TensorRTError) {
      io.err.write(`error [${e.code}]: ${e.message}\n`);
      if (process.env.NODE_TENSORRT_DEBUG) io.err.write(`${e.stack}\n`);
      return 1;
    }
    io.err.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 2;
  }
}
