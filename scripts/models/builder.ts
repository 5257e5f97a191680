// Builds CNN graphs with seeded weights. Every node also runs eagerly on a calibration image, so
// BatchNorm statistics are the real per-channel moments of the conv outputs they follow: the
// activations stay O(1) at any depth, in float32 and float16 alike.
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { AttrValue, Dim, Node } from '../../lib/ir/types.js';
import { runNode, type RTensor } from '../../lib/reference/index.js';
import { Rng } from './rng.js';

export interface BuildOptions {
  /** Seed of the weights (default 1). */
  seed?: number;
  /** Whether the batch dimension is dynamic ('batch'); otherwise it is 1 (default true). */
  dynamicBatch?: boolean;
  /**
   * Resolution of the calibration image that sets BatchNorm statistics (default: the model's size).
   * Smaller is faster but shifts statistics (border effects), so activations drift with depth.
   */
  calibrationSize?: number;
}

/**
 * Builds a graph node by node while running each node on the calibration image.
 * @example
 * const b = new ModelBuilder('net', { name: 'input', channels: 3, size: 32 }, { seed: 1 }); b.conv('input', 3, 8, 3, { name: 'c1' });
 */
export class ModelBuilder {
  readonly g: Graph;
  readonly rng: Rng;
  private readonly calib = new Map<string, RTensor>();
  private count = 0;

  constructor(name: string, input: { name: string; channels: number; size: number }, opts: BuildOptions) {
    this.rng = new Rng(opts.seed ?? 1);
    const batch: Dim = opts.dynamicBatch === false ? 1 : 'batch';
    this.g = new Graph({ name, opset: 17, irVersion: 8, producerName: 'node-tensorrt gen-models', producerVersion: '1' });
    this.g.inputs.push({ name: input.name, type: { dtype: 'float32', shape: [batch, input.channels, input.size, input.size] } });
    // The calibration image: one N(0, 1) sample, from its own stream so it doesn't shift the weights.
    // Small resolutions get several images, so the deepest (smallest) maps still give every channel
    // enough samples for stable moments.
    const cal = new Rng((opts.seed ?? 1) ^ 0x5bd1e995);
    const cs = opts.calibrationSize ?? input.size;
    const n = Math.min(16, Math.max(1, Math.round((224 / cs) ** 2)));
    this.calib.set(input.name, { dtype: 'float32', dims: [n, input.channels, cs, cs], data: cal.normalArray(n * input.channels * cs * cs, 1) });
  }

  /** The calibration value of a tensor. */
  value(name: string): RTensor {
    const v = this.calib.get(name);
    if (!v) throw new Error(`no calibration value for '${name}'`);
    return v;
  }

  weight(name: string, dims: number[], data: Float32Array): string {
    this.g.initializers.set(name, { name, dtype: 'float32', dims, data });
    this.calib.set(name, { dtype: 'float32', dims, data });
    return name;
  }

  /** An int64 initializer: a 1-D list, or a scalar when given a number. */
  int64(name: string, values: number[] | number): string {
    const list = typeof values === 'number' ? [values] : values;
    const dims = typeof values === 'number' ? [] : [list.length];
    const data = BigInt64Array.from(list, (v) => BigInt(v));
    this.g.initializers.set(name, { name, dtype: 'int64', dims, data });
    this.calib.set(name, { dtype: 'int64', dims, data });
    return name;
  }

  scalar(name: string, v: number): string {
    const data = new Float32Array([v]);
    this.g.initializers.set(name, { name, dtype: 'float32', dims: [], data });
    this.calib.set(name, { dtype: 'float32', dims: [], data });
    return name;
  }

  /** Appends a node, runs it on the calibration values, and returns its output names. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, name?: string, outputs = 1): string[] {
    const id = name ?? `${op.toLowerCase()}_${this.count++}`;
    const outs = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? `${id}_out` : `${id}_out${i}`));
    const node: Node = { name: id, op, domain: '', inputs, outputs: outs, attrs };
    this.g.nodes.push(node);
    const res = runNode(node, this.g.opset, inputs.map((i) => (i ? this.value(i) : undefined)));
    outs.forEach((o, i) => this.calib.set(o, res[i]));
    return outs;
  }

  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, name?: string): string {
    return this.node(op, inputs, attrs, name)[0];
  }

  /** Conv with He-uniform weights (variance 2/fan-in, as kaiming_uniform), optional bias. */
  conv(x: string, cin: number, cout: number, k: number, opts: { stride?: number; group?: number; pad?: number; bias?: boolean; name: string }): string {
    const group = opts.group ?? 1;
    const fanIn = (cin / group) * k * k;
    const bound = Math.sqrt(6 / fanIn);
    const w = this.weight(`${opts.name}.weight`, [cout, cin / group, k, k], this.rng.uniformArray(cout * fanIn, -bound, bound));
    const inputs = [x, w];
    if (opts.bias) inputs.push(this.weight(`${opts.name}.bias`, [cout], this.rng.normalArray(cout, 0.1)));
    const pad = opts.pad ?? (k - 1) >> 1;
    const s = opts.stride ?? 1;
    return this.op('Conv', inputs, { dilations: [1, 1], group, kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [s, s] }, opts.name);
  }

  /**
   * BatchNormalization whose running statistics are the calibration moments of its input, with
   * scale ~ U(gamma) and shift ~ N(0, betaStd): its output is ~N(beta, gamma²) per channel.
   */
  bn(x: string, c: number, name: string, gamma: [number, number] = [0.7, 1.3], betaStd = 0.2): string {
    const v = this.value(x);
    const n = v.dims[0];
    const p = v.data.length / c / n;
    const mean = new Float32Array(c);
    const variance = new Float32Array(c);
    const d = v.data as Float32Array;
    for (let ch = 0; ch < c; ch++) {
      let s = 0, s2 = 0;
      for (let b = 0; b < n; b++) {
        for (let i = (b * c + ch) * p; i < (b * c + ch + 1) * p; i++) {
          s += d[i];
          s2 += d[i] * d[i];
        }
      }
      const m = s / (n * p);
      mean[ch] = m;
      variance[ch] = Math.max(s2 / (n * p) - m * m, 1e-3);
    }
    const scale = this.weight(`${name}.weight`, [c], this.rng.uniformArray(c, gamma[0], gamma[1]));
    const bias = this.weight(`${name}.bias`, [c], this.rng.normalArray(c, betaStd));
    const rm = this.weight(`${name}.running_mean`, [c], mean);
    const rv = this.weight(`${name}.running_var`, [c], variance);
    return this.op('BatchNormalization', [x, scale, bias, rm, rv], { epsilon: 1e-5, momentum: 0.9 }, name);
  }

  /**
   * Gemm classifier (transB = 1) scaled so the calibration logits have a std of `targetStd`.
   */
  classifier(x: string, inF: number, classes: number, name: string, targetStd = 3): string {
    const bound = Math.sqrt(3 / inF);
    const w = this.rng.uniformArray(classes * inF, -bound, bound);
    const b = this.rng.normalArray(classes, 0.1);
    const f = this.value(x).data as Float32Array;
    const n = f.length / inF;
    const z = new Float64Array(n * classes);
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < classes; j++) {
        let acc = b[j];
        for (let i = 0; i < inF; i++) acc += w[j * inF + i] * f[s * inF + i];
        z[s * classes + j] = acc;
      }
    }
    const mu = z.reduce((a, v) => a + v, 0) / z.length;
    const std = Math.sqrt(z.reduce((a, v) => a + (v - mu) ** 2, 0) / z.length) || 1;
    const k = targetStd / std;
    for (let i = 0; i < w.length; i++) w[i] *= k;
    for (let j = 0; j < classes; j++) b[j] = (b[j] - mu) * k;
    const W = this.weight(`${name}.weight`, [classes, inF], w);
    const B = this.weight(`${name}.bias`, [classes], b);
    return this.op('Gemm', [x, W, B], { alpha: 1, beta: 1, transB: 1 }, name);
  }

  /** Names the graph outputs (by Identity-free renaming of the producers' outputs) and infers shapes. */
  finish(outputs: Record<string, string>): Graph {
    const producers = this.g.producers();
    for (const [outName, value] of Object.entries(outputs)) {
      const p = producers.get(value)!;
      p.outputs = p.outputs.map((o) => (o === value ? outName : o));
      for (const n of this.g.nodes) n.inputs = n.inputs.map((i) => (i === value ? outName : i));
      this.g.outputs.push({ name: outName, type: { dtype: 'float32', shape: [] } });
    }
    inferShapes(this.g);
    return this.g;
  }
}
