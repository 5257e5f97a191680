// The library entry points the commands use that live outside lib/cli: the engine builder and loader,
// the model inspector and the bench command.
//
// INTEGRATION POINT: lib/builder.ts (buildEngine, loadEngine), lib/inspect.ts (inspectModel) and
// lib/bench/command.ts (benchCommand) are written in parallel with this module. Until they are in the tree they
// are imported at run time, through specifiers the compiler does not resolve, against the signatures declared
// below. Once they land, replace each loader with a static import and drop the local declarations.
import type { Command } from 'commander';
import type { Engine } from '../engine.js';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { BuildOptions, TensorInfo } from '../types.js';

/** lib/builder.ts */
export type BuildEngine = (model: string | Uint8Array, options?: BuildOptions) => Promise<Engine>;
/** lib/builder.ts */
export type LoadEngine = (pathOrBytes: string | Uint8Array, options?: { device?: number }) => Promise<Engine>;

/** What lib/inspect.ts returns (its ModelInspection): JSON-serializable. */
export interface ModelSummary {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  opset: number;
  irVersion: number;
  producer: { name: string; version: string };
  graphName: string;
  /** Node count per op type, most frequent first. */
  ops: Record<string, number>;
  nodeCount: number;
  /** Elements in all initializers. */
  parameters: number;
  weightBytes: number;
  /** Whether node-tensorrt can compile it. */
  supported: boolean;
  unsupportedOps: { op: string; node: string }[];
  problem?: { code: string; message: string };
}
/** lib/inspect.ts */
export type InspectModel = (model: string | Uint8Array) => ModelSummary | Promise<ModelSummary>;

const missing = (e: unknown): boolean =>
  (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Failed to load url/.test(String((e as Error)?.message));

async function load<T>(specifier: string, what: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ specifier)) as T;
  } catch (e) {
    if (!missing(e)) throw e;
    throw new TensorRTError(ErrorCode.IO, `${what} is not available in this build (${specifier} is missing)`, { cause: e });
  }
}

// Kept in variables so that TypeScript does not resolve them at compile time (see INTEGRATION POINT above).
const BUILDER = '../builder.js';
const INSPECT = '../inspect.js';
const BENCH = '../bench/command.js';

/** buildEngine and loadEngine from lib/builder.ts. @example const { buildEngine } = await builder(); */
export async function builder(): Promise<{ buildEngine: BuildEngine; loadEngine: LoadEngine }> {
  return load(BUILDER, 'The engine builder');
}

/** inspectModel from lib/inspect.ts. @example const summary = await (await inspector()).inspectModel('m.onnx'); */
export async function inspector(): Promise<{ inspectModel: InspectModel }> {
  return load(INSPECT, 'The ONNX inspector');
}

/** benchCommand from lib/bench/command.ts, or null while it is absent from the tree. @example const bench = await benchCommandOrNull(); */
export async function benchCommandOrNull(): Promise<Command | null> {
  try {
    const m = (await import(/* @vite-ignore */ BENCH)) as { benchCommand: () => Command };
    return m.benchCommand();
  } catch (e) {
    if (missing(e)) return null;
    throw e;
  }
}
