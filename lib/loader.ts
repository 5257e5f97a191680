// Where the native addon may come from, in order, and the "Could not load … Possible solutions" message that says
// what was tried and why each failed (STYLE 11). Pure over its inputs so tests can drive every path.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Where an addon candidate comes from. */
export type AddonSource = 'env' | 'platform-package' | 'build' | 'prebuilds';

/** One place the loader looks. `file` is absent when the place does not exist; `missing` then says why. */
export interface AddonCandidate {
  source: AddonSource;
  /** How the message names it, e.g. "@node-tensorrt/linux-x64 (platform package)". */
  label: string;
  file?: string;
  missing?: string;
}

/** A candidate the loader gave up on, and why. */
export interface AddonAttempt {
  candidate: AddonCandidate;
  reason: string;
}

/** What the loader found: the addon module and where it came from. */
export interface AddonLoad<T> {
  module: T;
  candidate: AddonCandidate;
  /** Candidates tried before it, with the reason each failed. */
  skipped: AddonAttempt[];
}

/** The name of the platform package that carries the prebuilt addon for this platform. */
export function platformPackageName(platform: string = process.platform, arch: string = process.arch): string {
  return `@node-tensorrt/${platform}-${arch}`;
}

/** The prebuilt addon's file inside its platform package (also the package's export). */
export const PLATFORM_ADDON_FILE = 'node-tensorrt.node';

export interface CandidateOptions {
  /** The node-tensorrt package root. */
  root: string;
  /** node-tensorrt's version: a platform package of another version is not used. */
  version: string;
  /** NODE_TENSORRT_ADDON: when set, the only candidate. */
  envFile?: string;
  platform?: string;
  arch?: string;
}

function readVersion(pkgJson: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The places to load the addon from, in order: NODE_TENSORRT_ADDON alone when set; otherwise the platform package,
 * then a local build (build/Release), then prebuilds/<platform>-<arch>/.
 * @example addonCandidates({ root: packageRoot(), version: '0.1.0' }).map((c) => c.label)
 */
export function addonCandidates(o: CandidateOptions): AddonCandidate[] {
  if (o.envFile) {
    const file = path.resolve(o.envFile);
    const c: AddonCandidate = { source: 'env', label: `NODE_TENSORRT_ADDON=${o.envFile}` };
    return [existsSync(file) ? { ...c, file } : { ...c, missing: `${file} does not exist` }];
  }
  const platform = o.platform ?? process.platform;
  const arch = o.arch ?? process.arch;
  const name = platformPackageName(platform, arch);
  const out: AddonCandidate[] = [];

  const pkg: AddonCandidate = { source: 'platform-package', label: `${name} (platform package)` };
  const require = createRequire(path.join(o.root, 'package.json'));
  let pkgJson: string | undefined;
  try {
    pkgJson = require.resolve(`${name}/package.json`);
  } catch {
    pkgJson = undefined;
  }
  if (!pkgJson) {
    out.push({ ...pkg, missing: 'not installed (npm installs it as an optional dependency on Linux x64 with glibc)' });
  } else {
    const version = readVersion(pkgJson);
    const file = path.join(path.dirname(pkgJson), PLATFORM_ADDON_FILE);
    if (version !== o.version) {
      out.push({ ...pkg, missing: `version ${version ?? 'unknown'} is installed, but node-tensorrt is ${o.version}` });
    } else if (!existsSync(file)) {
      out.push({ ...pkg, missing: `${file} is missing from the package` });
    } else {
      out.push({ ...pkg, file });
    }
  }

  const built = path.join(o.root, 'build', 'Release', 'node-tensorrt.node');
  out.push(
    existsSync(built)
      ? { source: 'build', label: 'build/Release (local build)', file: built }
      : { source: 'build', label: 'build/Release (local build)', missing: 'not built' },
  );

  const pre = path.join(o.root, 'prebuilds', `${platform}-${arch}`, 'node-tensorrt.napi.node');
  out.push(
    existsSync(pre)
      ? { source: 'prebuilds', label: `prebuilds/${platform}-${arch}`, file: pre }
      : { source: 'prebuilds', label: `prebuilds/${platform}-${arch}`, missing: 'absent' },
  );
  return out;
}

/**
 * Loads the first candidate that loads with `load` (normally `require`). Throws an AddonLoadFailure listing every
 * attempt when none does.
 * @example const { module, candidate } = loadFirst(addonCandidates(opts), createRequire(import.meta.url));
 */
export function loadFirst<T>(candidates: AddonCandidate[], load: (file: string) => unknown): AddonLoad<T> {
  const skipped: AddonAttempt[] = [];
  for (const candidate of candidates) {
    if (!candidate.file) {
      skipped.push({ candidate, reason: candidate.missing ?? 'absent' });
      continue;
    }
    try {
      return { module: load(candidate.file) as T, candidate, skipped };
    } catch (e) {
      const first = e instanceof Error ? e.message.split('\n')[0] : String(e);
      skipped.push({ candidate, reason: `failed to load: ${first}` });
    }
  }
  throw new AddonLoadFailure(skipped);
}

/** Every candidate failed; `attempts` says why, in order. */
export class AddonLoadFailure extends Error {
  constructor(readonly attempts: AddonAttempt[]) {
    super(attempts.map((a) => `${a.candidate.label}: ${a.reason}`).join('; '));
    this.name = 'AddonLoadFailure';
  }
}

/**
 * The multi-line "Could not load … Possible solutions: …" message for a failed load.
 * @example addonLoadMessage(failure.attempts, packageRoot())
 */
export function addonLoadMessage(attempts: AddonAttempt[], root: string, platform = process.platform, arch = process.arch): string {
  const name = platformPackageName(platform, arch);
  const lines = [
    `Could not load the node-tensorrt native addon for ${platform}-${arch} (Node ${process.versions.node}, N-API ${process.versions.napi}).`,
    'Tried, in order:',
    ...attempts.map((a, i) => `  ${i + 1}. ${a.candidate.label}${a.candidate.file ? ` ${a.candidate.file}` : ''}: ${a.reason}`),
    'Possible solutions:',
  ];
  if (attempts.some((a) => a.candidate.source === 'env')) {
    lines.push('- Unset NODE_TENSORRT_ADDON, or point it at a node-tensorrt.node that loads.');
  }
  if (platform === 'linux' && arch === 'x64') {
    lines.push(
      `- Install the prebuilt addon: \`npm install ${name}\` (npm skips it with --omit=optional or --no-optional, and on musl).`,
    );
  } else {
    lines.push(`- No prebuilt addon exists for ${platform}-${arch}; the GPU backends need Linux x64 (or a source build).`);
  }
  lines.push(
    `- Build it from source: install the CUDA toolkit 12 or 13 (nvcc) and cmake, then run \`npm rebuild node-tensorrt\` (or \`npm run build:native\` in ${root}).`,
    '  Where npm blocks install scripts, allow this one first: `npm approve-scripts node-tensorrt`.',
    "- The CPU backend needs no addon: pass { backend: 'reference' }.",
  );
  return lines.join('\n');
}
