// Builtin lowering of Resize, ConvTranspose and ArgMax, simulated on the CPU (test/helpers/program-sim.ts), against
// the reference interpreter: small single-op graphs and the torchvision segmentation fixtures.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES } from '../../lib/builtin/program.js';
import { validateBuiltinProgram } from '../../lib/builtin/validate.js';
import { ErrorCode } from '../../lib/errors.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { DType } from '../../lib/native.js';
import { parseModel } from '../../lib/onnx/index.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { fillUniform } from '../../lib/util/random.js';
import { overlappingTensors, simulate } from '../helpers/program-sim.js';
import { f32, int64, opGraph, randn, relErr, type OpCase } from './reference-helpers.js';

const w = (name: string, dims: number[], seed = 7) => f32(name, dims, randn(dims.reduce((a, b) => a * b, 1), seed));

interface Checked {
  /** Worst relative L2 error against the reference on the source graph. */
  err: number;
  /** Against the reference on the optimized graph (float16 storage emulated): isolates the lowering. */
  errSame: number;
  /** Share of pixels whose argmax over channels (axis 1) agrees with the float32 reference, first output. */
  argmaxAgreement: number;
  program: ReturnType<typeof lowerGraph>['program'];
  weights: Uint8Array;
}

function argmaxAgreement(a: ArrayLike<number>, b: ArrayLike<number>, dims: number[]): number {
  const [n, c, h, w] = dims;
  let same = 0;
  for (let i = 0; i < n; i++)
    for (let p = 0; p < h * w; p++) {
      let ba = 0, bb = 0;
      for (let k = 1; k < c; k++) {
        if (a[(i * c + k) * h * w + p] > a[(i * c + ba) * h * w + p]) ba = k;
        if (b[(i * c + k) * h * w + p] > b[(i * c + bb) * h * w + p]) bb = k;
      }
      if (ba === bb) same++;
    }
  return same / (n * h * w);
}

function check(g: Graph, batch: number, precision: 'fp32' | 'fp16', seed = 5): Checked {
  const opt = optimize(g, { fuse: true, precision });
  const { program, weights } = lowerGraph(opt, { min: 1, opt: batch, max: 4 });
  expect(overlappingTensors(program, 4)).toEqual([]);
  const input = g.inputs[0];
  const dims = input.type.shape.map((d) => (typeof d === 'number' ? d : batch));
  const x = fillUniform(new Float32Array(dims.reduce((a, b) => a * b, 1)), seed).map((v) => v * 2 - 1);
  const want = runReference(g, { [input.name]: x });
  const same = runReference(opt, { [input.name]: x });
  const got = simulate(program, weights, { [input.name]: x }, batch);
  let err = 0;
  let errSame = 0;
  for (const o of g.outputs) {
    const a = got[o.name];
    const b = want[o.name] as ArrayLike<number | bigint>;
    expect(a.length).toBe(b.length);
    if (o.type.dtype === 'int64') err = Math.max(err, Array.from(b, Number).some((v, i) => v !== a[i]) ? 1 : 0);
    else {
      err = Math.max(err, relErr(a, b as Float32Array));
      errSame = Math.max(errSame, relErr(a, same[o.name] as Float32Array));
    }
  }
  const o0 = g.outputs[0];
  const shape = o0.type.shape.map((d) => (typeof d === 'number' ? d : batch));
  const agree = shape.length === 4 && o0.type.dtype === 'float32' ? argmaxAgreement(got[o0.name], want[o0.name] as Float32Array, shape) : 1;
  return { err, errSame, argmaxAgreement: agree, program, weights };
}

const resize = (attrs: OpCase['attrs'], t: { scales?: number[]; sizes?: number[] }, opset = 19): OpCase => ({
  op: 'Resize', opset, inputs: [{ name: 'x', shape: t.scales ? ['N', 3, 5, 7] : [1, 3, 5, 7] }],
  nodeInputs: t.scales ? ['x', '', 'scales'] : ['x', '', '', 'sizes'],
  constants: [t.scales ? f32('scales', [4], t.scales) : int64('sizes', t.sizes!)], attrs,
});

const CASES: Record<string, OpCase> = {};
for (const coord of ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'half_pixel_symmetric']) {
  CASES[`Resize linear ${coord} ×2`] = resize({ mode: 'linear', coordinate_transformation_mode: coord }, { scales: [1, 1, 2, 2] });
  CASES[`Resize linear ${coord} to 3×11`] = resize({ mode: 'linear', coordinate_transformation_mode: coord }, { sizes: [1, 3, 3, 11] });
  CASES[`Resize cubic ${coord} to 8×4`] = resize({ mode: 'cubic', coordinate_transformation_mode: coord }, { sizes: [1, 3, 8, 4] });
}
for (const nearest of ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']) {
  for (const coord of ['half_pixel', 'asymmetric', 'tf_half_pixel_for_nn', 'align_corners']) {
    CASES[`Resize nearest ${nearest} ${coord} to 9×4`] = resize({ mode: 'nearest', nearest_mode: nearest, coordinate_transformation_mode: coord }, { sizes: [1, 3, 9, 4] });
  }
}
Object.assign(CASES, {
  'Upsample-9 nearest ×2': { op: 'Upsample', opset: 9, inputs: [{ name: 'x', shape: ['N', 3, 4, 5] }], nodeInputs: ['x', 'scales'], constants: [f32('scales', [4], [1, 1, 2, 2])], attrs: { mode: 'nearest' } },
  'ConvTranspose k4 s2 p1 + bias': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: ['N', 4, 5, 6] }], nodeInputs: ['x', 'w', 'b'], constants: [w('w', [4, 3, 4, 4]), w('b', [3])], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  'ConvTranspose groups 2, asymmetric pads, output_padding': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 4, 5, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [4, 3, 3, 3])], attrs: { group: 2, strides: [2, 2], pads: [0, 1, 2, 1], output_padding: [1, 1] } },
  'ConvTranspose depthwise dilated': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 5, 4, 4] }], nodeInputs: ['x', 'w'], constants: [w('w', [5, 1, 3, 3])], attrs: { group: 5, dilations: [2, 2], pads: [1, 1, 1, 1] } },
  'ConvTranspose output_shape': { op: 'ConvTranspose', inputs: [{ name: 'x', shape: [1, 3, 4, 5] }], nodeInputs: ['x', 'w'], constants: [w('w', [3, 2, 3, 3])], attrs: { strides: [2, 2], output_shape: [8, 9] } },
  'ArgMax channels keepdims': { op: 'ArgMax', inputs: [{ name: 'x', shape: ['N', 6, 4, 5] }], attrs: { axis: 1 }, outputs: [{ name: 'y', dtype: 'int64' }] },
  'TopK largest, channels (k 3)': { op: 'TopK', inputs: [{ name: 'x', shape: ['N', 7, 4, 5] }], nodeInputs: ['x', 'k'], constants: [int64('k', [3])], attrs: { axis: 1 }, outputs: [{ name: 'v' }, { name: 'i', dtype: 'int64' }] },
  'TopK smallest, last axis (k 4)': { op: 'TopK', inputs: [{ name: 'x', shape: ['N', 3, 9] }], nodeInputs: ['x', 'k'], constants: [int64('k', [4])], attrs: { largest: 0 }, outputs: [{ name: 'v' }, { name: 'i', dtype: 'int64' }] },
  'ArgMin last axis, no keepdims': { op: 'ArgMin', inputs: [{ name: 'x', shape: ['N', 6, 4, 5] }], attrs: { axis: -1, keepdims: 0 }, outputs: [{ name: 'y', dtype: 'int64' }] },
});

describe('builtin lowering of vision ops (CPU simulation vs reference)', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, () => {
      const batch = c.inputs[0].shape[0] === 'N' ? 2 : 1;
      expect(check(opGraph(c), batch, 'fp32').err).toBeLessThan(1e-5);
      if (!['ArgMax', 'ArgMin', 'TopK'].includes(c.op)) expect(check(opGraph(c), batch, 'fp16').err).toBeLessThan(1e-2);
    });
  }

  it('TopK / ArgMax / ArgMin on NaN, ±Inf, all-NaN and signed-zero rows pick what the reference picks', () => {
    const special = [NaN, Infinity, -Infinity, -0, 0, 1, NaN, -1];
    for (const name of ['TopK largest, channels (k 3)', 'TopK smallest, last axis (k 4)', 'ArgMax channels keepdims', 'ArgMin last axis, no keepdims']) {
      const g = opGraph(CASES[name]);
      const dims = g.inputs[0].type.shape.map((d) => (typeof d === 'number' ? d : 2));
      const x = fillUniform(new Float32Array(dims.reduce((a, b) => a * b, 1)), 8).map((v, i) => (i % 5 === 0 || i < 40 ? special[i % 8] : Math.round(v * 4)));
      const { program, weights } = lowerGraph(optimize(g, { fuse: true, precision: 'fp32' }), { min: 1, opt: 2, max: 4 });
      const got = simulate(program, weights, { x }, 2);
      const want = runReference(g, { x });
      for (const o of g.outputs) expect(Array.from(got[o.name], Number), `${name} ${o.name}`).toEqual(Array.from(want[o.name] as ArrayLike<number | bigint>, Number));
    }
  });

  it('refuses a Resize whose scales are only known at run time (a dynamic spatial dimension), with a coded error', () => {
    const g = new Graph({
      opset: 17,
      inputs: [{ name: 'x', type: { dtype: 'float32', shape: [1, 2, 4, 4] } }, { name: 'ref', type: { dtype: 'float32', shape: [1, 2, 'S', 'S'] } }],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [
        { name: 'sr', op: 'Shape', domain: '', inputs: ['ref'], outputs: ['sr'], attrs: {} },
        { name: 'sx', op: 'Shape', domain: '', inputs: ['x'], outputs: ['sx'], attrs: {} },
        { name: 'cr', op: 'Cast', domain: '', inputs: ['sr'], outputs: ['srf'], attrs: { to: 1 } },
        { name: 'cx', op: 'Cast', domain: '', inputs: ['sx'], outputs: ['sxf'], attrs: { to: 1 } },
        { name: 'div', op: 'Div', domain: '', inputs: ['srf', 'sxf'], outputs: ['scales'], attrs: {} },
        { name: 'resize', op: 'Resize', domain: '', inputs: ['x', '', 'scales'], outputs: ['y'], attrs: { mode: 'nearest' } },
      ],
      initializers: new Map(),
    });
    inferShapes(g);
    const opt = optimize(g, { fuse: true, precision: 'fp32' });
    expect(() => lowerGraph(opt, { min: 1, opt: 1, max: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/dynamic dimension/) }));
  });

  it('refuses tf_crop_and_resize and resizing the channels, with coded errors', () => {
    const crop: OpCase = { ...resize({ mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize' }, { sizes: [1, 3, 4, 4] }), nodeInputs: ['x', 'roi', '', 'sizes'], constants: [f32('roi', [8], [0, 0, 0, 0, 1, 1, 1, 1]), int64('sizes', [1, 3, 4, 4])] };
    const g = optimize(opGraph(crop), { fuse: true, precision: 'fp32' });
    expect(() => lowerGraph(g, { min: 1, opt: 1, max: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/tf_crop_and_resize/) }));
    const chans = optimize(opGraph(resize({ mode: 'nearest' }, { scales: [1, 2, 2, 2] })), { fuse: true, precision: 'fp32' });
    expect(() => lowerGraph(chans, { min: 1, opt: 1, max: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/batch or channel/) }));
    // Doubling the batch axis would write twice the rows the output holds: refused at lowering, before the validator.
    const batch = optimize(opGraph(resize({ mode: 'nearest' }, { scales: [2, 1, 2, 2] })), { fuse: true, precision: 'fp32' });
    expect(() => lowerGraph(batch, { min: 1, opt: 1, max: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/batch or channel/) }));
  });
});

describe('builtin lowering of the segmentation fixtures (CPU simulation vs reference)', () => {
  for (const name of ['lraspp_mbv3', 'deeplabv3_mbv3', 'fcn_resnet50_slim']) {
    for (const precision of ['fp32', 'fp16'] as const) {
      it(`${name}, ${precision}, batch 2`, () => {
        const g = parseModel(new Uint8Array(readFileSync(`test/fixtures/models/${name}.onnx`)));
        const { err, errSame, argmaxAgreement: agree, program, weights } = check(g, 2, precision, 21);
        // float16 storage costs the model itself about 1% (relative L2); the lowering adds next to nothing.
        expect(err).toBeLessThan(precision === 'fp32' ? 1e-5 : 2e-2);
        expect(errSame).toBeLessThan(precision === 'fp32' ? 1e-5 : 5e-3);
        expect(agree).toBeGreaterThanOrEqual(precision === 'fp32' ? 1 : 0.99);
        expect(program.layers.some((l) => OP_NAMES[l.op] === 'resize')).toBe(true);
        // The last upsample writes the output itself, NCHW in the output's float32: no copy of the largest tensor after it.
        const last = program.layers[program.layers.length - 1];
        expect([OP_NAMES[last.op], last.params.nchw]).toEqual(['resize', 1]);
        expect(program.tensors[last.outputs[0]].dtype).toBe(DType.float32);
        expect(validateBuiltinProgram(program, weights, undefined, 'build').layers).toBe(program.layers.length);
      }, 300_000);
    }
  }
});
