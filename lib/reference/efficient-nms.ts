// The EfficientNMS-style post-processing stage on the CPU, step for step as the CUDA kernel
// (native/builtin/kernels/nms.cu) computes it: float32 arithmetic in the same order, the same candidate cap and the
// same tie-breaking, so GPU and reference detections are identical. Hostile values behave the same on both: a NaN
// score is never a candidate, a class-agnostic box takes its best non-NaN class, −0 scores as +0, and a box with a
// NaN coordinate neither suppresses nor is suppressed.

/** Candidates per image kept for the greedy pass (the best ones), as EfficientNMS caps them. */
export const NMS_MAX_CANDIDATES = 4096;
/** Largest allowed maxOutput (detections per image). */
export const NMS_MAX_OUTPUT = 1024;

export interface EfficientNmsParams {
  /** Box coding of the boxes input (and of the anchors): corners [x1, y1, x2, y2] or centre-size [cx, cy, w, h]. */
  boxFormat: 'xyxy' | 'cxcywh';
  /** Detections per image (fixed output size K). */
  maxOutput: number;
  /** A (box, class) pair is a candidate when its score is strictly above this. */
  scoreThreshold: number;
  /** A candidate is dropped when its IoU with a kept box (of its class, or any class) is above this. */
  iouThreshold: number;
  /** One candidate per box (its best class), and boxes of different classes suppress each other. */
  classAgnostic: boolean;
}

export interface NmsResult {
  /** [B] detections per image. */
  count: Int32Array;
  /** [B, K, 4] corners x1, y1, x2, y2; rows past the count are 0. */
  boxes: Float32Array;
  /** [B, K]; 0 past the count. */
  scores: Float32Array;
  /** [B, K]; -1 past the count. */
  classes: Int32Array;
}

const fr = Math.fround;
/** CUDA's fminf / fmaxf: a NaN operand yields the other one (Math.min and Math.max would yield NaN). */
const fmin = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.min(a, b));
const fmax = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));

/** Box `i` of `boxes` (offset in boxes) decoded to corners, anchors applied. */
export function decodeBox(boxes: ArrayLike<number>, at: number, format: EfficientNmsParams['boxFormat'], anchors?: ArrayLike<number>, anchorAt = 0): [number, number, number, number] {
  let [a, b, c, d] = [boxes[at], boxes[at + 1], boxes[at + 2], boxes[at + 3]];
  if (anchors) {
    const [p, q, r, s] = [anchors[anchorAt], anchors[anchorAt + 1], anchors[anchorAt + 2], anchors[anchorAt + 3]];
    if (format === 'xyxy') [a, b, c, d] = [fr(a + p), fr(b + q), fr(c + r), fr(d + s)];
    else [a, b, c, d] = [fr(p + fr(a * r)), fr(q + fr(b * s)), fr(r * fr(Math.exp(c))), fr(s * fr(Math.exp(d)))];
  }
  if (format === 'xyxy') return [a, b, c, d];
  const hw = fr(c * 0.5);
  const hh = fr(d * 0.5);
  return [fr(a - hw), fr(b - hh), fr(a + hw), fr(b + hh)];
}

/** Whether IoU(a, b) > threshold, in float32 steps (an empty union never suppresses). */
export function suppresses(a: readonly number[], b: readonly number[], threshold: number): boolean {
  const iw = fr(fmin(a[2], b[2]) - fmax(a[0], b[0]));
  const ih = fr(fmin(a[3], b[3]) - fmax(a[1], b[1]));
  const inter = fr(fmax(iw, 0) * fmax(ih, 0));
  const areaA = fr(fr(a[2] - a[0]) * fr(a[3] - a[1]));
  const areaB = fr(fr(b[2] - b[0]) * fr(b[3] - b[1]));
  const union = fr(fr(areaA + areaB) - inter);
  return union > 0 && fr(inter / union) > threshold;
}

/**
 * Runs the stage on boxes [B, N, 4] and scores [B, N, C] (anchors [N, 4] optional).
 * @example const r = efficientNms(boxes, scores, undefined, 1, 8400, 80, { boxFormat: 'cxcywh', maxOutput: 100, scoreThreshold: 0.25, iouThreshold: 0.45, classAgnostic: false });
 */
export function efficientNms(boxes: ArrayLike<number>, scores: ArrayLike<number>, anchors: ArrayLike<number> | undefined, batch: number, n: number, c: number, p: EfficientNmsParams): NmsResult {
  const k = p.maxOutput;
  const out: NmsResult = { count: new Int32Array(batch), boxes: new Float32Array(batch * k * 4), scores: new Float32Array(batch * k), classes: new Int32Array(batch * k).fill(-1) };
  for (let b = 0; b < batch; b++) {
    const s = (box: number, cls: number) => scores[(b * n + box) * c + cls];
    // Candidates as (score, pair): pair = box·C + class, or the box when class-agnostic (its first best class).
    const cand: { score: number; pair: number; box: number; cls: number }[] = [];
    for (let box = 0; box < n; box++) {
      if (p.classAgnostic) {
        let cls = 0;
        for (let j = 1; j < c; j++) if (s(box, j) > s(box, cls) || (Number.isNaN(s(box, cls)) && !Number.isNaN(s(box, j)))) cls = j;
        if (c > 0 && s(box, cls) > p.scoreThreshold) cand.push({ score: s(box, cls) || 0, pair: box, box, cls });
      } else {
        for (let cls = 0; cls < c; cls++) if (s(box, cls) > p.scoreThreshold) cand.push({ score: s(box, cls) || 0, pair: box * c + cls, box, cls });
      }
    }
    cand.sort((x, y) => (x.score === y.score ? x.pair - y.pair : y.score - x.score));
    const kept: { box: number[]; cls: number }[] = [];
    for (const cd of cand.slice(0, NMS_MAX_CANDIDATES)) {
      if (kept.length >= k) break;
      const corners = decodeBox(boxes, (b * n + cd.box) * 4, p.boxFormat, anchors, cd.box * 4);
      if (kept.some((q) => (p.classAgnostic || q.cls === cd.cls) && suppresses(corners, q.box, p.iouThreshold))) continue;
      const j = b * k + kept.length;
      out.boxes.set(corners, j * 4);
      out.scores[j] = cd.score;
      out.classes[j] = cd.cls;
      kept.push({ box: corners, cls: cd.cls });
    }
    out.count[b] = kept.length;
  }
  return out;
}
