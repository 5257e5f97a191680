#!/usr/bin/env node
// Copies the built addon into prebuilds/<platform>-<arch>/node-tensorrt.napi.node, the last place the loader looks
// (after the platform package and build/Release): a way to ship a custom build inside the main package.
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'build', 'Release', 'node-tensorrt.node');
if (!existsSync(built)) {
  console.error('pack:prebuilds: build/Release/node-tensorrt.node is missing; run `npm run build:native` first');
  process.exit(1);
}
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(dir, { recursive: true });
const out = path.join(dir, 'node-tensorrt.napi.node');
copyFileSync(built, out);
console.log(`pack:prebuilds: ${path.relative(root, out)} (${(statSync(out).size / 1048576).toFixed(1)} MiB)`);
