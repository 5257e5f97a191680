// Constant folding and graph cleanup: evaluates nodes whose inputs are all constant (with the
// reference kernels), replaces shape computations whose values inference resolved, rewrites
// Reshapes with symbolic targets, drops Identity/Dropout/no-op Casts, and removes dead nodes.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { inferShapes } from '../ir/infer.js';
import { allStatic } from '../ir/dims.js';
import { numel, type Dim, type Node } from '../ir/types.js';
import { runNode } from '../reference/index.js';
import { fromConstant } from '../reference/tensor.js';
import { eliminateDeadNodes, replaceUses, toConstant } from './util.js';

/** Ops that are pass-through at inference time. */
const PASSTHROUGH = new Set(['Identity', 'Dropout']);

function isPassthrough(g: Graph, n: Node): boolean {
  if (PASSTHROUGH.has(n.op) && n.domain === '') return n.outputs.slice(1).every((o) => !o);
  if (n.op === 'Cast' && n.domain === '') return g.types.get(n.inputs[0])?.dtype === g.types.get(n.outputs[0])?.dtype;
  return false;
}

/** Removes a pass-through node, rewiring its readers; returns false when it must stay (input is also an output). */
function removePassthrough(g: Graph, n: Node, producers: Map<string, Node>): boolean {
  const x = n.inputs[0];
  const y = n.outputs[0];
  if (!g.isOutput(y)) {
    replaceUses(g, y, x);
    return true;
  }
  // y is a graph output: rename x's producer output to y when x is nothing else's business.
  const p = producers.get(x);
  if (!p || g.isOutput(x) || g.inputs.some((i) => i.name === x)) return false;
  p.outputs = p.outputs.map((o) => (o === x ? y : o));
  replaceUses(g, x, y);
  return true;
}

/**
 * The Reshape target as a constant, resolving symbolic entries: a symbol equal to the input's dim at
 * the same position becomes 0 (copy), one other symbol becomes -1.
 */
function staticTarget(target: Dim[], inShape: Dim[]): number[] | undefined {
  let minus = target.includes(-1) ? 1 : 0;
  const out: number[] = [];
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    if (typeof t === 'number') out.push(t);
    else if (inShape[i] === t) out.push(0);
    else if (minus++ === 0) out.push(-1);
    else return undefined;
  }
  // allowzero=0 semantics are assumed by the 0 entries; a literal 0 dim would be ambiguous.
  return out;
}

/** Outputs above this many elements are folded only when the node does not grow its data (a Transpose of a weight). */
export const MAX_GROWN_ELEMENTS = 1 << 20;

/** Whether folding would materialize a large tensor out of smaller inputs (Expand, Tile, ConstantOfShape, …). */
function grows(g: Graph, n: Node): boolean {
  const count = (v: string) => {
    const t = g.types.get(v);
    return t && allStatic(t.shape) ? t.shape.reduce((a, b) => a * b, 1) : Infinity;
  };
  const out = n.outputs.filter((o) => o).reduce((a, o) => a + count(o), 0);
  const inp = n.inputs.filter((i) => i).reduce((a, i) => a + count(i), 0);
  return out > MAX_GROWN_ELEMENTS && out > inp;
}

/**
 * Elements a folded output may have when it grows its inputs (Pad, Expand, Tile, ConstantOfShape...): 16 M, so a
 * few bytes of model cannot ask for gigabytes. Folds that do not grow the data (a weight's Transpose) are not limited.
 */
export const MAX_FOLDED_ELEMENTS = 1 << 24;

/** The most elements node `n` may fold to: its inputs' total, or MAX_FOLDED_ELEMENTS if larger. */
function foldLimit(g: Graph, n: Node): number {
  let inputs = 0;
  for (const i of n.inputs) if (i) inputs += g.initializers.get(i)!.data.length;
  return Math.max(MAX_FOLDED_ELEMENTS, inputs);
}

// Checked before evaluating when inference knows the output's shape (then nothing is allocated), and after otherwise.
function checkFoldSize(n: Node, elements: number, limit: number): void {
  if (Number.isNaN(elements) || elements <= limit) return;
  throw new TensorRTError(
    ErrorCode.INVALID_MODEL,
    `Constant folding of node '${n.name}' (${n.op}) would produce ${elements} elements, more than the limit of ${limit} (MAX_FOLDED_ELEMENTS ${MAX_FOLDED_ELEMENTS})`,
  );
}

/**
 * Folds constants, resolves shape computations and removes pass-through and dead nodes, in place.
 * @example
 * foldConstants(g); // Shape→Gather→Concat→Reshape becomes Flatten(axis=1)
 */
export function foldConstants(g: Graph): void {
  const values = inferShapes(g);
  const producers = g.producers();
  const kept: Node[] = [];
  for (const n of g.nodes) {
    if (isPassthrough(g, n) && removePassthrough(g, n, producers)) continue;
    if (n.op === 'Constant' && n.domain === '') {
      const [t] = runNode(n, g.opset, []);
      g.initializers.set(n.outputs[0], toConstant(n.outputs[0], t));
      continue;
    }
    const outs = n.outputs.filter((o) => o);
    // Shape-like values that inference resolved to numbers.
    if (outs.length === 1 && n.outputs.length === 1 && !g.isOutput(outs[0]) && n.domain === '') {
      const v = values.get(outs[0]);
      const ty = g.types.get(outs[0]);
      if (v && ty && allStatic(v) && allStatic(ty.shape) && (ty.dtype === 'int64' || ty.dtype === 'int32' || ty.dtype === 'bool')) {
        const data = ty.dtype === 'int64' ? BigInt64Array.from(v, (x) => BigInt(x)) : ty.dtype === 'bool' ? Uint8Array.from(v, (x) => (x ? 1 : 0)) : Int32Array.from(v);
        g.initializers.set(outs[0], { name: outs[0], dtype: ty.dtype, dims: ty.shape, data });
        continue;
      }
    }
    const allConst = n.inputs.every((i) => !i || g.initializers.has(i)) && n.inputs.some((i) => i) && n.domain === '';
    const foldable = allConst && !outs.some((o) => g.isOutput(o));
    // A model asking for more than the fold limit is refused; a large but allowed growth stays on the device.
    const limit = foldable ? foldLimit(g, n) : 0;
    if (foldable) for (const o of outs) checkFoldSize(n, numel(g.types.get(o)?.shape ?? [NaN]), limit);
    if (foldable && !grows(g, n)) {
      let res: ReturnType<typeof runNode>;
      try {
        res = runNode(n, g.opset, n.inputs.map((i) => (i ? fromConstant(g.initializers.get(i)!) : undefined)));
      } catch (e) {
        // Bad values in constants (an index out of range) are the model's fault, not the caller's input.
        if (e instanceof TensorRTError && e.code === ErrorCode.INVALID_INPUT) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Invalid constant computation at node '${n.name}' (${n.op}): ${e.message}`, { cause: e });
        throw e;
      }
      res.forEach((t) => t && checkFoldSize(n, t.data.length, limit));
      n.outputs.forEach((o, k) => o && g.initializers.set(o, toConstant(o, res[k])));
      continue;
    }
    if (n.op === 'Reshape' && n.domain === '') rewriteReshape(g, n, values.get(n.inputs[1]));
    kept.push(n);
  }
  g.nodes = kept;
  eliminateDeadNodes(g);
  inferShapes(g);
}

/** A Reshape to [N, prod(rest)] becomes Flatten(axis=1); a symbolic target becomes a constant one. */
function rewriteReshape(g: Graph, n: Node, target: Dim[] | undefined): void {
  const x = g.types.get(n.inputs[0]);
  const y = g.types.get(n.outputs[0]);
  if (!x || !y) return;
  const rest = x.shape.slice(1);
  if (x.shape.length >= 2 && y.shape.length === 2 && y.shape[0] === x.shape[0] && allStatic(rest) && y.shape[1] === rest.reduce((a, b) => a * b, 1)) {
    n.op = 'Flatten';
    n.inputs = [n.inputs[0]];
    n.attrs = { axis: 1 };
    return;
  }
  if (!target || allStatic(target)) return;
  const t = staticTarget(target, x.shape);
  if (!t) return;
  const name = g.uniqueName(`${n.name}_shape`);
  g.initializers.set(name, { name, dtype: 'int64', dims: [t.length], data: BigInt64Array.from(t, (v) => BigInt(v)) });
  n.inputs = [n.inputs[0], name];
  delete n.attrs.allowzero;
}
