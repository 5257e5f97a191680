/**
 * Awaits a native promise and, if it rejects, gives the error the caller's JS stack (captured before the
 * native work was queued), keeping the native message and code.
 */
export async function withStack<T>(promise: Promise<T>): Promise<T> {
  const site = new Error();
  try {
    return await promise;
  } catch (e) {
    if (e instanceof Error && site.stack) {
      const head = `${e.name}${(e as { code?: string }).code ? ` [${(e as { code?: string }).code}]` : ''}: ${e.message}`;
      e.stack = `${head}\n${site.stack.split('\n').slice(1).join('\n')}`;
    }
    throw e;
  }
}
