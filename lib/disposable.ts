import { ErrorCode, TensorRTError } from './errors.js';

/**
 * Base for every object that owns native resources: explicit, idempotent dispose(), Symbol.dispose,
 * and ERR_DISPOSED on any use afterwards. Finalizers in native code are only a safety net.
 */
export abstract class Resource implements Disposable {
  #disposed = false;
  protected abstract readonly resourceName: string;

  /** True once dispose() has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Throws ERR_DISPOSED if this object has been disposed. */
  protected live(): void {
    if (this.#disposed) throw new TensorRTError(ErrorCode.DISPOSED, `${this.resourceName} has been disposed`);
  }

  /** Frees the native resources now. Calling it again does nothing. */
  dispose(): void {
    if (this.#disposed) return;
    this.release();
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Frees what this object owns; called once. */
  protected abstract release(): void;
}
