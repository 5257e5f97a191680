// jimp, loaded on first use: importing node-tensorrt should not pay for the image codecs. Kept in its own module,
// imported by no public declaration, so our published .d.ts never pull in jimp's types (whose PNG codec declarations
// import the untyped `pngjs`, breaking consumers that compile without skipLibCheck).
type JimpModule = typeof import('jimp');
let jimpModule: Promise<JimpModule> | undefined;

/** @internal The jimp module, imported once. @example const { Jimp } = await jimp(); */
export function jimp(): Promise<JimpModule> {
  jimpModule ??= import('jimp');
  return jimpModule;
}
