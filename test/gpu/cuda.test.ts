import { describe, expect, it } from 'vitest';
import { DeviceBuffer, Event, PinnedBuffer, Stream } from '../../lib/cuda.js';
import { ErrorCode, TensorRTError } from '../../lib/errors.js';
import { roundToHalf } from '../../lib/util/half.js';
import { fillUniform } from '../../lib/util/random.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

describe.skipIf(!hasGpu)(gpuSuite('CUDA layer on the GPU'), () => {
  it('round-trips random data pinned → device → f16 kernel → pinned, timed by events', async () => {
    const n = 1 << 20;
    using stream = new Stream();
    using pinned = new PinnedBuffer(n * 4);
    using back = new PinnedBuffer(n * 4);
    using dev32 = new DeviceBuffer(n * 4);
    using dev16 = new DeviceBuffer(n * 2);
    using dev32b = new DeviceBuffer(n * 4);
    using start = new Event();
    using end = new Event();
    const src = fillUniform(pinned.view(Float32Array), 1);
    const out = back.view(Float32Array).fill(NaN); // poisoned
    start.record(stream);
    stream.copy(dev32, pinned);
    stream.convert(dev16, dev32, { dstType: 'float16', srcType: 'float32', count: n });
    stream.convert(dev32b, dev16, { dstType: 'float32', srcType: 'float16', count: n });
    stream.copy(back, dev32b);
    end.record(stream);
    await end.synchronize();
    for (let i = 0; i < n; i++) {
      if (out[i] !== roundToHalf(src[i])) expect.fail(`element ${i}: ${out[i]} !== ${roundToHalf(src[i])}`);
    }
    const ms = end.elapsedSince(start);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(1000);
  });

  it('concurrent copies on two streams do not interfere', async () => {
    const n = 1 << 22;
    const streams = [new Stream(), new Stream()];
    const hosts = [new PinnedBuffer(n * 4), new PinnedBuffer(n * 4)];
    const backs = [new PinnedBuffer(n * 4), new PinnedBuffer(n * 4)];
    const devs = [new DeviceBuffer(n * 4), new DeviceBuffer(n * 4)];
    for (let k = 0; k < 2; k++) {
      fillUniform(hosts[k].view(Float32Array), 10 + k);
      backs[k].view(Float32Array).fill(NaN);
    }
    for (let k = 0; k < 2; k++) {
      streams[k].copy(devs[k], hosts[k]);
      streams[k].copy(backs[k], devs[k]);
    }
    await Promise.all(streams.map((s) => s.synchronize()));
    for (let k = 0; k < 2; k++) {
      expect(Buffer.compare(Buffer.from(backs[k].arrayBuffer), Buffer.from(hosts[k].arrayBuffer))).toBe(0);
    }
    for (const r of [...streams, ...hosts, ...backs, ...devs]) r.dispose();
  });

  it('keeps the event loop turning while a large copy is in flight', async () => {
    const bytes = 256 << 20;
    using stream = new Stream();
    using pinned = new PinnedBuffer(bytes);
    using dev = new DeviceBuffer(bytes);
    new Uint8Array(pinned.arrayBuffer).fill(7);
    let turns = 0;
    let done = false;
    const spin = () => {
      if (done) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    for (let i = 0; i < 8; i++) stream.copy(dev, pinned);
    await stream.synchronize();
    done = true;
    expect(turns).toBeGreaterThan(5);
  });

  it('copies pageable memory off the JS thread', async () => {
    const n = 1 << 20;
    using stream = new Stream();
    using dev = new DeviceBuffer(n * 4);
    using back = new PinnedBuffer(n * 4);
    const src = fillUniform(new Float32Array(n), 3);
    await stream.copyFromHost(dev, src);
    stream.copy(back, dev);
    await stream.synchronize();
    expect(Buffer.compare(Buffer.from(back.arrayBuffer), Buffer.from(src.buffer))).toBe(0);
  });

  it('throws ERR_DISPOSED after dispose, which is idempotent, and detaches pinned views', () => {
    const stream = new Stream();
    const pinned = new PinnedBuffer(1024);
    const view = pinned.view(Float32Array);
    expect(view.length).toBe(256);
    pinned.dispose();
    pinned.dispose();
    expect(view.length).toBe(0);
    expect(() => pinned.view(Float32Array)).toThrow(expect.objectContaining({ code: ErrorCode.DISPOSED }));
    stream.dispose();
    stream.dispose();
    expect(() => stream.synchronize()).toThrow(TensorRTError);
    expect(() => stream.query()).toThrow(/Stream has been disposed/);
    const dev = new DeviceBuffer(64);
    const s2 = new Stream();
    dev.dispose();
    expect(() => s2.copy(dev, new PinnedBuffer(64))).toThrow(expect.objectContaining({ code: ErrorCode.DISPOSED }));
    s2.dispose();
  });

  it('rejects out-of-range copies with a coded error', () => {
    using s = new Stream();
    using a = new DeviceBuffer(64);
    using b = new PinnedBuffer(32);
    expect(() => s.copy(a, b, { bytes: 64 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it('reports out-of-memory as a coded error and keeps working', () => {
    expect(() => new DeviceBuffer(2 ** 50)).toThrow(expect.objectContaining({ code: ErrorCode.CUDA_OUT_OF_MEMORY }));
    using ok = new DeviceBuffer(1024);
    expect(ok.byteLength).toBe(1024);
  });
});
