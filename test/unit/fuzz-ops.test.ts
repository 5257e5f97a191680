// Crafted nodes of the newer operators: random shapes, attributes and constant inputs, run through shape inference,
// the reference backend, the optimizer and the builtin lowering. Each may succeed or refuse, but a refusal must be a
// coded TensorRTError: never a RangeError, a TypeError or a hang.
import { describe, expect, it } from 'vitest';
import { TensorRTError } from '../../lib/errors.js';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { AttrValue, Constant, Dim, Node } from '../../lib/ir/types.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { f32, int64 } from './reference-helpers.js';

/** A small deterministic generator (mulberry32). */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  return { next, int, pick };
}

type R = ReturnType<typeof rng>;
/** Mostly sensible values, sometimes hostile ones. */
const wild = (r: R, sane: number) => r.pick([sane, sane, sane, 0, -1, -sane, 2 ** 31, 2 ** 40, sane + 1]);
const floats = (r: R, n: number) => Float32Array.from({ length: n }, () => r.pick([r.next() * 4 - 2, r.next(), 0, 1e30, -1e30, Infinity, NaN]));

/** One crafted node of `op` on x (its shape returned), with its constants. */
function crafted(op: string, r: R): { node: Node; x: number[]; consts: Constant[]; opset: number } {
  const x = Array.from({ length: r.int(1, 4) }, () => r.int(1, 4));
  const c = x[1] ?? 1;
  const node = (inputs: string[], attrs: Record<string, AttrValue> = {}): Node => ({ name: 'n', op, domain: '', inputs, outputs: ['y'], attrs });
  // Constants are built here, so their sizes stay small; hostile sizes go into attributes.
  const vec = (name: string, n: number) => f32(name, [Math.max(0, Math.min(n, 64))], floats(r, Math.max(0, Math.min(n, 64))));
  switch (op) {
    case 'PRelu':
      return { node: node(['x', 's']), x, consts: [vec('s', r.pick([c, 1, c + 1]))], opset: 17 };
    case 'InstanceNormalization':
    case 'GroupNormalization':
      return { node: node(['x', 'a', 'b'], { num_groups: wild(r, 1), epsilon: r.pick([1e-5, 0, -1]) }), x, consts: [vec('a', wild(r, c)), vec('b', wild(r, c))], opset: r.pick([18, 21]) };
    case 'LRN':
      return { node: node(['x'], { size: wild(r, 3), alpha: r.next(), beta: r.pick([0.75, -2, 0]), bias: r.pick([1, 0, -1]) }), x, consts: [], opset: 17 };
    case 'DepthToSpace':
    case 'SpaceToDepth':
      return { node: node(['x'], { blocksize: wild(r, 2), mode: r.pick(['DCR', 'CRD', 'XYZ']) }), x: [r.int(1, 2), r.pick([4, 8, 3]), r.pick([2, 4]), r.pick([2, 4])], consts: [], opset: 17 };
    case 'LpNormalization':
      return { node: node(['x'], { axis: wild(r, -1), p: r.pick([1, 2, 3]) }), x, consts: [], opset: 17 };
    case 'OneHot':
      return { node: node(['i', 'd', 'v'], { axis: wild(r, -1) }), x, consts: [int64('i', [r.int(-6, 6), r.int(-6, 6)], [2]), int64('d', [wild(r, 4)], []), vec('v', r.pick([2, 1, 3]))], opset: 17 };
    case 'Hardmax':
      return { node: node(['x'], { axis: wild(r, -1) }), x, consts: [], opset: r.pick([11, 13]) };
    case 'GatherND': {
      const k = r.int(1, 3);
      return { node: node(['x', 'i'], { batch_dims: r.pick([0, 0, 1, 5]) }), x, consts: [int64('i', Array.from({ length: 2 * k }, () => r.int(-5, 5)), [2, k])], opset: 17 };
    }
    case 'ScatterElements':
      return { node: node(['x', 'i', 'u'], { axis: wild(r, 0), reduction: r.pick(['none', 'add', 'max', 'bogus']) }), x, consts: [int64('i', x.map(() => r.int(-5, 5)).slice(0, 1).concat(new Array(Math.max(0, x.reduce((a, b) => a * b, 1) - 1)).fill(0)), x), f32('u', x, floats(r, x.reduce((a, b) => a * b, 1)))], opset: 17 };
    case 'QuantizeLinear':
    case 'DequantizeLinear':
      return {
        node: node(['x', 's'], { axis: wild(r, 1), ...(r.next() < 0.2 ? { block_size: 2 } : {}) }),
        x,
        consts: [vec('s', r.pick([0, 1, c, c + 1]))],
        opset: r.pick([13, 19, 21]),
      };
    case 'Einsum':
      return { node: node(['x', 'x'], { equation: r.pick(['ab,bc->ac', 'a...,...a', 'ij,jk', 'ii->i', '...,...->...', 'a,b->', 'abc,abd->abcd', 'xyz', '->']) }), x, consts: [], opset: 17 };
    case 'CumSum':
      return { node: node(['x', 'a'], { exclusive: r.pick([0, 1]), reverse: r.pick([0, 1]) }), x, consts: [int64('a', [wild(r, 0)], [])], opset: 17 };
    case 'Trilu':
      return { node: node(['x', 'k'], { upper: r.pick([0, 1]) }), x, consts: [int64('k', [wild(r, 1)], [])], opset: 17 };
    default: {
      // LSTM / GRU / RNN on a [seq, batch, input] x.
      const gates = { RNN: 1, GRU: 3, LSTM: 4 }[op]!;
      const h = wild(r, 2);
      const hs = Math.max(1, Math.min(h, 8));
      const xs = [r.int(1, 3), r.int(1, 2), r.int(1, 3)];
      return {
        node: node(['x', 'W', 'R'], { hidden_size: h, direction: r.pick(['forward', 'reverse', 'bidirectional', 'sideways']), clip: r.pick([1, 0, -1, 3]), activations: r.pick([undefined, ['Tanh'], ['Sigmoid', 'Tanh', 'Tanh'], ['Softsign']]) as AttrValue }),
        x: xs,
        consts: [f32('W', [1, gates * hs, xs[2]], floats(r, gates * hs * xs[2])), f32('R', [1, gates * hs, hs], floats(r, gates * hs * hs))],
        opset: 14,
      };
    }
  }
}

// FUZZ_OPS=LSTM,GRU narrows a run to some operators while debugging.
const OPS = process.env.FUZZ_OPS ? process.env.FUZZ_OPS.split(',') : ['PRelu', 'InstanceNormalization', 'GroupNormalization', 'LRN', 'DepthToSpace', 'SpaceToDepth', 'LpNormalization', 'OneHot', 'Hardmax', 'GatherND', 'ScatterElements', 'QuantizeLinear', 'DequantizeLinear', 'Einsum', 'CumSum', 'Trilu', 'LSTM', 'GRU', 'RNN'];

/** Runs `f`; an error is fine when it is a coded TensorRTError, and returned as a string otherwise. */
function uncoded(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof TensorRTError ? undefined : String(e);
  }
}

describe('crafted nodes of the newer operators', () => {
  it('give results or coded errors, in inference, the reference, the optimizer and the builtin lowering (40 per operator)', () => {
    const r = rng(20261130);
    const bad: string[] = [];
    for (const op of OPS) {
      for (let trial = 0; trial < 40; trial++) {
        const { node, x, consts, opset } = crafted(op, r);
        for (const k of Object.keys(node.attrs)) if (node.attrs[k] === undefined) delete node.attrs[k];
        const dims: Dim[] = x.map((d, i) => (i === 0 && r.next() < 0.5 ? 'n' : d));
        const build = () => {
          const g = new Graph({
            opset,
            inputs: [{ name: 'x', type: { dtype: op === 'DequantizeLinear' ? 'int8' : 'float32', shape: dims } }],
            outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
            nodes: [node],
            initializers: new Map(consts.map((k) => [k.name, k])),
          });
          inferShapes(g);
          return g;
        };
        let g: Graph | undefined;
        const where = `${op} #${trial} ${JSON.stringify(node.attrs)} x=[${dims.join(',')}]`;
        const t0 = performance.now();
        const e1 = uncoded(() => (g = build()));
        if (e1) bad.push(`${where} inference: ${e1}`);
        if (!g) continue;
        const n = x.reduce((a, b) => a * b, 1);
        const feed = op === 'DequantizeLinear' ? Int8Array.from({ length: n }, (_, i) => (i * 37) % 256 - 128) : floats(r, n);
        const e2 = uncoded(() => runReference(g!, { x: feed }));
        if (e2) bad.push(`${where} reference: ${e2}`);
        const e3 = uncoded(() => lowerGraph(optimize(g!, { fuse: true, precision: r.pick(['fp16', 'fp32'] as const) }), { min: 1, opt: 1, max: 2 }));
        if (e3) bad.push(`${where} builtin: ${e3}`);
        const ms = performance.now() - t0;
        if (ms > 2000) bad.push(`${where} took ${Math.round(ms)} ms`);
      }
    }
    expect(bad).toEqual([]);
  }, 60_000);
});
