// The builtin plan validator seen from TS: the checks themselves live in native/builtin/validate.cc (one place,
// plain C++, no GPU needed); this file converts a plan's header for it and gives the verdict a typed shape.
import { ErrorCode, TensorRTError } from '../errors.js';
import { DType, loadAddon, type NativeProgramHeader, type NativeValidationReport } from '../native.js';
import { readPlan, type PlanHeader } from '../plan.js';
import { decodePayload, type Program } from './program.js';

export type ValidationReport = NativeValidationReport;

/**
 * The header's I/O and profile in the program's terms: dtype numbers, -1 for a symbolic dimension.
 * @example headerForValidation(readPlan(bytes).header).maxBatch // 32
 */
export function headerForValidation(header: PlanHeader): NativeProgramHeader {
  const io = (list: unknown, isInput: boolean) =>
    (Array.isArray(list) ? list : []).map((t: unknown) => {
      const o = (t !== null && typeof t === 'object' ? t : {}) as Record<string, unknown>;
      const dtype = typeof o.dtype === 'string' && Object.hasOwn(DType, o.dtype) ? DType[o.dtype as keyof typeof DType] : -1;
      const shape = Array.isArray(o.shape) ? o.shape.map((d: unknown) => (typeof d === 'string' ? -1 : Number(d))) : [];
      return { name: String(o.name), tensor: -1, isInput, dtype, shape };
    });
  const p = (header.profile ?? {}) as Partial<PlanHeader['profile']>;
  return {
    io: [...io(header.inputs, true), ...io(header.outputs, false)],
    minBatch: Number(p.min),
    optBatch: Number(p.opt),
    maxBatch: Number(p.max),
  };
}

function validator(): NonNullable<ReturnType<typeof loadAddon>['validateBuiltinProgram']> {
  const v = loadAddon().validateBuiltinProgram;
  if (!v) throw new TensorRTError(ErrorCode.ADDON_LOAD, 'This build of the native addon has no builtin backend, so it cannot validate builtin plans');
  return v;
}

/**
 * Validates a builtin program against its weights and (when given) the plan header, without a GPU.
 * Throws ERR_PLAN_CORRUPT / ERR_PLAN_MISMATCH naming the first problem; returns the sizes it needs.
 * @example const report = validateBuiltinProgram(program, weights, header);
 */
export function validateBuiltinProgram(program: Program, weights: Uint8Array, header?: PlanHeader, stage: 'load' | 'build' = 'load'): ValidationReport {
  const report = validator()(program, weights.byteLength, header ? headerForValidation(header) : null, stage);
  if (header) checkDimsAgree(program, header);
  return report;
}

/** The header's dynamic dims (what contexts check runs against) must be the program's one dim, or none. */
function checkDimsAgree(program: Program, header: PlanHeader): void {
  const declared = Object.entries(header.dims ?? {}).filter(([, r]) => r.min !== r.max);
  const d = program.dim;
  const same = d
    ? declared.length === 1 && declared[0][0] === d.name && declared[0][1].min === d.min && declared[0][1].opt === d.opt && declared[0][1].max === d.max
    : declared.length === 0;
  if (!same) {
    throw new TensorRTError(
      ErrorCode.PLAN_CORRUPT,
      `Corrupt builtin plan: the header's dynamic dims (${declared.map(([k, r]) => `${k} ${r.min}..${r.max}`).join(', ') || 'none'}) are not the program's (${d ? `${d.name} ${d.min}..${d.max}` : 'none'})`,
    );
  }
}

/**
 * Reads and validates a whole builtin plan: container, checksum, payload, program and header agreement.
 * @example validateBuiltinPlan(await readFile('model.plan'))
 */
export function validateBuiltinPlan(bytes: Uint8Array): { header: PlanHeader; program: Program; weights: Uint8Array; report: ValidationReport } {
  const { header, payload } = readPlan(bytes);
  if (header.backend !== 'builtin') {
    throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a builtin plan but this one is for the ${header.backend} backend`);
  }
  const { program, weights } = decodePayload(payload);
  return { header, program, weights, report: validateBuiltinProgram(program, weights, header) };
}

/**
 * Names of the ops the native validator has a rule for (any other op is refused).
 * @example validatedOps() // ['conv', 'pool', ...]
 */
export function validatedOps(): string[] {
  const f = loadAddon().validatedOps;
  if (!f) throw new TensorRTError(ErrorCode.ADDON_LOAD, 'This build of the native addon has no builtin backend');
  return f();
}
