// Image classification helpers: decode (jimp), resize + centre crop, normalize into pinned inputs, labels, top-k.
export { decodeImage, imageFormat, type ImageFormat, type ImageSource, type RgbaImage } from './decode.js';
export { centerCropBox, resizeAndCrop, resizedSize, CROP_FRACTION, type Box, type Resample, type ResizeCropOptions } from './transform.js';
export { normalize, pixelTransform, type Layout, type NormalizeOptions, type PixelTransform, type Preset } from './normalize.js';
export { imageInputSpec, imageToRgba, preprocess, preprocessBatch, type ImageInputSpec, type PreprocessOptions, type RgbaOutput } from './preprocess.js';
export { loadLabels, parseLabels } from './labels.js';
export { isDistribution, softmax, topK, type Prediction, type TopKOptions } from './topk.js';
