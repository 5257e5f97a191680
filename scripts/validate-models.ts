// Accuracy, build time and plan size of the builtin engines on the test models, against the CPU reference.
// Usage: node dist/scripts/validate-models.js [--models small,mobilenetv2,resnet50,torchvision] [--samples 16]
//        [--agreement 256] [--json out.json]
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildEngine } from '../lib/builder.js';
import { capabilities } from '../lib/capabilities.js';
import { validateEngine } from '../lib/validate-engine.js';
import { mobilenetV2, resnet50, smallCnn } from './gen-models.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'small,mobilenetv2,resnet50,torchvision' },
    samples: { type: 'string', default: '16' },
    agreement: { type: 'string', default: '256' },
    json: { type: 'string' },
  },
});
const caps = capabilities();
if (!caps.cuda.available) {
  console.log(`No CUDA device (${caps.cuda.reason}): nothing to validate on the GPU.`);
  process.exit(0);
}
const sources: Record<string, () => { bytes: Uint8Array; dims: number[] }> = {
  small: () => ({ bytes: smallCnn({ seed: 7 }), dims: [3, 32, 32] }),
  mobilenetv2: () => ({ bytes: mobilenetV2({ seed: 42 }), dims: [3, 224, 224] }),
  resnet50: () => ({ bytes: resnet50({ seed: 42 }), dims: [3, 224, 224] }),
  torchvision: () => ({ bytes: new Uint8Array(readFileSync('test/fixtures/torchvision_mobilenet_v2.onnx')), dims: [3, 224, 224] }),
};
const samples = Number(values.samples);
const agreementSamples = Number(values.agreement);
const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'ntrt-tactics-'));
const rows: Record<string, unknown>[] = [];
const fmt = (x: number) => x.toExponential(2);
for (const name of values.models!.split(',')) {
  if (name === 'torchvision' && !existsSync('test/fixtures/torchvision_mobilenet_v2.onnx')) continue;
  const { bytes, dims } = sources[name]();
  const shapes = { input: { min: [1, ...dims], opt: [32, ...dims], max: [64, ...dims] } };
  const engines = {} as Record<'fp16' | 'fp32', Awaited<ReturnType<typeof buildEngine>>>;
  for (const precision of ['fp32', 'fp16'] as const) {
    const cold = await buildEngine(bytes, { backend: 'builtin', precision, shapes, tacticCache: cacheDir });
    const warm = await buildEngine(bytes, { backend: 'builtin', precision, shapes, tacticCache: cacheDir });
    warm.dispose();
    engines[precision] = cold;
    const v = await validateEngine(cold, { against: 'reference', samples, batch: Math.min(samples, 16) });
    const row = {
      model: name,
      precision,
      onnxMiB: bytes.byteLength / 2 ** 20,
      planMiB: cold.planBytes / 2 ** 20,
      coldBuildS: cold.buildInfo!.buildMs / 1000,
      warmBuildS: warm.buildInfo!.buildMs / 1000,
      cacheHits: `${warm.buildInfo!.tacticCacheHits}/${warm.buildInfo!.layers.length}`,
      maxRel: v.outputs[0].maxRel,
      meanRel: v.outputs[0].meanRel,
      maxAbs: v.outputs[0].maxAbs,
      top1VsReference: v.top1Agreement,
      samples: v.samples,
    };
    rows.push(row);
    console.log(
      `${name.padEnd(12)} ${precision}  onnx ${row.onnxMiB.toFixed(1)} MiB  plan ${row.planMiB.toFixed(1)} MiB  build ${row.coldBuildS.toFixed(1)} s cold / ${row.warmBuildS.toFixed(1)} s warm (${row.cacheHits} cached)  rel max ${fmt(row.maxRel)} mean ${fmt(row.meanRel)}  top-1 vs ref ${(row.top1VsReference * 100).toFixed(1)}% (${row.samples})`,
    );
  }
  const agree = await validateEngine(engines.fp16, { against: engines.fp32, samples: agreementSamples, batch: 64 });
  rows.push({ model: name, fp16VsFp32Top1: agree.top1Agreement, samples: agree.samples, relL2: agree.outputs[0].relL2 });
  console.log(`${name.padEnd(12)} fp16 vs fp32: top-1 agreement ${(agree.top1Agreement * 100).toFixed(2)}% over ${agree.samples} inputs, rel ${fmt(agree.outputs[0].relL2)}`);
  engines.fp16.dispose();
  engines.fp32.dispose();
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2));
