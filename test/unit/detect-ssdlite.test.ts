// torchvision's SSDlite320 (scripts/export-detectors.py) through the postprocess.nms stage on the reference backend:
// its detections must be torchvision's own (the GPU twin is test/gpu/detect.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { matchTorchvision, readSsdliteExpect, SSDLITE, SSDLITE_EXPECT, ssdliteInputs, ssdliteNms } from '../helpers/detections.js';

const present = existsSync(SSDLITE) && existsSync(SSDLITE_EXPECT);
const title = 'SSDlite320 with postprocess.nms on the reference backend';

describe.skipIf(!present)(present ? title : `${title} [skipped: ${SSDLITE} is absent; scripts/export-detectors.py writes it]`, () => {
  it("reproduces torchvision's detections (same class, IoU ≥ 0.9, score within 1e-3)", async () => {
    const e = readSsdliteExpect();
    const x = ssdliteInputs(e);
    const per = x.length / 2;
    for (let i = 0; i < 2; i++) {
      let sum = 0;
      for (let k = 0; k < per; k++) sum += x[i * per + k];
      expect(sum).toBeCloseTo(e.inputs.sums[i], 2);
    }
    expect(Array.from(x.subarray(0, 4))).toEqual(e.inputs.first);
    const shapes = { images: { min: [1, 3, 320, 320], opt: [2, 3, 320, 320], max: [2, 3, 320, 320] } };
    const engine = await buildEngine(new Uint8Array(readFileSync(SSDLITE)), { backend: 'reference', precision: 'fp32', shapes, postprocess: { nms: ssdliteNms(e) } });
    const ctx = await engine.createContext();
    const out = (await ctx.infer({ images: x })) as Record<string, Float32Array | Int32Array>;
    const top = matchTorchvision(out, e, 100);
    const all = matchTorchvision(out, e, e.postprocess.detectionsPerImage);
    console.log(`reference: ${top.matched}/${top.total} of torchvision's top 100 per image matched, ${all.matched}/${all.total} of all; detections (ours, torchvision) ${JSON.stringify(all.counts)}`);
    expect(top.matched / top.total).toBeGreaterThanOrEqual(0.99);
    expect(all.matched / all.total).toBeGreaterThanOrEqual(0.95);
    ctx.dispose();
    engine.dispose({ contexts: true });
  }, 120_000);
});
