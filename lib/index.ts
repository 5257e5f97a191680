// node-tensorrt: TensorRT-class GPU inference for Node.js.
export { ErrorCode, TensorRTError, hasCode, type ErrorCodeValue } from './errors.js';
export { capabilities, type Capabilities, type BackendName, type BackendAvailability } from './capabilities.js';
export { DeviceBuffer, Event, PinnedBuffer, Stream, type CopyOptions, type Memory } from './cuda.js';
export { memoryInfo } from './memory.js';
export { buildEngine, loadEngine, resolveBackend } from './builder.js';
export { Engine } from './engine.js';
export { InferenceContext } from './context.js';
export { validateEngine, type ValidateOptions } from './validate-engine.js';
export { createPool, Pool, type PoolOptions } from './pool.js';
export type * from './types.js';
export * from './image/index.js';
export * from './vision/index.js';
export * from './text/index.js';
