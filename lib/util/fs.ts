// Reading a file the user named, with the one ERR_IO message every entry point gives for it, and writing caches
// atomically.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
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

/**
 * Writes `data` to `file` atomically (a temporary file in the same folder, then a rename), creating the folder:
 * concurrent writers never leave a half-written file. Failures are ERR_IO naming `what`.
 * @example await writeFileAtomic('cache/tactics.json', JSON.stringify(entries), 'tactic cache');
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, what: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined); // best effort: the folder itself may be the problem
    throw new TensorRTError(ErrorCode.IO, `Could not write the ${what} ${file}: ${(e as Error).message}`, { cause: e });
  }
}
