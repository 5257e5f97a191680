// Letterboxing: resize keeping the aspect ratio and pad to the model's input size, and its inverse for boxes.
import { checkRgbaImage, type RgbaImage } from '../image/decode.js';
import { jimp } from '../image/jimp.js';
import { positiveInteger } from '../validate.js';

/** Where the source image sits inside the letterboxed one: scale, then offset by the padding. */
export interface LetterboxGeometry {
  scale: number;
  padX: number;
  padY: number;
  /** The resized image inside the padding. */
  innerWidth: number;
  innerHeight: number;
  srcWidth: number;
  srcHeight: number;
}

/**
 * The geometry of fitting srcWidth × srcHeight into width × height (padding split evenly, the odd pixel after).
 * @example letterboxGeometry(1280, 720, 640, 640) // { scale: 0.5, padX: 0, padY: 140, innerWidth: 640, innerHeight: 360, … }
 */
export function letterboxGeometry(srcWidth: number, srcHeight: number, width: number, height: number): LetterboxGeometry {
  positiveInteger(srcWidth, 'srcWidth');
  positiveInteger(srcHeight, 'srcHeight');
  positiveInteger(width, 'width');
  positiveInteger(height, 'height');
  const scale = Math.min(width / srcWidth, height / srcHeight);
  const innerWidth = Math.min(width, Math.max(1, Math.round(srcWidth * scale)));
  const innerHeight = Math.min(height, Math.max(1, Math.round(srcHeight * scale)));
  return { scale, padX: Math.floor((width - innerWidth) / 2), padY: Math.floor((height - innerHeight) / 2), innerWidth, innerHeight, srcWidth, srcHeight };
}

/**
 * Resizes `image` to fit width × height keeping its aspect ratio, padding with grey (114, as YOLO does).
 * @example const { image: boxed, geometry } = await letterbox(rgba, 640, 640);
 */
export async function letterbox(image: RgbaImage, width: number, height: number, fill = 114): Promise<{ image: RgbaImage; geometry: LetterboxGeometry }> {
  checkRgbaImage(image);
  const g = letterboxGeometry(image.width, image.height, width, height);
  const { Jimp } = await jimp();
  let inner = image;
  if (g.innerWidth !== image.width || g.innerHeight !== image.height) {
    const img = Jimp.fromBitmap({ width: image.width, height: image.height, data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength) });
    img.resize({ w: g.innerWidth, h: g.innerHeight });
    const d = img.bitmap.data;
    inner = { width: g.innerWidth, height: g.innerHeight, data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
  }
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) out.set([fill, fill, fill, 255], i * 4);
  for (let y = 0; y < g.innerHeight; y++) {
    out.set(inner.data.subarray(y * g.innerWidth * 4, (y + 1) * g.innerWidth * 4), ((y + g.padY) * width + g.padX) * 4);
  }
  return { image: { width, height, data: out }, geometry: g };
}

/**
 * A box [x1, y1, x2, y2] in letterboxed pixels mapped back to the source image (clamped to it).
 * @example unletterbox([0, 140, 640, 500], letterboxGeometry(1280, 720, 640, 640)) // [0, 0, 1280, 720]
 */
export function unletterbox(box: ArrayLike<number>, g: LetterboxGeometry): [number, number, number, number] {
  const x = (v: number) => Math.min(Math.max((v - g.padX) / g.scale, 0), g.srcWidth);
  const y = (v: number) => Math.min(Math.max((v - g.padY) / g.scale, 0), g.srcHeight);
  return [x(box[0]), y(box[1]), x(box[2]), y(box[3])];
}
