// Reading a file the user named, with the one ERR_IO message every entry point gives for it.
import { readFile } from 'node:fs/promises';
import { ErrorCode, TensorRTError } from '../errors.js';

/**
 * The bytes of `file`, or ERR_IO "Could not read the <what> <file>: <reason>".
 * @example const bytes = await readInputFile('mobilenetv2.plan', 'plan');
 */
export async function readInputFile(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new TensorRTError(ErrorCode.IO, `Could not read the ${what} ${file}: ${(e as Error).message}`, { cause: e });
  }
}
