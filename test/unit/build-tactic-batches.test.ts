// BuildOptions.tacticBatches: refused with ERR_INVALID_ARGUMENT unless it is an array of positive integers within the
// batch profile (checked before any backend builds). Their effect on the builtin backend (tactics chosen at each) is
// checked on the GPU in test/gpu/engine.test.ts.
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { ErrorCode, TensorRTError } from '../../lib/errors.js';
import { smallCnn } from '../../scripts/gen-models.js';

const model = smallCnn({ seed: 3 });
const shapes = { input: { min: [1, 3, 32, 32], opt: [4, 3, 32, 32], max: [16, 3, 32, 32] } };

describe('buildEngine tacticBatches', () => {
  it('refuses what is not a list of batches within the profile, naming the offender', async () => {
    const cases: [unknown, RegExp][] = [
      [8, /array of batch sizes for tacticBatches/],
      [[2, 2.5], /tacticBatches\[1\]/],
      [[0], /tacticBatches\[0\]/],
      [['8'], /tacticBatches\[0\]/],
      [[32], /batch 32 lies outside the profile's batch range 1\.\.16/],
    ];
    for (const [tacticBatches, message] of cases) {
      const e = await buildEngine(model, { backend: 'reference', shapes, tacticBatches: tacticBatches as number[] }).then(
        () => new Error('built'),
        (err: unknown) => err,
      );
      expect(e, String(tacticBatches)).toBeInstanceOf(TensorRTError);
      if (!(e instanceof TensorRTError)) continue;
      expect(e.code, String(tacticBatches)).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(e.message).toMatch(message);
    }
  });

  it('accepts batches within the profile (the reference backend has no tactics to choose)', async () => {
    const e = await buildEngine(model, { backend: 'reference', shapes, tacticBatches: [16, 1, 8, 8] });
    expect(e.profile).toEqual({ min: 1, opt: 4, max: 16 });
    e.dispose();
  });
});
