// Inverted-residual (MBConv) fusion: FusedConv 1×1 expand → FusedConv depthwise k×k → FusedConv 1×1 project
// (+ residual) becomes one FusedMBConv, so the builtin backend can keep the expanded activation on chip.
import { attrInt, attrInts, attrString } from '../ir/attrs.js';
import { MBCONV_ACT_ATTRS } from '../ir/fused.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { FUSED_DOMAIN, type Node } from '../ir/types.js';
import { floatConstant } from './util.js';

/** The widest depthwise → project pair fused with an identity expand (the fused kernel's output limit). */
const MAX_IDENTITY = 320;

const isFusedConv = (n: Node | undefined): n is Node => !!n && n.op === 'FusedConv' && n.domain === FUSED_DOMAIN;
const same = (a: number[] | undefined, b: number[]) => !!a && a.length === b.length && a.every((v, i) => v === b[i]);

/** A 1×1, stride-1, unpadded, ungrouped FusedConv with constant weights. */
function pointwise(g: Graph, n: Node): boolean {
  const w = g.initializers.get(n.inputs[1]);
  return (
    !!w && w.dims.length === 4 && w.dims[2] === 1 && w.dims[3] === 1 && attrInt(n, 'group', 1) === 1 &&
    same(attrInts(n, 'strides') ?? [1, 1], [1, 1]) && same(attrInts(n, 'pads') ?? [0, 0, 0, 0], [0, 0, 0, 0])
  );
}

/** A square depthwise FusedConv (no dilation, no residual) over `channels` with constant weights. */
function depthwise(g: Graph, n: Node, channels: number): boolean {
  const w = g.initializers.get(n.inputs[1]);
  const st = attrInts(n, 'strides') ?? [1, 1];
  return (
    !!w && w.dims.length === 4 && w.dims[0] === channels && w.dims[1] === 1 && w.dims[2] === w.dims[3] &&
    attrInt(n, 'group', 1) === channels && st[0] === st[1] && same(attrInts(n, 'dilations') ?? [1, 1], [1, 1]) && !n.inputs[3]
  );
}

/** The node names' common path, cut at a separator: "features.2.conv.0.0" + "features.2.conv.2" → "features.2.conv". */
function blockName(names: string[]): string {
  let p = names[0];
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  // Paths (torch.onnx's "/features/features.2/conv/conv.0/…") cut at a '/', dotted names at a '.' or '_'.
  const cut = p.includes('/') ? p.lastIndexOf('/') : Math.max(p.lastIndexOf('.'), p.lastIndexOf('_'));
  const base = (cut > 0 ? p.slice(0, cut) : p).replace(/[/._]+$/, '');
  return base || names[names.length - 1];
}

/** The FusedMBConv of expand (or an identity over `identity` channels) → dw → project, named after the block. */
function fusedBlock(g: Graph, expand: Node | { identity: string }, dw: Node, project: Node, e: number): Node {
  const attrs: Node['attrs'] = {
    kernel_shape: attrInts(dw, 'kernel_shape') ?? g.initializers.get(dw.inputs[1])!.dims.slice(2),
    strides: attrInts(dw, 'strides') ?? [1, 1],
    pads: attrInts(dw, 'pads') ?? [0, 0, 0, 0],
    dilations: [1, 1],
    group: e,
  };
  const stages = [['dw', dw], ['project', project]] as Array<[keyof typeof MBCONV_ACT_ATTRS, Node]>;
  if ('name' in expand) stages.unshift(['expand', expand]);
  else Object.assign(attrs, { expand_activation: 'none', expand_alpha: 0, expand_beta: 0 });
  for (const [stage, node] of stages) {
    const [a, al, be] = MBCONV_ACT_ATTRS[stage];
    attrs[a] = attrString(node, 'activation', 'none');
    attrs[al] = node.attrs.act_alpha ?? 0;
    attrs[be] = node.attrs.act_beta ?? 0;
  }
  const head = 'name' in expand ? [expand.inputs[0], expand.inputs[1], expand.inputs[2] ?? ''] : [dw.inputs[0], expand.identity, ''];
  const inputs = [...head, dw.inputs[1], dw.inputs[2] ?? '', project.inputs[1], project.inputs[2] ?? ''];
  if (project.inputs[3]) inputs.push(project.inputs[3]);
  const names = 'name' in expand ? [expand.name, dw.name, project.name] : [dw.name, project.name];
  return { name: g.uniqueName(`MBConv ${blockName(names)}`), op: 'FusedMBConv', domain: FUSED_DOMAIN, inputs, outputs: [project.outputs[0]], attrs };
}

/**
 * Fuses every expand → depthwise → project chain of FusedConv nodes (run after fuseConv) into one FusedMBConv
 * named after the block, in place. The expanded and depthwise values must have no other reader. A depthwise →
 * project pair with no expand before it (MobileNetV2's first block) becomes a FusedMBConv whose expand weights
 * are the identity: the builtin backend then runs it as one kernel too, and its chain skips the identity.
 * @example
 * fuseConv(g); fuseInvertedResidual(g); // MobileNetV2: 17 FusedMBConv nodes
 */
export function fuseInvertedResidual(g: Graph): void {
  const producers = g.producers();
  const consumers = g.consumers();
  const only = (v: string, reader: Node) => {
    const cs = consumers.get(v) ?? [];
    return !g.isOutput(v) && cs.length === 1 && cs[0] === reader && reader.inputs.filter((i) => i === v).length === 1;
  };
  const removed = new Set<Node>();
  const placed = new Map<Node, Node>();
  const pairs: Array<[Node, Node]> = [];
  for (const project of g.nodes) {
    if (!isFusedConv(project) || removed.has(project) || !pointwise(g, project)) continue;
    const dw = producers.get(project.inputs[0]);
    if (!isFusedConv(dw) || removed.has(dw) || !only(dw.outputs[0], project)) continue;
    pairs.push([dw, project]);
    const expand = producers.get(dw.inputs[0]);
    if (!isFusedConv(expand) || removed.has(expand) || expand.inputs[3] || !only(expand.outputs[0], dw) || !pointwise(g, expand)) continue;
    const e = g.initializers.get(expand.inputs[1])!.dims[0];
    if (!depthwise(g, dw, e) || g.initializers.get(project.inputs[1])!.dims[1] !== e) continue;
    if (g.typeOf(expand.inputs[0]).shape.length !== 4) continue;
    for (const n of [expand, dw, project]) removed.add(n);
    g.types.delete(expand.outputs[0]);
    g.types.delete(dw.outputs[0]);
    placed.set(project, fusedBlock(g, expand, dw, project, e));
  }
  for (const [dw, project] of pairs) {
    if (removed.has(dw) || removed.has(project) || g.typeOf(dw.inputs[0]).shape.length !== 4) continue;
    const wd = g.initializers.get(dw.inputs[1]);
    if (!wd || wd.dims.length !== 4) continue;
    const c = wd.dims[0];
    const k = g.initializers.get(project.inputs[1])!.dims[0];
    if (!depthwise(g, dw, c) || g.initializers.get(project.inputs[1])!.dims[1] !== c) continue;
    // Only where the fused kernel can take the block (kernels/mbconv.cu: channels in 8s, at most 320 out): elsewhere
    // the chain would run anyway and the c×c identity would only grow the plan.
    if (c % 8 || k % 8 || c > MAX_IDENTITY || k > MAX_IDENTITY) continue;
    const eye = new Float32Array(c * c);
    for (let i = 0; i < c; i++) eye[i * c + i] = 1;
    const identity = g.uniqueName(`${dw.name}:identity`);
    // In the depthwise weights' type: FusedMBConv's inputs share one float type.
    g.initializers.set(identity, floatConstant(identity, wd.dtype, [c, c, 1, 1], eye));
    for (const n of [dw, project]) removed.add(n);
    g.types.delete(dw.outputs[0]);
    placed.set(project, fusedBlock(g, { identity }, dw, project, c));
  }
  if (!placed.size) return;
  g.nodes = g.nodes.flatMap((n) => (placed.has(n) ? [placed.get(n)!] : removed.has(n) ? [] : [n]));
  inferShapes(g);
}
