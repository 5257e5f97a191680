// The graph container: values are named strings, nodes are kept in topological order.
import { ErrorCode, TensorRTError } from '../errors.js';
import type { Constant, Node, TensorType, ValueInfo } from './types.js';

export interface GraphInit {
  name?: string;
  opset: number;
  inputs?: ValueInfo[];
  outputs?: ValueInfo[];
  nodes?: Node[];
  initializers?: Map<string, Constant>;
  types?: Map<string, TensorType>;
  producerName?: string;
  producerVersion?: string;
  irVersion?: number;
}

/**
 * A model as a dataflow graph. `types` holds every value's type after shape inference.
 * @example
 * const g = await loadModel('model.onnx'); console.log(g.inputs[0].type.shape); // ['batch', 3, 224, 224]
 */
export class Graph {
  name: string;
  opset: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: Node[];
  initializers: Map<string, Constant>;
  types: Map<string, TensorType>;
  producerName: string;
  producerVersion: string;
  irVersion: number;

  constructor(init: GraphInit) {
    this.name = init.name ?? 'graph';
    this.opset = init.opset;
    this.inputs = init.inputs ?? [];
    this.outputs = init.outputs ?? [];
    this.nodes = init.nodes ?? [];
    this.initializers = init.initializers ?? new Map();
    this.types = init.types ?? new Map();
    this.producerName = init.producerName ?? '';
    this.producerVersion = init.producerVersion ?? '';
    this.irVersion = init.irVersion ?? 8;
  }

  /**
   * A structural copy: nodes, lists and maps are new; constants' data is shared (never mutated in place).
   * @example
   * const g2 = g.clone(); g2.nodes.pop(); // g is unchanged
   */
  clone(): Graph {
    const copyType = (t: TensorType): TensorType => ({ dtype: t.dtype, shape: [...t.shape] });
    return new Graph({
      name: this.name,
      opset: this.opset,
      inputs: this.inputs.map((v) => ({ name: v.name, type: copyType(v.type) })),
      outputs: this.outputs.map((v) => ({ name: v.name, type: copyType(v.type) })),
      nodes: this.nodes.map((n) => ({
        name: n.name,
        op: n.op,
        domain: n.domain,
        inputs: [...n.inputs],
        outputs: [...n.outputs],
        attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v])) as Node['attrs'],
      })),
      initializers: new Map(this.initializers),
      types: new Map([...this.types].map(([k, t]) => [k, copyType(t)])),
      producerName: this.producerName,
      producerVersion: this.producerVersion,
      irVersion: this.irVersion,
    });
  }

  /** value name → the node that produces it (graph inputs and initializers have none). */
  producers(): Map<string, Node> {
    const m = new Map<string, Node>();
    for (const n of this.nodes) for (const o of n.outputs) if (o) m.set(o, n);
    return m;
  }

  /** value name → the nodes that read it, in node order (a node reading it twice appears once). */
  consumers(): Map<string, Node[]> {
    const m = new Map<string, Node[]>();
    for (const n of this.nodes) {
      for (const i of new Set(n.inputs)) {
        if (!i) continue;
        const list = m.get(i);
        if (list) list.push(n);
        else m.set(i, [n]);
      }
    }
    return m;
  }

  isOutput(name: string): boolean {
    return this.outputs.some((o) => o.name === name);
  }

  typeOf(name: string): TensorType {
    const t = this.types.get(name);
    if (!t) throw new TensorRTError(ErrorCode.INVALID_MODEL, `Value '${name}' has no inferred type`);
    return t;
  }

  /** A value or node name not used anywhere in the graph yet, derived from `base`. */
  uniqueName(base: string): string {
    if (!this.nameSet) {
      this.nameSet = new Set<string>([...this.types.keys(), ...this.initializers.keys()]);
      for (const v of [...this.inputs, ...this.outputs]) this.nameSet.add(v.name);
      for (const n of this.nodes) {
        this.nameSet.add(n.name);
        for (const o of n.outputs) this.nameSet.add(o);
      }
    }
    let name = base;
    for (let i = 1; this.nameSet.has(name); i++) name = `${base}_${i}`;
    this.nameSet.add(name);
    return name;
  }
  private nameSet?: Set<string>;

  /**
   * Reorders `nodes` topologically (stable: keeps the current order where it is already valid).
   * @example
   * g.nodes.reverse(); g.topoSort(); // back in dependency order
   */
  topoSort(): void {
    const available = new Set<string>(['', ...this.initializers.keys(), ...this.inputs.map((i) => i.name)]);
    const producer = new Map<string, number>();
    this.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
    const waiting = new Map<string, number[]>();
    const missing = this.nodes.map(() => 0);
    const ready: number[] = [];
    this.nodes.forEach((n, i) => {
      for (const inp of new Set(n.inputs)) {
        if (available.has(inp)) continue;
        if (!producer.has(inp)) {
          throw new TensorRTError(ErrorCode.INVALID_MODEL, `Node '${n.name}' (${n.op}) reads '${inp}', which is no graph input, initializer or node output`);
        }
        missing[i]++;
        const w = waiting.get(inp);
        if (w) w.push(i);
        else waiting.set(inp, [i]);
      }
      if (missing[i] === 0) ready.push(i);
    });
    // A min-heap would be exact; re-sorting the small ready list keeps the original order stable.
    const order: Node[] = [];
    while (ready.length) {
      ready.sort((a, b) => b - a);
      const i = ready.pop()!;
      order.push(this.nodes[i]);
      for (const o of this.nodes[i].outputs) {
        for (const j of waiting.get(o) ?? []) if (--missing[j] === 0) ready.push(j);
        waiting.delete(o);
      }
    }
    if (order.length !== this.nodes.length) {
      const stuck = this.nodes.find((_, i) => missing[i] > 0)!;
      throw new TensorRTError(ErrorCode.INVALID_MODEL, `The graph has a cycle through node '${stuck.name}' (${stuck.op})`);
    }
    this.nodes = order;
  }
}
