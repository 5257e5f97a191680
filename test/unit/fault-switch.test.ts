// The fault-injection switch (NODE_TENSORRT_FAULT, native/cuda/fault.h): parsing, counting and the coded errors
// it produces, driven through CUDA_CHECK itself with calls that do nothing, so it runs without a GPU.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { capabilities } from '../../lib/capabilities.js';
import { ErrorCode } from '../../lib/errors.js';
import { packageRoot, tryLoadAddon, addonLoadError } from '../../lib/native.js';

const addon = tryLoadAddon();
const title = addon ? 'fault-injection switch' : `fault-injection switch [skipped: ${addonLoadError()?.message.split('\n')[0]}]`;
const codeOf = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

// Loads the addon in a fresh process with NODE_TENSORRT_FAULT set, and prints its switch state (or the load error).
function childState(spec: string): string {
  // The same binary this process loaded (platform package, build/ or prebuilds/), required directly.
  const file = JSON.stringify(capabilities().addon.path ?? '');
  const script = `try { const a = require(${file}); console.log(JSON.stringify(a.faultInjection())); } catch (e) { console.log('LOAD ' + e.message); }`;
  return execFileSync(process.execPath, ['-e', script], { cwd: packageRoot(), env: { ...process.env, NODE_TENSORRT_FAULT: spec }, encoding: 'utf8' }).trim();
}

describe.skipIf(!addon)(title, () => {
  it('fails exactly the Nth point of the armed kind, with the code the real failure would have, and counts every point', () => {
    const a = addon!;
    a.faultInjection('copy:3,alloc:1,launch:2');
    expect(['ok', 'ok', ErrorCode.CUDA, 'ok'].map((want, i) => [i + 1, want])).toEqual([1, 2, 3, 4].map((n) => [n, codeOf(() => a.faultProbe('copy'))]));
    expect(codeOf(() => a.faultProbe('alloc'))).toBe(ErrorCode.CUDA_OUT_OF_MEMORY);
    expect(codeOf(() => a.faultProbe('alloc'))).toBe('ok');
    expect(codeOf(() => a.faultProbe('launch'))).toBe('ok');
    let message = '';
    try {
      a.faultProbe('launch');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^cudaErrorLaunchOutOfResources: .+ \(cuda::fault::probe_cudaGraphLaunch\(\) at .+faults\.cc:\d+, injected by NODE_TENSORRT_FAULT\)$/);
    const s = a.faultInjection();
    expect(s.counts).toEqual({ alloc: 2, launch: 2, copy: 4, device: 0 });
    expect(s.fired).toEqual({ alloc: 1, launch: 1, copy: 1, device: 0 });
    expect(s.at).toEqual({ alloc: 1, launch: 2, copy: 3, device: 0 });
    // Re-arming resets the counters; an empty spec disarms and keeps counting.
    a.faultInjection('');
    for (let i = 0; i < 5; i++) expect(codeOf(() => a.faultProbe('copy'))).toBe('ok');
    expect(a.faultInjection().counts.copy).toBe(5);
    expect(a.faultInjection().fired.copy).toBe(0);
    a.faultInjection('');
  });

  it('refuses a malformed spec with ERR_INVALID_ARGUMENT naming the bad item', () => {
    const a = addon!;
    for (const bad of ['alloc', 'alloc:0', 'alloc:-1', 'alloc:x', 'leak:3', 'alloc:1,alloc:2', 'alloc:1,', ':3', 'alloc:1234567890123']) {
      expect(codeOf(() => a.faultInjection(bad))).toBe(ErrorCode.INVALID_ARGUMENT);
    }
    expect(() => a.faultInjection('leak:3')).toThrow("Invalid fault-injection spec: Expected kind:N with kind alloc, launch, copy or device and N a positive integer, but received 'leak:3'");
    expect(() => a.faultInjection('copy:1,copy:2')).toThrow("'copy' is armed twice");
    expect(codeOf(() => a.faultProbe('sync' as never))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(a.faultInjection('').at).toEqual({ alloc: 0, launch: 0, copy: 0, device: 0 });
  });

  it('reads NODE_TENSORRT_FAULT when the addon loads, and refuses to load with a malformed one', () => {
    expect(JSON.parse(childState('launch:7,device:2')).at).toEqual({ alloc: 0, launch: 7, copy: 0, device: 2 });
    expect(JSON.parse(childState('')).at).toEqual({ alloc: 0, launch: 0, copy: 0, device: 0 });
    expect(childState('alloc=3')).toBe("LOAD NODE_TENSORRT_FAULT: Expected kind:N with kind alloc, launch, copy or device and N a positive integer, but received 'alloc=3'");
  });
});
