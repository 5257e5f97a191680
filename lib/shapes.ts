// Resolves BuildOptions.shapes (min/opt/max per input) into the batch profile the engine is built for.
import { ErrorCode, TensorRTError } from './errors.js';
import type { BatchProfile, Dim, ShapeProfile } from './types.js';
import { invalid, isInteger, plainObject } from './validate.js';

/** The default profile for a dynamic batch when no shapes are given. */
export const DEFAULT_PROFILE: BatchProfile = Object.freeze({ min: 1, opt: 1, max: 32 });

export interface ProfileInput {
  name: string;
  shape: Dim[];
}

/**
 * The batch profile for `inputs`: from `shapes` when given (every dynamic input needs one; static dims must
 * match; min ≤ opt ≤ max; every input agrees on the batch), else DEFAULT_PROFILE, or the static batch.
 * @example resolveBatchProfile([{ name: 'input', shape: ['batch', 3, 224, 224] }], { input: { min: [1,3,224,224], opt: [8,3,224,224], max: [32,3,224,224] } })
 */
export function resolveBatchProfile(inputs: ProfileInput[], shapes?: Record<string, ShapeProfile>): BatchProfile {
  const dynamic = inputs.filter((i) => i.shape.some((d) => typeof d !== 'number'));
  for (const i of dynamic) {
    const bad = i.shape.findIndex((d, k) => k > 0 && typeof d !== 'number');
    if (bad > 0) {
      throw new TensorRTError(
        ErrorCode.UNSUPPORTED_OP,
        `Input '${i.name}' has a dynamic dimension at axis ${bad} ([${i.shape.join(', ')}]); only the batch (axis 0) may be dynamic`,
      );
    }
  }
  if (shapes === undefined) {
    if (dynamic.length) return { ...DEFAULT_PROFILE };
    const b = Number(inputs[0]?.shape[0] ?? 1);
    return { min: b, opt: b, max: b };
  }
  const s = plainObject(shapes, 'shapes');
  const names = new Set(inputs.map((i) => i.name));
  for (const k of Object.keys(s)) {
    if (!names.has(k)) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `shapes names '${k}', which is not an input of the model (inputs: ${[...names].join(', ')})`);
    }
  }
  let profile: BatchProfile | undefined;
  for (const input of inputs) {
    const entry = s[input.name] as ShapeProfile | undefined;
    if (entry === undefined) {
      if (input.shape.some((d) => typeof d !== 'number')) {
        throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `shapes has no min/opt/max for dynamic input '${input.name}' [${input.shape.join(', ')}]`);
      }
      continue;
    }
    const e = plainObject(entry, `shapes.${input.name}`);
    const read = (which: 'min' | 'opt' | 'max'): number[] => {
      const v = e[which];
      if (!Array.isArray(v) || v.length !== input.shape.length || !v.every((d) => isInteger(d) && d > 0)) {
        invalid(`an array of ${input.shape.length} positive integers`, `shapes.${input.name}.${which}`, v);
      }
      input.shape.forEach((d, k) => {
        if (typeof d === 'number' && v[k] !== d) {
          throw new TensorRTError(
            ErrorCode.INVALID_ARGUMENT,
            `shapes.${input.name}.${which}[${k}] is ${v[k]} but the model fixes that dimension to ${d}`,
          );
        }
      });
      return v as number[];
    };
    const p = { min: read('min')[0], opt: read('opt')[0], max: read('max')[0] };
    if (!(p.min <= p.opt && p.opt <= p.max)) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `shapes.${input.name} must have min ≤ opt ≤ max, got batch ${p.min}, ${p.opt}, ${p.max}`);
    }
    if (profile && (profile.min !== p.min || profile.opt !== p.opt || profile.max !== p.max)) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Inputs disagree on the batch profile ('${input.name}')`);
    }
    profile = p;
  }
  return profile ?? { ...DEFAULT_PROFILE };
}
