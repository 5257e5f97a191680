import { ErrorCode, TensorRTError } from './errors.js';

/** Describes a received value the way sharp does: "-3 of type number". */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}' of type string`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length?: number }).length ?? value.byteLength}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') return `an object of type ${value.constructor?.name ?? 'Object'}`;
  return `${String(value)} of type ${typeof value}`;
}

/** Throws ERR_INVALID_ARGUMENT: "Expected <what> for <name> but received <value>". */
export function invalid(what: string, name: string, value: unknown): never {
  throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected ${what} for ${name} but received ${describe(value)}`);
}

export function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** A positive (≥1) safe integer. */
export function positiveInteger(v: unknown, name: string): number {
  if (!isInteger(v) || v < 1 || !Number.isSafeInteger(v)) invalid('a positive integer', name, v);
  return v;
}

/** A non-negative safe integer. */
export function nonNegativeInteger(v: unknown, name: string): number {
  if (!isInteger(v) || v < 0 || !Number.isSafeInteger(v)) invalid('a non-negative integer', name, v);
  return v;
}

export function finiteNumber(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid('a finite number', name, v);
  return v;
}

export function oneOf<T extends string>(v: unknown, name: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) invalid(`one of ${choices.map((c) => `'${c}'`).join(', ')}`, name, v);
  return v as T;
}

export function nonEmptyString(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) invalid('a non-empty string', name, v);
  return v;
}

export function plainObject(v: unknown, name: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) invalid('an object', name, v);
  return v as Record<string, unknown>;
}

export function boolean(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') invalid('a boolean', name, v);
  return v;
}

export function func<T extends (...a: never[]) => unknown>(v: unknown, name: string): T {
  if (typeof v !== 'function') invalid('a function', name, v);
  return v as T;
}

/** Rejects keys that an options object does not know, so typos fail loudly. */
export function knownKeys(obj: Record<string, unknown>, name: string, keys: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k) && obj[k] !== undefined) {
      throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Unknown option '${k}' in ${name}; expected one of ${keys.join(', ')}`);
    }
  }
}
