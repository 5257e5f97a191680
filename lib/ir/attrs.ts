// Attribute access with validation, and the per-op table of which numeric attributes are floats.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { AttrValue, Constant, Node } from './types.js';

/** Numeric attributes that ONNX types FLOAT/FLOATS; every other numeric attribute is INT/INTS. */
export const FLOAT_ATTRS: Record<string, readonly string[]> = {
  BatchNormalization: ['epsilon', 'momentum'],
  Clip: ['min', 'max'],
  Constant: ['value_float', 'value_floats'],
  Dropout: ['ratio'],
  FusedConv: ['act_alpha', 'act_beta'],
  FusedMBConv: ['expand_alpha', 'expand_beta', 'dw_alpha', 'dw_beta', 'act_alpha', 'act_beta'],
  Gemm: ['alpha', 'beta'],
  HardSigmoid: ['alpha', 'beta'],
  LeakyRelu: ['alpha'],
  LayerNormalization: ['epsilon'],
  RMSNormalization: ['epsilon'],
  Attention: ['scale', 'softcap'],
  Elu: ['alpha'],
  Selu: ['alpha', 'gamma'],
  Shrink: ['lambd', 'bias'],
  RoiAlign: ['spatial_scale'],
  Swish: ['alpha'],
  Celu: ['alpha'],
  ThresholdedRelu: ['alpha'],
  Pad: ['value'],
  Resize: ['cubic_coeff_a', 'extrapolation_value'],
  Upsample: ['scales'],
  EfficientNMS: ['score_threshold', 'iou_threshold'],
  InstanceNormalization: ['epsilon'],
  GroupNormalization: ['epsilon'],
  LRN: ['alpha', 'beta', 'bias'],
  RNN: ['clip', 'activation_alpha', 'activation_beta'],
  GRU: ['clip', 'activation_alpha', 'activation_beta'],
  LSTM: ['clip', 'activation_alpha', 'activation_beta'],
};

/** Whether an op's numeric attribute is a FLOAT (else INT), e.g. isFloatAttr('Gemm', 'alpha') === true. */
export function isFloatAttr(op: string, name: string): boolean {
  return FLOAT_ATTRS[op]?.includes(name) ?? false;
}

function bad(node: Node, name: string, what: string, v: AttrValue): never {
  const shown = typeof v === 'object' && !Array.isArray(v) ? 'a tensor' : JSON.stringify(v);
  throw new TensorRTError(ErrorCode.INVALID_MODEL, `Attribute '${name}' of node '${node.name}' (${node.op}) must be ${what}, got ${shown}`);
}

/**
 * An INT attribute, or `def` when absent; ERR_INVALID_MODEL when it is no integer.
 * @example
 * const group = attrInt(node, 'group', 1);
 */
export function attrInt(node: Node, name: string, def: number): number;
export function attrInt(node: Node, name: string, def?: number): number | undefined;
export function attrInt(node: Node, name: string, def?: number): number | undefined {
  const v = node.attrs[name];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(node, name, 'an integer', v);
  return v;
}

/** A FLOAT attribute, or `def` when absent. */
export function attrFloat(node: Node, name: string, def: number): number;
export function attrFloat(node: Node, name: string, def?: number): number | undefined;
export function attrFloat(node: Node, name: string, def?: number): number | undefined {
  const v = node.attrs[name];
  if (v === undefined) return def;
  if (typeof v !== 'number') bad(node, name, 'a number', v);
  return v;
}

/** An INTS attribute, or undefined when absent. */
export function attrInts(node: Node, name: string): number[] | undefined {
  const v = node.attrs[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) bad(node, name, 'a list of integers', v);
  return v as number[];
}

/** A FLOATS attribute, or undefined when absent. */
export function attrFloats(node: Node, name: string): number[] | undefined {
  const v = node.attrs[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) bad(node, name, 'a list of numbers', v);
  return v as number[];
}

/** A STRING attribute, or `def` when absent. */
export function attrString(node: Node, name: string, def: string): string {
  const v = node.attrs[name];
  if (v === undefined) return def;
  if (typeof v !== 'string') bad(node, name, 'a string', v);
  return v;
}

/** A STRINGS attribute, or undefined when absent. */
export function attrStrings(node: Node, name: string): string[] | undefined {
  const v = node.attrs[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(node, name, 'a list of strings', v);
  return v as string[];
}

/** A TENSOR attribute as a Constant, or undefined when absent. */
export function attrTensor(node: Node, name: string): Constant | undefined {
  const v = node.attrs[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) bad(node, name, 'a tensor', v);
  return v;
}
