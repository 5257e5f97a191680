import { describe, expect, it } from 'vitest';
import { capabilities } from '../../lib/capabilities.js';
import { DeviceBuffer, Event, PinnedBuffer, Stream } from '../../lib/cuda.js';
import { ErrorCode, TensorRTError } from '../../lib/errors.js';
import { loadAddon, loadAddonFrom } from '../../lib/native.js';

const caps = capabilities();

describe('loader', () => {
  it('loads the addon built by npm install', () => {
    const addon = loadAddon();
    expect(typeof addon.capabilities).toBe('function');
    expect(caps.addon.loaded).toBe(true);
  });

  it('fails with an actionable multi-line message when the addon cannot load', () => {
    try {
      loadAddonFrom('/nonexistent/node-tensorrt.node');
      expect.unreachable();
    } catch (e) {
      expect((e as TensorRTError).code).toBe('ERR_ADDON_LOAD');
      const message = (e as Error).message;
      expect(message).toMatch(/^Could not load the node-tensorrt native addon for linux-x64/);
      expect(message).toContain('Possible solutions:');
      expect(message).toContain('npm rebuild node-tensorrt');
      expect(message.split('\n').length).toBeGreaterThan(3);
    }
  });

  it('native code throws the library error class with a code', () => {
    const addon = loadAddon();
    expect(() => addon.memoryInfo(-1)).toThrow(TensorRTError);
  });
});

describe('capabilities', () => {
  it('reports the reference backend everywhere', () => {
    expect(caps.backends.reference.available).toBe(true);
  });

  it('reports CUDA runtime and devices consistently', () => {
    expect(caps.cuda.runtimeVersion).toMatch(/^\d+\.\d+$/);
    if (caps.cuda.available) {
      expect(caps.cuda.devices.length).toBeGreaterThan(0);
      for (const d of caps.cuda.devices) {
        expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
        expect(d.totalMemory).toBeGreaterThan(0);
        expect(d.multiprocessorCount).toBeGreaterThan(0);
      }
      expect(caps.backends.builtin.available).toBe(true);
    } else {
      expect(caps.cuda.devices).toEqual([]);
      expect(caps.cuda.reason).toBeTruthy();
      expect(caps.backends.builtin).toEqual({ available: false, reason: caps.cuda.reason });
    }
  });

  it('reports TensorRT with a version or a reason', () => {
    if (caps.tensorrt.available) expect(caps.tensorrt.version).toMatch(/^\d+\.\d+/);
    else expect(caps.tensorrt.reason).toBeTruthy();
  });

  it('lists the architectures the addon was built for', () => {
    expect(caps.addon.cudaArchitectures).toMatch(/^\d+(,\d+)*$/);
    // PTX for the newest architecture, so later GPUs JIT it.
    const newest = Math.max(...caps.addon.cudaArchitectures!.split(',').map(Number));
    expect(caps.addon.cudaPtx).toBe(String(newest));
  });
});

describe('CUDA wrapper argument validation', () => {
  const expectCode = (fn: () => unknown, code: string, message?: string | RegExp) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(TensorRTError);
      expect((e as TensorRTError).code).toBe(code);
      if (message) expect((e as Error).message).toMatch(message);
      return;
    }
    expect.unreachable('expected a throw');
  };

  it('rejects a negative size', () => {
    expectCode(() => new PinnedBuffer(-1), ErrorCode.INVALID_ARGUMENT, 'Expected a positive integer for bytes but received -1 of type number');
    expectCode(() => new DeviceBuffer(-3), ErrorCode.INVALID_ARGUMENT, 'Expected a positive integer for bytes but received -3 of type number');
  });

  it('rejects a non-integer device index', () => {
    expectCode(() => new Stream({ device: 0.5 }), ErrorCode.INVALID_ARGUMENT, 'Expected a non-negative integer for device but received 0.5 of type number');
    expectCode(() => new Event({ device: -1 }), ErrorCode.INVALID_ARGUMENT, 'Expected a non-negative integer for device but received -1 of type number');
  });

  it('rejects a device index out of range, or reports no device', () => {
    const code = caps.cuda.available ? ErrorCode.DEVICE_OUT_OF_RANGE : ErrorCode.NO_CUDA_DEVICE;
    expectCode(() => new Stream({ device: 64 }), code, caps.cuda.available ? /Device index 64 is out of range/ : /No CUDA device is available/);
    expectCode(() => new DeviceBuffer(16, { device: 64 }), code);
  });

  it.skipIf(caps.cuda.available)('reports no CUDA device on a CPU machine', () => {
    expectCode(() => new Stream(), ErrorCode.NO_CUDA_DEVICE, /No CUDA device is available/);
    expectCode(() => new PinnedBuffer(64), ErrorCode.NO_CUDA_DEVICE);
  });
});
