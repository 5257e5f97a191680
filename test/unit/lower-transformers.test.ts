import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { argmaxRows } from '../../lib/bench/accuracy.js';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES, paramsAt } from '../../lib/builtin/program.js';
import { parseModel } from '../../lib/onnx/index.js';
import { optimize } from '../../lib/optimize/index.js';
import { foldStaticDims } from '../../lib/optimize/shape-fold.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { overlappingTensors, simulate } from '../helpers/program-sim.js';
import { relL2 } from '../helpers/metrics.js';

const fixture = (name: string) => new Uint8Array(readFileSync(`test/fixtures/models/${name}.onnx`));

const count = (layers: { op: number }[], op: string) => layers.filter((l) => OP_NAMES[l.op] === op).length;

// The lowered transformer programs, run by the CPU simulator of the kernels, against the reference interpreter on
// the source model: layouts, strides, the batch on any axis (affine parameters), fused attention and LayerNorm.
describe('builtin lowering of transformer fixtures (CPU simulation vs reference)', () => {
  const vision: [string, number][] = [['vit_tiny', 2], ['swin_tiny', 2], ['convnext_tiny', 2]];
  for (const [name, fused] of vision) {
    for (const precision of ['fp32', 'fp16'] as const) {
      it(`${name}, ${precision}, dynamic batch run at 3`, () => {
        const source = parseModel(fixture(name));
        const graph = optimize(source, { fuse: true, precision });
        const { program, weights } = lowerGraph(graph, { min: 1, opt: 2, max: 4 });
        expect(overlappingTensors(program, 4)).toEqual([]);
        if (name !== 'convnext_tiny') expect(count(program.layers, 'attention')).toBe(fused);
        if (name === 'vit_tiny') {
          // Q, K and V are read in place from the fused QKV projection (element offsets 0, 64, 128 into its rows):
          // the head-split Transpose/Squeeze/Gather/Reshape chain leaves no copy and no gather behind.
          const attention = program.layers.filter((l) => OP_NAMES[l.op] === 'attention');
          expect(attention.map((l) => [l.params.qo ?? 0, l.params.ko, l.params.vo])).toEqual([[0, 64, 128], [0, 64, 128]]);
          expect(program.layers.filter((l) => /self_attention\/(Gather|Transpose_[1-5])/.test(l.name)).map((l) => l.name)).toEqual([]);
          // The token transposes around each block ([B, S, E] ↔ [S, B, E]) are gone too (row-order.ts): the
          // projections run on the rows as they come, and attention reads them with strides for [B, S] order.
          expect(program.layers.filter((l) => /self_attention\/Transpose(_7)?$/.test(l.name)).map((l) => l.name)).toEqual([]);
          // Pre-norm blocks: each sum that is also the next residual is written by the GEMM before it, which reads
          // the residual stream as its C (residual-gemm.ts), and the LayerNorms read one tensor; only the last
          // LayerNorm, whose sum nothing else reads, keeps the Add.
          expect(program.layers.filter((l) => l.name.endsWith('+residual')).map((l) => [l.name.replace(/^.*encoder\//, ''), OP_NAMES[l.op], l.outputs.length])).toEqual([
            ['layers/encoder_layer_0/self_attention/Gemm+residual', 'conv', 1],
            ['layers/encoder_layer_0/mlp/mlp.3/MatMul+bias+residual', 'conv', 1],
            ['layers/encoder_layer_1/self_attention/Gemm+residual', 'conv', 1],
            ['ln/LayerNormalization+residual', 'layernorm', 1],
          ]);
          expect(attention.map((l) => [paramsAt(l, 3).qs, paramsAt(l, 3).os])).toEqual([[[17 * 192, 16, 192, 1], [17 * 64, 16, 64, 1]], [[17 * 192, 16, 192, 1], [17 * 64, 16, 64, 1]]]);
          // The 16×16 stride-16 stem is one patch-gathering copy (float32 NCHW in, float16 rows out) and a GEMM, and
          // the NHWC patch grid is already the token order: no layout conversion and no token transpose follow it.
          const stem = program.layers.filter((l) => l.name.startsWith('/conv_proj') || l.name === '/Transpose' || l.name.startsWith('cast(input'));
          expect(stem.map((l) => [l.name, OP_NAMES[l.op]])).toEqual([['/conv_proj/Conv:patchify', 'copy'], ['/conv_proj/Conv', 'conv']]);
          expect(stem[1].params).toMatchObject({ r: 1, s: 1, c: 16 * 16 * 3, h: 4, w: 4 });
        }
        expect(count(program.layers, 'layernorm')).toBeGreaterThan(0);
        const batch = 3;
        const x = fillUniform(new Float32Array(batch * 3 * 64 * 64), 17);
        const inName = source.inputs[0].name;
        const outName = source.outputs[0].name;
        const want = runReference(source, { [inName]: x })[outName] as Float32Array;
        const got = simulate(program, weights, { [inName]: x }, batch)[outName];
        expect(got.length).toBe(want.length);
        expect(relL2(got, want)).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
        const classes = want.length / batch;
        expect(argmaxRows(got, got.length / classes, classes)).toEqual(argmaxRows(want, want.length / classes, classes));
      }, 120_000);
    }
  }

  for (const precision of ['fp32', 'fp16'] as const) {
    it(`bert_tiny at sequence 12, ${precision}, dynamic batch run at 2 with padding`, () => {
      const source = parseModel(fixture('bert_tiny'));
      const seq = 12;
      const fixed = foldStaticDims(source, { sequence: { min: seq, opt: seq, max: seq } });
      const graph = optimize(fixed, { fuse: true, precision });
      const { program, weights } = lowerGraph(graph, { min: 1, opt: 2, max: 4 });
      expect(count(program.layers, 'attention')).toBe(2);
      // Embeddings: the word lookup, then one add of the token-type row and the positions (both constant, folded into
      // one addend: broadcast-constants.ts), then the norm.
      const embeddings = program.layers.filter((l) => l.name.startsWith('/bert/embeddings/'));
      expect(embeddings.map((l) => OP_NAMES[l.op])).toEqual(['gather', 'binary', 'layernorm']);
      // Each encoder layer converts the same mask the same way: one conversion is kept, and both attentions read it.
      expect(count(program.layers, 'where')).toBe(1);
      const where = program.layers.find((l) => OP_NAMES[l.op] === 'where')!;
      expect(program.layers.filter((l) => OP_NAMES[l.op] === 'attention').map((l) => l.inputs[3])).toEqual([where.outputs[0], where.outputs[0]]);
      // The mask is read per key (query stride 0: the kernels' key-mask path), not as a [b, 1, s, s] tensor.
      expect(program.layers.filter((l) => OP_NAMES[l.op] === 'attention').map((l) => (l.params.ms as number[])[2])).toEqual([0, 0]);
      // GEMM + bias + GELU in one epilogue; every projection's bias folded; LayerNorm fused with its residual Add.
      expect(program.layers.filter((l) => l.name.endsWith('+bias+gelu')).length).toBe(2);
      expect(program.layers.filter((l) => OP_NAMES[l.op] === 'conv' && !l.name.includes('+bias')).length).toBe(0);
      expect(program.layers.filter((l) => l.name.endsWith('+residual')).length).toBe(4);
      // Post-norm blocks: nothing reads the residual sum, so no LayerNorm writes it beside its result.
      expect(program.layers.filter((l) => OP_NAMES[l.op] === 'layernorm').map((l) => l.outputs.length)).toEqual([1, 1, 1, 1, 1]);
      // Attention reads Q, Kᵀ, V through the head-split transposes and writes the head merge itself: no copies.
      expect(program.layers.filter((l) => /attention\/self\/Transpose/.test(l.name))).toEqual([]);
      // Query, key and value are one GEMM of N = 3·64 per layer, and attention reads its three slices in place.
      const qkv = program.layers.filter((l) => OP_NAMES[l.op] === 'conv' && l.name.includes(':merged'));
      expect(qkv.map((l) => l.params.k)).toEqual([192, 192]);
      expect(program.layers.filter((l) => /self\/(query|key|value)/.test(l.name) && !l.name.includes(':merged')).map((l) => l.name)).toEqual([]);
      const attention = program.layers.filter((l) => OP_NAMES[l.op] === 'attention');
      expect(attention.map((l) => [l.inputs[0], l.inputs[1], l.inputs[2]].every((t) => t === qkv[0].outputs[0] || t === qkv[1].outputs[0]))).toEqual([true, true]);
      expect(attention.map((l) => [l.params.qo ?? 0, l.params.ko, l.params.vo])).toEqual([[0, 64, 128], [0, 64, 128]]);
      const batch = 2;
      const vocab = source.initializers.get('bert.embeddings.word_embeddings.weight')!.dims[0];
      const ids = new BigInt64Array(batch * seq);
      const mask = new BigInt64Array(batch * seq);
      for (let i = 0; i < ids.length; i++) {
        ids[i] = BigInt(1 + ((i * 37) % (vocab - 1)));
        mask[i] = i % seq < seq - (i < seq ? 0 : 5) ? 1n : 0n; // the second row ends with 5 padding tokens
      }
      const feeds = { input_ids: { data: ids, dims: [batch, seq] }, attention_mask: { data: mask, dims: [batch, seq] } };
      const want = runReference(source, feeds).last_hidden_state as Float32Array;
      const got = simulate(program, weights, { input_ids: ids, attention_mask: mask }, batch).last_hidden_state;
      expect(got.length).toBe(want.length);
      expect(relL2(got, want)).toBeLessThan(precision === 'fp32' ? 1e-4 : 1e-2);
    }, 120_000);
  }

  it('names the input and dimension to pin when a non-batch dimension stays dynamic', () => {
    const graph = optimize(parseModel(fixture('bert_tiny')), { fuse: true, precision: 'fp32' });
    expect(() => lowerGraph(graph, { min: 1, opt: 1, max: 2 })).toThrow(/input 'input_ids' dimension 1 \('sequence'\).*pin it in `shapes` with min == max/);
  });
});
