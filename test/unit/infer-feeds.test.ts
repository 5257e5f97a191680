// infer() on the common layout (inputs [batch, ...fixed]) takes a short path that binds no shapes; it must answer
// exactly as the general path does, and leave every malformed feed to the general path's coded errors.
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../lib/builder.js';
import { ErrorCode } from '../../lib/errors.js';
import { fillUniform } from '../../lib/util/random.js';
import { smallCnn } from '../../scripts/gen-models.js';

const ROW = 3 * 32 * 32;
const code = async (p: () => Promise<unknown>) => {
  try {
    await p();
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('infer() feeds (reference backend)', () => {
  it('answers as run() does at each batch, with outputs cut to the batch', async () => {
    const engine = await buildEngine(smallCnn({ seed: 5 }), { backend: 'reference', shapes: { input: { min: [1, 3, 32, 32], opt: [2, 3, 32, 32], max: [4, 3, 32, 32] } } });
    const ctx = await engine.createContext({ maxBatch: 3 });
    const rowOut = (ctx.outputs.logits as Float32Array).length / 3;
    for (const batch of [1, 2, 3]) {
      const x = fillUniform(new Float32Array(batch * ROW), batch);
      const got = await ctx.infer({ input: x });
      // The general path (explicit, empty dims) and run() on the pinned buffers give the same rows.
      const general = await ctx.infer({ input: x }, { dims: {} });
      (ctx.inputs.input as Float32Array).set(x);
      await ctx.run({ batch });
      const want = Array.from((ctx.outputs.logits as Float32Array).subarray(0, batch * rowOut));
      expect((got.logits as Float32Array).length).toBe(batch * rowOut);
      expect(Array.from(got.logits as Float32Array)).toEqual(want);
      expect(Array.from(general.logits as Float32Array)).toEqual(want);
    }
    ctx.dispose();
    engine.dispose();
  });

  it('malformed feeds keep their coded errors', async () => {
    const engine = await buildEngine(smallCnn({ seed: 5 }), { backend: 'reference', shapes: { input: { min: [1, 3, 32, 32], opt: [2, 3, 32, 32], max: [4, 3, 32, 32] } } });
    const ctx = await engine.createContext({ maxBatch: 2 });
    const x = new Float32Array(ROW);
    expect(await code(() => ctx.infer({ input: new Float64Array(ROW) as never }))).toBe(ErrorCode.INVALID_INPUT);
    expect(await code(() => ctx.infer({ input: x.subarray(1) }))).toBe(ErrorCode.INVALID_INPUT);
    expect(await code(() => ctx.infer({ input: new Float32Array(0) }))).toBe(ErrorCode.INVALID_INPUT);
    expect(await code(() => ctx.infer({ input: new Float32Array(3 * ROW) }))).toBe(ErrorCode.BATCH_OUT_OF_RANGE);
    expect(await code(() => ctx.infer({ input: x, other: x }))).toBe(ErrorCode.INVALID_INPUT);
    expect(await code(() => ctx.infer({} as never))).toBe(ErrorCode.INVALID_INPUT);
    expect(await code(() => ctx.infer(null as never))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await code(() => ctx.infer({ input: x }))).toBe('no error');
    ctx.dispose();
    engine.dispose();
  });
});
