// The library and generator entry points the benchmark drives, loaded on first use: `node-tensorrt bench --help`
// must not pay for the compiler, and the model generator lives in scripts/, outside the library proper.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Engine } from '../engine.js';
import type { BuildOptions, ValidationReport } from '../types.js';

export interface ValidateOptions {
  against: 'reference';
  samples?: number;
  /** Rows per run. */
  batch?: number;
  /** A positive integer. */
  seed?: number;
}

/** The builder/loader/validator API (lib/builder.ts, lib/validate-engine.ts). */
export interface LibraryApi {
  buildEngine(model: string | Uint8Array, options?: BuildOptions): Promise<Engine>;
  loadEngine(pathOrBytes: string | Uint8Array, options?: { device?: number }): Promise<Engine>;
  validateEngine(engine: Engine, options: ValidateOptions): Promise<ValidationReport>;
}

/** scripts/gen-models.ts: ONNX bytes of the project's generated models. */
export interface ModelGenerator {
  mobilenetV2(options: { seed: number }): Uint8Array | Promise<Uint8Array>;
}

// Specifiers in variables: these modules are resolved at run time, relative to this file in lib/ or dist/lib/.
const BUILDER = '../builder.js';
const VALIDATE = '../validate-engine.js';
const GENERATOR = '../../scripts/gen-models.js';

async function load<T>(specifier: string, what: string, names: readonly string[]): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  } catch (e) {
    throw new TensorRTError(ErrorCode.IO, `${what} is not available in this build (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  for (const n of names) {
    if (typeof mod[n] !== 'function') throw new TensorRTError(ErrorCode.IO, `${what} does not export ${n}()`);
  }
  return mod as T;
}

let api: Promise<LibraryApi> | undefined;

/**
 * buildEngine, loadEngine and validateEngine, loaded once.
 * @example const { buildEngine } = await libraryApi();
 */
export function libraryApi(): Promise<LibraryApi> {
  api ??= (async () => {
    const builder = await load<Pick<LibraryApi, 'buildEngine' | 'loadEngine'>>(BUILDER, 'The engine builder', ['buildEngine', 'loadEngine']);
    const validate = await load<Pick<LibraryApi, 'validateEngine'>>(VALIDATE, 'The engine validator', ['validateEngine']);
    return { buildEngine: builder.buildEngine, loadEngine: builder.loadEngine, validateEngine: validate.validateEngine };
  })();
  api.catch(() => (api = undefined));
  return api;
}

/**
 * The model generator (for the default MobileNetV2).
 * @example const onnx = await (await modelGenerator()).mobilenetV2({ seed: 42 });
 */
export function modelGenerator(): Promise<ModelGenerator> {
  return load<ModelGenerator>(GENERATOR, 'The model generator (scripts/gen-models)', ['mobilenetV2']);
}
