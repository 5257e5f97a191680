// RNN, GRU and LSTM unrolled over a static sequence for the builtin backend (TensorRT runs them itself). The input
// projection of every step is one MatMul over the whole sequence, with both biases folded in; each step then adds
// its recurrent MatMul, splits the gates and applies them as elementwise ops; the steps' states are stacked into Y.
// The first step starts from the initial state when given, else from zeros, which it leaves out of the arithmetic.
// Weights must be constants, and sequence_lens absent or the full length everywhere; other forms stay, and the
// backend names them as unsupported.
import { attrFloat, attrInt, attrString } from '../ir/attrs.js';
import { RNN_GATES, rnnActivations } from '../ir/rules-rnn.js';
import type { Node } from '../ir/types.js';
import { fromConstant, toNumbers } from '../reference/tensor.js';
import { Builder, float, Unfit } from './rewrite-builder.js';
import { addConstant, constantOf, floatValues } from './util.js';

/** The longest sequence unrolled: each step is a dozen or more layers. */
export const MAX_STEPS = 512;

/** Rows [from, to) of direction d of a constant [dirs, rows, cols], transposed to [cols, to − from]. */
function transposedRows(v: Float32Array, rows: number, cols: number, d: number, from: number, to: number): Float32Array {
  const out = new Float32Array(cols * (to - from));
  for (let j = from; j < to; j++) for (let i = 0; i < cols; i++) out[i * (to - from) + (j - from)] = v[(d * rows + j) * cols + i];
  return out;
}

/** An int64 scalar index (a Gather with it drops the axis). */
function index(b: Builder, v: number): string {
  return addConstant(b.g, `${b.n.name}_i`, { dtype: 'int64', dims: [], data: BigInt64Array.from([BigInt(v)]) });
}

/** Columns [from, to) of a [N, C] value, in the graph's opset form of Slice. */
function slice(b: Builder, v: string, from: number, to: number): string {
  if (b.g.opset >= 10) return b.op('Slice', [v, b.int64s('start', [from]), b.int64s('end', [to]), b.int64s('axis', [1])]);
  return b.op('Slice', [v], { starts: [from], ends: [to], axes: [1] });
}

/** Makes `v` the value `output`: a rename when nothing else in the replacement reads it, else an Identity. */
function bind(b: Builder, v: string, output: string): void {
  if (!output) return;
  const producer = b.nodes.find((x) => x.outputs[0] === v);
  if (producer && !b.nodes.some((x) => x.inputs.includes(v))) producer.outputs[0] = output;
  else b.nodes.push({ name: b.g.uniqueName(`${b.n.name}_out`), op: 'Identity', domain: '', inputs: [v], outputs: [output], attrs: {} });
}

export function unrollRecurrent(b: Builder, n: Node): void {
  float(b);
  const g = b.g;
  const op = n.op;
  const gates = RNN_GATES[op];
  const [X, Wn, Rn, Bn, lensN, h0, c0, Pn] = n.inputs;
  const layout = attrInt(n, 'layout', 0);
  const direction = attrString(n, 'direction', 'forward');
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const xs = g.typeOf(X).shape;
  const [seq, input] = layout === 0 ? [xs[0], xs[2]] : [xs[1], xs[2]];
  const Wc = constantOf(g, Wn), Rc = constantOf(g, Rn);
  const Bc = Bn ? constantOf(g, Bn) : undefined, Pc = Pn ? constantOf(g, Pn) : undefined;
  if (typeof seq !== 'number' || typeof input !== 'number' || seq < 1 || seq > MAX_STEPS) throw new Unfit();
  if (!Wc || !Rc || (Bn && !Bc) || (Pn && !Pc)) throw new Unfit();
  if (lensN) {
    const l = constantOf(g, lensN);
    if (!l || toNumbers(fromConstant(l)).some((v) => v !== seq)) throw new Unfit();
  }
  const hidden = Rc.dims[2];
  const gh = gates * hidden;
  const w = floatValues(Wc), r = floatValues(Rc);
  const bias = Bc ? floatValues(Bc) : new Float32Array(dirs * 2 * gh);
  const peep = Pc ? floatValues(Pc) : undefined;
  const lbr = attrInt(n, 'linear_before_reset', 0) !== 0;
  const clip = attrFloat(n, 'clip');
  const acts = rnnActivations({ node: n, unsupported: () => { throw new Unfit(); }, invalid: () => { throw new Unfit(); } }, dirs);
  const seqAxis = layout === 0 ? 0 : 1;
  const stateAxis = layout === 0 ? 0 : 1; // of initial_h/c and Y_h/Y_c: [dirs, N, H] or [N, dirs, H]
  const act = (name: string, v: string) => b.op(name, [clip === undefined ? v : b.op('Clip', [v, b.scalar(-clip), b.scalar(clip)])]);
  const ys: string[] = [], hs: string[] = [], cs: string[] = [];
  for (let d = 0; d < dirs; d++) {
    const reverse = direction === 'reverse' || d === 1;
    const [f, gAct, hAct] = acts[d];
    // The input projection of every step at once, with Wb and Rb folded in (GRU's Rbh stays with its product when
    // linear_before_reset, as the reset gate multiplies it there).
    const folded = new Float32Array(gh);
    for (let j = 0; j < gh; j++) folded[j] = bias[d * 2 * gh + j] + (op === 'GRU' && lbr && j >= 2 * hidden ? 0 : bias[d * 2 * gh + gh + j]);
    const proj = b.op('Add', [b.op('MatMul', [X, b.floats('w', [input, gh], transposedRows(w, gh, input, d, 0, gh))]), b.floats('b', [gh], folded)]);
    // Recurrent weights: all gates, or for GRU without linear_before_reset z and r (h's product reads r ⊙ H).
    const recRows = op === 'GRU' && !lbr ? 2 * hidden : gh;
    const rT = b.floats('r', [hidden, recRows], transposedRows(r, gh, hidden, d, 0, recRows));
    const rhT = op === 'GRU' && !lbr ? b.floats('rh', [hidden, hidden], transposedRows(r, gh, hidden, d, 2 * hidden, gh)) : undefined;
    const recBias = op === 'GRU' && lbr ? b.floats('rb', [gh], Float32Array.from({ length: gh }, (_, j) => (j >= 2 * hidden ? bias[d * 2 * gh + gh + j] : 0))) : undefined;
    const p = (k: number) => (peep ? b.floats('p', [hidden], peep.slice(d * 3 * hidden + k * hidden, d * 3 * hidden + (k + 1) * hidden)) : undefined);
    const [pi, po, pf] = [p(0), p(1), p(2)];
    const rbh = op === 'GRU' && lbr ? b.floats('rbh', [hidden], bias.slice(d * 2 * gh + gh + 2 * hidden, d * 2 * gh + 2 * gh)) : undefined;
    const initial = (name: string | undefined) => (name ? b.op('Gather', [name, index(b, d)], { axis: stateAxis }) : undefined);
    let H = initial(h0 || undefined);
    let C = op === 'LSTM' ? initial(c0 || undefined) : undefined;
    const steps: string[] = new Array(seq);
    for (let k = 0; k < seq; k++) {
      const t = reverse ? seq - 1 - k : k;
      const xt = b.op('Gather', [proj, index(b, t)], { axis: seqAxis });
      const split = (v: string, parts: number) => Array.from({ length: parts }, (_, k) => slice(b, v, k * hidden, (k + 1) * hidden));
      if (op === 'RNN') {
        H = act(f, H ? b.op('Add', [xt, b.op('MatMul', [H, rT])]) : xt);
      } else if (op === 'LSTM') {
        const pre = H ? b.op('Add', [xt, b.op('MatMul', [H, rT])]) : xt;
        const [gi, go, gf, gc] = split(pre, 4);
        const withPeep = (v: string, pk: string | undefined, c: string | undefined) => (pk && c ? b.op('Add', [v, b.op('Mul', [c, pk])]) : v);
        const i = act(f, withPeep(gi, pi, C));
        const cand = act(gAct, gc);
        const ic = b.op('Mul', [i, cand]);
        C = C ? b.op('Add', [b.op('Mul', [act(f, withPeep(gf, pf, C)), C]), ic]) : ic;
        const o = act(f, withPeep(go, po, C));
        H = b.op('Mul', [o, b.op(hAct, [C])]); // clip bounds the gates' inputs, not the cell state
      } else {
        const [xz, xr, xh] = split(xt, 3);
        let z: string, rg: string, cand: string;
        if (lbr) {
          const rec = H ? b.op('Add', [b.op('MatMul', [H, rT]), recBias!]) : undefined;
          const [rz, rr, rh] = rec ? split(rec, 3) : [undefined, undefined, undefined];
          z = act(f, rz ? b.op('Add', [xz, rz]) : xz);
          rg = act(f, rr ? b.op('Add', [xr, rr]) : xr);
          // With no state yet, the recurrent h term is its bias alone.
          cand = act(gAct, b.op('Add', [xh, b.op('Mul', [rg, rh ?? rbh!])]));
        } else {
          const rec = H ? b.op('MatMul', [H, rT]) : undefined;
          const [rz, rr] = rec ? split(rec, 2) : [undefined, undefined];
          z = act(f, rz ? b.op('Add', [xz, rz]) : xz);
          rg = act(f, rr ? b.op('Add', [xr, rr]) : xr);
          cand = act(gAct, H ? b.op('Add', [xh, b.op('MatMul', [b.op('Mul', [rg, H]), rhT!])]) : xh);
        }
        // (1 − z) ⊙ cand + z ⊙ H = cand + z ⊙ (H − cand); with no state, cand − z ⊙ cand.
        H = b.op('Add', [cand, b.op('Mul', [z, H ? b.op('Sub', [H, cand]) : b.op('Neg', [cand])])]);
      }
      steps[t] = H!;
    }
    // Y of this direction: the steps stacked along the sequence axis, with a direction axis.
    const stacked = b.op('Concat', steps.map((h) => b.unsqueeze(h, [seqAxis])), { axis: seqAxis });
    ys.push(b.unsqueeze(stacked, [layout === 0 ? 1 : 2]));
    hs.push(b.unsqueeze(H!, [stateAxis]));
    if (C) cs.push(b.unsqueeze(C, [stateAxis]));
  }
  const [yOut, hOut, cOut] = n.outputs;
  const join = (parts: string[], axis: number) => (parts.length === 1 ? parts[0] : b.op('Concat', parts, { axis }));
  if (yOut) bind(b, join(ys, layout === 0 ? 1 : 2), yOut);
  if (hOut) bind(b, join(hs, stateAxis), hOut);
  if (cOut && op === 'LSTM') bind(b, join(cs, stateAxis), cOut);
}
