#!/usr/bin/env node
// Packs the built addon into prebuilds/<platform>-<arch>/node-tensorrt.napi.node, the layout node-gyp-build reads,
// so that apps installing under npm 11 (which blocks install scripts) still get a working addon.
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'build', 'Release', 'node-tensorrt.node');
if (!existsSync(built)) {
  console.error('prebuild: build/Release/node-tensorrt.node is missing; run `npm run build:native` first');
  process.exit(1);
}
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(dir, { recursive: true });
const out = path.join(dir, 'node-tensorrt.napi.node');
copyFileSync(built, out);
console.log(`prebuild: ${path.relative(root, out)} (${(statSync(out).size / 1048576).toFixed(1)} MiB)`);
