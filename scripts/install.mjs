#!/usr/bin/env node
// The install script: nothing to do when a prebuilt addon loads (the @node-tensorrt/<platform>-<arch> platform
// package, or prebuilds/); otherwise builds the native addon with cmake-js. `--force` always builds (build:native).
// Environment: NODE_TENSORRT_CUDA_ARCHS narrows the GPU architectures ("90"). The loader (lib/loader.ts) looks in
// the same places at run time, so an install with scripts blocked (npm 11 allowScripts) still gets the prebuilt addon.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const require = createRequire(path.join(root, 'package.json'));
const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;

// The prebuilt addons, in the loader's order: [label, file or undefined, why not].
function prebuilt() {
  const name = `@node-tensorrt/${process.platform}-${process.arch}`;
  const out = [];
  try {
    const pj = require.resolve(`${name}/package.json`);
    const v = JSON.parse(readFileSync(pj, 'utf8')).version;
    const file = path.join(path.dirname(pj), 'node-tensorrt.node');
    if (v !== version) out.push([name, undefined, `version ${v}, not ${version}`]);
    else out.push([name, existsSync(file) ? file : undefined, 'no node-tensorrt.node']);
  } catch {
    out.push([name, undefined, 'not installed']);
  }
  const pre = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'node-tensorrt.napi.node');
  out.push([path.relative(root, pre), existsSync(pre) ? pre : undefined, 'absent']);
  return out;
}

// Loads in a child process, so a crash or a missing library cannot take the install down: the first line of the
// error, or '' when it loads.
function loadError(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { encoding: 'utf8' });
  return r.status === 0 ? '' : (r.stderr.split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.status}`).trim();
}

if (!force) {
  const why = [];
  for (const [label, file, missing] of prebuilt()) {
    const err = file ? loadError(file) : missing;
    if (!err) {
      console.log(`node-tensorrt: using the prebuilt addon from ${label}; nothing to build`);
      process.exit(0);
    }
    why.push(`${label}: ${err}`);
  }
  console.log(`node-tensorrt: no prebuilt addon loads (${why.join('; ')}); building from source`);
}

const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
if (nvcc.status !== 0 && !process.env.CUDACXX) {
  console.warn(
    [
      'node-tensorrt: nvcc (the CUDA compiler) was not found, so the native addon was not built.',
      'The CPU `reference` backend still works. For the GPU backends:',
      '  - install the CUDA toolkit 12 or 13 (nvcc on PATH, or set CUDACXX), then run `npm rebuild node-tensorrt`;',
      `  - or install the prebuilt addon: npm install @node-tensorrt/${process.platform}-${process.arch} (Linux x64, glibc).`,
    ].join('\n'),
  );
  process.exit(0);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
const args = [cmakeJs, 'compile', '--directory', root, '--parallel', jobs, '--log-level', 'warn'];
if (process.env.TENSORRT_ROOT) args.push(`--CDTENSORRT_ROOT=${process.env.TENSORRT_ROOT}`);
console.log(`node-tensorrt: building the native addon (cmake-js, ${jobs} jobs)`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root, env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs } });
if (r.status !== 0) {
  console.error('node-tensorrt: the native build failed; see the compiler output above.');
  process.exit(r.status ?? 1);
}
