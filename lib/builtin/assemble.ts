// A builtin plan put together on the CPU: lowering, default tactics (no timing) and the container. The GPU build
// (lib/backends/builtin.ts) times tactics instead; both share the header written here.
import type { Graph } from '../ir/graph.js';
import { writePlan, type PlanHeader } from '../plan.js';
import type { BatchProfile, Precision } from '../types.js';
import { libraryVersion } from '../version.js';
import { lowerGraph, type Lowered } from './lower.js';
import { BUILTIN_FORMAT_VERSION, Op, encodePayload, type Program } from './program.js';

/**
 * The header of a builtin plan for a lowered program.
 * @example writePlan(builtinHeader(lowered, 'fp16', { cc: '9.0', name: null }), payload)
 */
export function builtinHeader(
  lowered: Lowered,
  precision: Precision,
  device: { cc: string | null; name: string | null },
): Omit<PlanHeader, 'payloadBytes'> {
  const p = lowered.program;
  return {
    backend: 'builtin',
    formatVersion: BUILTIN_FORMAT_VERSION,
    libraryVersion: libraryVersion(),
    computeCapability: device.cc,
    deviceName: device.name,
    tensorrtVersion: null,
    precision,
    inputs: lowered.inputs,
    outputs: lowered.outputs,
    profile: { min: p.minBatch, opt: p.optBatch, max: p.maxBatch },
    ...(p.dim ? { dims: { [p.dim.name]: { min: p.dim.min, opt: p.dim.opt, max: p.dim.max } } } : {}),
    createdAt: new Date().toISOString(),
  };
}

const DEFAULT_TACTICS: Record<number, string> = { [Op.conv]: 'direct', [Op.attention]: 'flash_warp', [Op.mbconv]: 'chain:direct+direct+direct' };

/**
 * Gives every layer a tactic that runs any shape without timing: `direct` for convolutions (and each stage of an
 * inverted-residual block's chain), `flash_warp` for attention (head sizes up to 256, the only ones the lowering
 * fuses), `default` otherwise.
 * @example withDefaultTactics(lowered.program)
 */
export function withDefaultTactics(program: Program): Program {
  for (const l of program.layers) {
    // An identity expand has no chain stage to run (lower-mbconv.ts `id1`).
    const tactic = l.op === Op.mbconv && l.params.id1 === 1 ? 'chain:skip+direct+direct' : DEFAULT_TACTICS[l.op] ?? 'default';
    l.tactics = [{ upTo: program.maxBatch, tactic }];
  }
  return program;
}

/**
 * Lowers an optimized graph and writes a builtin plan without a GPU (default tactics, compute capability as given).
 * The plan loads on a device of that capability; its kernels are correct but untimed.
 * @example const { plan } = assembleBuiltinPlan(optimize(graph, { fuse: true, precision: 'fp16' }), { min: 1, opt: 1, max: 4 }, 'fp16', '9.0');
 */
export function assembleBuiltinPlan(
  graph: Graph,
  profile: BatchProfile,
  precision: Precision,
  computeCapability: string | null = null,
): { plan: Uint8Array; program: Program; weights: Uint8Array; header: Omit<PlanHeader, 'payloadBytes'> } {
  return assembleLowered(lowerGraph(graph, profile), precision, computeCapability);
}

/**
 * A builtin plan from a lowered program (lowerGraph, or lowerWithDim for a dim besides the batch), with default
 * tactics, written without a GPU.
 * @example assembleLowered(lowerForBuiltin(g, profile, 'fp16'), 'fp16', '9.0')
 */
export function assembleLowered(
  lowered: Lowered,
  precision: Precision,
  computeCapability: string | null = null,
): { plan: Uint8Array; program: Program; weights: Uint8Array; header: Omit<PlanHeader, 'payloadBytes'> } {
  withDefaultTactics(lowered.program);
  const header = builtinHeader(lowered, precision, { cc: computeCapability, name: null });
  return { plan: writePlan(header, encodePayload(lowered.program, lowered.weights)), program: lowered.program, weights: lowered.weights, header };
}
