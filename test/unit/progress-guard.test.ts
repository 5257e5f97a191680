// A user's onProgress called from native code (a thread-safe function, outside any promise chain) that throws
// must reject the build, not become an uncaught process error.
import { afterEach, describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { withGuardedCallback } from '../../lib/util/progress.js';
import { smallCnn } from '../../scripts/gen-models.js';

// Native progress arrives as macrotasks while the work runs, like a thread-safe function's calls.
function fakeNativeBuild(cb: ((done: number) => void) | null): Promise<string> {
  return new Promise((resolve) => {
    let done = 0;
    const tick = () => {
      cb?.(++done);
      if (done < 3) setImmediate(tick);
      else resolve('built');
    };
    setImmediate(tick);
  });
}

describe('onProgress exceptions', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  afterEach(() => {
    process.off('uncaughtException', onUncaught);
  });

  it('reject the build with the callback’s own error, and later calls are skipped', async () => {
    process.on('uncaughtException', onUncaught);
    const boom = new Error('progress bar broke');
    const calls: number[] = [];
    await expect(
      withGuardedCallback(
        (done: number) => {
          calls.push(done);
          throw boom;
        },
        (cb) => fakeNativeBuild(cb),
      ),
    ).rejects.toBe(boom);
    expect(calls).toEqual([1]);
    expect(uncaught).toEqual([]);
    await expect(withGuardedCallback((_: number) => {}, (cb) => fakeNativeBuild(cb))).resolves.toBe('built');
  });

  it('reject buildEngine on the CPU backend too', async () => {
    const boom = new Error('no');
    await expect(buildEngine(smallCnn({ seed: 1 }), { backend: 'reference', onProgress: () => { throw boom; } })).rejects.toBe(boom);
  });
});
