// Host→device copy bandwidth: pinned vs pageable memory, timed with CUDA events and host clocks.
// Usage: node dist/scripts/copy-bandwidth.js [--mib 256] [--repeat 10]
import { parseArgs } from 'node:util';
import { capabilities } from '../lib/capabilities.js';
import { DeviceBuffer, Event, PinnedBuffer, Stream } from '../lib/cuda.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, repeat: { type: 'string', default: '10' } } });
const bytes = Number(values.mib) * 1024 * 1024;
const repeat = Number(values.repeat);
const caps = capabilities();
if (!caps.cuda.available) {
  console.log(`No CUDA device: ${caps.cuda.reason}`);
  process.exit(0);
}
console.log(`${caps.cuda.devices[0].name}, driver ${caps.cuda.driverVersion}, runtime ${caps.cuda.runtimeVersion}`);

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const gbps = (ms: number) => bytes / (ms / 1000) / 1e9;

const stream = new Stream();
const dev = new DeviceBuffer(bytes);
const pinned = new PinnedBuffer(bytes);
const pageable = new Uint8Array(bytes);
for (let i = 0; i < bytes; i += 4096) pageable[i] = i & 255; // touch every page (never time unmapped memory)
new Uint8Array(pinned.arrayBuffer).set(pageable);
const start = new Event();
const end = new Event();

const pinnedMs: number[] = [];
const pinnedHostMs: number[] = [];
for (let i = 0; i < repeat + 2; i++) {
  const t0 = performance.now();
  start.record(stream);
  stream.copy(dev, pinned);
  end.record(stream);
  await end.synchronize();
  if (i < 2) continue; // warm-up
  pinnedHostMs.push(performance.now() - t0);
  pinnedMs.push(end.elapsedSince(start));
}
const pageableMs: number[] = [];
for (let i = 0; i < repeat + 2; i++) {
  const t0 = performance.now();
  await stream.copyFromHost(dev, pageable);
  if (i >= 2) pageableMs.push(performance.now() - t0);
}
console.log(`\nHost→device copy of ${values.mib} MiB (median of ${repeat})`);
console.log(`  pinned   : ${median(pinnedMs).toFixed(2)} ms  ${gbps(median(pinnedMs)).toFixed(1)} GB/s (CUDA events); ${gbps(median(pinnedHostMs)).toFixed(1)} GB/s (host clock, incl. completion callback)`);
console.log(`  pageable : ${median(pageableMs).toFixed(2)} ms  ${gbps(median(pageableMs)).toFixed(1)} GB/s (host clock)`);
console.log(`  pinned / pageable: ${(median(pageableMs) / median(pinnedMs)).toFixed(2)}×`);
for (const r of [stream, dev, pinned, start, end]) r.dispose();
