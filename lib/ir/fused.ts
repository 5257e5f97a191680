// The optimizer's fused operators and their decomposition back into standard ONNX operators.
import { decomposeAttention } from './fused-attention.js';
import { toHalfBits } from '../util/half.js';
import { attrFloat, attrInt, attrString } from './attrs.js';
import type { Graph } from './graph.js';
import type { Activation } from './rules-nn.js';
import { FUSED_DOMAIN, type Constant, type DataType, type Node } from './types.js';

/** The conv attributes a FusedConv carries, normalized (explicit pads, no auto_pad). */
export const FUSED_CONV_ATTRS = ['kernel_shape', 'strides', 'pads', 'dilations', 'group'] as const;

/** A float scalar constant in the dtype of the tensor it will be combined with. */
export function scalarConstant(name: string, dtype: DataType, value: number): Constant {
  if (dtype === 'float16') return { name, dtype, dims: [], data: new Uint16Array([toHalfBits(value)]) };
  if (dtype === 'float64') return { name, dtype, dims: [], data: new Float64Array([value]) };
  return { name, dtype: 'float32', dims: [], data: new Float32Array([value]) };
}

/**
 * Standard ONNX nodes computing `act(x)` into `y` for a FusedConv activation; may add initializers.
 * HardSwish falls back to x·HardSigmoid(x) below opset 14; SiLU is x·Sigmoid(x).
 */
export function activationNodes(g: Graph, base: string, act: Activation, alpha: number, beta: number, x: string, y: string, dtype: DataType): Node[] {
  const n = (op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name: g.uniqueName(`${base}_${op.toLowerCase()}`), op, domain: '', inputs, outputs, attrs });
  switch (act) {
    case 'none':
      return [n('Identity', [x], [y])];
    case 'relu':
      return [n('Relu', [x], [y])];
    case 'sigmoid':
      return [n('Sigmoid', [x], [y])];
    case 'tanh':
      return [n('Tanh', [x], [y])];
    case 'leakyrelu':
      return [n('LeakyRelu', [x], [y], { alpha })];
    case 'hardsigmoid':
      return [n('HardSigmoid', [x], [y], { alpha, beta })];
    case 'clip': {
      const lo = g.uniqueName(`${base}_min`);
      const hi = g.uniqueName(`${base}_max`);
      g.initializers.set(lo, scalarConstant(lo, dtype, alpha));
      g.initializers.set(hi, scalarConstant(hi, dtype, beta));
      g.types.set(lo, { dtype, shape: [] });
      g.types.set(hi, { dtype, shape: [] });
      return [n('Clip', [x, lo, hi], [y])];
    }
    case 'silu': {
      const s = g.uniqueName(`${base}_sig`);
      return [n('Sigmoid', [x], [s]), n('Mul', [x, s], [y])];
    }
    case 'hardswish': {
      if (g.opset >= 14) return [n('HardSwish', [x], [y])];
      const s = g.uniqueName(`${base}_hsig`);
      return [n('HardSigmoid', [x], [s], { alpha: 1 / 6, beta: 0.5 }), n('Mul', [x, s], [y])];
    }
  }
}

/** Conv [+ Add residual] [+ activation] equivalent to one FusedConv node. */
export function decomposeFusedConv(g: Graph, node: Node): Node[] {
  const [x, w, b, r] = node.inputs;
  const y = node.outputs[0];
  const act = attrString(node, 'activation', 'none') as Activation;
  const dtype = g.types.get(y)?.dtype ?? g.types.get(x)?.dtype ?? 'float32';
  const attrs: Node['attrs'] = {};
  for (const k of FUSED_CONV_ATTRS) if (node.attrs[k] !== undefined) attrs[k] = node.attrs[k];
  const out: Node[] = [];
  const last = act === 'none' && !r;
  const convOut = last ? y : g.uniqueName(`${y}_conv`);
  out.push({ name: node.name, op: 'Conv', domain: '', inputs: b ? [x, w, b] : [x, w], outputs: [convOut], attrs });
  let cur = convOut;
  if (r) {
    const sum = act === 'none' ? y : g.uniqueName(`${y}_add`);
    out.push({ name: g.uniqueName(`${node.name}_add`), op: 'Add', domain: '', inputs: [cur, r], outputs: [sum], attrs: {} });
    cur = sum;
  }
  if (act !== 'none') out.push(...activationNodes(g, node.name, act, attrFloat(node, 'act_alpha', 0), attrFloat(node, 'act_beta', 0), cur, y, dtype));
  for (const m of out) for (const o of m.outputs) if (!g.types.has(o)) g.types.set(o, { dtype, shape: [...(g.types.get(y)?.shape ?? [])] });
  return out;
}

/** x·½·(1 + erf(x/√2)), or the tanh form, as standard nodes (a Gelu fused below opset 20). */
export function decomposeGelu(g: Graph, node: Node): Node[] {
  const x = node.inputs[0];
  const y = node.outputs[0];
  const t = g.types.get(y) ?? g.types.get(x) ?? { dtype: 'float32' as DataType, shape: [] };
  const k = (v: number) => {
    const name = g.uniqueName(`${node.name}_k`);
    g.initializers.set(name, scalarConstant(name, t.dtype, v));
    g.types.set(name, { dtype: t.dtype, shape: [] });
    return name;
  };
  const out: Node[] = [];
  const step = (op: string, inputs: string[], last = false): string => {
    const o = last ? y : g.uniqueName(`${node.name}_${op.toLowerCase()}`);
    out.push({ name: g.uniqueName(`${node.name}_${op.toLowerCase()}`), op, domain: '', inputs, outputs: [o], attrs: {} });
    if (!g.types.has(o)) g.types.set(o, { dtype: t.dtype, shape: [...t.shape] });
    return o;
  };
  let inner: string;
  if (attrString(node, 'approximate', 'none') === 'tanh') {
    const cube = step('Mul', [x, step('Mul', [x, x])]);
    inner = step('Tanh', [step('Mul', [step('Add', [x, step('Mul', [cube, k(0.044715)])]), k(Math.sqrt(2 / Math.PI))])]);
  } else inner = step('Erf', [step('Div', [x, k(Math.SQRT2)])]);
  step('Mul', [step('Mul', [x, step('Add', [inner, k(1)])]), k(0.5)], true);
  return out;
}

/** A LayerNormalization (fused below opset 17) as ReduceMean/Sub/Mul/ReduceMean/Add/Sqrt/Div/Mul/Add. */
export function decomposeLayerNorm(g: Graph, node: Node): Node[] {
  const [x, scale, bias] = node.inputs;
  const y = node.outputs[0];
  const t = g.types.get(x) ?? { dtype: 'float32' as DataType, shape: [] };
  const rank = t.shape.length;
  const a = attrInt(node, 'axis', -1);
  const axis = a < 0 ? a + rank : a;
  const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
  const eps = g.uniqueName(`${node.name}_eps`);
  g.initializers.set(eps, scalarConstant(eps, t.dtype, attrFloat(node, 'epsilon', 1e-5)));
  g.types.set(eps, { dtype: t.dtype, shape: [] });
  const out: Node[] = [];
  const step = (op: string, inputs: string[], attrs: Node['attrs'] = {}, last = false): string => {
    const o = last ? y : g.uniqueName(`${node.name}_${op.toLowerCase()}`);
    out.push({ name: g.uniqueName(`${node.name}_${op.toLowerCase()}`), op, domain: '', inputs, outputs: [o], attrs });
    return o;
  };
  const d = step('Sub', [x, step('ReduceMean', [x], { axes })]);
  const norm = step('Div', [d, step('Sqrt', [step('Add', [step('ReduceMean', [step('Mul', [d, d])], { axes }), eps])])]);
  const scaled = step('Mul', [norm, scale], {}, !bias);
  if (bias) step('Add', [scaled, bias], {}, true);
  return out;
}

/** The three FusedConv stages of a FusedMBConv, in order: expand 1×1, depthwise k×k, project 1×1 (+ residual). */
export const MBCONV_STAGES = ['expand', 'dw', 'project'] as const;

/** Per-stage activation attribute names of a FusedMBConv (the project stage uses FusedConv's own names). */
export const MBCONV_ACT_ATTRS: Record<(typeof MBCONV_STAGES)[number], [string, string, string]> = {
  expand: ['expand_activation', 'expand_alpha', 'expand_beta'],
  dw: ['dw_activation', 'dw_alpha', 'dw_beta'],
  project: ['activation', 'act_alpha', 'act_beta'],
};

/**
 * The FusedConv nodes a FusedMBConv stands for, writing `mid` ([expanded, depthwise]) between them.
 * Inputs of the fused node: x, W1, B1, Wd, Bd, W2, B2 (biases may be ''), then an optional residual.
 * @example
 * const [expand, dw, project] = mbconvStages(node, ['e', 'd']);
 */
export function mbconvStages(node: Node, mid: [string, string]): Node[] {
  const [x, w1, b1, wd, bd, w2, b2, r] = node.inputs;
  const one = { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 };
  const actOf = (stage: (typeof MBCONV_STAGES)[number]) => {
    const [a, al, be] = MBCONV_ACT_ATTRS[stage];
    return { activation: attrString(node, a, 'none'), act_alpha: attrFloat(node, al, 0), act_beta: attrFloat(node, be, 0) };
  };
  const dwAttrs: Node['attrs'] = {};
  for (const k of FUSED_CONV_ATTRS) if (node.attrs[k] !== undefined) dwAttrs[k] = node.attrs[k];
  const conv = (stage: (typeof MBCONV_STAGES)[number], inputs: string[], y: string, attrs: Node['attrs']): Node => ({
    name: `${node.name}/${stage}`,
    op: 'FusedConv',
    domain: FUSED_DOMAIN,
    inputs,
    outputs: [y],
    attrs: { ...attrs, ...actOf(stage) },
  });
  return [
    conv('expand', [x, w1, b1 ?? ''], mid[0], one),
    conv('dw', [mid[0], wd, bd ?? ''], mid[1], dwAttrs),
    conv('project', r ? [mid[1], w2, b2 ?? '', r] : [mid[1], w2, b2 ?? ''], node.outputs[0], one),
  ];
}

/** Standard ONNX nodes equivalent to one FusedMBConv (its three stages, each decomposed). */
export function decomposeFusedMBConv(g: Graph, node: Node): Node[] {
  const y = node.outputs[0];
  const e = g.uniqueName(`${y}_expand`);
  const d = g.uniqueName(`${y}_dw`);
  const dtype = g.types.get(y)?.dtype ?? g.types.get(node.inputs[0])?.dtype ?? 'float32';
  const xs = g.types.get(node.inputs[0])?.shape ?? [];
  const ys = g.types.get(y)?.shape ?? [];
  const ec = g.initializers.get(node.inputs[1])?.dims[0] ?? g.types.get(node.inputs[1])?.shape[0] ?? 0;
  g.types.set(e, { dtype, shape: [xs[0], ec, xs[2], xs[3]] });
  g.types.set(d, { dtype, shape: [ys[0], ec, ys[2], ys[3]] });
  return mbconvStages(node, [e, d]).flatMap((n) => decomposeFusedConv(g, n));
}

/**
 * A copy of the graph with every fused node replaced by standard ONNX operators.
 * @example
 * const plain = decomposeFused(optimized); // only default-domain ops remain
 */
export function decomposeFused(graph: Graph): Graph {
  const g = graph.clone();
  const decompose: Record<string, (g: Graph, n: Node) => Node[]> = {
    FusedConv: decomposeFusedConv, Gelu: decomposeGelu, LayerNormalization: decomposeLayerNorm, FusedAttention: decomposeAttention,
    FusedMBConv: decomposeFusedMBConv,
  };
  g.nodes = g.nodes.flatMap((n) => (n.domain === FUSED_DOMAIN && decompose[n.op] ? decompose[n.op](g, n) : [n]));
  return g;
}
