// The reference backend behind the same Engine/Context API: the IR interpreted in FP32 on the CPU.
// Its "pinned" buffers are ordinary memory and its timings come from the host clock.
import { performance } from 'node:perf_hooks';
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { DType, type NativeContext, type NativeEngine, type NativeIOInfo } from '../native.js';
import { runReference } from '../reference/index.js';
import { arrayTypeFor, rowElements, type TypedArray } from '../tensor.js';
import type { TensorInfo } from '../types.js';

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

class ReferenceContext implements NativeContext {
  readonly buffers: ArrayBuffer[];
  #engine: ReferenceEngine;
  #last = [0, 0, 0];
  #disposed = false;

  constructor(engine: ReferenceEngine, maxBatch: number) {
    this.#engine = engine;
    this.buffers = engine.tensors.map((t) => new ArrayBuffer(rowElements(t.shape) * arrayTypeFor(t.dtype).BYTES_PER_ELEMENT * maxBatch));
  }

  async run(batch: number): Promise<void> {
    if (this.#disposed) throw new TensorRTError(ErrorCode.DISPOSED, 'InferenceContext has been disposed');
    await yieldToLoop(); // the interpreter is synchronous: at least let pending I/O run first
    const feeds: Record<string, TypedArray> = {};
    const e = this.#engine;
    e.tensors.forEach((t, i) => {
      if (i < e.inputCount) feeds[t.name] = new (arrayTypeFor(t.dtype))(this.buffers[i], 0, rowElements(t.shape) * batch);
    });
    const t0 = performance.now();
    const out = runReference(e.graph, feeds as never, { batch }) as Record<string, TypedArray>;
    this.#last = [0, performance.now() - t0, 0];
    e.tensors.forEach((t, i) => {
      if (i < e.inputCount) return;
      const src = out[t.name];
      if (!src) throw new TensorRTError(ErrorCode.INVALID_MODEL, `The reference run produced no '${t.name}'`);
      (new (arrayTypeFor(t.dtype))(this.buffers[i]) as unknown as { set(a: ArrayLike<unknown>): void }).set(src as never);
    });
  }

  timings(): number[] {
    return this.#last;
  }

  async profile(batch: number, iterations: number): Promise<{ name: string; op: string; tactic: string; ms: number }[]> {
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      await this.run(batch);
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

  constructor(graph: Graph, inputs: TensorInfo[], outputs: TensorInfo[]) {
    this.graph = graph;
    this.tensors = [...inputs, ...outputs];
    this.inputCount = inputs.length;
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
