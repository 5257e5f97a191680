// Roofline floor of a model's builtin program: per layer, max(FLOPs / peak, bytes / bandwidth), summed.
// Usage: node dist/scripts/roofline.js [--models mobilenetv2,resnet50] [--batches 1,32,256] [--tflops 790] [--tbps 3.0]
// Defaults are this project's H100 measurements: a large bf16 matrix product and a device-to-device copy.
import { parseArgs } from 'node:util';
import { lowerGraph } from '../lib/builtin/lower.js';
import { OP_NAMES, type Program } from '../lib/builtin/program.js';
import { parseModel } from '../lib/onnx/index.js';
import { optimize } from '../lib/optimize/index.js';
import { mobilenetV2, resnet50 } from './gen-models.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mobilenetv2,resnet50' },
    batches: { type: 'string', default: '1,32,256' },
    tflops: { type: 'string', default: '790' },
    tbps: { type: 'string', default: '3.0' },
  },
});
const peak = Number(values.tflops) * 1e12;
const bw = Number(values.tbps) * 1e12;

/** FLOPs and bytes moved by each layer at `batch` (each input read once, each output written once). */
function layerCosts(p: Program, batch: number): { name: string; op: string; flops: number; bytes: number }[] {
  const bytes = (id: number) => (id < 0 ? 0 : p.tensors[id].bytes * (p.tensors[id].loc === 0 && p.tensors[id].batched ? batch : 1));
  return p.layers.map((l) => {
    const q = l.params as Record<string, number>;
    const op = OP_NAMES[l.op];
    // mbconv's outputs 1 and 2 are its chain tactic's intermediates, untouched by the fused kernel.
    const io = [...l.inputs, ...(op === 'mbconv' ? l.outputs.slice(0, 1) : l.outputs)].reduce((a, t) => a + bytes(t), 0);
    // A fused inverted-residual block moves only its input, weights and output: the expanded tensor stays on chip.
    const flops =
      op === 'conv' ? 2 * q.n * batch * q.p * q.q * q.k * q.r * q.s * (q.c / q.g)
      : op === 'mbconv' ? 2 * q.n * batch * (q.h * q.w * q.c * q.e + q.p * q.q * q.e * (q.ks * q.ks + q.k))
      : 0;
    return { name: l.name, op: OP_NAMES[l.op], flops, bytes: io };
  });
}

const gen: Record<string, () => Uint8Array> = { mobilenetv2: () => mobilenetV2({ seed: 42 }), resnet50: () => resnet50({ seed: 42 }) };
console.log(`floor = Σ max(FLOPs / ${values.tflops} TFLOP/s, bytes / ${values.tbps} TB/s), FP16 program`);
for (const name of values.models!.split(',')) {
  const graph = optimize(parseModel(gen[name]()), { fuse: true, precision: 'fp16' });
  const { program } = lowerGraph(graph, { min: 1, opt: 1, max: 256 });
  for (const batch of values.batches!.split(',').map(Number)) {
    const rows = layerCosts(program, batch);
    let floor = 0;
    let compute = 0;
    let memory = 0;
    for (const r of rows) {
      const c = r.flops / peak;
      const m = r.bytes / bw;
      floor += Math.max(c, m);
      compute += c;
      memory += m;
    }
    const gflop = rows.reduce((a, r) => a + r.flops, 0) / 1e9;
    const mb = rows.reduce((a, r) => a + r.bytes, 0) / 1e6;
    console.log(
      `${name.padEnd(12)} batch ${String(batch).padStart(3)}: floor ${(floor * 1e3).toFixed(3)} ms  (${gflop.toFixed(1)} GFLOP, ${mb.toFixed(0)} MB moved; compute-only ${(compute * 1e3).toFixed(3)} ms, memory-only ${(memory * 1e3).toFixed(3)} ms)`,
    );
  }
}
