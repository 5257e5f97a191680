// A pre-norm block's residual Add moved from its LayerNorm into the GEMM before it. The lowering fuses each residual
// Add into the LayerNorm that follows (one pass reading both operands); when the sum is also the next block's
// residual, that LayerNorm writes it beside its result: five passes over the rows in all (the GEMM's write, two
// reads, two writes). With the residual as the GEMM's C (cuBLASLt, beta = 1; the own kernels' epilogue), the GEMM
// writes the sum and the LayerNorm reads it once: four. ViT-B/16 has 24 such sums. A post-norm block (BERT), whose
// LayerNorm writes only its result, keeps the fused form, which moves less.
//
// It runs on a merged program after the row-order pass (which exposes the attention projection's output to its
// residual) and before memory is planned. The GEMM must be a 1×1 "fully connected" conv with no residual and no
// activation, whose output only that LayerNorm reads; the other operand must be written before the GEMM runs.
import { Act, Op, type ProgramLayer, type ProgramTensor } from './program.js';

export function residualIntoGemm(layers: ProgramLayer[], tensors: ProgramTensor[], pinned: Set<number>): ProgramLayer[] {
  const writer = new Map<number, number>();
  const readers = new Map<number, number>();
  layers.forEach((l, i) => {
    for (const t of l.outputs) writer.set(t, writer.has(t) ? -1 : i);  // −1: written more than once
    for (const t of new Set(l.inputs)) if (t >= 0) readers.set(t, (readers.get(t) ?? 0) + 1);
  });
  const fc = (l: ProgramLayer) =>
    l.op === Op.conv && l.inputs[3] === -1 && l.params.act === Act.none && !l.perDim &&
    ['r', 's', 'h', 'w'].every((k) => l.params[k] === 1);
  const same = (a: ProgramTensor, b: ProgramTensor) => a.loc === 0 && b.loc === 0 && a.dtype === b.dtype && a.bytes === b.bytes && a.batched === b.batched;
  let out: ProgramLayer[] | undefined;
  layers.forEach((ln, i) => {
    if (ln.op !== Op.layernorm || ln.outputs.length !== 2 || ln.inputs[3] < 0) return;
    const sum = ln.outputs[1];
    if (pinned.has(sum) || writer.get(sum) !== i) return;
    for (const side of [0, 3]) {
      const a = ln.inputs[side], r = ln.inputs[side === 0 ? 3 : 0];
      const c = writer.get(a) ?? -1;
      const rAt = writer.get(r);
      if (c < 0 || a === r || readers.get(a) !== 1 || pinned.has(a) || !fc(layers[c])) continue;
      // The residual must exist when the GEMM runs: a model input (no writer) or written before it.
      if (rAt === -1 || (rAt !== undefined && rAt >= c)) continue;
      if (!same(tensors[a], tensors[sum]) || !same(tensors[r], tensors[sum])) continue;
      out ??= [...layers];
      const gemm = layers[c];
      out[c] = { ...gemm, name: `${gemm.name}+residual`, inputs: [gemm.inputs[0], gemm.inputs[1], gemm.inputs[2], r], outputs: [sum] };
      out[i] = { ...ln, name: ln.name.replace(/\+residual$/, ''), inputs: [sum, ln.inputs[1], ln.inputs[2], -1], outputs: [ln.outputs[0]] };
      return;
    }
  });
  return out ?? layers;
}
