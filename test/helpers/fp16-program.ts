// A one-input graph lowered as an FP16 builtin engine and run by the program simulator beside the reference: how the
// decomposition tests check that a rewrite holds in float16.
import { lowerGraph } from '../../lib/builtin/lower.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Constant, Node } from '../../lib/ir/types.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { int64 } from '../unit/reference-helpers.js';
import { simulate } from './program-sim.js';

/**
 * A graph of x ['n', cols] through `nodes` to y (an int64 `axes` [1] at hand, and `constants`), lowered as an FP16
 * engine: the reference's y and the simulated program's, at batch 2.
 * @example const { want, got } = fp16Program([node('Sinh', ['x'], ['y'])], xv, 8);
 */
export function fp16Program(nodes: Node[], xv: Float32Array, cols: number, constants: Constant[] = [], opset = 18): { want: Float32Array; got: Float64Array } {
  const g = new Graph({
    opset,
    inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['n', cols] } }],
    outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
    nodes,
    initializers: new Map([['axes', int64('axes', [1])], ...constants.map((c) => [c.name, c] as [string, Constant])]),
  });
  inferShapes(g);
  const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision: 'fp16' }), { min: 1, opt: 2, max: 4 });
  return { want: runReference(g, { x: xv }).y as Float32Array, got: simulate(program, weights, { x: xv }, 2).y };
}

/** A float32 scalar constant. @example scalarF32('eps', 1e-5) */
export const scalarF32 = (name: string, v: number): Constant => ({ name, dtype: 'float32', dims: [], data: Float32Array.from([v]) });

/** A float32 constant of `dims` filled with 0.5. @example filledF32('c', [3, 2]) */
export const filledF32 = (name: string, dims: number[]): Constant => ({ name, dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, v) => a * v, 1)).fill(0.5) });
