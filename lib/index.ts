// node-tensorrt: TensorRT-class GPU inference for Node.js.
export { ErrorCode, TensorRTError, hasCode, type ErrorCodeValue } from './errors.js';
export { capabilities, type Capabilities, type BackendName, type BackendAvailability } from './capabilities.js';
export { DeviceBuffer, Event, PinnedBuffer, Stream, type CopyOptions, type Memory } from './cuda.js';
export { memoryInfo } from './memory.js';
export * from './image/index.js';
