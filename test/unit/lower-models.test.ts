import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import { parseModel } from '../../lib/onnx/index.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { efficientnetB0, mobilenetV2, smallCnn } from '../../scripts/gen-models.js';
import { fillUniform } from '../../lib/util/random.js';
import { overlappingTensors, simulate } from '../helpers/program-sim.js';
import { relL2 } from '../helpers/metrics.js';

// The lowered program, run by a CPU simulator of the kernels, must compute what the reference interpreter computes
// on the original model: this checks layouts, strides, weight packing and memory planning without a GPU.
describe('builtin lowering of real models (CPU simulation vs reference)', () => {
  const cases: [string, () => Uint8Array, number[], number][] = [
    ['small CNN', () => smallCnn({ seed: 3 }), [3, 32, 32], 3],
    ['torchvision mobilenet_v2 export', () => new Uint8Array(readFileSync('test/fixtures/torchvision_mobilenet_v2.onnx')), [3, 224, 224], 1],
    ['generated MobileNetV2', () => mobilenetV2({ seed: 1 }), [3, 224, 224], 1],
    ['generated EfficientNet-B0', () => efficientnetB0({ seed: 3, size: 64 }), [3, 64, 64], 2],
  ];
  for (const [name, bytes, dims, batch] of cases) {
    for (const precision of ['fp32', 'fp16'] as const) {
      it(`${name}, ${precision}`, () => {
        const source = parseModel(bytes());
        const graph = optimize(source, { fuse: true, precision });
        const { program, weights } = lowerGraph(graph, { min: 1, opt: batch, max: 4 });
        expect(overlappingTensors(program, 4)).toEqual([]);
        const x = fillUniform(new Float32Array(batch * dims.reduce((a, b) => a * b, 1)), 11);
        const inName = source.inputs[0].name;
        const outName = source.outputs[0].name;
        const want = runReference(source, { [inName]: x })[outName] as Float32Array;
        const got = simulate(program, weights, { [inName]: x }, batch)[outName];
        expect(got.length).toBe(want.length);
        expect(relL2(got, want)).toBeLessThan(precision === 'fp32' ? 1e-5 : 1e-2);
        const count = (op: string) => program.layers.filter((l) => OP_NAMES[l.op] === op).length;
        if (name.includes('EfficientNet')) {
          // Every SiLU in its convolution, the poolings with no casts around them: the only copies are the input's
          // (its layout, and in fp16 its cast) and, in fp16, the output's cast.
          expect([count('unary'), count('binary'), count('reduce'), count('conv')]).toEqual([0, 16, 17, 82]);
          expect(count('copy')).toBe(precision === 'fp16' ? 2 : 1);
        }
        if (name.includes('MobileNetV2') || name.includes('mobilenet_v2')) {
          // 17 inverted-residual blocks, each one mbconv layer; the first has no expansion (an identity expand).
          expect(count('mbconv')).toBe(17);
          expect(program.layers.filter((l) => OP_NAMES[l.op] === 'mbconv' && l.params.id1 === 1)).toHaveLength(1);
          expect(count('conv') + 3 * count('mbconv')).toBe(54);
        }
      }, 120_000);
    }
  }
});
