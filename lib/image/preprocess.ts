// The whole CPU pipeline (decode → resize → centre crop → normalize) and the model-input geometry helper.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { TensorInfo } from '../types.js';
import { describe, invalid, knownKeys, nonNegativeInteger, plainObject } from '../validate.js';
import { decodeImage, type ImageSource, type RgbaImage } from './decode.js';
import { normalize, type Layout, type NormalizeOptions } from './normalize.js';
import { resolveResizeCrop, transform, type ResizeCropOptions } from './transform.js';

export interface PreprocessOptions extends ResizeCropOptions, NormalizeOptions {}

/** Geometry of an image input, read from its tensor shape. */
export interface ImageInputSpec {
  layout: Layout;
  /** [height, width] */
  size: [number, number];
}

const GEOMETRY_KEYS = ['size', 'resize', 'resample'] as const;
const NORMALIZE_KEYS = ['preset', 'mean', 'std', 'channels', 'layout', 'out', 'row'] as const;

/**
 * Layout and size of a 3-channel image input: `[batch, 3, H, W]` is NCHW, `[batch, H, W, 3]` is NHWC.
 * @example
 * const spec = imageInputSpec(engine.inputs[0]); // { layout: 'nchw', size: [224, 224] }
 * await preprocess('cat.jpg', { ...spec, preset: 'imagenet' });
 */
export function imageInputSpec(info: TensorInfo): ImageInputSpec {
  const s = info.shape;
  const fixed = s.length === 4 && typeof s[1] === 'number' && typeof s[2] === 'number' && typeof s[3] === 'number';
  if (fixed && s[1] === 3 && (s[2] as number) > 3) return { layout: 'nchw', size: [s[2] as number, s[3] as number] };
  if (fixed && s[3] === 3 && (s[1] as number) > 3) return { layout: 'nhwc', size: [s[1] as number, s[2] as number] };
  throw new TensorRTError(
    ErrorCode.SHAPE_MISMATCH,
    `Input '${info.name}' with shape [${s.join(', ')}] is not an RGB image input; expected [batch, 3, H, W] (NCHW) or [batch, H, W, 3] (NHWC)`,
  );
}

/** Where imageToRgba writes: a caller's buffer (e.g. pinned staging memory) at a batch row. */
export interface RgbaOutput {
  /** RGBA8 rows of h·w·4 bytes each. */
  out?: Uint8Array;
  /** Batch row in `out`; default 0. */
  row?: number;
  /** The name errors use for a byte source. */
  name?: string;
}

/**
 * Decodes an image and resizes and centre-crops it to `size`, returning RGBA8 pixels: the input of a device-side
 * normalization, which moves a quarter of the bytes of a float32 tensor over PCIe. With `out`, the pixels are
 * written at batch row `row` of it and the result's `data` is a view of that row.
 * @example
 * const rgba = await imageToRgba('cat.jpg', { size: 224 }); // rgba.data.length === 224 * 224 * 4
 * await imageToRgba('dog.png', { size: 224, out: staging, row: 1 });
 */
export async function imageToRgba(source: ImageSource, options: ResizeCropOptions & RgbaOutput): Promise<RgbaImage> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'imageToRgba options', [...GEOMETRY_KEYS, 'out', 'row', 'name']);
  const geometry = resolveResizeCrop(o);
  const row = o.row === undefined ? 0 : nonNegativeInteger(o.row, 'row');
  const [h, w] = geometry.size;
  const n = h * w * 4;
  if (o.out !== undefined) {
    if (!(o.out instanceof Uint8Array)) invalid('a Uint8Array of RGBA8 rows', 'out', o.out);
    if ((row + 1) * n > o.out.length) {
      throw new TensorRTError(
        ErrorCode.INVALID_ARGUMENT,
        `Row ${row} of ${n} bytes (${h}x${w}x4) does not fit in out (${o.out.length} bytes, ${Math.floor(o.out.length / n)} rows)`,
      );
    }
  } else if (row !== 0) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected row 0 without an 'out' array but received ${row} of type number`);
  }
  const name = o.name === undefined ? undefined : String(o.name);
  const rgba = await transform(await decodeImage(source, { name }), geometry);
  if (o.out === undefined) return rgba;
  const view = o.out.subarray(row * n, (row + 1) * n);
  view.set(rgba.data);
  return { width: w, height: h, data: view };
}

/**
 * Decodes, resizes the shorter side, centre-crops and normalizes one image into a float32 tensor; with
 * `out` (and `row`) it writes straight into e.g. a context's pinned input.
 * @example
 * await preprocess('cat.jpg', { size: 224, preset: 'imagenet', out: ctx.inputs.input as Float32Array, row: 0 });
 * await ctx.run({ batch: 1 });
 */
export async function preprocess(source: ImageSource, options: PreprocessOptions): Promise<Float32Array> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'preprocess options', [...GEOMETRY_KEYS, ...NORMALIZE_KEYS]);
  const geometry = resolveResizeCrop(o);
  const rgba = await transform(await decodeImage(source), geometry);
  return normalize(rgba, o as NormalizeOptions);
}

/**
 * Preprocesses several images into consecutive batch rows of one tensor (a fresh one, or `out` from `row` on).
 * @example
 * await preprocessBatch(['a.jpg', 'b.png'], { size: 224, preset: 'imagenet', out: ctx.inputs.input as Float32Array });
 * await ctx.run({ batch: 2 });
 */
export async function preprocessBatch(sources: readonly ImageSource[], options: PreprocessOptions): Promise<Float32Array> {
  if (!Array.isArray(sources) || sources.length === 0) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a non-empty array of images for sources but received ${describe(sources)}`);
  }
  const o = plainObject(options, 'options');
  knownKeys(o, 'preprocessBatch options', [...GEOMETRY_KEYS, ...NORMALIZE_KEYS]);
  const geometry = resolveResizeCrop(o);
  const first = o.row === undefined ? 0 : nonNegativeInteger(o.row, 'row');
  const [h, w] = geometry.size;
  const out = (o.out as Float32Array | undefined) ?? new Float32Array(sources.length * 3 * h * w);
  for (let i = 0; i < sources.length; i++) {
    const name = typeof sources[i] === 'string' ? undefined : `sources[${i}]`;
    const rgba = await transform(await decodeImage(sources[i], { name }), geometry);
    normalize(rgba, { ...(o as NormalizeOptions), out, row: first + i });
  }
  return out;
}
