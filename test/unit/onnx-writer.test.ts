import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { uniformRandom } from '../../lib/util/random.js';
import { mlp } from '../helpers/onnx-writer.js';

// The GPU backend tests build their models with this writer: ONNX Runtime (CPU) must read them and agree with the
// writer's own reference.
describe('test ONNX writer', () => {
  it('writes a model ONNX Runtime runs, matching the reference', async () => {
    const { onnx, reference } = mlp(16, 32, 4, uniformRandom(7));
    const session = await ort.InferenceSession.create(onnx);
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    const x = Float32Array.from({ length: 3 * 16 }, uniformRandom(9));
    const y = (await session.run({ x: new ort.Tensor('float32', x, [3, 16]) })).y.data as Float32Array;
    const want = reference(x);
    expect(y.length).toBe(12);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - want[i])).toBeLessThan(1e-4);
  });
});
