import { describe, expect, it } from 'vitest';
import type { Capabilities } from '../../lib/capabilities.js';
import { formatCapabilities } from '../../lib/cli/commands/capabilities.js';

const absent = { compiled: true, available: false, version: null, reason: 'libcudnn.so.9 not found' };
const caps = (addon: Capabilities['addon']): Capabilities => ({
  addon,
  cuda: { available: false, reason: 'No CUDA driver', driverVersion: null, runtimeVersion: '13.0', devices: [] },
  tensorrt: { compiled: false, available: false, version: null, reason: 'not found' },
  tacticSources: { cublasLt: absent, cudnn: absent },
  backends: { tensorrt: { available: false }, builtin: { available: false }, reference: { available: true } },
});

describe('node-tensorrt capabilities (text)', () => {
  it('says which architectures the addon carries and where it was loaded from', () => {
    const lines = formatCapabilities(
      caps({ loaded: true, cudaArchitectures: '75,80,86,89,90', cudaPtx: '90', source: 'platform-package', path: '/x.node' }),
    );
    expect(lines.find((l) => l.startsWith('addon'))).toMatch(/yes \(CUDA archs 75,80,86,89,90 \+ PTX 90, from the platform package\)$/);
  });

  it('shows a local build and a missing PTX plainly', () => {
    const lines = formatCapabilities(caps({ loaded: true, cudaArchitectures: '90', source: 'build' }));
    expect(lines.find((l) => l.startsWith('addon'))).toMatch(/yes \(CUDA archs 90, from the local build\)$/);
  });

  it('reports cuDNN as compiled in but not loadable, with the reason', () => {
    const lines = formatCapabilities(caps({ loaded: true, source: 'build' }));
    expect(lines.find((l) => l.startsWith('cuDNN'))).toMatch(/no \(libcudnn\.so\.9 not found\)$/);
  });
});
