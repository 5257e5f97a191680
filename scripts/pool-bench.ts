// Pool throughput over one GPU and over every GPU: MobileNetV2 FP16 at batch 32 (the multi-GPU scaling check).
// Usage: node dist/scripts/pool-bench.js [--batch 32] [--seconds 3] [--contexts 2]
import { parseArgs } from 'node:util';
import { buildEngine } from '../lib/builder.js';
import { capabilities } from '../lib/capabilities.js';
import { createPool } from '../lib/pool.js';
import { mobilenetV2 } from './gen-models.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '32' }, seconds: { type: 'string', default: '3' }, contexts: { type: 'string', default: '2' } } });
const caps = capabilities();
if (!caps.cuda.available) {
  console.log(`No CUDA device (${caps.cuda.reason}): nothing to measure.`);
  process.exit(0);
}
const batch = Number(values.batch);
const perDevice = Number(values.contexts);
const engine = await buildEngine(mobilenetV2({ seed: 42 }), {
  backend: 'builtin',
  shapes: { input: { min: [1, 3, 224, 224], opt: [batch, 3, 224, 224], max: [batch, 3, 224, 224] } },
});
const input = new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i) * 0.5);

async function throughput(devices: number[]): Promise<number> {
  const pool = await createPool(engine, { devices, contextsPerDevice: perDevice });
  const inflight = devices.length * perDevice * 2;
  for (let i = 0; i < inflight * 4; i++) await pool.infer({ input });
  let done = 0;
  const end = performance.now() + Number(values.seconds) * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < end) {
        await pool.infer({ input });
        done++;
      }
    }),
  );
  const ips = (done * batch) / ((performance.now() - t0) / 1000);
  pool.dispose();
  return ips;
}

const n = caps.cuda.devices.length;
const one = await throughput([0]);
console.log(`pool on 1 GPU (${caps.cuda.devices[0].name}), ${perDevice} contexts, batch ${batch}: ${one.toFixed(0)} images/s`);
if (n > 1) {
  const all = await throughput(Array.from({ length: n }, (_, i) => i));
  console.log(`pool on ${n} GPUs, ${perDevice} contexts each, batch ${batch}: ${all.toFixed(0)} images/s — ${(all / one).toFixed(2)}× one GPU`);
} else {
  console.log('only one CUDA device here: the multi-GPU scaling needs a machine with two or more');
}
engine.dispose();
