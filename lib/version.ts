import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './native.js';

let cached: string | undefined;
/** This library's version, from package.json. */
export function libraryVersion(): string {
  cached ??= (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
