// Catching the coded error a call throws, for tests that check its code and message.
import { TensorRTError } from '../../lib/errors.js';

/** The TensorRTError `fn` throws; any other error propagates, and no error fails the test. */
export function thrownError(fn: () => unknown): TensorRTError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TensorRTError) return e;
    throw e;
  }
  throw new Error('expected a TensorRTError');
}
