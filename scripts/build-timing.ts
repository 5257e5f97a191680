// Build time of a model on the builtin backend: with a cold tactic cache, then twice with the warm cache, in one
// process (so CUDA's and the libraries' start-up count once, in the cold build), with the time each build phase
// began and the first run after it. Usage: node dist/scripts/build-timing.js model.onnx
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildEngine } from '../lib/builder.js';
const model = process.argv[2];
if (!model) {
  console.error('usage: node dist/scripts/build-timing.js model.onnx');
  process.exit(2);
}
const cache = mkdtempSync(path.join(os.tmpdir(), 'tc-'));
for (const label of ['cold cache', 'warm cache', 'warm cache again']) {
  const t0 = performance.now();
  const marks: string[] = [];
  let last = '';
  const e = await buildEngine(model, {
    backend: 'builtin',
    tacticCache: cache,
    onProgress: (p) => {
      if (p.phase !== last) marks.push(`${p.phase}@${(performance.now() - t0).toFixed(0)}`);
      last = p.phase;
    },
  });
  const t1 = performance.now() - t0;
  const c = await e.createContext();
  await c.run();
  console.log(`${label}: build ${t1.toFixed(0)} ms (buildMs ${e.buildInfo?.buildMs?.toFixed(0)}), phases ${marks.join(' ')}, first run +${(performance.now() - t0 - t1).toFixed(0)} ms`);
  e.dispose({ contexts: true });
}
