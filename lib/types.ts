// Public types shared by the API classes (engine.ts, context.ts, builder.ts) and their users.
import type { BackendName } from './capabilities.js';
import type { PostprocessOptions } from './vision/postprocess.js';

export type Precision = 'fp16' | 'fp32';
export type TensorDType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';
/** A dimension: a number, or a name for a dynamic one (e.g. 'batch'). */
export type Dim = number | string;

export interface TensorInfo {
  name: string;
  /** Shape with the dynamic dimension kept symbolic, e.g. ['batch', 3, 224, 224]. */
  shape: Dim[];
  dtype: TensorDType;
}

/** min/opt/max of the dynamic batch dimension. */
export interface BatchProfile {
  min: number;
  opt: number;
  max: number;
}

/** min/opt/max of one named dynamic dimension (e.g. 'sequence'). */
export interface DimRange {
  min: number;
  opt: number;
  max: number;
}

/** Per-input shapes for a dynamic dimension, trtexec style: each a full shape. */
export interface ShapeProfile {
  min: number[];
  opt: number[];
  max: number[];
}

export interface BuildProgress {
  /** 'parse' | 'optimize' | 'tactics' | 'serialize' */
  phase: string;
  /** Layers timed so far and in all (phase 'tactics'). */
  done: number;
  total: number;
  /** The layer being timed, when known. */
  layer?: string;
}

export interface BuildOptions {
  backend?: 'auto' | BackendName;
  precision?: Precision;
  /** Per input name with a dynamic dimension: min/opt/max shapes. */
  shapes?: Record<string, ShapeProfile>;
  /** A directory for the tactic (timing) cache. */
  tacticCache?: string;
  /**
   * builtin backend: batch sizes to choose tactics at besides the profile's min, opt and max (each within the
   * profile). A batch runs the choice made at the smallest of these at or above it, so a service that runs batch 32
   * on a 1..256 engine gets kernels timed at 32, not at 256. Each adds one timing pass to a cold build.
   */
  tacticBatches?: number[];
  /** Workspace limit in bytes for tactic scratch memory. */
  workspace?: number;
  /** GPU index. */
  device?: number;
  onProgress?: (p: BuildProgress) => void;
  /** TensorRT builder optimization level (0..5). */
  optimizationLevel?: number;
  /** Stages appended to the model: `nms` (EfficientNMS-style, fixed-size outputs) for detectors' raw boxes and scores. */
  postprocess?: PostprocessOptions;
}

export interface LayerChoice {
  name: string;
  op: string;
  tactic: string;
  /** Median ms of the chosen tactic at the opt batch; 0 where nothing was timed. */
  ms: number;
  /** Every candidate that was timed. */
  candidates: { tactic: string; ms: number }[];
  /** Tactics left out at the opt batch, each with its reason (a fused kernel that disagreed with its chain, one
   *  past the workspace limit, one that failed to run); absent when none was. */
  rejected?: string[];
  /** Chosen from the tactic cache, not timed in this build. */
  cached?: boolean;
  /** Where tactics were chosen at several batch sizes: the choice and its time at each. */
  byBatch?: { batch: number; tactic: string; ms: number; cached: boolean }[];
}

export interface BuildInfo {
  backend: BackendName;
  precision: Precision;
  buildMs: number;
  layers: LayerChoice[];
  /** Activation memory for the max batch, after lifetime reuse. */
  activationBytes: number;
  workspaceBytes: number;
  weightBytes: number;
  tacticCacheHits: number;
}

export interface ContextOptions {
  /** Largest batch this context runs; defaults to the engine profile's max. */
  maxBatch?: number;
  /** Replay CUDA graphs for static shapes (default true). */
  cudaGraph?: boolean;
  /**
   * How completion reaches JS: 'auto' (the default: a native thread sleeps until just before the run's expected end,
   * learned per batch size from earlier runs, then polls briefly), 'callback' (a CUDA host callback), 'spin' (that
   * thread spin-waits on the run's event: lowest latency, one busy core while a run is in flight — trtexec's
   * --useSpinWait), or 'blocking' (that thread sleeps until the driver wakes it).
   */
  sync?: SyncMode;
}

export type SyncMode = 'auto' | 'callback' | 'spin' | 'blocking';

/** What a context does now, and why not more. */
export interface ContextInfo {
  /** The completion mode in use. */
  sync: SyncMode;
  /**
   * Whether runs replay CUDA graphs; when not, `reason` says why (a failed capture, the option, or the backend).
   * The tensorrt backend does not report its capture failures yet: there it shows what was asked for.
   */
  cudaGraph: { active: boolean; reason?: string };
  /** Set once a run failed on the GPU: the CUDA error's name. The context then refuses every call (ERR_CUDA_FAULT). */
  fault?: string;
  /**
   * 'auto' completion on the builtin backend, so far: runs timed from a learned length (the first few of each kind
   * are not), wakes that came after the run had ended, runs the JS thread settled by polling and the mean
   * microseconds it polled for each, and runs that ended before it polled.
   */
  completion?: { runs: number; lateWakes: number; polled: number; notPolled: number; pollUs: number };
}

export interface RunOptions {
  batch?: number;
  /** Values of the other dynamic dimensions by name (e.g. { sequence: 12 }); a dim the profile fixes may be left out. */
  dims?: Record<string, number>;
  /** Copy inputs host→device and outputs device→host (default true). */
  transfers?: boolean;
}

/** Device-event timings of the last completed run, in ms. */
export interface RunTimings {
  h2dMs: number;
  computeMs: number;
  d2hMs: number;
}

export interface LayerProfile {
  name: string;
  op: string;
  tactic: string;
  /** Median ms over the profiled iterations. */
  ms: number;
}

export interface OutputError {
  name: string;
  maxAbs: number;
  meanAbs: number;
  maxRel: number;
  meanRel: number;
  /** ‖a−b‖₂ / ‖b‖₂ */
  relL2: number;
}

export interface ValidationReport {
  samples: number;
  outputs: OutputError[];
  /** Fraction of samples whose arg-max over the first output's last axis matches. */
  top1Agreement: number;
}
