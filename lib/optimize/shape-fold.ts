// Shape-tensor folding: binds symbolic input dims whose value a profile fixes, then folds every
// subgraph that only computes shapes or masks (Shape, Gather, Concat, Range, ConstantOfShape, Equal,
// Where, Expand, Mod, …) into constants. What still depends on data or on a dim that stays dynamic
// remains as ops.
import { ErrorCode, TensorRTError } from '../errors.js';
import { evalDim } from '../ir/dims.js';
import type { Graph } from '../ir/graph.js';
import type { Dim } from '../ir/types.js';
import { foldConstants } from './fold.js';

/** min/opt/max of one symbolic dimension. */
export interface DimRange {
  min: number;
  opt: number;
  max: number;
}

/**
 * Folds the graph's shape computations with the given symbol values (e.g. { sequence: 128 }); returns a
 * new graph whose inputs have those dims static. Outputs are unchanged for every input of those sizes.
 * @example
 * const g128 = foldShapes(bert, { sequence: 128 }); // batch stays dynamic, the mask/position subgraphs fold
 */
export function foldShapes(graph: Graph, dims: Record<string, number>): Graph {
  const bound = new Map<string, number>();
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new TensorRTError(ErrorCode.INVALID_ARGUMENT, `Expected a non-negative integer for dimension '${k}' but received ${String(v)}`);
    bound.set(k, v);
  }
  const g = graph.clone();
  const bind = (shape: Dim[]): Dim[] => shape.map((d) => (typeof d === 'number' ? d : (evalDim(d, bound) ?? d)));
  for (const i of g.inputs) i.type.shape = bind(i.type.shape);
  for (const o of g.outputs) o.type.shape = bind(o.type.shape);
  g.types = new Map();
  foldConstants(g);
  return g;
}

/**
 * The symbols a profile fixes: those whose min equals max (a static size the model left symbolic).
 * @example
 * fixedDims({ batch: { min: 1, opt: 8, max: 32 }, sequence: { min: 128, opt: 128, max: 128 } }); // { sequence: 128 }
 */
export function fixedDims(profile: Record<string, DimRange>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, r] of Object.entries(profile)) if (r.min === r.max) out[k] = r.min;
  return out;
}

/**
 * Folds the dims a profile fixes (min == max), leaving the dynamic ones symbolic: what a backend that only
 * varies the batch runs.
 * @example
 * const g = foldStaticDims(graph, { batch: { min: 1, opt: 4, max: 8 }, sequence: { min: 64, opt: 64, max: 64 } });
 */
export function foldStaticDims(graph: Graph, profile: Record<string, DimRange>): Graph {
  const fixed = fixedDims(profile);
  return Object.keys(fixed).length ? foldShapes(graph, fixed) : graph;
}
