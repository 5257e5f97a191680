import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lib/errors.js';
import { batchShapes, trtFp16Flag, trtLogLevelOf, trtLogSeverity, trtProfiles, trtProgress } from '../../lib/trt/options.js';
import type { TensorInfo } from '../../lib/types.js';
import { thrownError } from '../helpers/errors.js';

const image: TensorInfo = { name: 'input', shape: ['batch', 3, 224, 224], dtype: 'float32' };
const mask: TensorInfo = { name: 'mask', shape: ['N', 'H', 64], dtype: 'float32' };
const fixed: TensorInfo = { name: 'scale', shape: [1, 4], dtype: 'float32' };

const message = (fn: () => unknown): string => {
  const e = thrownError(fn);
  expect(e.code).toBe(ErrorCode.INVALID_ARGUMENT);
  return e.message;
};

describe('shapes → optimization profile', () => {
  it('maps every given input and takes the batch range from dimension 0', () => {
    const r = trtProfiles([image, fixed], { input: { min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [32, 3, 224, 224] } });
    expect(r.profiles).toEqual([{ input: 'input', min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [32, 3, 224, 224] }]);
    expect(r.batch).toEqual({ min: 1, opt: 8, max: 32 });
  });

  it('pins dynamic non-batch dimensions from min = opt = max', () => {
    const r = trtProfiles([mask], { mask: { min: [2, 128, 64], opt: [4, 128, 64], max: [8, 128, 64] } });
    expect(r.profiles[0].max).toEqual([8, 128, 64]);
    expect(r.batch).toEqual({ min: 2, opt: 4, max: 8 });
  });

  it('needs no shapes for a static model, whose batch is its first dimension', () => {
    expect(trtProfiles([fixed], undefined)).toEqual({ profiles: [], batch: { min: 1, opt: 1, max: 1 }, dims: {} });
    expect(trtProfiles([{ name: 'x', shape: [16, 8], dtype: 'float16' }], {}).batch).toEqual({ min: 16, opt: 16, max: 16 });
  });

  it('requires a profile for every dynamic input, with an example', () => {
    expect(message(() => trtProfiles([image], undefined))).toBe(
      "Input 'input' has dynamic dimensions ['batch', 3, 224, 224]; give its shapes, e.g. " +
        'shapes: { "input": { min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [32, 3, 224, 224] } }',
    );
  });

  it('names unknown inputs and the real ones', () => {
    expect(message(() => trtProfiles([image, fixed], { images: {} }))).toBe("Unknown input 'images' in shapes; the model's inputs are 'input', 'scale'");
  });

  it('checks the type, rank and elements of min/opt/max', () => {
    expect(message(() => trtProfiles([image], 'big'))).toBe("Expected an object for shapes but received 'big' of type string");
    expect(message(() => trtProfiles([image], { input: [1, 2] }))).toBe('Expected an object for shapes.input but received an array of length 2');
    expect(message(() => trtProfiles([image], { input: { min: [1, 3, 224], opt: [1, 3, 224, 224], max: [1, 3, 224, 224] } }))).toBe(
      'Expected an array of 4 positive integers for shapes.input.min but received an array of length 3',
    );
    expect(message(() => trtProfiles([image], { input: { min: [0, 3, 224, 224], opt: [1, 3, 224, 224], max: [1, 3, 224, 224] } }))).toBe(
      'Expected an array of 4 positive integers for shapes.input.min but element 0 is 0 of type number',
    );
    expect(message(() => trtProfiles([image], { input: { min: [1, 3, 224, 224], opt: [1, 3, 224, 224] } }))).toBe(
      'Expected an array of 4 positive integers for shapes.input.max but received undefined',
    );
    expect(message(() => trtProfiles([image], { input: { min: [1, 3, 224, 224], opt: [1, 3, 224, 224], max: [1, 3, 224, 224], best: [] } }))).toBe(
      "Unknown option 'best' in shapes.input; expected one of min, opt, max",
    );
  });

  it('keeps fixed dimensions fixed', () => {
    expect(message(() => trtProfiles([image], { input: { min: [1, 3, 224, 224], opt: [4, 3, 224, 224], max: [8, 4, 224, 224] } }))).toBe(
      "shapes.input.max[1] is 4 but dimension 1 of input 'input' ['batch', 3, 224, 224] is fixed at 3",
    );
  });

  it('requires min ≤ opt ≤ max elementwise', () => {
    expect(message(() => trtProfiles([image], { input: { min: [8, 3, 224, 224], opt: [4, 3, 224, 224], max: [16, 3, 224, 224] } }))).toBe(
      'shapes.input: min ≤ opt ≤ max must hold in every dimension, but dimension 0 has min 8, opt 4, max 16',
    );
  });

  it('lets any dynamic dimension vary, one range per symbol across inputs', () => {
    const r = trtProfiles([mask], { mask: { min: [1, 64, 64], opt: [1, 128, 64], max: [1, 256, 64] } });
    expect(r.profiles).toEqual([{ input: 'mask', min: [1, 64, 64], opt: [1, 128, 64], max: [1, 256, 64] }]);
    expect(r.dims).toEqual({ H: { min: 64, opt: 128, max: 256 } });
    const ids: TensorInfo = { name: 'ids', shape: ['batch', 'sequence'], dtype: 'int64' };
    const am: TensorInfo = { name: 'am', shape: ['batch', 'sequence'], dtype: 'int64' };
    const seq = (lo: number, hi: number) => ({ min: [1, lo], opt: [4, hi], max: [8, hi] });
    expect(trtProfiles([ids, am], { ids: seq(1, 128), am: seq(1, 128) }).dims).toEqual({ sequence: { min: 1, opt: 128, max: 128 } });
    expect(message(() => trtProfiles([ids, am], { ids: seq(1, 128), am: seq(1, 64) }))).toBe(
      "shapes.am: dimension 1 ('sequence') has range 1/64/64, but another input gives 'sequence' 1/128/128",
    );
  });

  it('requires one batch range across inputs', () => {
    const other: TensorInfo = { name: 'ids', shape: ['batch', 16], dtype: 'int32' };
    expect(
      message(() =>
        trtProfiles([image, other], {
          input: { min: [1, 3, 224, 224], opt: [4, 3, 224, 224], max: [8, 3, 224, 224] },
          ids: { min: [1, 16], opt: [2, 16], max: [8, 16] },
        }),
      ),
    ).toBe('All dynamic inputs must share the batch range: shapes.input gives batch 1/4/8 but shapes.ids gives 1/2/8 (min/opt/max of dimension 0)');
  });

  it('builds shapes from a batch range', () => {
    expect(batchShapes([image, fixed], { min: 1, opt: 2, max: 4 })).toEqual({
      input: { min: [1, 3, 224, 224], opt: [2, 3, 224, 224], max: [4, 3, 224, 224] },
    });
    expect(message(() => batchShapes([mask], { min: 1, opt: 2, max: 4 }))).toBe(
      "Input 'mask' ['N', 'H', 64] has dynamic dimensions besides the batch; give its shapes explicitly",
    );
  });
});

describe('FP16, log levels and progress', () => {
  it('uses the kFP16 flag on 10.x unless the ONNX is autocast, and never on 11.x', () => {
    expect(trtFp16Flag('10.16.0', 'fp16', false)).toBe(true);
    expect(trtFp16Flag('10.16.0', 'fp16', true)).toBe(false);
    expect(trtFp16Flag('10.16.0', 'fp32', false)).toBe(false);
    expect(trtFp16Flag('11.1.0', 'fp16', true)).toBe(false);
    expect(trtFp16Flag('11.1.0', 'fp32', false)).toBe(false);
    expect(message(() => trtFp16Flag('11.1.0', 'fp16', false))).toContain('TensorRT 11.1.0 takes FP16 from the model itself');
  });

  it('maps log levels to ILogger severities and back', () => {
    expect(['error', 'warning', 'info', 'verbose'].map((l) => trtLogSeverity(l as never))).toEqual([1, 2, 3, 4]);
    expect([0, 1, 2, 3, 4].map(trtLogLevelOf)).toEqual(['error', 'error', 'warning', 'info', 'verbose']);
  });

  it('names progress phases', () => {
    expect(trtProgress('parse', 1, 1)).toEqual({ phase: 'parse', done: 1, total: 1, trtPhase: 'parse' });
    expect(trtProgress('Building engine/Tactic selection', 3, 9).phase).toBe('tactics');
    expect(trtProgress('Building engine/Graph optimization', 0, 4).phase).toBe('optimize');
  });
});
