#!/usr/bin/env node
// Builds the native addon with cmake-js, unless a prebuilt one for this platform already loads.
// `--force` always builds. Environment: NODE_TENSORRT_CUDA_ARCHS narrows the GPU architectures ("90").
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'node-tensorrt.napi.node');

function loads(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { stdio: 'ignore' });
  return r.status === 0;
}

if (!force && existsSync(prebuilt) && loads(prebuilt)) {
  console.log(`node-tensorrt: using the prebuilt addon ${path.relative(root, prebuilt)}`);
  process.exit(0);
}

const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
if (nvcc.status !== 0 && !process.env.CUDACXX) {
  console.warn(
    [
      'node-tensorrt: nvcc (the CUDA compiler) was not found, so the native addon was not built.',
      'The CPU `reference` backend still works. For the GPU backends:',
      '  - install the CUDA toolkit 12 or 13 (nvcc on PATH, or set CUDACXX), then run `npm rebuild node-tensorrt`;',
      '  - or use a release that ships a prebuilt addon for your platform in prebuilds/.',
    ].join('\n'),
  );
  process.exit(0);
}

const require = createRequire(import.meta.url);
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
