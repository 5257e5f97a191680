import { capabilities } from './capabilities.js';
import { ErrorCode, TensorRTError } from './errors.js';
import { invalid, isInteger } from './validate.js';

/**
 * Validates a GPU index against this machine: an integer ≥ 0 (ERR_INVALID_ARGUMENT), a machine with a CUDA
 * device (ERR_NO_CUDA_DEVICE), and an index in range (ERR_DEVICE_OUT_OF_RANGE).
 */
export function resolveDevice(device: unknown = 0, name = 'device'): number {
  if (!isInteger(device) || device < 0) invalid('a non-negative integer', name, device);
  const caps = capabilities();
  if (!caps.cuda.available) {
    throw new TensorRTError(ErrorCode.NO_CUDA_DEVICE, `No CUDA device is available: ${caps.cuda.reason ?? 'unknown reason'}`);
  }
  const n = caps.cuda.devices.length;
  if (device >= n) {
    throw new TensorRTError(
      ErrorCode.DEVICE_OUT_OF_RANGE,
      `Device index ${device} is out of range: this machine has ${n} CUDA device${n === 1 ? '' : 's'} (0..${n - 1})`,
    );
  }
  return device;
}
