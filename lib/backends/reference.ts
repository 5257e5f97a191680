// The reference backend behind the same Engine/Context API: the IR interpreted in FP32 on the CPU.
// Its "pinned" buffers are ordinary memory and its timings come from the host clock.
import { performance } from 'node:perf_hooks';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { DType, type NativeContext, type NativeEngine, type NativeIOInfo } from '../native.js';
import { runReference } from '../reference/index.js';
import { evalDim } from '../ir/dims.js';
import { arrayTypeFor, type TypedArray } from '../tensor.js';
import type { DimRange, TensorInfo } from '../types.js';

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

class ReferenceContext implements NativeContext {
  readonly buffers: ArrayBuffer[];
  #engine: ReferenceEngine;
  #last = [0, 0, 0];
  #disposed = false;

  constructor(engine: ReferenceEngine, maxBatch: number) {
    this.#engine = engine;
    // Sized for the largest shape the profile allows: the batch at maxBatch, every other dim at its max.
    const max = engine.dimValues(maxBatch, Object.fromEntries(Object.entries(engine.dims).map(([k, r]) => [k, r.max])));
    this.buffers = engine.tensors.map((t) => new ArrayBuffer(engine.elements(t, max) * arrayTypeFor(t.dtype).BYTES_PER_ELEMENT));
  }

  async run(batch: number, _transfers?: boolean, dims: Record<string, number> = {}): Promise<void> {
    if (this.#disposed) throw new TensorRTError(ErrorCode.DISPOSED, 'InferenceContext has been disposed');
    await yieldToLoop(); // the interpreter is synchronous: at least let pending I/O run first
    const feeds: Record<string, TypedArray> = {};
    const e = this.#engine;
    const bound = e.dimValues(batch, dims);
    e.tensors.forEach((t, i) => {
      if (i < e.inputCount) feeds[t.name] = new (arrayTypeFor(t.dtype))(this.buffers[i], 0, e.elements(t, bound));
    });
    const t0 = performance.now();
    const out = runReference(e.graph, feeds as never, { dims: Object.fromEntries(bound) }) as Record<string, TypedArray>;
    this.#last = [0, performance.now() - t0, 0];
    e.tensors.forEach((t, i) => {
      if (i < e.inputCount) return;
      const src = out[t.name];
      if (!src) throw new TensorRTError(ErrorCode.INVALID_MODEL, `The reference run produced no '${t.name}'`);
      if (src.length * src.BYTES_PER_ELEMENT > this.buffers[i].byteLength) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Output '${t.name}' (${src.length} elements) exceeds its buffer`);
      (new (arrayTypeFor(t.dtype))(this.buffers[i]) as unknown as { set(a: ArrayLike<unknown>): void }).set(src as never);
    });
  }

  timings(): number[] {
    return this.#last;
  }

  async profile(batch: number, iterations: number, dims: Record<string, number> = {}): Promise<{ name: string; op: string; tactic: string; ms: number }[]> {
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      await this.run(batch, true, dims);
      times.push(this.#last[1]);
    }
    times.sort((a, b) => a - b);
    return [{ name: 'reference', op: 'graph', tactic: 'interpreter', ms: times[times.length >> 1] }];
  }

  dispose(): void {
    this.#disposed = true;
  }
}

/** A NativeEngine over the CPU interpreter. */
export class ReferenceEngine implements NativeEngine {
  readonly graph: Graph;
  readonly tensors: TensorInfo[];
  readonly inputCount: number;

  readonly dims: Record<string, DimRange>;

  constructor(graph: Graph, inputs: TensorInfo[], outputs: TensorInfo[], dims: Record<string, DimRange> = {}) {
    this.graph = graph;
    this.tensors = [...inputs, ...outputs];
    this.inputCount = inputs.length;
    this.dims = dims;
  }

  /** Every symbol's value: the named dims, and the batch (each input's axis-0 symbol). */
  dimValues(batch: number, dims: Record<string, number>): Map<string, number> {
    const m = new Map(Object.entries(dims));
    for (const t of this.tensors.slice(0, this.inputCount)) if (typeof t.shape[0] === 'string' && !m.has(t.shape[0])) m.set(t.shape[0], batch);
    return m;
  }

  /** Elements of a tensor once its symbols are bound. */
  elements(t: TensorInfo, bound: Map<string, number>): number {
    return t.shape.reduce<number>((n, d) => {
      const v = evalDim(d, bound);
      if (v === undefined) throw new TensorRTError(ErrorCode.UNSUPPORTED_OP, `Tensor '${t.name}' has the dimension '${d}', which no input determines; the reference backend cannot size its buffer`);
      return n * v;
    }, 1);
  }

  io(): NativeIOInfo[] {
    return this.tensors.map((t, i) => ({
      name: t.name,
      isInput: i < this.inputCount,
      dtype: DType[t.dtype],
      shape: t.shape.map((d) => (typeof d === 'number' ? d : -1)),
    }));
  }

  async createContext(maxBatch: number): Promise<NativeContext> {
    return new ReferenceContext(this, maxBatch);
  }

  deviceMemory(): number {
    return 0;
  }

  dispose(): void {}
}
