import { capabilities } from '../../lib/capabilities.js';

const caps = capabilities();
/** True when a CUDA device is present; GPU suites skip themselves otherwise. */
export const hasGpu = caps.cuda.available;
/** A suite title that carries the reason it was skipped. */
export function gpuSuite(title: string): string {
  return hasGpu ? title : `${title} [skipped: ${caps.cuda.reason ?? 'no CUDA device'}]`;
}
