// Conv fusion: Conv [+ per-channel bias Add] [+ residual Add] [+ activation] → one FusedConv
// (domain ai.node-tensorrt) computing y = act(conv(x, W) + B + Residual). The activation is one op, or SiLU
// written as x·Sigmoid(x) (EfficientNet, YOLO), which ONNX has no single op for.
import { attrFloat, attrInt } from '../ir/attrs.js';
import { NodeContext } from '../ir/context.js';
import { windowGeometry } from '../ir/geometry.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import type { Activation } from '../ir/rules-nn.js';
import { FUSED_DOMAIN, type Node } from '../ir/types.js';
import { opActivation } from '../reference/activations.js';
import { addConstant, eliminateDeadNodes, floatConstant, floatValues, perChannel } from './util.js';

interface Act {
  act: Activation;
  alpha: number;
  beta: number;
}

/** The activation a node applies, with constant Clip bounds; undefined if it is no foldable activation. */
function activationOf(g: Graph, n: Node): Act | undefined {
  if (n.domain !== '') return undefined;
  if (n.op === 'Clip') {
    const bound = (i: number, attr: string, def: number) => {
      const name = n.inputs[i];
      if (name) {
        const c = g.initializers.get(name);
        return c ? floatValues(c)[0] : undefined;
      }
      return attrFloat(n, attr, def);
    };
    const lo = bound(1, 'min', -Infinity);
    const hi = bound(2, 'max', Infinity);
    return lo === undefined || hi === undefined ? undefined : { act: 'clip', alpha: lo, beta: hi };
  }
  return opActivation(n.op, { alpha: n.attrs.alpha as number | undefined, beta: n.attrs.beta as number | undefined });
}

/**
 * Fuses every 2-D Conv with what follows it, in place. Every 4-D Conv becomes a FusedConv, with
 * activation 'none' where nothing follows.
 * @example
 * fuseConv(g); // Conv → Add(skip) → Relu becomes FusedConv{activation:'relu'}(x, W, B, skip)
 */
export function fuseConv(g: Graph): void {
  inferShapes(g);
  const consumers = g.consumers();
  const removed = new Set<Node>();
  const placed = new Map<Node, Node>();
  /** The only reader of `v`, if v is read by exactly one node, once, and is no graph output. */
  const sole = (v: string): Node | undefined => {
    const cs = consumers.get(v);
    if (!cs || cs.length !== 1 || g.isOutput(v) || removed.has(cs[0])) return undefined;
    return cs[0].inputs.filter((i) => i === v).length === 1 ? cs[0] : undefined;
  };
  /** Sigmoid(v) and Mul(v, Sigmoid(v)) when they are all that reads `v`: SiLU. */
  const silu = (v: string): Node[] | undefined => {
    const cs = consumers.get(v);
    if (!cs || cs.length !== 2 || g.isOutput(v) || cs.some((c) => removed.has(c) || c.domain !== '')) return undefined;
    const sig = cs.find((c) => c.op === 'Sigmoid');
    const mul = cs.find((c) => c.op === 'Mul');
    if (!sig || !mul || sig.inputs[0] !== v || sole(sig.outputs[0]) !== mul) return undefined;
    const [a, b] = mul.inputs;
    const s = sig.outputs[0];
    return (a === v && b === s) || (a === s && b === v) ? [sig, mul] : undefined;
  };
  for (const conv of g.nodes) {
    if (conv.op !== 'Conv' || conv.domain !== '' || removed.has(conv)) continue;
    const xt = g.typeOf(conv.inputs[0]);
    const w = g.typeOf(conv.inputs[1]);
    if (xt.shape.length !== 4) continue;
    const m = w.shape[0] as number;
    const dtype = xt.dtype;
    const chain: Node[] = [conv];
    let y = conv.outputs[0];
    let bias: Float32Array | undefined;
    let biasName = conv.inputs[2] ?? '';
    if (biasName) {
      const bc = g.initializers.get(biasName);
      bias = bc ? floatValues(bc) : undefined;
    }
    // Per-channel constant Adds fold into the bias (tf2onnx's BiasAdd).
    for (let c = sole(y); c && c.op === 'Add' && c.domain === ''; c = sole(y)) {
      const other = c.inputs[0] === y ? c.inputs[1] : c.inputs[0];
      const add = perChannel(g, other, 4, m);
      if (!add || (biasName && !bias) || g.typeOf(other).dtype !== dtype) break;
      const nb = new Float32Array(m);
      for (let i = 0; i < m; i++) nb[i] = (bias ? bias[i] : 0) + add[i];
      bias = nb;
      biasName = '';
      chain.push(c);
      y = c.outputs[0];
    }
    if (bias && !biasName) biasName = addConstant(g, `${conv.name}_bias`, floatConstant('', g.typeOf(conv.inputs[1]).dtype, [m], bias));
    let residual = '';
    const add = sole(y);
    if (add && add.op === 'Add' && add.domain === '') {
      const other = add.inputs[0] === y ? add.inputs[1] : add.inputs[0];
      const ot = g.typeOf(other);
      const yt = g.typeOf(y);
      if (other !== y && ot.dtype === yt.dtype && ot.shape.length === yt.shape.length && ot.shape.every((d, i) => d === yt.shape[i])) {
        residual = other;
        chain.push(add);
        y = add.outputs[0];
      }
    }
    let act: Act = { act: 'none', alpha: 0, beta: 0 };
    const an = sole(y);
    const a = an && activationOf(g, an);
    const swish = an ? undefined : silu(y);
    if (an && a) {
      act = a;
      chain.push(an);
      y = an.outputs[0];
    } else if (swish) {
      act = { act: 'silu', alpha: 0, beta: 0 };
      chain.push(...swish);
      y = swish[1].outputs[0];
    }
    const geo = windowGeometry(new NodeContext(conv, g.opset, [xt], []), xt.shape.slice(2) as number[], w.shape.slice(2) as number[]);
    const inputs = [conv.inputs[0], conv.inputs[1], biasName];
    if (residual) inputs.push(residual);
    const fused: Node = {
      name: conv.name,
      op: 'FusedConv',
      domain: FUSED_DOMAIN,
      inputs,
      outputs: [y],
      attrs: {
        kernel_shape: geo.kernel,
        strides: geo.strides,
        pads: geo.pads,
        dilations: geo.dilations,
        group: attrInt(conv, 'group', 1),
        activation: act.act,
        act_alpha: act.alpha,
        act_beta: act.beta,
      },
    };
    for (const c of chain) removed.add(c);
    placed.set(chain[chain.length - 1], fused);
  }
  g.nodes = g.nodes.flatMap((n) => (placed.has(n) ? [placed.get(n)!] : removed.has(n) ? [] : [n]));
  eliminateDeadNodes(g);
  inferShapes(g);
}
