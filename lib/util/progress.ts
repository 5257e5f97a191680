// User callbacks invoked by native code (build progress through a thread-safe function): an exception there would
// surface as an uncaught process error, so it is caught, kept, and rethrown where the build is awaited.

export interface GuardedCallback<A extends unknown[]> {
  /** The callback to hand to native code (null when there is none): it never throws. */
  callback: ((...args: A) => void) | null;
  /** Throws the first error the user's callback raised, if any. */
  rethrow(): void;
}

/**
 * Wraps a user callback for native code.
 * @example const p = guardCallback(onProgress); await native.build(..., p.callback); p.rethrow();
 */
export function guardCallback<A extends unknown[]>(cb: ((...args: A) => void) | undefined | null): GuardedCallback<A> {
  let failed: { error: unknown } | undefined;
  return {
    callback: cb
      ? (...args: A) => {
          if (failed) return;
          try {
            cb(...args);
          } catch (error) {
            failed = { error };
          }
        }
      : null,
    rethrow() {
      if (failed) throw failed.error;
    },
  };
}

/**
 * Awaits native work that calls `callback`, then rethrows what the callback threw (the user's own error).
 * @example await withGuardedCallback(onProgress, (cb) => addon.build(program, cb));
 */
export async function withGuardedCallback<A extends unknown[], T>(cb: ((...args: A) => void) | undefined | null, run: (callback: ((...args: A) => void) | null) => Promise<T>): Promise<T> {
  const g = guardCallback(cb);
  let result: T;
  try {
    result = await run(g.callback);
  } catch (e) {
    g.rethrow();
    throw e;
  }
  g.rethrow();
  return result;
}
