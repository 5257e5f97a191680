// Normalization of RGBA8 pixels into float32 NCHW / NHWC tensors, written in place where the caller asks.
import { ErrorCode, TensorRTError } from '../errors.js';
import { describe, finiteNumber, nonNegativeInteger, oneOf } from '../validate.js';
import { checkRgbaImage, type RgbaImage } from './decode.js';

/**
 * Normalization presets (x is the 8-bit pixel value):
 * - `imagenet`: (x/255 − mean) / std with mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225] (torchvision).
 * - `mobilenet` / `keras`: x/127.5 − 1, in [−1, 1] (Keras' 'tf' mode; TF MobileNet, Inception, EfficientNet-lite).
 * - `caffe`: BGR order, x − [103.939, 116.779, 123.68], no scaling (Keras' 'caffe' mode: ResNet50, VGG).
 * - `none`: x/255, in [0, 1].
 */
export type Preset = 'imagenet' | 'mobilenet' | 'keras' | 'caffe' | 'none';
export const PRESETS: readonly Preset[] = ['imagenet', 'mobilenet', 'keras', 'caffe', 'none'];

export type Layout = 'nchw' | 'nhwc';
export const LAYOUTS: readonly Layout[] = ['nchw', 'nhwc'];

/** Three numbers, one per colour channel (R, G, B). */
export type Triple = readonly [number, number, number];

/** Per-channel affine map from 8-bit pixels: y[c] = x[order[c]] * scale[c] + bias[c]. */
export interface PixelTransform {
  /** Source channel (0 R, 1 G, 2 B) of each output channel. */
  order: Triple;
  scale: Triple;
  bias: Triple;
}

export interface NormalizeOptions {
  /** Default 'imagenet'. Ignored where `mean` and `std` are given. */
  preset?: Preset;
  /** Per-channel mean on [0, 1] pixels (torchvision's convention), in the output channel order; needs `std` too. */
  mean?: readonly number[];
  /** Per-channel standard deviation on [0, 1] pixels, in the output channel order. */
  std?: readonly number[];
  /** Output channel order with `mean`/`std` (presets fix their own). Default 'rgb'. */
  channels?: 'rgb' | 'bgr';
  /** Default 'nchw'. */
  layout?: Layout;
  /** Where to write; by default a fresh Float32Array of exactly 3·h·w. Pass `ctx.inputs[name]` to skip a copy. */
  out?: Float32Array;
  /** Batch row in `out`: writing starts at row · 3·h·w. Default 0. */
  row?: number;
}

const RGB: Triple = [0, 1, 2];
const BGR: Triple = [2, 1, 0];

/** Mean/std on [0, 1] pixels as a PixelTransform: x/255 then (· − mean)/std, folded into one multiply-add. */
function fromMeanStd(mean: Triple, std: Triple, order: Triple): PixelTransform {
  return {
    order,
    scale: [1 / (255 * std[0]), 1 / (255 * std[1]), 1 / (255 * std[2])],
    bias: [-mean[0] / std[0], -mean[1] / std[1], -mean[2] / std[2]],
  };
}

/**
 * The per-channel multiply-add of a preset, or of a custom mean/std.
 * @example pixelTransform({ preset: 'mobilenet' }) // { order: [0,1,2], scale: [1/127.5, …], bias: [-1, -1, -1] }
 */
export function pixelTransform(options: Pick<NormalizeOptions, 'preset' | 'mean' | 'std' | 'channels'> = {}): PixelTransform {
  if (options.mean !== undefined || options.std !== undefined) {
    const mean = triple(options.mean, 'mean');
    const std = triple(options.std, 'std');
    std.forEach((s, i) => {
      if (s === 0) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a non-zero number for std[${i}] but received 0 of type number`);
    });
    const channels = options.channels === undefined ? 'rgb' : oneOf(options.channels, 'channels', ['rgb', 'bgr'] as const);
    return fromMeanStd(mean, std, channels === 'bgr' ? BGR : RGB);
  }
  const preset = options.preset === undefined ? 'imagenet' : oneOf(options.preset, 'preset', PRESETS);
  switch (preset) {
    case 'imagenet':
      return fromMeanStd([0.485, 0.456, 0.406], [0.229, 0.224, 0.225], RGB);
    case 'mobilenet':
    case 'keras':
      return { order: RGB, scale: [1 / 127.5, 1 / 127.5, 1 / 127.5], bias: [-1, -1, -1] };
    case 'caffe':
      return { order: BGR, scale: [1, 1, 1], bias: [-103.939, -116.779, -123.68] };
    case 'none':
      return { order: RGB, scale: [1 / 255, 1 / 255, 1 / 255], bias: [0, 0, 0] };
  }
}

function triple(v: unknown, name: string): Triple {
  if (!Array.isArray(v) || v.length !== 3) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected an array of 3 numbers (R, G, B) for ${name} but received ${describe(v)}`);
  }
  return [finiteNumber(v[0], `${name}[0]`), finiteNumber(v[1], `${name}[1]`), finiteNumber(v[2], `${name}[2]`)];
}

/**
 * Converts RGBA8 pixels to a normalized float32 tensor (alpha dropped) in NCHW or NHWC order, written into
 * `out` at batch row `row` (e.g. an inference context's pinned input: no further copy) or into a fresh array.
 * @example
 * normalize(rgba, { preset: 'imagenet', layout: 'nchw', out: ctx.inputs.input as Float32Array, row: 2 });
 */
export function normalize(image: RgbaImage, options: NormalizeOptions = {}): Float32Array {
  checkRgbaImage(image);
  const t = pixelTransform(options);
  const layout = options.layout === undefined ? 'nchw' : oneOf(options.layout, 'layout', LAYOUTS);
  const plane = image.width * image.height;
  const n = 3 * plane;
  const row = options.row === undefined ? 0 : nonNegativeInteger(options.row, 'row');
  let out: Float32Array;
  if (options.out === undefined) {
    if (row !== 0) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected row 0 without an 'out' array but received ${row} of type number`);
    out = new Float32Array(n);
  } else {
    if (!(options.out instanceof Float32Array)) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a Float32Array for out (a float32 input) but received ${describe(options.out)}`);
    }
    out = options.out;
    if ((row + 1) * n > out.length) {
      throw new TensorRTError(
        ErrorCode.INVALID_ARGUMENT,
        `Row ${row} of ${n} elements (3x${image.height}x${image.width}) does not fit in out (${out.length} elements, ${Math.floor(out.length / n)} rows)`,
      );
    }
  }
  writePixels(image.data, plane, t, layout, out, row * n);
  return out;
}

/** The hot loop: one multiply-add per element, no allocation. */
function writePixels(px: Uint8Array, plane: number, t: PixelTransform, layout: Layout, out: Float32Array, base: number): void {
  const [o0, o1, o2] = t.order;
  const [s0, s1, s2] = t.scale;
  const [b0, b1, b2] = t.bias;
  if (layout === 'nchw') {
    for (let i = 0, p = 0; i < plane; i++, p += 4) {
      out[base + i] = px[p + o0] * s0 + b0;
      out[base + plane + i] = px[p + o1] * s1 + b1;
      out[base + 2 * plane + i] = px[p + o2] * s2 + b2;
    }
  } else {
    for (let i = 0, p = 0, q = base; i < plane; i++, p += 4, q += 3) {
      out[q] = px[p + o0] * s0 + b0;
      out[q + 1] = px[p + o1] * s1 + b1;
      out[q + 2] = px[p + o2] * s2 + b2;
    }
  }
}
