#!/usr/bin/env node
// Writes every tarball a release publishes into dist-packages/ (or --out DIR), from the current build: the main
// package (node-tensorrt-<v>.tgz, TypeScript from dist/) and the platform package(s) (node-tensorrt-linux-x64-<v>.tgz,
// the addon from build/Release). A release needs the full architecture set and both tactic sources; --any-arch
// accepts a narrower development build (tests). Prints one line per tarball and writes manifest.json beside them.
//   npm run pack:all            # build:ts, then this
//   node scripts/pack-all.mjs --out /tmp/pkgs --any-arch
//   node scripts/pack-all.mjs --addon build-release/Release/node-tensorrt.node   # another build folder
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const outIndex = argv.indexOf('--out');
const out = path.resolve(outIndex >= 0 ? argv[outIndex + 1] : path.join(root, 'dist-packages'));
const anyArch = argv.includes('--any-arch');
const addonIndex = argv.indexOf('--addon');
const RELEASE_ARCHS = '75,80,86,89,90';
const RELEASE_PTX = '90';

function die(message) {
  console.error(`pack:all: ${message}`);
  process.exit(1);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const main = readJson(path.join(root, 'package.json'));
const platforms = [{ dir: 'linux-x64', platform: 'linux', arch: 'x64' }];

// The addon as the loader would see it, read in a child process so a broken binary cannot take this script down.
const addonFile = addonIndex >= 0 ? path.resolve(argv[addonIndex + 1]) : path.join(root, 'build', 'Release', 'node-tensorrt.node');
if (!existsSync(addonFile)) die(`${addonFile} is missing; run \`npm run build:native\` first`);
for (const f of ['dist/lib/index.js', 'dist/lib/index.d.ts']) {
  if (!existsSync(path.join(root, f))) die(`${f} is missing; run \`npm run build:ts\` first`);
}
const probe = spawnSync(
  process.execPath,
  ['-e', `const c = require(${JSON.stringify(addonFile)}).capabilities(); process.stdout.write(JSON.stringify(c))`],
  { encoding: 'utf8' },
);
if (probe.status !== 0) die(`the built addon does not load:\n${probe.stderr}`);
const caps = JSON.parse(probe.stdout);
const sources = caps.tacticSources ?? {};
if (!sources.cudnn?.compiled || !sources.cublasLt?.compiled) die('the build lacks the cuDNN or cuBLASLt tactic source');
if (!anyArch && (caps.cudaArchitectures !== RELEASE_ARCHS || caps.cudaPtx !== RELEASE_PTX)) {
  die(
    `the build has SASS ${caps.cudaArchitectures} and PTX ${caps.cudaPtx}; a release needs SASS ${RELEASE_ARCHS} and ` +
      `PTX ${RELEASE_PTX}: rebuild without NODE_TENSORRT_CUDA_ARCHS (or pass --any-arch for a test)`,
  );
}

// The newest GLIBC_x.y symbol version the binary needs: the oldest distribution it runs on.
function glibcNeeded(file) {
  const r = spawnSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return null;
  const versions = [...r.stdout.matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  if (!versions.length) return null;
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return versions.at(-1).join('.');
}

function npmPack(dir) {
  const json = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(json.slice(json.indexOf('[')));
  return { name: info.name, version: info.version, file: info.filename, size: info.size, unpackedSize: info.unpackedSize, files: info.entryCount };
}

mkdirSync(out, { recursive: true });
const stage = path.join(out, '.stage');
rmSync(stage, { recursive: true, force: true });
const packed = [];
for (const p of platforms) {
  const template = path.join(root, 'packages', p.dir);
  const pkg = readJson(path.join(template, 'package.json'));
  if (pkg.version !== main.version) die(`packages/${p.dir} is version ${pkg.version}, node-tensorrt is ${main.version}`);
  if (main.optionalDependencies?.[pkg.name] !== main.version) {
    die(`package.json must list ${pkg.name}@${main.version} in optionalDependencies`);
  }
  const dir = path.join(stage, p.dir);
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(template, 'package.json'), path.join(dir, 'package.json'));
  copyFileSync(path.join(template, 'README.md'), path.join(dir, 'README.md'));
  copyFileSync(addonFile, path.join(dir, 'node-tensorrt.node'));
  // The symbol table is dead weight in a release (exports are N-API's, found by name); strip it when strip exists.
  const stripped = spawnSync('strip', ['--strip-unneeded', path.join(dir, 'node-tensorrt.node')]).status === 0;
  const info = {
    name: pkg.name,
    version: pkg.version,
    platform: p.platform,
    arch: p.arch,
    cudaArchitectures: caps.cudaArchitectures,
    cudaPtx: caps.cudaPtx,
    cudaRuntime: caps.cuda?.runtimeVersion ?? null,
    napiVersion: main.binary?.napi_versions?.[0] ?? null,
    glibc: glibcNeeded(addonFile),
    tacticSources: ['cudnn', 'cublasLt'],
    stripped,
  };
  writeFileSync(path.join(dir, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
  packed.push({ ...npmPack(dir), build: info });
}
packed.unshift(npmPack(root));
rmSync(stage, { recursive: true, force: true });
writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(packed, null, 2)}\n`);

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
for (const t of packed) {
  console.log(`${t.file.padEnd(40)} ${mib(t.size).padStart(10)} packed ${mib(t.unpackedSize).padStart(10)} unpacked ${String(t.files).padStart(5)} files`);
}
console.log(`pack:all: ${packed.length} tarballs in ${path.relative(process.cwd(), out) || '.'}`);
