// The on-disk tactic cache: per GPU, library version and layer signature, the tactic a previous build chose.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './util/fs.js';

export interface CacheEntry {
  tactic: string;
  ms: number;
}

interface CacheFile {
  format: 1;
  entries: Record<string, CacheEntry>;
}

/** File name for one GPU model, compute capability and library version. */
export function cacheFileName(backend: string, deviceName: string, computeCapability: string, libraryVersion: string): string {
  const dev = deviceName.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
  return `${backend}-${dev}-sm${computeCapability.replace('.', '')}-v${libraryVersion}.json`;
}

/** A stable key for a layer: its op, parameters and tensor dtypes, at the build's batch profile. */
export function layerSignature(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export class TacticCache {
  readonly file: string;
  #entries: Record<string, CacheEntry> = {};
  #dirty = false;

  private constructor(file: string) {
    this.file = file;
  }

  /** Opens (or starts) the cache file in `dir`. A damaged file is treated as empty, never as an error. */
  static async open(dir: string, name: string): Promise<TacticCache> {
    const c = new TacticCache(path.join(dir, name));
    try {
      const parsed = JSON.parse(await readFile(c.file, 'utf8')) as CacheFile;
      if (parsed && parsed.format === 1 && parsed.entries && typeof parsed.entries === 'object') c.#entries = parsed.entries;
    } catch {
      /* missing or unreadable: start empty */
    }
    return c;
  }

  get size(): number {
    return Object.keys(this.#entries).length;
  }

  get(key: string): CacheEntry | undefined {
    return this.#entries[key];
  }

  set(key: string, entry: CacheEntry): void {
    this.#entries[key] = entry;
    this.#dirty = true;
  }

  /** Writes atomically (temp file + rename), so concurrent builds never see half a file. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    await writeFileAtomic(this.file, JSON.stringify({ format: 1, entries: this.#entries } satisfies CacheFile), 'tactic cache');
    this.#dirty = false;
  }

}
