// The label sets detection, segmentation and classification models use, shipped in data/labels/, chosen by the
// model's class count unless the user names a file.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLabels } from '../image/labels.js';
import { packageRoot } from '../native.js';
import { oneOf } from '../validate.js';

export const LABEL_SETS = ['coco80', 'coco91', 'voc21', 'imagenet1000'] as const;
export type LabelSet = (typeof LABEL_SETS)[number];

const cache = new Map<LabelSet, string[]>();

/**
 * A shipped label set: COCO 80 (YOLO order), COCO 91 (torchvision order, with N/A gaps and __background__),
 * Pascal VOC 21 (with __background__) or the 1000 ImageNet classes.
 * @example builtinLabels('coco80')[0] // 'person'
 */
export function builtinLabels(name: LabelSet): string[] {
  const set = oneOf(name, 'label set', LABEL_SETS);
  let labels = cache.get(set);
  if (!labels) {
    labels = parseLabels(readFileSync(path.join(packageRoot(), 'data', 'labels', `${set}.txt`), 'utf8'), set);
    cache.set(set, labels);
  }
  return [...labels];
}

/**
 * The shipped label set that fits a model with `classes` outputs (1001: ImageNet with a background class first),
 * or undefined when none does.
 * @example labelsForClasses(21)?.[15] // 'person'
 */
export function labelsForClasses(classes: number): string[] | undefined {
  switch (classes) {
    case 80:
      return builtinLabels('coco80');
    case 91:
      return builtinLabels('coco91');
    case 21:
      return builtinLabels('voc21');
    case 1000:
      return builtinLabels('imagenet1000');
    case 1001:
      return ['background', ...builtinLabels('imagenet1000')];
    default:
      return undefined;
  }
}
