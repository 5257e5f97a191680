// TensorRT timing caches in the `tacticCache` directory, one file per GPU model, compute capability and TensorRT
// version (a cache from another of those is useless to the builder, and sharing one file would make them fight).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { ErrorCode, TensorRTError } from '../errors.js';

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'gpu';

/**
 * The timing-cache file for a GPU and TensorRT version inside `dir`.
 * @example timingCacheFile('.cache', { name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0' }, '10.16.0')
 * // '.cache/tensorrt-nvidia-h100-80gb-hbm3-sm90-trt10.16.0.timing-cache'
 */
export function timingCacheFile(dir: string, device: { name: string; computeCapability: string }, tensorrtVersion: string): string {
  const sm = device.computeCapability.replace('.', '');
  return path.join(dir, `tensorrt-${slug(device.name)}-sm${sm}-trt${slug(tensorrtVersion)}.timing-cache`);
}

/** The cache's bytes, or null when there is none yet. Other read failures are ERR_IO. @example await readTimingCache(file) */
export async function readTimingCache(file: string): Promise<Uint8Array | null> {
  try {
    const b = await readFile(file);
    return b.byteLength > 0 ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TensorRTError(ErrorCode.IO, `Could not read the timing cache ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Writes the cache atomically (temporary file, then rename), creating the directory; concurrent builds never
 * leave a half-written cache for the next one.
 * @example await writeTimingCache(file, new Uint8Array(result.timingCache))
 */
export async function writeTimingCache(file: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(file, bytes, 'timing cache');
}
