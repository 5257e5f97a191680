// Hand-built IR graphs for tests: nodes named after their op and first output, float32 inputs.
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { FUSED_DOMAIN, type Constant, type Dim, type Node } from '../../lib/ir/types.js';

/** A node named `${op}_${outputs[0]}` unless `name` is given; the optimizer's Fused* ops get their domain. */
export function node(op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}, name = `${op}_${outputs[0]}`): Node {
  return { name, op, domain: op.startsWith('Fused') ? FUSED_DOMAIN : '', inputs, outputs, attrs };
}

/** A graph of float32 inputs, outputs whose types are left to inference, and constants; not yet inferred. */
export function graphOf(nodes: Node[], inputs: [string, Dim[]][], outputs: string[], constants: Constant[] = [], opset = 17): Graph {
  return new Graph({
    opset,
    inputs: inputs.map(([name, shape]) => ({ name, type: { dtype: 'float32', shape } })),
    outputs: outputs.map((name) => ({ name, type: { dtype: 'float32', shape: [] } })),
    nodes,
    initializers: new Map(constants.map((c) => [c.name, c])),
  });
}

/** A graph of one float32 input 'x' of shape `x`, shape-inferred. */
export function inferredGraph(nodes: Node[], x: Dim[], outputs: string[], constants: Constant[] = [], opset = 17): Graph {
  const g = graphOf(nodes, [['x', x]], outputs, constants, opset);
  inferShapes(g);
  return g;
}
