// The SSDlite320 fixture (scripts/export-detectors.py): its seeded inputs, the NMS options that reproduce
// torchvision's postprocess, and the match of an engine's detections with torchvision's.
import { readFileSync } from 'node:fs';
import { fillUniform } from '../../lib/util/random.js';

export const SSDLITE = 'test/fixtures/models/ssdlite320.onnx';
export const SSDLITE_EXPECT = 'test/fixtures/models/ssdlite320.expect.json';

export interface SsdliteExpect {
  inputs: { seeds: number[]; shape: number[]; sums: number[]; first: number[] };
  postprocess: { scoreThreshold: number; iouThreshold: number; detectionsPerImage: number; labelOffset: number };
  detections: { boxes: number[][]; scores: number[]; labels: number[] }[];
}

export const readSsdliteExpect = (): SsdliteExpect => JSON.parse(readFileSync(SSDLITE_EXPECT, 'utf8')) as SsdliteExpect;

/** The batch of inputs the script fed torchvision: xorshift32 per seed, x = (u + 1) / 2, NCHW. */
export function ssdliteInputs(e: SsdliteExpect): Float32Array {
  const per = e.inputs.shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(per * e.inputs.seeds.length);
  e.inputs.seeds.forEach((seed, i) => {
    const u = fillUniform(new Float32Array(per), seed);
    for (let k = 0; k < per; k++) x[i * per + k] = (u[k] + 1) * 0.5;
  });
  return x;
}

/** postprocess.nms with torchvision's SSD settings (its per-class top-k never binds on this fixture). */
export const ssdliteNms = (e: SsdliteExpect) => ({
  boxes: 'boxes', scores: 'scores', boxFormat: 'xyxy' as const, maxOutput: e.postprocess.detectionsPerImage,
  scoreThreshold: e.postprocess.scoreThreshold, iouThreshold: e.postprocess.iouThreshold,
});

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

export interface DetectionMatch {
  /** torchvision detections compared (its best `top` per image) and those we found. */
  total: number;
  matched: number;
  /** Detections per image: ours, torchvision's. */
  counts: [number, number][];
  worstScoreDiff: number;
}

/**
 * Matches torchvision's best `top` detections per image with the engine's NMS outputs: same class (label - 1),
 * IoU ≥ 0.9 and score within 1e-3, each of ours used once.
 */
export function matchTorchvision(out: Record<string, ArrayLike<number>>, e: SsdliteExpect, top = 100): DetectionMatch {
  const k = e.postprocess.detectionsPerImage;
  const r: DetectionMatch = { total: 0, matched: 0, counts: [], worstScoreDiff: 0 };
  e.detections.forEach((tv, i) => {
    const n = out.num_detections[i];
    r.counts.push([n, tv.scores.length]);
    const used = new Array<boolean>(n).fill(false);
    for (let j = 0; j < Math.min(top, tv.scores.length); j++) {
      r.total++;
      let best = -1;
      let bestIou = 0.9;
      for (let d = 0; d < n; d++) {
        const at = i * k + d;
        if (used[d] || out.det_classes[at] !== tv.labels[j] - e.postprocess.labelOffset) continue;
        if (Math.abs(out.det_scores[at] - tv.scores[j]) > 1e-3) continue;
        const v = iou(Array.from({ length: 4 }, (_, c) => out.det_boxes[at * 4 + c]), tv.boxes[j]);
        if (v >= bestIou) [best, bestIou] = [d, v];
      }
      if (best < 0) continue;
      used[best] = true;
      r.matched++;
      r.worstScoreDiff = Math.max(r.worstScoreDiff, Math.abs(out.det_scores[i * k + best] - tv.scores[j]));
    }
  });
  return r;
}
