// Image decoding through jimp into plain RGBA8 pixels, with coded errors for files that are not images.
import { readFile } from 'node:fs/promises';
import { ErrorCode, TensorRTError } from '../errors.js';
import { describe } from '../validate.js';
import { jimp } from './jimp.js';

/** Decoded pixels: RGBA8, row-major, `width * height * 4` bytes. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A path, encoded bytes (JPEG, PNG, …), or pixels that are already decoded. */
export type ImageSource = string | Uint8Array | ArrayBuffer | RgbaImage;

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'bmp' | 'tiff';

const EXPECTED = 'a JPEG or PNG image (GIF, BMP and TIFF are read too)';

/**
 * The container format from the first bytes (magic numbers), or null when it is none jimp reads.
 * @example imageFormat(await readFile('cat.jpg')) // 'jpeg'
 */
export function imageFormat(bytes: Uint8Array): ImageFormat | null {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 4 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'gif';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) return 'tiff';
  return null;
}

/** A short, printable preview of what a non-image file starts with. */
function preview(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'it is empty';
  const head = bytes.subarray(0, 16);
  const printable = head.every((c) => c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f));
  if (printable) return `it starts with ${JSON.stringify(Buffer.from(head).toString('latin1'))}`;
  return `it starts with bytes ${Buffer.from(head.subarray(0, 8)).toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}

/** Is `v` an already-decoded RgbaImage? @example isRgbaImage({ width: 1, height: 1, data: new Uint8Array(4) }) // true */
export function isRgbaImage(v: unknown): v is RgbaImage {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return false;
  const o = v as Record<string, unknown>;
  return typeof o.width === 'number' && typeof o.height === 'number' && o.data instanceof Uint8Array;
}

/** Checks an RgbaImage's geometry against its pixel buffer. @example checkRgbaImage({ width: 2, height: 2, data: new Uint8Array(16) }); */
export function checkRgbaImage(image: RgbaImage, name = 'image'): RgbaImage {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a positive integer width and height for ${name} but received ${width}x${height}`);
  }
  if (data.length !== width * height * 4) {
    throw new TensorRTError(
      ErrorCode.INVALID_ARGUMENT,
      `Expected ${width * height * 4} bytes of RGBA pixels for ${name} (${width}x${height}x4) but received ${describe(data)}`,
    );
  }
  return image;
}

/**
 * Decodes an image (a path or its bytes) into RGBA8 pixels. A file that is not an image, or is truncated,
 * fails with ERR_IMAGE_DECODE naming it; a file that cannot be read fails with ERR_IO.
 * @example const { width, height, data } = await decodeImage('cat.jpg');
 */
export async function decodeImage(source: ImageSource, options: { name?: string } = {}): Promise<RgbaImage> {
  if (isRgbaImage(source)) return checkRgbaImage(source, options.name);
  let bytes: Uint8Array;
  let name: string;
  if (typeof source === 'string') {
    if (source.length === 0) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a non-empty string for image path but received ${describe(source)}`);
    name = options.name ?? source;
    try {
      bytes = await readFile(source);
    } catch (e) {
      throw new TensorRTError(ErrorCode.IO, `Could not read the image ${name}: ${(e as Error).message}`, { cause: e });
    }
  } else if (source instanceof Uint8Array) {
    bytes = source;
    name = options.name ?? 'the image bytes';
  } else if (source instanceof ArrayBuffer) {
    bytes = new Uint8Array(source);
    name = options.name ?? 'the image bytes';
  } else {
    throw new TensorRTError(
      ErrorCode.INVALID_ARGUMENT,
      `Expected a path, a Uint8Array, an ArrayBuffer or { width, height, data } for image but received ${describe(source)}`,
    );
  }
  const format = imageFormat(bytes);
  if (!format) throw new TensorRTError(ErrorCode.IMAGE_DECODE, `${name} is not an image: expected ${EXPECTED}, but ${preview(bytes)}`);
  const { Jimp } = await jimp();
  try {
    // Buffer.from over the same memory: jimp's codecs want a Buffer, not a copy.
    const img = await Jimp.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const { width, height, data } = img.bitmap;
    return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    throw new TensorRTError(
      ErrorCode.IMAGE_DECODE,
      `Could not decode ${name} as ${format.toUpperCase()} (${bytes.byteLength} bytes; truncated or corrupt?): ${(e as Error).message}`,
      { cause: e },
    );
  }
}
