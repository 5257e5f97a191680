// Activation math shared by the element-wise ops and the FusedConv epilogue.
import type { Activation } from '../ir/rules-nn.js';

/** Applies an activation in place over y[from, to). */
export function applyActivation(y: Float32Array | Float64Array, act: Activation, alpha: number, beta: number, from = 0, to = y.length): void {
  switch (act) {
    case 'none':
      return;
    case 'relu':
      for (let i = from; i < to; i++) if (y[i] < 0) y[i] = 0;
      return;
    case 'clip':
      for (let i = from; i < to; i++) {
        const v = y[i];
        y[i] = v < alpha ? alpha : v > beta ? beta : v;
      }
      return;
    case 'leakyrelu':
      for (let i = from; i < to; i++) if (y[i] < 0) y[i] *= alpha;
      return;
    case 'sigmoid':
      for (let i = from; i < to; i++) y[i] = 1 / (1 + Math.exp(-y[i]));
      return;
    case 'hardsigmoid':
      for (let i = from; i < to; i++) y[i] = Math.max(0, Math.min(1, alpha * y[i] + beta));
      return;
    case 'hardswish':
      for (let i = from; i < to; i++) y[i] = y[i] * Math.max(0, Math.min(1, y[i] / 6 + 0.5));
      return;
    case 'tanh':
      for (let i = from; i < to; i++) y[i] = Math.tanh(y[i]);
      return;
    case 'silu':
      for (let i = from; i < to; i++) y[i] = y[i] / (1 + Math.exp(-y[i]));
      return;
  }
}

/** The activation of a standalone ONNX op, with its alpha/beta, or undefined for other ops. */
export function opActivation(op: string, attrs: { alpha?: number; beta?: number }): { act: Activation; alpha: number; beta: number } | undefined {
  switch (op) {
    case 'Relu':
      return { act: 'relu', alpha: 0, beta: 0 };
    case 'Sigmoid':
      return { act: 'sigmoid', alpha: 0, beta: 0 };
    case 'Tanh':
      return { act: 'tanh', alpha: 0, beta: 0 };
    case 'HardSwish':
      return { act: 'hardswish', alpha: 0, beta: 0 };
    case 'LeakyRelu':
      return { act: 'leakyrelu', alpha: attrs.alpha ?? 0.01, beta: 0 };
    case 'HardSigmoid':
      return { act: 'hardsigmoid', alpha: attrs.alpha ?? 0.2, beta: attrs.beta ?? 0.5 };
    default:
      return undefined;
  }
}
