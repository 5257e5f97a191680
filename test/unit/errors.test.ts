import { describe, expect, it } from 'vitest';
import { ErrorCode, TensorRTError, hasCode } from '../../lib/errors.js';
import { describe as describeValue, nonNegativeInteger, oneOf, positiveInteger } from '../../lib/validate.js';

describe('errors', () => {
  it('carries a stable code and a name', () => {
    const e = new TensorRTError(ErrorCode.DISPOSED, 'Stream has been disposed');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('ERR_DISPOSED');
    expect(e.name).toBe('TensorRTError');
    expect(hasCode(e, ErrorCode.DISPOSED)).toBe(true);
    expect(hasCode(new Error('x'), ErrorCode.DISPOSED)).toBe(false);
  });

  it('codes are unique and prefixed', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^ERR_[A-Z0-9_]+$/);
  });
});

describe('validation messages read like sharp', () => {
  it('rejects a negative integer', () => {
    expect(() => positiveInteger(-3, 'batch')).toThrow('Expected a positive integer for batch but received -3 of type number');
  });
  it('rejects a non-integer', () => {
    expect(() => nonNegativeInteger(1.5, 'device')).toThrow('Expected a non-negative integer for device but received 1.5 of type number');
  });
  it('rejects a string', () => {
    expect(() => positiveInteger('4', 'bytes')).toThrow("Expected a positive integer for bytes but received '4' of type string");
  });
  it('rejects a choice outside the list', () => {
    expect(() => oneOf('int4', 'precision', ['fp16', 'fp32'])).toThrow(
      "Expected one of 'fp16', 'fp32' for precision but received 'int4' of type string",
    );
  });
  it('describes values', () => {
    expect(describeValue(null)).toBe('null');
    expect(describeValue(new Float32Array(3))).toBe('a Float32Array of length 3');
    expect(describeValue([1, 2])).toBe('an array of length 2');
  });
  it('throws coded errors', () => {
    try {
      positiveInteger(0, 'count');
      expect.unreachable();
    } catch (e) {
      expect(hasCode(e, ErrorCode.INVALID_ARGUMENT)).toBe(true);
    }
  });
});
