// Times the compiler front end and the CPU reference interpreter beside onnxruntime-node:
//   node dist/scripts/frontend-timing.js [--models <dir>] [--runs 3] [--only mobilenetv2,resnet50]
// Models come from <dir>/<name>.onnx when present, else they are generated in memory.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { parseModel } from '../lib/onnx/reader.js';
import { optimize } from '../lib/optimize/index.js';
import { runReference } from '../lib/reference/index.js';
import { MODELS } from './gen-models.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

async function main(argv: string[]): Promise<void> {
  const o = new Command('frontend-timing')
    .option('--models <dir>', 'directory with <name>.onnx files', 'models')
    .option('--runs <n>', 'timed runs per measurement', (v) => Number.parseInt(v, 10), 3)
    .option('--only <names>', 'comma-separated subset', 'mobilenetv2,resnet50')
    .parse(argv)
    .opts<{ models: string; runs: number; only: string }>();
  let ort: typeof import('onnxruntime-node') | undefined;
  try {
    ort = await import('onnxruntime-node');
  } catch {
    console.log('onnxruntime-node is not installed: its column is skipped.');
  }
  for (const name of o.only.split(',').map((s) => s.trim())) {
    const file = path.join(o.models, `${name}.onnx`);
    const bytes = existsSync(file) ? new Uint8Array(readFileSync(file)) : MODELS[name]({ seed: 1 });
    const [g, parseMs] = time(() => parseModel(bytes));
    const opt: Record<string, number> = {};
    let fused = g;
    for (const [label, opts] of [
      ['fuse+fp16', { fuse: true, precision: 'fp16' }],
      ['fuse+fp32', { fuse: true, precision: 'fp32' }],
      ['nofuse+fp16', { fuse: false, precision: 'fp16' }],
    ] as const) {
      const [r, ms] = time(() => optimize(g, opts));
      opt[label] = ms;
      if (label === 'fuse+fp32') fused = r;
    }
    const dims = g.inputs[0].type.shape.map((d) => (typeof d === 'number' ? d : 1));
    const x = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) + 0.01;
    const feeds = { [g.inputs[0].name]: x };
    const refRuns = (graph: typeof g) => {
      runReference(graph, feeds); // warm-up (JIT, packed weights)
      return median(Array.from({ length: o.runs }, () => time(() => runReference(graph, feeds))[1]));
    };
    const refMs = refRuns(g);
    const refFusedMs = refRuns(fused);
    let ortMs = NaN;
    if (ort) {
      const s = await ort.InferenceSession.create(bytes);
      const t = { [g.inputs[0].name]: new ort.Tensor('float32', x, dims) };
      await s.run(t);
      const ts: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        const t0 = performance.now();
        await s.run(t);
        ts.push(performance.now() - t0);
      }
      ortMs = median(ts);
      await s.release();
    }
    console.log(`${name} (${(bytes.length / 2 ** 20).toFixed(1)} MiB, ${g.nodes.length} nodes)`);
    console.log(`  parse ${parseMs.toFixed(0)} ms; optimize ${Object.entries(opt).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')}`);
    console.log(`  reference ms/image (batch 1): as parsed ${refMs.toFixed(0)}, fused fp32 ${refFusedMs.toFixed(0)}; onnxruntime-node CPU ${ortMs.toFixed(1)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main(process.argv);
