// `node-tensorrt inspect model.onnx|model.plan [--json]`: I/O, opset, op histogram, parameters; or a plan's header.
import { Command } from 'commander';
import type { InspectTensor, ModelInspection } from '../../inspect.js';
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
    .description("print a model's inputs, outputs, opset, op histogram and parameter count (or a plan file's header)")
    .argument('<model>', 'ONNX model or plan file')
    .option('--json', 'print JSON')
    .action(async (model: string, flags: { json?: boolean }) => {
      const bytes = await readInputFile(model, 'model');
      if (isPlan(bytes)) {
        const { header } = readPlan(bytes);
        if (flags.json) println(io.out, JSON.stringify({ file: model, bytes: bytes.byteLength, plan: header }, null, 2));
        else for (const l of formatPlanHeader(model, bytes.byteLength, header)) println(io.out, l);
        return;
      }
      // Loaded here so that other commands and --help do not pay for the ONNX reader.
      const { inspectModel } = await import('../../inspect.js');
      const summary = await inspectModel(bytes);
      if (flags.json) println(io.out, JSON.stringify(summary, null, 2));
      else for (const l of formatModelSummary(model, bytes.byteLength, summary)) println(io.out, l);
    });
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
