/** Stable error codes. Match on `err.code`, never on the message. */
export const ErrorCode = {
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  DISPOSED: 'ERR_DISPOSED',
  ADDON_LOAD: 'ERR_ADDON_LOAD',
  NO_CUDA_DEVICE: 'ERR_NO_CUDA_DEVICE',
  CUDA_DRIVER: 'ERR_CUDA_DRIVER',
  CUDA_OUT_OF_MEMORY: 'ERR_CUDA_OUT_OF_MEMORY',
  CUDA: 'ERR_CUDA',
  DEVICE_OUT_OF_RANGE: 'ERR_DEVICE_OUT_OF_RANGE',
  TENSORRT_UNAVAILABLE: 'ERR_TENSORRT_UNAVAILABLE',
  TENSORRT: 'ERR_TENSORRT',
  INVALID_MODEL: 'ERR_INVALID_MODEL',
  UNSUPPORTED_OP: 'ERR_UNSUPPORTED_OP',
  UNSUPPORTED_OPSET: 'ERR_UNSUPPORTED_OPSET',
  SHAPE_MISMATCH: 'ERR_SHAPE_MISMATCH',
  PLAN_MISMATCH: 'ERR_PLAN_MISMATCH',
  PLAN_CORRUPT: 'ERR_PLAN_CORRUPT',
  BUILD_FAILED: 'ERR_BUILD_FAILED',
  INVALID_INPUT: 'ERR_INVALID_INPUT',
  BATCH_OUT_OF_RANGE: 'ERR_BATCH_OUT_OF_RANGE',
  SHAPE_OUT_OF_RANGE: 'ERR_SHAPE_OUT_OF_RANGE',
  CONTEXT_BUSY: 'ERR_CONTEXT_BUSY',
  ENGINE_IN_USE: 'ERR_ENGINE_IN_USE',
  IMAGE_DECODE: 'ERR_IMAGE_DECODE',
  IO: 'ERR_IO',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The one error class of node-tensorrt, thrown by TS and native code alike.
 * @example
 * try { await loadEngine('bad.plan'); } catch (e) { if (e instanceof TensorRTError && e.code === 'ERR_PLAN_CORRUPT') ... }
 */
export class TensorRTError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TensorRTError';
    this.code = code;
  }
}

/** Is `e` a TensorRTError with this code? */
export function hasCode(e: unknown, code: ErrorCodeValue): e is TensorRTError {
  return e instanceof TensorRTError && e.code === code;
}

/** Shorthand for `new TensorRTError(code, message)`. */
export function fail(code: ErrorCodeValue, message: string, cause?: unknown): never {
  throw new TensorRTError(code, message, cause === undefined ? undefined : { cause });
}
