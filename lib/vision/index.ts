// Detection and segmentation helpers: letterbox, detect / segment through a context, drawing, labels, metrics, and
// the NMS post-processing stage's options.
export { letterbox, letterboxGeometry, unletterbox, type LetterboxGeometry } from './letterbox.js';
export { detect, segment, type Detection, type DetectOptions, type Segmentation } from './pipeline.js';
export { classColour, drawDetections, drawMask, encodePng } from './draw.js';
export { builtinLabels, labelsForClasses, LABEL_SETS, type LabelSet } from './labels.js';
export { detectionMetrics, type ClassMetrics, type DetectionMetrics, type GroundTruth, type ScoredBox } from './metrics.js';
export { appendNms, resolvePostprocess, NMS_OUTPUTS, type NmsOptions, type PostprocessOptions } from './postprocess.js';
export { evaluateDetector, loadDetectionSet, SHAPES_FORMAT, type DetectionSet } from './evaluate.js';
