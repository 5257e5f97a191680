// Roofline floor of a model's builtin program: per layer, max(FLOPs / peak, bytes / bandwidth), summed.
// Usage: node dist/scripts/roofline.js [--models mobilenetv2,resnet50] [--onnx a.onnx,b.onnx] [--batches 1,32,256]
//          [--tflops 790] [--tbps 3.0] [--measured 0.21,0.86,4.96]
// Defaults are this project's H100 measurements: a large bf16 matrix product and a device-to-device copy.
// Two floors per batch: with inverted-residual blocks fused (the expanded tensor stays on chip) and with them run as
// their three-convolution chain (it crosses DRAM twice); --measured (ms, one per batch, first model) adds
// measured ÷ floor for both.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lowerGraph } from '../lib/builtin/lower.js';
import { OP_NAMES, paramsAt, type Program } from '../lib/builtin/program.js';
import { parseModel } from '../lib/onnx/index.js';
import { optimize } from '../lib/optimize/index.js';
import { mobilenetV2, resnet50 } from './gen-models.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mobilenetv2,resnet50' },
    onnx: { type: 'string', default: '' },
    measured: { type: 'string', default: '' },
    batches: { type: 'string', default: '1,32,256' },
    tflops: { type: 'string', default: '790' },
    tbps: { type: 'string', default: '3.0' },
  },
});
const peak = Number(values.tflops) * 1e12;
const bw = Number(values.tbps) * 1e12;

/**
 * FLOPs and bytes moved by each layer at `batch` (each input read once, each output written once); `chainBytes` is
 * an inverted-residual layer's traffic as its three-kernel chain (the expanded and depthwise tensors written and read).
 */
function layerCosts(p: Program, batch: number): { name: string; op: string; flops: number; bytes: number; chainBytes: number }[] {
  const bytes = (id: number) => (id < 0 ? 0 : p.tensors[id].bytes * (p.tensors[id].loc === 0 && p.tensors[id].batched ? batch : 1));
  return p.layers.map((l) => {
    const q = l.params as Record<string, number>;
    const op = OP_NAMES[l.op];
    const scale = l.batched ? batch : 1;
    // mbconv's outputs 1 and 2 are its chain tactic's intermediates, untouched by the fused kernel.
    const io = [...l.inputs, ...(op === 'mbconv' ? l.outputs.slice(0, 1) : l.outputs)].reduce((a, t) => a + bytes(t), 0);
    const chainBytes = op === 'mbconv' ? io + 2 * (bytes(l.outputs[1]) + bytes(l.outputs[2])) : io;
    // A fused inverted-residual block moves only its input, weights and output: the expanded tensor stays on chip.
    const at = l.perBatch ? paramsAt(l, batch) as Record<string, number> : q;
    const flops =
      op === 'conv' ? 2 * q.n * batch * q.p * q.q * q.k * q.r * q.s * (q.c / q.g)
      : op === 'mbconv' ? 2 * q.n * batch * (q.h * q.w * q.c * q.e + q.p * q.q * q.e * (q.ks * q.ks + q.k))
      : op === 'attention' ? 2 * at.b * at.h * at.sq * at.sk * (at.d + at.dv) * (l.perBatch ? 1 : scale)
      : op === 'matmul' && at.m !== undefined ? 2 * (at.bc ?? 1) * at.m * at.n * at.k * (l.perBatch ? 1 : scale)
      : 0;
    return { name: l.name, op: OP_NAMES[l.op], flops, bytes: io, chainBytes };
  });
}

const gen: Record<string, () => Uint8Array> = { mobilenetv2: () => mobilenetV2({ seed: 42 }), resnet50: () => resnet50({ seed: 42 }) };
const sources: [string, () => Uint8Array][] = [
  ...values.models!.split(',').filter(Boolean).map((name): [string, () => Uint8Array] => [name, gen[name]]),
  ...values.onnx!.split(',').filter(Boolean).map((file): [string, () => Uint8Array] => [file.replace(/^.*\//, '').replace(/\.onnx$/, ''), () => new Uint8Array(readFileSync(file))]),
];
const measured = values.measured!.split(',').filter(Boolean).map(Number);
console.log(`floor = Σ max(FLOPs / ${values.tflops} TFLOP/s, bytes / ${values.tbps} TB/s), FP16 program; fused blocks / as chains`);
sources.forEach(([name, bytesOf], mi) => {
  const graph = optimize(parseModel(bytesOf()), { fuse: true, precision: 'fp16' });
  const { program } = lowerGraph(graph, { min: 1, opt: 1, max: 256 });
  values.batches!.split(',').map(Number).forEach((batch, bi) => {
    const rows = layerCosts(program, batch);
    let floor = 0, chain = 0, compute = 0, memory = 0;
    for (const r of rows) {
      const c = r.flops / peak;
      floor += Math.max(c, r.bytes / bw);
      chain += Math.max(c, r.chainBytes / bw);
      compute += c;
      memory += r.bytes / bw;
    }
    const gflop = rows.reduce((a, r) => a + r.flops, 0) / 1e9;
    const mb = rows.reduce((a, r) => a + r.bytes, 0) / 1e6;
    const m = mi === 0 ? measured[bi] : undefined;
    const ratio = m ? `; measured ${m} ms = ${(m / (floor * 1e3)).toFixed(2)}× / ${(m / (chain * 1e3)).toFixed(2)}× the floors` : '';
    console.log(
      `${name.padEnd(12)} batch ${String(batch).padStart(3)}: floor ${(floor * 1e3).toFixed(3)} / ${(chain * 1e3).toFixed(3)} ms  (${gflop.toFixed(1)} GFLOP, ${mb.toFixed(0)} MB moved fused; compute-only ${(compute * 1e3).toFixed(3)} ms, memory-only ${(memory * 1e3).toFixed(3)} ms)${ratio}`,
    );
  });
});
