// An exception in onProgress during the builtin tactic search (called from the native build thread) rejects the
// build with that error; the process stays alive and the next build works.
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { smallCnn } from '../../scripts/gen-models.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

describe.skipIf(!hasGpu)(gpuSuite('onProgress exceptions on the GPU'), () => {
  it('reject the builtin build instead of becoming uncaught', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const boom = new Error('progress bar broke');
      const onProgress = (p: { phase: string; done: number }) => {
        if (p.phase === 'tactics' && p.done > 0) throw boom;
      };
      await expect(buildEngine(smallCnn({ seed: 2 }), { backend: 'builtin', onProgress })).rejects.toBe(boom);
      const engine = await buildEngine(smallCnn({ seed: 2 }), { backend: 'builtin' });
      engine.dispose();
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
