// `node-tensorrt inspect model.onnx|model.plan [--json]`: I/O, opset, op histogram, parameters; or a plan's header,
// and for a builtin plan the validator's verdict on its whole program (on any machine: no GPU needed).
import { Command } from 'commander';
import type { InspectTensor, ModelInspection } from '../../inspect.js';
import type { ValidationReport } from '../../builtin/validate.js';
import { TensorRTError } from '../../errors.js';
import { isPlan, readPlan, type PlanHeader } from '../../plan.js';
import type { TensorInfo } from '../../types.js';
import { readInputFile } from '../../util/fs.js';
import { formatBytes, formatShape, table } from '../format.js';
import { println, type CliIO } from '../io.js';

/**
 * The `inspect` command.
 * @example program.addCommand(inspectCommand(processIO()));
 */
export function inspectCommand(io: CliIO): Command {
  return new Command('inspect')
    .description("print a model's inputs, outputs, opset, op histogram and parameter count (or a plan file's header, validating a builtin plan's program)")
    .argument('<model>', 'ONNX model or plan file')
    .option('--json', 'print JSON')
    .action(async (model: string, flags: { json?: boolean }) => {
      const bytes = await readInputFile(model, 'model');
      if (isPlan(bytes)) {
        const { header } = readPlan(bytes);
        const verdict = header.backend === 'builtin' ? await validatePlan(bytes) : undefined;
        if (flags.json) {
          const validation = !verdict
            ? undefined
            : verdict.error
              ? { valid: false, code: verdict.error.code, message: verdict.error.message }
              : verdict.valid
                ? { valid: true, ...verdict.report }
                : verdict;
          println(io.out, JSON.stringify({ file: model, bytes: bytes.byteLength, plan: header, ...(validation ? { validation } : {}) }, null, 2));
        } else {
          for (const l of formatPlanHeader(model, bytes.byteLength, header)) println(io.out, l);
          if (verdict && !verdict.error) println(io.out, formatVerdict(verdict));
        }
        // An invalid program is the command's failure: exit code 1 and the coded error on stderr.
        if (verdict?.error) throw verdict.error;
        return;
      }
      // Loaded here so that other commands and --help do not pay for the ONNX reader.
      const { inspectModel } = await import('../../inspect.js');
      const summary = await inspectModel(bytes);
      if (flags.json) println(io.out, JSON.stringify(summary, null, 2));
      else for (const l of formatModelSummary(model, bytes.byteLength, summary)) println(io.out, l);
    });
}

type Verdict =
  | { valid: true; report: ValidationReport; error?: undefined }
  | { valid: false; reason: string; error?: undefined }
  | { valid: false; error: TensorRTError };

// The whole builtin program through the native validator (no GPU needed; the addon must load).
async function validatePlan(bytes: Uint8Array): Promise<Verdict> {
  const { validateBuiltinPlan } = await import('../../builtin/validate.js');
  const { addonLoadError } = await import('../../native.js');
  const unavailable = addonLoadError();
  if (unavailable) return { valid: false, reason: `not validated: ${unavailable.message.split('\n')[0]}` };
  try {
    return { valid: true, report: validateBuiltinPlan(bytes).report };
  } catch (e) {
    if (e instanceof TensorRTError) return { valid: false, error: e };
    throw e;
  }
}

function formatVerdict(v: Verdict): string {
  if (!v.valid) return `program    ${v.error ? `invalid [${v.error.code}] ${v.error.message}` : v.reason}`;
  const r = v.report;
  return `program    valid: ${r.layers} layers; at the maximum batch: arena ${formatBytes(r.arenaBytes)}, pinned I/O ${formatBytes(r.pinnedBytes)}, weights ${formatBytes(r.weightsBytes)}, workspace ${formatBytes(r.workspaceBytes)}`;
}

function ioRows(title: string, tensors: readonly (TensorInfo | InspectTensor)[]): string[] {
  return [`${title}:`, ...table(tensors.map((t) => [t.name, t.dtype, formatShape(t.shape)]), '  ')];
}

/**
 * An ONNX summary as lines of text.
 * @example formatModelSummary('m.onnx', 14e6, await inspectModel('m.onnx'))
 */
export function formatModelSummary(file: string, bytes: number, s: ModelInspection): string[] {
  const ops = Object.entries(s.ops).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  const producer = [s.producer.name, s.producer.version].filter(Boolean).join(' ');
  const lines = [
    `${file}: ONNX, ${formatBytes(bytes)}, opset ${s.opset}${producer ? `, from ${producer}` : ''}${s.graphName ? `, graph '${s.graphName}'` : ''}`,
    ...ioRows('inputs', s.inputs),
    ...ioRows('outputs', s.outputs),
    `parameters: ${s.parameters.toLocaleString('en-US')} (${formatBytes(s.weightBytes)})`,
    `ops: ${s.nodeCount} nodes, ${ops.length} types`,
    ...table(ops, '  '),
  ];
  if (s.supported) lines.push('supported: yes');
  else {
    lines.push(`supported: no${s.problem ? ` [${s.problem.code}] ${s.problem.message}` : ''}`);
    for (const u of s.unsupportedOps) lines.push(`  unsupported op ${u.op} (first at node '${u.node}')`);
  }
  return lines;
}

/**
 * A plan header as lines of text.
 * @example formatPlanHeader('m.plan', 7e6, readPlan(bytes).header)
 */
export function formatPlanHeader(file: string, bytes: number, h: PlanHeader): string[] {
  const target = h.computeCapability ? `sm ${h.computeCapability}${h.deviceName ? ` (${h.deviceName})` : ''}` : 'CPU';
  return [
    `${file}: node-tensorrt plan, ${formatBytes(bytes)}`,
    ...table(
      [
        ['backend', `${h.backend} ${h.precision.toUpperCase()}${h.tensorrtVersion ? `, TensorRT ${h.tensorrtVersion}` : ''}, format ${h.formatVersion}`],
        ['built for', target],
        ['batch', `${h.profile.min}..${h.profile.max} (opt ${h.profile.opt})`],
        ['library', `${h.libraryVersion}, ${h.createdAt}`],
      ],
      '  ',
    ),
    ...ioRows('inputs', h.inputs),
    ...ioRows('outputs', h.outputs),
  ];
}
