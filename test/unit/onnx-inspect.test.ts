// inspectModel: a JSON-serializable description, also of models that cannot be compiled.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModel } from '../../lib/inspect.js';
import { modelProto } from '../../lib/onnx/schema.js';
import { smallCnn } from '../../scripts/gen-models.js';

describe('inspectModel', () => {
  it('describes a model from a path', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ntrt-inspect-'));
    try {
      const file = path.join(dir, 'small.onnx');
      writeFileSync(file, smallCnn({ seed: 1 }));
      const info = await inspectModel(file);
      expect(JSON.parse(JSON.stringify(info))).toEqual(info);
      expect(info).toMatchObject({
        inputs: [{ name: 'input', shape: ['batch', 3, 32, 32], dtype: 'float32' }],
        outputs: [
          { name: 'logits', shape: ['batch', 10], dtype: 'float32' },
          { name: 'probs', shape: ['batch', 10], dtype: 'float32' },
        ],
        opset: 17,
        producer: { name: 'node-tensorrt gen-models', version: '1' },
        supported: true,
        unsupportedOps: [],
      });
      expect(info.ops).toMatchObject({ Conv: 5, BatchNormalization: 4, Gemm: 1, Softmax: 1 });
      expect(Object.keys(info.ops)[0]).toBe('Conv');
      expect(info.nodeCount).toBe(Object.values(info.ops).reduce((a, b) => a + b, 0));
      expect(info.parameters).toBeGreaterThan(20_000);
      expect(info.weightBytes).toBeGreaterThan(info.parameters * 3);
      expect(info.problem).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports unsupported ops and opsets instead of failing', async () => {
    const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 4 }] } } } });
    const model = (opset: number) =>
      modelProto()
        .encode({
          ir_version: 8,
          opset_import: [{ domain: '', version: opset }],
          graph: {
            name: 'g',
            node: [
              { op_type: 'Relu', name: 'r', input: ['x'], output: ['a'] },
              { op_type: 'TfIdfVectorizer', name: 'det_1', input: ['a'], output: ['b'] },
              { op_type: 'TfIdfVectorizer', name: 'det_2', input: ['b'], output: ['y'] },
            ],
            input: [vi('x')],
            output: [vi('y')],
          },
        } as never)
        .finish();
    const info = await inspectModel(model(17));
    expect(info.supported).toBe(false);
    expect(info.ops).toEqual({ TfIdfVectorizer: 2, Relu: 1 });
    expect(info.unsupportedOps).toEqual([{ op: 'TfIdfVectorizer', node: 'det_1' }]);
    expect(info.problem).toEqual({ code: 'ERR_UNSUPPORTED_OP', message: "Unsupported operator 'TfIdfVectorizer' (node 'det_1') at opset 17" });
    const newer = await inspectModel(model(25));
    expect(newer.opset).toBe(25);
    expect(newer.problem?.code).toBe('ERR_UNSUPPORTED_OPSET');
  });

  it('gives coded errors for unreadable input', async () => {
    await expect(inspectModel('/nonexistent.onnx')).rejects.toMatchObject({ code: 'ERR_IO' });
    await expect(inspectModel(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'ERR_INVALID_MODEL' });
    await expect(inspectModel(42 as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
