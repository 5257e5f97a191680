// `npm run bench`: the bench command standalone (the CLI mounts the same command as `node-tensorrt bench`).
import { benchCommand } from '../lib/bench/command.js';
import { TensorRTError } from '../lib/errors.js';

benchCommand()
  .name('npm run bench --')
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    if (e instanceof TensorRTError) process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    else process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
