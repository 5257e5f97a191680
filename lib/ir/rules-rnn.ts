// Shape/dtype rules for the recurrent operators RNN, GRU and LSTM (one layer, forward, reverse or bidirectional).
import { attrFloat, attrInt, attrString, attrStrings } from './attrs.js';
import type { InferResult, NodeContext } from './context.js';
import { shapeToString, type Dim } from './types.js';

/** Gates per operator: W is [directions, gates·hidden, input]. */
export const RNN_GATES: Record<string, number> = { RNN: 1, GRU: 3, LSTM: 4 };
/** Activation functions the recurrent kernels implement, per position of the `activations` attribute. */
export const RNN_ACTIVATIONS = ['Sigmoid', 'Tanh', 'Relu'] as const;
/** Each operator's default activations, in the attribute's order (per direction). */
export const RNN_DEFAULT_ACTIVATIONS: Record<string, readonly string[]> = { RNN: ['Tanh'], GRU: ['Sigmoid', 'Tanh'], LSTM: ['Sigmoid', 'Tanh', 'Tanh'] };

/** The activations of a recurrent node, one list per direction; unsupported names are refused. */
export function rnnActivations(ctx: Pick<NodeContext, 'node' | 'unsupported' | 'invalid'>, directions: number): string[][] {
  const per = RNN_DEFAULT_ACTIVATIONS[ctx.node.op];
  const given = attrStrings(ctx.node, 'activations');
  if (!given) return Array.from({ length: directions }, () => [...per]);
  if (given.length !== per.length * directions) ctx.invalid(`activations must list ${per.length * directions} functions, got ${given.length}`);
  // Names compare without case ('tanh' is Tanh), as onnxruntime reads them.
  const names = given.map((a) => RNN_ACTIVATIONS.find((k) => k.toLowerCase() === a.toLowerCase()) ?? ctx.unsupported(`the activation ${a} (supported: ${RNN_ACTIVATIONS.join(', ')})`));
  return Array.from({ length: directions }, (_, d) => names.slice(d * per.length, (d + 1) * per.length));
}

/** RNN/GRU/LSTM(X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?): Y, Y_h (and Y_c for LSTM). */
export function recurrent(ctx: NodeContext): InferResult {
  const op = ctx.op;
  const x = ctx.float(0);
  ctx.sameDtype(0, 1, 2);
  const direction = attrString(ctx.node, 'direction', 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) ctx.invalid(`unknown direction '${direction}'`);
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const layout = attrInt(ctx.node, 'layout', 0);
  if (layout !== 0 && layout !== 1) ctx.invalid(`layout must be 0 or 1, got ${layout}`);
  if (attrInt(ctx.node, 'input_forget', 0) !== 0) ctx.unsupported('input_forget (coupled input and forget gates)');
  const clip = attrFloat(ctx.node, 'clip');
  if (clip !== undefined && !(clip > 0)) ctx.invalid(`clip must be positive, got ${clip}`);
  rnnActivations(ctx, dirs);
  if (x.shape.length !== 3) ctx.mismatch(`X must be 3-D, got ${shapeToString(x.shape)}`);
  const [seq, batch] = layout === 0 ? [x.shape[0], x.shape[1]] : [x.shape[1], x.shape[0]];
  const w = ctx.input(1).shape;
  const r = ctx.input(2).shape;
  const gates = RNN_GATES[op];
  const hidden = attrInt(ctx.node, 'hidden_size') ?? (typeof r[2] === 'number' ? r[2] : undefined);
  if (hidden === undefined || hidden < 1) ctx.invalid(`hidden_size must be a positive integer, got ${hidden}`);
  const expect = (what: string, got: readonly Dim[], want: Dim[]) => {
    if (got.length !== want.length || got.some((d, i) => typeof d === 'number' && typeof want[i] === 'number' && d !== want[i])) ctx.mismatch(`${what} must be ${shapeToString(want)}, got ${shapeToString(got)}`);
  };
  expect('W', w, [dirs, gates * hidden, x.shape[2]]);
  expect('R', r, [dirs, gates * hidden, hidden]);
  if (ctx.has(3)) expect('B', ctx.input(3).shape, [dirs, 2 * gates * hidden]);
  if (ctx.has(4)) {
    if (ctx.input(4).dtype !== 'int32') ctx.invalid(`sequence_lens must be int32, got ${ctx.input(4).dtype}`);
    expect('sequence_lens', ctx.input(4).shape, [batch]);
  }
  const state: Dim[] = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
  if (ctx.has(5)) expect('initial_h', ctx.input(5).shape, state);
  if (op === 'LSTM' && ctx.has(6)) expect('initial_c', ctx.input(6).shape, state);
  if (op === 'LSTM' && ctx.has(7)) expect('P', ctx.input(7).shape, [dirs, 3 * hidden]);
  const y: Dim[] = layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden];
  const types = [y, state, state].slice(0, ctx.node.outputs.length).map((shape) => ({ dtype: x.dtype, shape: [...shape] }));
  return { types };
}
