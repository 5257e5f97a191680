// A blank app that installs the packed release tarballs the way a user's `npm ci` would, but offline: the app's
// package-lock.json names our two tarballs (file:) and, for every third-party dependency, the exact version and
// integrity that this repository's lockfile resolved, so npm takes them from its cache (filled by the repository's
// own `npm install`). Scripts are off (--ignore-scripts) and PATH has no nvcc: the platform package alone must work.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface PackedTarball {
  name: string;
  version: string;
  file: string;
  size: number;
  unpackedSize: number;
}

/** Runs scripts/pack-all.mjs into `out` (any architecture set: CI builds one). */
export function packAll(out: string): PackedTarball[] {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'pack-all.mjs'), '--out', out, '--any-arch'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as PackedTarball[];
}

/**
 * packAll once per build: test files share the tarballs of the same addon, TypeScript output and package.json (keyed
 * by their modification times). Returns the folder and the manifest.
 */
export function packAllShared(): { dir: string; packed: PackedTarball[] } {
  const inputs = ['build/Release/node-tensorrt.node', 'dist/lib/index.d.ts', 'dist/lib/index.js', 'package.json', 'packages/linux-x64/package.json'];
  const key = createHash('sha256')
    .update(inputs.map((f) => `${f}:${statSync(path.join(repoRoot, f)).mtimeMs}`).join('|'))
    .update(repoRoot)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(tmpdir(), `ntrt-pack-${key}`);
  if (!existsSync(path.join(dir, 'manifest.json'))) {
    const work = mkdtempSync(`${dir}.tmp-`);
    packAll(work);
    try {
      renameSync(work, dir);
    } catch {
      rmSync(work, { recursive: true, force: true }); // another test file packed the same build first
    }
  }
  return { dir, packed: JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as PackedTarball[] };
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** The entries of the repository lock that `roots` need, following dependencies as npm resolves them (nested first). */
function closure(packages: Record<string, LockEntry>, roots: string[]): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  const visit = (from: string, name: string): void => {
    // Node's resolution: node_modules/<name> beside `from`, then in each parent folder.
    let dir = from;
    for (;;) {
      const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (packages[key]) {
        if (out[key]) return;
        out[key] = packages[key];
        for (const dep of Object.keys({ ...packages[key].dependencies, ...(packages[key].optionalDependencies as object) })) {
          visit(key, dep);
        }
        return;
      }
      if (!dir) return; // an optional dependency for another platform: npm left it out too
      const i = dir.lastIndexOf('/node_modules/');
      dir = i < 0 ? '' : dir.slice(0, i);
    }
  };
  for (const r of roots) visit('', r);
  return out;
}

/** npm's absolute path, found on the unmodified PATH (it may share a folder with nvcc). */
function npmPath(): string {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    try {
      if (readdirSync(d).includes('npm')) return path.join(d, 'npm');
    } catch {
      /* not a folder */
    }
  }
  return 'npm';
}

export interface BlankApp {
  dir: string;
  /** Wall time of `npm ci --offline --ignore-scripts`. */
  installMs: number;
  /** Runs node in the app with PATH stripped of any CUDA compiler. */
  node(args: string[]): { status: number | null; stdout: string; stderr: string };
}

/** PATH without any folder that holds nvcc: the app must not need a CUDA compiler. */
export function pathWithoutNvcc(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((d) => {
      try {
        return !readdirSync(d).includes('nvcc');
      } catch {
        return false;
      }
    })
    .join(path.delimiter);
}

/**
 * Creates a blank app in a temp folder and installs the tarballs in `packed` (main package first) into it, with
 * `devDependencies` (names from this repository's lock, e.g. '@types/node') beside them.
 */
export function installBlankApp(packed: PackedTarball[], tarballDir: string, devDependencies: string[] = []): BlankApp {
  const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-app-'));
  const repoLock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const [main, ...platforms] = packed;
  const mainPkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown> & {
    dependencies: Record<string, string>;
  };
  const rel = (t: PackedTarball) => `file:${path.relative(dir, path.join(tarballDir, t.file))}`;
  const dev: Record<string, string> = {};
  for (const d of devDependencies) dev[d] = repoLock.packages[`node_modules/${d}`].version!;

  const third = closure(repoLock.packages, [...Object.keys(mainPkg.dependencies), ...devDependencies]);
  const packages: Record<string, unknown> = {
    '': { name: 'blank-app', version: '1.0.0', dependencies: { [main.name]: rel(main) }, devDependencies: dev },
    [`node_modules/${main.name}`]: {
      version: main.version,
      resolved: rel(main),
      integrity: integrityOf(path.join(tarballDir, main.file)),
      license: mainPkg.license,
      hasInstallScript: true,
      dependencies: mainPkg.dependencies,
      optionalDependencies: mainPkg.optionalDependencies,
      bin: mainPkg.bin,
      engines: mainPkg.engines,
      os: mainPkg.os,
    },
  };
  // The registry would serve the platform package; here its tarball stands in, at the version the main one pins.
  for (const p of platforms) {
    const pj = JSON.parse(readFileSync(path.join(repoRoot, 'packages', p.name.split('/')[1], 'package.json'), 'utf8'));
    packages[`node_modules/${p.name}`] = {
      version: p.version,
      resolved: rel(p),
      integrity: integrityOf(path.join(tarballDir, p.file)),
      license: pj.license,
      optional: true,
      os: pj.os,
      cpu: pj.cpu,
      libc: pj.libc,
      engines: pj.engines,
    };
  }
  // Registry entries with their tarball URL: with it and the integrity, npm takes the tarball from its cache by digest
  // and needs no packument (which a lockfile-driven install never cached).
  const registry = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(/\/?$/, '/');
  for (const [key, entry] of Object.entries(third)) {
    const { dev: _d, devOptional: _o, peer: _p, ...rest } = entry;
    const name = (entry.name as string | undefined) ?? key.slice(key.lastIndexOf('node_modules/') + 13);
    const resolved = rest.resolved ?? `${registry}${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    const isDev = devDependencies.some((d) => key === `node_modules/${d}`) || entry.dev === true;
    packages[key] = isDev ? { ...rest, resolved, dev: true } : { ...rest, resolved };
  }
  mkdirSync(dir, { recursive: true });
  const pkgJson = {
    name: 'blank-app',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { [main.name]: rel(main) },
    devDependencies: dev,
  };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkgJson, null, 2));
  writeFileSync(
    path.join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'blank-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
  const { CUDACXX: _c, NODE_TENSORRT_ADDON: _a, ...base } = process.env;
  const env = { ...base, PATH: pathWithoutNvcc(), npm_config_fund: 'false', npm_config_audit: 'false' };
  const t0 = performance.now();
  // npm's own script, run by this node: the folder holding `npm` (and maybe `node`) may be one that PATH lost.
  const r = spawnSync(process.execPath, [realpathSync(npmPath()), 'ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  const installMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`npm ci in the blank app failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return {
    dir,
    installMs,
    node: (args) => {
      const n = spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8' });
      return { status: n.status, stdout: n.stdout, stderr: n.stderr };
    },
  };
}
