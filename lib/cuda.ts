// A typed wrapper over the native CUDA layer: streams, events, device and pinned buffers.
import { resolveDevice } from './device.js';
import { Resource } from './disposable.js';
import { ErrorCode, TensorRTError } from './errors.js';
import {
  DType,
  loadAddon,
  type DTypeName,
  type NativeDeviceBuffer,
  type NativeEvent,
  type NativePinnedBuffer,
  type NativeStream,
} from './native.js';
import { invalid, nonNegativeInteger, oneOf, positiveInteger } from './validate.js';

/** A typed-array constructor that views an ArrayBuffer (Float32Array, Uint8Array, ...). */
export type TypedArrayCtor<T> = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

/**
 * Page-locked host memory that JS reads and writes in place: `view()` returns typed arrays over it, no copies.
 * @example
 * using pinned = new PinnedBuffer(4 * 1024);
 * pinned.view(Float32Array).fill(1);
 */
export class PinnedBuffer extends Resource {
  protected readonly resourceName = 'PinnedBuffer';
  /** @internal */ readonly native: NativePinnedBuffer;
  readonly byteLength: number;

  constructor(bytes: number) {
    super();
    this.byteLength = positiveInteger(bytes, 'bytes');
    resolveDevice(0); // pinned memory needs a CUDA driver and device
    this.native = new (loadAddon().NativePinnedBuffer)(bytes);
  }

  /** The memory as an ArrayBuffer; detached (length 0) after dispose. */
  get arrayBuffer(): ArrayBuffer {
    this.live();
    return this.native.arrayBuffer;
  }

  /** A typed-array view over the pinned memory (no copy). */
  view<T>(ctor: TypedArrayCtor<T>, byteOffset = 0, length?: number): T {
    this.live();
    nonNegativeInteger(byteOffset, 'byteOffset');
    if (byteOffset % ctor.BYTES_PER_ELEMENT !== 0) invalid(`a multiple of ${ctor.BYTES_PER_ELEMENT}`, 'byteOffset', byteOffset);
    const max = Math.floor((this.byteLength - byteOffset) / ctor.BYTES_PER_ELEMENT);
    if (length !== undefined && (!Number.isInteger(length) || length < 0 || length > max)) {
      invalid(`an integer length between 0 and ${max}`, 'length', length);
    }
    return new ctor(this.native.arrayBuffer, byteOffset, length ?? max);
  }

  protected release(): void {
    this.native.dispose();
  }
}

/**
 * Memory on a GPU.
 * @example using buf = new DeviceBuffer(1 << 20, { device: 0 });
 */
export class DeviceBuffer extends Resource {
  protected readonly resourceName = 'DeviceBuffer';
  /** @internal */ readonly native: NativeDeviceBuffer;
  readonly byteLength: number;
  readonly device: number;

  constructor(bytes: number, options: { device?: number } = {}) {
    super();
    this.byteLength = positiveInteger(bytes, 'bytes');
    this.device = resolveDevice(options.device ?? 0);
    this.native = new (loadAddon().NativeDeviceBuffer)(bytes, this.device);
  }

  protected release(): void {
    this.native.dispose();
  }
}

export type Memory = DeviceBuffer | PinnedBuffer;

export interface CopyOptions {
  /** Bytes to copy; default: the whole smaller buffer (after offsets). */
  bytes?: number;
  dstOffset?: number;
  srcOffset?: number;
}

function nativeOf(m: Memory, name: string): NativeDeviceBuffer | NativePinnedBuffer {
  if (!(m instanceof DeviceBuffer) && !(m instanceof PinnedBuffer)) invalid('a DeviceBuffer or PinnedBuffer', name, m);
  if (m.disposed) throw new TensorRTError(ErrorCode.DISPOSED, `${m instanceof DeviceBuffer ? 'DeviceBuffer' : 'PinnedBuffer'} (${name}) has been disposed`);
  return m.native;
}

/**
 * A CUDA stream. Copies and kernels are enqueued and return at once; `await synchronize()` resolves when
 * the GPU reaches that point, through a host callback: the event loop never blocks.
 * @example
 * using s = new Stream();
 * s.copy(dev, pinned); await s.synchronize();
 */
export class Stream extends Resource {
  protected readonly resourceName = 'Stream';
  /** @internal */ readonly native: NativeStream;
  readonly device: number;

  constructor(options: { device?: number } = {}) {
    super();
    this.device = resolveDevice(options.device ?? 0);
    this.native = new (loadAddon().NativeStream)(this.device);
  }

  /** Enqueues an async copy between device and/or pinned buffers. */
  copy(dst: Memory, src: Memory, options: CopyOptions = {}): void {
    this.live();
    const d = nativeOf(dst, 'dst');
    const s = nativeOf(src, 'src');
    const dstOffset = nonNegativeInteger(options.dstOffset ?? 0, 'dstOffset');
    const srcOffset = nonNegativeInteger(options.srcOffset ?? 0, 'srcOffset');
    const bytes = options.bytes ?? Math.min(dst.byteLength - dstOffset, src.byteLength - srcOffset);
    nonNegativeInteger(bytes, 'bytes');
    if (dstOffset + bytes > dst.byteLength) invalid(`at most ${dst.byteLength - dstOffset} bytes`, 'bytes', bytes);
    if (srcOffset + bytes > src.byteLength) invalid(`at most ${src.byteLength - srcOffset} bytes`, 'bytes', bytes);
    this.native.copy(d, dstOffset, s, srcOffset, bytes);
  }

  /** Copies ordinary (pageable) host memory to the device on a worker thread; slower than pinned. */
  copyFromHost(dst: DeviceBuffer, src: ArrayBufferView, options: { dstOffset?: number } = {}): Promise<void> {
    this.live();
    if (!(dst instanceof DeviceBuffer)) invalid('a DeviceBuffer', 'dst', dst);
    if (!ArrayBuffer.isView(src)) invalid('a TypedArray', 'src', src);
    const dstOffset = nonNegativeInteger(options.dstOffset ?? 0, 'dstOffset');
    if (dstOffset + src.byteLength > dst.byteLength) invalid(`at most ${dst.byteLength - dstOffset} bytes`, 'src', src);
    const view = src instanceof DataView ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : src;
    return this.native.copyFromHost(nativeOf(dst, 'dst') as NativeDeviceBuffer, dstOffset, view);
  }

  /** Enqueues an element conversion (float32 ↔ float16) between device buffers. */
  convert(dst: DeviceBuffer, src: DeviceBuffer, options: { dstType: DTypeName; srcType: DTypeName; count: number }): void {
    this.live();
    if (!(dst instanceof DeviceBuffer)) invalid('a DeviceBuffer', 'dst', dst);
    if (!(src instanceof DeviceBuffer)) invalid('a DeviceBuffer', 'src', src);
    const dstType = oneOf(options.dstType, 'dstType', ['float32', 'float16'] as const);
    const srcType = oneOf(options.srcType, 'srcType', ['float32', 'float16'] as const);
    const count = nonNegativeInteger(options.count, 'count');
    const size = (t: string) => (t === 'float16' ? 2 : 4);
    if (count * size(dstType) > dst.byteLength) invalid(`at most ${Math.floor(dst.byteLength / size(dstType))} elements`, 'count', count);
    if (count * size(srcType) > src.byteLength) invalid(`at most ${Math.floor(src.byteLength / size(srcType))} elements`, 'count', count);
    this.native.convert(nativeOf(dst, 'dst') as NativeDeviceBuffer, DType[dstType], nativeOf(src, 'src') as NativeDeviceBuffer, DType[srcType], count);
  }

  /** Resolves when all work enqueued so far has completed. */
  synchronize(): Promise<void> {
    this.live();
    return this.native.synchronize();
  }

  /** True when all work enqueued so far has completed (never blocks). */
  query(): boolean {
    this.live();
    return this.native.query();
  }

  protected release(): void {
    this.native.dispose();
  }
}

/**
 * A CUDA event, for ordering and timing.
 * @example
 * start.record(s); s.copy(dev, pinned); end.record(s); await end.synchronize(); end.elapsedSince(start);
 */
export class Event extends Resource {
  protected readonly resourceName = 'Event';
  /** @internal */ readonly native: NativeEvent;
  readonly device: number;

  constructor(options: { device?: number; timing?: boolean } = {}) {
    super();
    this.device = resolveDevice(options.device ?? 0);
    this.native = new (loadAddon().NativeEvent)(this.device, options.timing ?? true);
  }

  record(stream: Stream): void {
    this.live();
    if (!(stream instanceof Stream)) invalid('a Stream', 'stream', stream);
    if (stream.disposed) throw new TensorRTError(ErrorCode.DISPOSED, 'Stream has been disposed');
    this.native.record(stream.native);
  }

  /** Resolves once the GPU has passed this event. */
  synchronize(): Promise<void> {
    this.live();
    return this.native.synchronize();
  }

  query(): boolean {
    this.live();
    return this.native.query();
  }

  /** Milliseconds from `start` to this event; both must have completed. */
  elapsedSince(start: Event): number {
    this.live();
    if (!(start instanceof Event)) invalid('an Event', 'start', start);
    if (start.disposed) throw new TensorRTError(ErrorCode.DISPOSED, 'Event has been disposed');
    return this.native.elapsedSince(start.native);
  }

  protected release(): void {
    this.native.dispose();
  }
}
