import { resolveDevice } from './device.js';
import { loadAddon } from './native.js';

/**
 * Free and total memory of a GPU, in bytes (cudaMemGetInfo).
 * @example const { free, total } = memoryInfo(0);
 */
export function memoryInfo(device = 0): { free: number; total: number } {
  return loadAddon().memoryInfo(resolveDevice(device));
}
