// Recognizes what older exporters decompose: LayerNorm as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div
// (/Mul/Add), and GELU as x·½·(1 + erf(x/√2)) or x·½·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Each becomes
// one LayerNormalization / Gelu node: the standard op where the opset has it, else the optimizer's own
// (FUSED_DOMAIN), which writeModel decomposes back into standard ONNX.
import { attrInt, attrInts } from '../ir/attrs.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { FUSED_DOMAIN, type Node } from '../ir/types.js';
import { addConstant, eliminateDeadNodes, floatValues } from './util.js';

interface Matcher {
  g: Graph;
  consumers: Map<string, Node[]>;
  producers: Map<string, Node>;
}

function matcher(g: Graph): Matcher {
  return { g, consumers: g.consumers(), producers: g.producers() };
}

/** The only reader of v (v no graph output), optionally required to be `op`. */
function sole(m: Matcher, v: string, op?: string): Node | undefined {
  const c = m.consumers.get(v);
  if (!c || c.length !== 1 || m.g.isOutput(v) || c[0].domain !== '') return undefined;
  return !op || c[0].op === op ? c[0] : undefined;
}

/** The scalar value of a constant input (any float/int dtype), or undefined. */
function scalar(m: Matcher, v: string): number | undefined {
  const c = m.g.initializers.get(v);
  if (!c || c.data.length !== 1) return undefined;
  if (c.dtype === 'float32' || c.dtype === 'float16' || c.dtype === 'float64') return floatValues(c)[0];
  return Number(c.data[0]);
}

const near = (a: number | undefined, b: number, tol = 1e-4) => a !== undefined && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

/** For a binary op with one constant scalar operand: [the other input, the scalar]. */
function withScalar(m: Matcher, n: Node): [string, number] | undefined {
  const [a, b] = n.inputs;
  const sb = scalar(m, b);
  if (sb !== undefined) return [a, sb];
  const sa = scalar(m, a);
  return sa !== undefined && (n.op === 'Mul' || n.op === 'Add') ? [b, sa] : undefined;
}

/** The other operand of a binary node, given one. */
const other = (n: Node, v: string) => (n.inputs[0] === v ? n.inputs[1] : n.inputs[1] === v ? n.inputs[0] : undefined);

/** A ReduceMean's trailing axes as the first normalized axis, or undefined if they are not trailing. */
function trailingAxis(m: Matcher, n: Node, rank: number): number | undefined {
  if (attrInt(n, 'keepdims', 1) !== 1) return undefined;
  let axes = attrInts(n, 'axes');
  if (n.inputs[1]) {
    const c = m.g.initializers.get(n.inputs[1]);
    axes = c ? Array.from(c.data as BigInt64Array, Number) : undefined;
  }
  if (!axes || axes.length === 0) return undefined;
  const norm = axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
  return norm.every((a, i) => a === rank - norm.length + i) ? norm[0] : undefined;
}

function replace(g: Graph, remove: Node[], add: Node): void {
  const gone = new Set(remove);
  const at = Math.max(...remove.map((n) => g.nodes.indexOf(n)));
  g.nodes = g.nodes.flatMap((n, i) => (i === at ? [add] : gone.has(n) ? [] : [n]));
}

/**
 * Fuses decomposed LayerNorms into LayerNormalization nodes, in place; returns how many.
 * @example
 * fuseLayerNorm(g); // ReduceMean→Sub→Pow→ReduceMean→Add→Sqrt→Div→Mul→Add becomes one node
 */
export function fuseLayerNorm(g: Graph): number {
  inferShapes(g);
  let count = 0;
  for (const r1 of [...g.nodes]) {
    if (r1.op !== 'ReduceMean' || r1.domain !== '') continue;
    const m = matcher(g);
    const x = r1.inputs[0];
    const xt = g.types.get(x);
    if (!xt || (xt.dtype !== 'float32' && xt.dtype !== 'float16')) continue;
    const axis = trailingAxis(m, r1, xt.shape.length);
    if (axis === undefined) continue;
    const sub = sole(m, r1.outputs[0], 'Sub');
    if (!sub || sub.inputs[0] !== x || sub.inputs[1] !== r1.outputs[0]) continue;
    const d = sub.outputs[0];
    const dc = m.consumers.get(d) ?? [];
    if (dc.length !== 2 || g.isOutput(d)) continue;
    const sq = dc.find((n) => (n.op === 'Pow' && n.inputs[0] === d && near(scalar(m, n.inputs[1]), 2)) || (n.op === 'Mul' && n.inputs[0] === d && n.inputs[1] === d));
    const div = dc.find((n) => n.op === 'Div' && n.inputs[0] === d);
    if (!sq || !div) continue;
    const r2 = sole(m, sq.outputs[0], 'ReduceMean');
    if (!r2 || trailingAxis(m, r2, xt.shape.length) !== axis) continue;
    const add = sole(m, r2.outputs[0], 'Add');
    const eps = add && withScalar(m, add);
    if (!add || !eps || eps[0] !== r2.outputs[0]) continue;
    const sqrt = sole(m, add.outputs[0], 'Sqrt');
    if (!sqrt || div.inputs[1] !== sqrt.outputs[0] || sole(m, sqrt.outputs[0]) !== div) continue;
    const chain = [r1, sub, sq, r2, add, sqrt, div];
    let y = div.outputs[0];
    // Optional affine part: Mul by a constant scale, Add of a constant bias.
    const normShape = xt.shape.slice(axis);
    const affine = (n: Node | undefined): string | undefined => {
      if (!n) return undefined;
      const c = g.initializers.get(other(n, y) ?? '');
      if (!c || c.dims.length > normShape.length) return undefined;
      const dims = c.dims;
      return dims.every((v, k) => v === normShape[normShape.length - dims.length + k]) ? c.name : undefined;
    };
    const mul = sole(m, y, 'Mul');
    const scale = affine(mul);
    if (mul && scale) {
      chain.push(mul);
      y = mul.outputs[0];
    }
    const badd = sole(m, y, 'Add');
    const bias = scale ? affine(badd) : undefined;
    if (badd && bias) {
      chain.push(badd);
      y = badd.outputs[0];
    }
    if (!scale && normShape.some((v) => typeof v !== 'number')) continue;
    const scaleName = scale ?? addConstant(g, `${r1.name}_ones`, { dtype: xt.dtype, dims: normShape as number[], data: onesOf(xt.dtype, normShape as number[]) });
    const std = g.opset >= 17;
    replace(g, chain, {
      name: g.uniqueName(`${r1.name}_layernorm`),
      op: 'LayerNormalization',
      domain: std ? '' : FUSED_DOMAIN,
      inputs: bias ? [x, scaleName, bias] : [x, scaleName],
      outputs: [y],
      attrs: { axis, epsilon: eps[1] },
    });
    count++;
  }
  if (count) {
    eliminateDeadNodes(g);
    inferShapes(g);
  }
  return count;
}

function onesOf(dtype: string, dims: number[]): Float32Array | Uint16Array {
  const n = dims.reduce((a, b) => a * b, 1);
  return dtype === 'float16' ? new Uint16Array(n).fill(0x3c00) : new Float32Array(n).fill(1);
}

/** x·c·½ in either association: returns the final node and the nodes used, given the node c feeds. */
function halfTimesX(m: Matcher, x: string, c: string): { nodes: Node[]; y: string } | undefined {
  const mul = sole(m, c, 'Mul');
  if (!mul) return undefined;
  const o = other(mul, c);
  if (o === x) {
    // (x · c) · ½
    const half = sole(m, mul.outputs[0], 'Mul');
    const h = half && withScalar(m, half);
    if (half && h && h[0] === mul.outputs[0] && near(h[1], 0.5)) return { nodes: [mul, half], y: half.outputs[0] };
    return undefined;
  }
  // (x · ½) · c, the x·½ node computed elsewhere
  const p = o ? m.producers.get(o) : undefined;
  const h = p && p.op === 'Mul' ? withScalar(m, p) : undefined;
  if (p && h && h[0] === x && near(h[1], 0.5) && sole(m, p.outputs[0]) === mul) return { nodes: [p, mul], y: mul.outputs[0] };
  return undefined;
}

/**
 * Fuses erf- and tanh-form GELU subgraphs into Gelu nodes, in place; returns how many.
 * @example
 * fuseGelu(g); // Div(x, √2)→Erf→Add(1)→Mul(x)→Mul(½) becomes Gelu(x)
 */
export function fuseGelu(g: Graph): number {
  inferShapes(g);
  let count = 0;
  for (const n of [...g.nodes]) {
    if (n.domain !== '' || (n.op !== 'Erf' && n.op !== 'Tanh')) continue;
    const m = matcher(g);
    const p = m.producers.get(n.inputs[0]);
    if (!p) continue;
    let x: string | undefined;
    const front: Node[] = [];
    if (n.op === 'Erf') {
      const s = withScalar(m, p);
      if (!s || sole(m, p.outputs[0]) !== n) continue;
      if (!((p.op === 'Div' && near(s[1], Math.SQRT2)) || (p.op === 'Mul' && near(s[1], Math.SQRT1_2)))) continue;
      x = s[0];
      front.push(p);
    } else {
      // Tanh(√(2/π) · (x + 0.044715 · x³))
      const s = p.op === 'Mul' ? withScalar(m, p) : undefined;
      if (!s || !near(s[1], Math.sqrt(2 / Math.PI)) || sole(m, p.outputs[0]) !== n) continue;
      const inner = m.producers.get(s[0]);
      if (!inner || inner.op !== 'Add' || sole(m, inner.outputs[0]) !== p) continue;
      const cubic = inner.inputs.map((v) => m.producers.get(v)).find((q) => q && q.op === 'Mul' && near(withScalar(m, q)?.[1], 0.044715));
      if (!cubic) continue;
      const xv = other(inner, cubic.outputs[0]);
      const pw = m.producers.get(withScalar(m, cubic)![0]);
      if (!xv || !pw || sole(m, pw.outputs[0]) !== cubic || sole(m, cubic.outputs[0]) !== inner) continue;
      let cube = pw.op === 'Pow' && pw.inputs[0] === xv && near(scalar(m, pw.inputs[1]), 3);
      if (!cube && pw.op === 'Mul' && pw.inputs.includes(xv)) {
        // x · (x · x)
        const sq = m.producers.get(other(pw, xv) ?? '');
        cube = !!sq && sq.op === 'Mul' && sq.inputs[0] === xv && sq.inputs[1] === xv && sole(m, sq.outputs[0]) === pw;
        if (cube) front.push(sq!);
      }
      if (!cube) continue;
      x = xv;
      front.push(pw, cubic, inner, p);
    }
    const one = sole(m, n.outputs[0], 'Add');
    const s1 = one && withScalar(m, one);
    if (!one || !s1 || s1[0] !== n.outputs[0] || !near(s1[1], 1)) continue;
    const tail = halfTimesX(m, x, one.outputs[0]);
    if (!tail) continue;
    const std = g.opset >= 20;
    replace(g, [...front, n, one, ...tail.nodes], {
      name: g.uniqueName(`${n.name}_gelu`),
      op: 'Gelu',
      domain: std ? '' : FUSED_DOMAIN,
      inputs: [x],
      outputs: [tail.y],
      attrs: n.op === 'Tanh' ? { approximate: 'tanh' } : {},
    });
    count++;
  }
  if (count) {
    eliminateDeadNodes(g);
    inferShapes(g);
  }
  return count;
}
