// Geometry: resize so the shorter side matches a target, then centre-crop (the torchvision / TF-TRT recipe).
import { ErrorCode, TensorRTError } from '../errors.js';
import { knownKeys, oneOf, plainObject, positiveInteger, describe } from '../validate.js';
import { checkRgbaImage, type RgbaImage } from './decode.js';
import { jimp } from './jimp.js';

/**
 * Resampling filter for the resize step.
 * - `bilinear` (default): jimp's two-pass resizer. Linear interpolation when enlarging; area averaging (a box
 *   filter) when shrinking, so a large photo is anti-aliased rather than decimated. This is what PIL's bilinear
 *   and torchvision's `Resize(antialias=True)` do in spirit; expect values within a few levels of them, not equal.
 * - `bicubic`: 16-tap bicubic, no anti-aliasing.
 * - `nearest`: nearest neighbour (Keras' `load_img` default).
 */
export type Resample = 'bilinear' | 'bicubic' | 'nearest';
export const RESAMPLES: readonly Resample[] = ['bilinear', 'bicubic', 'nearest'];

/** The crop over the resize: 224 / 256 = 0.875, torchvision's and TF's (central_fraction) default. */
export const CROP_FRACTION = 0.875;

export interface ResizeCropOptions {
  /** Output size: a square side, or [height, width]. */
  size: number | readonly [number, number];
  /**
   * The shorter side after resizing, before the centre crop. Default: the larger crop side / 0.875
   * (256 for 224). `'stretch'` resizes straight to `size`, ignoring the aspect ratio, with no crop.
   */
  resize?: number | 'stretch';
  resample?: Resample;
}

/** A crop rectangle in pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** @internal Validated [height, width] of a `size` option. */
export function sizeOf(size: unknown, name = 'size'): [number, number] {
  if (typeof size === 'number') return [positiveInteger(size, name), size];
  if (Array.isArray(size) && size.length === 2) return [positiveInteger(size[0], `${name}[0] (height)`), positiveInteger(size[1], `${name}[1] (width)`)];
  throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a positive integer or [height, width] for ${name} but received ${describe(size)}`);
}

/**
 * Size after scaling so the shorter side equals `shorter`; the longer side is truncated as torchvision does.
 * @example resizedSize(400, 200, 256) // { width: 512, height: 256 }
 */
export function resizedSize(width: number, height: number, shorter: number): { width: number; height: number } {
  positiveInteger(width, 'width');
  positiveInteger(height, 'height');
  positiveInteger(shorter, 'shorter');
  if (width <= height) return { width: shorter, height: Math.max(1, Math.trunc((shorter * height) / width)) };
  return { width: Math.max(1, Math.trunc((shorter * width) / height)), height: shorter };
}

/**
 * The centred crop of `cropWidth` x `cropHeight` inside `width` x `height` (offsets rounded half up).
 * @example centerCropBox(512, 256, 224, 224) // { x: 144, y: 16, width: 224, height: 224 }
 */
export function centerCropBox(width: number, height: number, cropWidth: number, cropHeight: number): Box {
  if (cropWidth > width || cropHeight > height) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Cannot crop ${cropWidth}x${cropHeight} out of a ${width}x${height} image; resize it to at least the crop size first`);
  }
  return { x: Math.round((width - cropWidth) / 2), y: Math.round((height - cropHeight) / 2), width: cropWidth, height: cropHeight };
}

/** @internal Validates ResizeCropOptions; returns [height, width], the shorter side (or 'stretch'), the filter. */
export function resolveResizeCrop(options: unknown): { size: [number, number]; resize: number | 'stretch'; resample: Resample } {
  const o = plainObject(options, 'options');
  const size = sizeOf(o.size);
  const resize =
    o.resize === undefined
      ? Math.round(Math.max(size[0], size[1]) / CROP_FRACTION)
      : o.resize === 'stretch'
        ? 'stretch'
        : positiveInteger(o.resize, 'resize');
  const resample = o.resample === undefined ? 'bilinear' : oneOf(o.resample, 'resample', RESAMPLES);
  return { size, resize, resample };
}

const RESIZE_KEYS = ['size', 'resize', 'resample'] as const;

/**
 * Resizes the shorter side to `resize` (keeping the aspect ratio), then centre-crops to `size`.
 * @example const rgba = await resizeAndCrop(await decodeImage('cat.jpg'), { size: 224, resize: 256 });
 */
export async function resizeAndCrop(image: RgbaImage, options: ResizeCropOptions): Promise<RgbaImage> {
  knownKeys(plainObject(options, 'options'), 'resizeAndCrop options', RESIZE_KEYS);
  return transform(image, resolveResizeCrop(options));
}

/** @internal resizeAndCrop on options that are already validated. */
export async function transform(image: RgbaImage, o: ReturnType<typeof resolveResizeCrop>): Promise<RgbaImage> {
  checkRgbaImage(image);
  const [h, w] = o.size;
  const target = o.resize === 'stretch' ? { width: w, height: h } : resizedSize(image.width, image.height, o.resize);
  const box = centerCropBox(target.width, target.height, w, h);
  if (target.width === image.width && target.height === image.height && box.width === image.width && box.height === image.height) return image;
  const { Jimp, ResizeStrategy } = await jimp();
  const data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const img = Jimp.fromBitmap({ width: image.width, height: image.height, data });
  if (target.width !== image.width || target.height !== image.height) {
    const mode = o.resample === 'bicubic' ? ResizeStrategy.BICUBIC : o.resample === 'nearest' ? ResizeStrategy.NEAREST_NEIGHBOR : undefined;
    img.resize(mode ? { w: target.width, h: target.height, mode } : { w: target.width, h: target.height });
  }
  if (box.width !== target.width || box.height !== target.height) img.crop({ x: box.x, y: box.y, w: box.width, h: box.height });
  const out = img.bitmap.data;
  return { width: img.bitmap.width, height: img.bitmap.height, data: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
}
