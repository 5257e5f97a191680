// Detection accuracy: per-class average precision at IoU 0.5 (all-point interpolation, greedy matching of
// detections, best first, to unmatched ground truth), mAP@0.5, and precision / recall at a score threshold.
// scripts/train_shapes_detector.py computes the same numbers in Python; a test holds the two together.

/** A ground-truth object: class index and corners [x1, y1, x2, y2]. */
export interface GroundTruth {
  classIndex: number;
  box: readonly number[];
}
/** A detection as scored: class index, corners and score. */
export interface ScoredBox {
  classIndex: number;
  box: readonly number[];
  score: number;
}

export interface ClassMetrics {
  /** Average precision at IoU 0.5; null for a class with no ground truth. */
  ap50: number | null;
  /** Over detections scoring at least the threshold. */
  precision: number;
  recall: number;
  instances: number;
}

export interface DetectionMetrics {
  map50: number;
  scoreThreshold: number;
  perClass: ClassMetrics[];
}

function iou(a: readonly number[], b: readonly number[]): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** True positives of one class, in detection order (best score first; ties keep input order), and the positives. */
function matches(dets: readonly (readonly ScoredBox[])[], gts: readonly (readonly GroundTruth[])[], cls: number, iouThreshold: number): { tp: number[]; positives: number } {
  const items: { score: number; image: number; box: readonly number[] }[] = [];
  dets.forEach((ds, image) => ds.forEach((d) => d.classIndex === cls && items.push({ score: d.score, image, box: d.box })));
  items.sort((a, b) => b.score - a.score);
  const used = gts.map((g) => g.map(() => false));
  const tp = items.map(({ image, box }) => {
    let best = 0;
    let at = -1;
    gts[image].forEach((g, j) => {
      if (g.classIndex !== cls) return;
      const v = iou(box, g.box);
      if (v > best) [best, at] = [v, j];
    });
    if (best >= iouThreshold && !used[image][at]) {
      used[image][at] = true;
      return 1;
    }
    return 0;
  });
  return { tp, positives: gts.reduce((n, g) => n + g.filter((o) => o.classIndex === cls).length, 0) };
}

/**
 * mAP@0.5 and per-class AP, precision and recall over a data set (one list of detections and truths per image).
 * @example detectionMetrics(dets, truths, 4).map50 // 0.93
 */
export function detectionMetrics(dets: readonly (readonly ScoredBox[])[], gts: readonly (readonly GroundTruth[])[], classes: number, options: { scoreThreshold?: number; iouThreshold?: number } = {}): DetectionMetrics {
  const scoreThreshold = options.scoreThreshold ?? 0.25;
  const iouThreshold = options.iouThreshold ?? 0.5;
  const kept = dets.map((ds) => ds.filter((d) => d.score >= scoreThreshold));
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < classes; c++) {
    const { tp, positives } = matches(dets, gts, c, iouThreshold);
    let ap: number | null = null;
    if (positives > 0) {
      const prec: number[] = [];
      const rec: number[] = [];
      let cum = 0;
      tp.forEach((t, i) => {
        cum += t;
        prec.push(cum / (i + 1));
        rec.push(cum / positives);
      });
      const mrec = [0, ...rec, 1];
      const mpre = [1, ...prec, 0];
      for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
      ap = 0;
      for (let i = 1; i < mrec.length; i++) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
    }
    const k = matches(kept, gts, c, iouThreshold);
    const hits = k.tp.reduce((a, b) => a + b, 0);
    perClass.push({ ap50: ap, precision: k.tp.length ? hits / k.tp.length : 0, recall: positives ? hits / positives : 0, instances: positives });
  }
  const aps = perClass.map((p) => p.ap50).filter((a): a is number => a !== null);
  return { map50: aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : 0, scoreThreshold, perClass };
}
