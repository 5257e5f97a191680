// validateEngine: the accuracy comparison the FP16 workflow needs, against the CPU reference or another engine.
import { sourceGraphOf, buildEngine } from './builder.js';
import { Engine } from './engine.js';
import { ErrorCode, TensorRTError } from './errors.js';
import { rowElements, type TypedArray } from './tensor.js';
import type { OutputError, ValidationReport } from './types.js';
import { writeModel } from './onnx/index.js';
import { fillUniform } from './util/random.js';
import { invalid, knownKeys, plainObject, positiveInteger } from './validate.js';

export interface ValidateOptions {
  /** 'reference' (CPU FP32 interpreter of the source model) or another engine of the same model. */
  against?: 'reference' | Engine;
  /** Random samples (never zeros), default 64. */
  samples?: number;
  /** Rows per run, default the smaller of 32 and both engines' profile max. */
  batch?: number;
  seed?: number;
  /** The ONNX model, needed for 'reference' when the engine was loaded from a plan. */
  model?: string | Uint8Array;
}

/**
 * Runs both engines on the same random inputs and reports, per output, max/mean absolute error, the relative
 * error ‖a−b‖/‖b‖ per sample (max and mean over samples) and over all samples, and top-1 agreement of the first
 * output (arg-max over its last axis).
 * @example const report = await validateEngine(fp16Engine, { against: 'reference', samples: 32 });
 */
export async function validateEngine(engine: Engine, options: ValidateOptions = {}): Promise<ValidationReport> {
  const o = plainObject(options, 'options');
  knownKeys(o, 'validateEngine options', ['against', 'samples', 'batch', 'seed', 'model']);
  if (!(engine instanceof Engine)) invalid('an Engine', 'engine', engine);
  const samples = positiveInteger(o.samples ?? 64, 'samples');
  const seed = positiveInteger(o.seed ?? 1, 'seed');
  let other: Engine;
  let owned = false;
  if (o.against instanceof Engine) {
    other = o.against;
  } else if (o.against === undefined || o.against === 'reference') {
    const source = sourceGraphOf(engine);
    const model = o.model as string | Uint8Array | undefined;
    if (!source && !model) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, 'This engine was loaded from a plan: pass { model } (the ONNX file) to validate it against the reference');
    }
    other = await buildEngine(model ?? writeModel(source!), { backend: 'reference', precision: 'fp32', shapes: shapesOf(engine) });
    owned = true;
  } else {
    return invalid("'reference' or an Engine", 'against', o.against);
  }
  const maxBatch = Math.min(engine.profile.max, other.profile.max);
  const batch = Math.min(positiveInteger(o.batch ?? Math.min(32, maxBatch), 'batch'), maxBatch);
  const a = await engine.createContext({ maxBatch: batch });
  const b = await other.createContext({ maxBatch: batch });
  try {
    const acc = engine.outputs.map((t) => ({ name: t.name, maxAbs: 0, sumAbs: 0, n: 0, rel: [] as number[], num: 0, den: 0 }));
    let agree = 0;
    let done = 0;
    while (done < samples) {
      const rows = Math.max(engine.profile.min, Math.min(batch, samples - done));
      for (const t of engine.inputs) {
        const view = a.inputs[t.name];
        if (!(view instanceof Float32Array)) throw new TensorRTError(ErrorCode.INVALID_INPUT, `validateEngine needs float32 inputs ('${t.name}' is ${t.dtype})`);
        fillUniform(view.subarray(0, rows * rowElements(t.shape)), seed * 7919 + done);
        (b.inputs[t.name] as Float32Array).set(view.subarray(0, rows * rowElements(t.shape)));
      }
      await Promise.all([a.run({ batch: rows }), b.run({ batch: rows })]);
      engine.outputs.forEach((t, k) => {
        const row = rowElements(t.shape);
        const x = toFloat(a.outputs[t.name], rows * row);
        const y = toFloat(b.outputs[t.name], rows * row);
        const e = acc[k];
        for (let r = 0; r < rows; r++) {
          let num = 0;
          let den = 0;
          let best = -Infinity;
          let bestRef = -Infinity;
          let ia = -1;
          let ib = -1;
          for (let i = r * row; i < (r + 1) * row; i++) {
            const d = Math.abs(x[i] - y[i]);
            if (!(d <= e.maxAbs)) e.maxAbs = Number.isNaN(d) ? NaN : d;
            e.sumAbs += d;
            num += d * d;
            den += y[i] * y[i];
            if (k === 0) {
              if (x[i] > best) [best, ia] = [x[i], i];
              if (y[i] > bestRef) [bestRef, ib] = [y[i], i];
            }
          }
          e.n += row;
          e.rel.push(Math.sqrt(num / (den || 1)));
          e.num += num;
          e.den += den;
          if (k === 0 && ia === ib) agree++;
        }
      });
      done += rows;
    }
    const outputs: OutputError[] = acc.map((e) => ({
      name: e.name,
      maxAbs: e.maxAbs,
      meanAbs: e.sumAbs / e.n,
      maxRel: Math.max(...e.rel),
      meanRel: e.rel.reduce((s, v) => s + v, 0) / e.rel.length,
      relL2: Math.sqrt(e.num / (e.den || 1)),
    }));
    return { samples: done, outputs, top1Agreement: agree / done };
  } finally {
    a.dispose();
    b.dispose();
    if (owned) other.dispose();
  }
}

function toFloat(a: TypedArray, n: number): Float32Array {
  if (a instanceof Float32Array) return a.subarray(0, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(a[i]);
  return out;
}

function shapesOf(engine: Engine) {
  const shapes: Record<string, { min: number[]; opt: number[]; max: number[] }> = {};
  for (const t of engine.inputs) {
    if (typeof t.shape[0] !== 'string') continue;
    const rest = t.shape.slice(1) as number[];
    shapes[t.name] = { min: [engine.profile.min, ...rest], opt: [engine.profile.opt, ...rest], max: [engine.profile.max, ...rest] };
  }
  return Object.keys(shapes).length ? shapes : undefined;
}

