// torchvision's SSDlite320 (scripts/export-detectors.py) built with postprocess.nms on the builtin backend: the
// engine's detections against torchvision's own (its full model in eval mode: transform, decode, per-class NMS).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import type { Engine } from '../../lib/engine.js';
import { matchTorchvision, readSsdliteExpect, SSDLITE, SSDLITE_EXPECT, ssdliteInputs, ssdliteNms } from '../helpers/detections.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const present = existsSync(SSDLITE) && existsSync(SSDLITE_EXPECT);
const title = 'SSDlite320 with postprocess.nms on the builtin backend';

describe.skipIf(!hasGpu || !present)(present ? gpuSuite(title) : `${title} [skipped: ${SSDLITE} is absent; scripts/export-detectors.py writes it]`, () => {
  const engines: Engine[] = [];
  afterAll(() => engines.forEach((e) => e.dispose({ contexts: true })));

  it("FP32 finds ≥ 95% of torchvision's top 100 detections per image (same class, IoU ≥ 0.9, score within 1e-3); FP16 reported", async () => {
    const e = readSsdliteExpect();
    const x = ssdliteInputs(e);
    const bytes = new Uint8Array(readFileSync(SSDLITE));
    const shapes = { images: { min: [1, 3, 320, 320], opt: [2, 3, 320, 320], max: [4, 3, 320, 320] } };
    for (const precision of ['fp32', 'fp16'] as const) {
      const engine = await buildEngine(bytes, { backend: 'builtin', precision, shapes, postprocess: { nms: ssdliteNms(e) } });
      engines.push(engine);
      const ctx = await engine.createContext({ maxBatch: 2 });
      for (const run of [1, 2]) {
        const out = (await ctx.infer({ images: x })) as Record<string, Float32Array | Int32Array>;
        const top = matchTorchvision(out, e, 100);
        const all = matchTorchvision(out, e, e.postprocess.detectionsPerImage);
        console.log(
          `builtin ${precision} (run ${run}): ${top.matched}/${top.total} of torchvision's top 100 per image matched (${((top.matched / top.total) * 100).toFixed(1)}%), ` +
            `${all.matched}/${all.total} of all ${e.postprocess.detectionsPerImage}; detections (ours, torchvision) ${JSON.stringify(all.counts)}; worst score difference ${top.worstScoreDiff.toExponential(2)}`,
        );
        if (precision === 'fp32') expect(top.matched / top.total).toBeGreaterThanOrEqual(0.95);
      }
      ctx.dispose();
    }
  }, 600_000);
});
