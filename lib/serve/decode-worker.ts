// A decode thread of the server's pool (decode-pool.ts): reads one KServe JSON request body and hands back its
// tensors, their memory moved to the event loop's thread rather than copied.
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { TensorRTError } from '../errors.js';
import { decodeInferRequest, type InferRequest, type ModelSpec } from './kserve.js';

const spec = workerData as ModelSpec;

/** What a decode task answers: the request, or the coded error it was refused with. */
export type DecodeResult = { request: InferRequest } | { error: { code: string; message: string } };

export default function decode(task: { body: Uint8Array; headerLength?: number }): unknown {
  let result: DecodeResult;
  try {
    result = { request: decodeInferRequest(task.body, task.headerLength, spec) };
  } catch (e) {
    if (!(e instanceof TensorRTError)) throw e;
    return { error: { code: e.code, message: e.message } } satisfies DecodeResult;
  }
  // Each tensor owns its buffer (decodeInferRequest allocates them): move them all.
  const buffers = Object.values(result.request.feeds).map((t) => t.buffer);
  return move({ [transferableSymbol]: buffers, [valueSymbol]: result } as never);
}
