// Resize / Upsample on the reference backend against onnxruntime-node: every interpolation mode, nearest
// rounding mode and coordinate transformation mode, with scales or sizes, constant or computed at run time.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lib/errors.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { runReference } from '../../lib/reference/index.js';
import type { Constant } from '../../lib/ir/types.js';
import { graphOf, node } from '../helpers/graphs.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { f32, int64, opGraph, randn, relErr, runOrt, type OpCase } from './reference-helpers.js';

const COORDS = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'half_pixel_symmetric'];
const NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/** Resize of x [1, 2, 5, 7] (opset 19, so half_pixel_symmetric exists) with constant scales or sizes. */
function resizeCase(attrs: Record<string, string | number>, target: { readonly scales?: readonly number[]; readonly sizes?: readonly number[] }, opset = 19, shape = [1, 2, 5, 7]): OpCase {
  const constants: Constant[] = [];
  const nodeInputs = ['x', '', '', ''];
  if (target.scales) {
    constants.push(f32('scales', [target.scales.length], target.scales));
    nodeInputs[2] = 'scales';
  } else {
    constants.push(int64('sizes', [...target.sizes!]));
    nodeInputs[3] = 'sizes';
  }
  return { op: 'Resize', opset, inputs: [{ name: 'x', shape }], nodeInputs: target.scales ? nodeInputs.slice(0, 3) : nodeInputs, constants, attrs };
}

const CASES: Record<string, OpCase> = {};
const UP = { scales: [1, 1, 2, 2.5] };
const DOWN = { sizes: [1, 2, 3, 4] };
const ODD = { sizes: [1, 2, 8, 11] };
for (const coord of COORDS) {
  for (const nearest of NEAREST) {
    for (const [tag, t] of [['×2/×2.5 scales', UP], ['down to 3×4 sizes', DOWN], ['up to 8×11 sizes', ODD]] as const) {
      CASES[`nearest ${nearest}, ${coord}, ${tag}`] = resizeCase({ mode: 'nearest', nearest_mode: nearest, coordinate_transformation_mode: coord }, t);
    }
  }
  if (coord === 'tf_half_pixel_for_nn') continue; // defined for nearest only
  for (const [tag, t] of [['×2/×2.5 scales', UP], ['down to 3×4 sizes', DOWN], ['up to 8×11 sizes', ODD], ['×0.6 scales', { scales: [1, 1, 0.6, 0.6] }]] as const) {
    CASES[`linear, ${coord}, ${tag}`] = resizeCase({ mode: 'linear', coordinate_transformation_mode: coord }, t);
    CASES[`cubic, ${coord}, ${tag}`] = resizeCase({ mode: 'cubic', coordinate_transformation_mode: coord }, t);
  }
}
Object.assign(CASES, {
  'cubic A=-0.5 exclude_outside': resizeCase({ mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1 }, ODD),
  'linear 3-D (trilinear) on [1, 2, 4, 5, 6]': resizeCase({ mode: 'linear', coordinate_transformation_mode: 'align_corners' }, { sizes: [1, 2, 6, 3, 9] }, 19, [1, 2, 4, 5, 6]),
  'linear tf_crop_and_resize with roi and extrapolation': {
    op: 'Resize', opset: 13, inputs: [{ name: 'x', shape: [1, 2, 5, 7] }], nodeInputs: ['x', 'roi', '', 'sizes'],
    constants: [f32('roi', [8], [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3]), int64('sizes', [1, 2, 6, 6])],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 7.5 },
  },
  'nearest tf_crop_and_resize': {
    op: 'Resize', opset: 11, inputs: [{ name: 'x', shape: [1, 1, 6, 6] }], nodeInputs: ['x', 'roi', 'scales'],
    constants: [f32('roi', [8], [0, 0, 0.1, 0.2, 1, 1, 0.8, 1.2]), f32('scales', [4], [1, 1, 1.5, 0.8])],
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'tf_crop_and_resize' },
  },
  'Resize-10 nearest ×2 (asymmetric, legacy rounding)': { op: 'Resize', opset: 10, inputs: [{ name: 'x', shape: ['N', 2, 4, 5] }], nodeInputs: ['x', 'scales'], constants: [f32('scales', [4], [1, 1, 2, 3])], attrs: { mode: 'nearest' } },
  'Resize-10 nearest ×0.5 (legacy downsampling ceil)': { op: 'Resize', opset: 10, inputs: [{ name: 'x', shape: [1, 2, 8, 9] }], nodeInputs: ['x', 'scales'], constants: [f32('scales', [4], [1, 1, 0.5, 0.4])], attrs: { mode: 'nearest' } },
  'Resize-10 linear': { op: 'Resize', opset: 10, inputs: [{ name: 'x', shape: [1, 2, 4, 5] }], nodeInputs: ['x', 'scales'], constants: [f32('scales', [4], [1, 1, 2, 1.5])], attrs: { mode: 'linear' } },
  'Resize-11 empty roi/scales, sizes, dynamic batch': {
    op: 'Resize', opset: 11, inputs: [{ name: 'x', shape: ['N', 3, 6, 6] }], nodeInputs: ['x', 'roi', 'scales', 'sizes'],
    constants: [f32('roi', [0], []), f32('scales', [0], []), int64('sizes', [2, 3, 12, 9])], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' },
  },
  'Resize-18 axes + keep_aspect_ratio_policy not_larger': {
    op: 'Resize', opset: 18, inputs: [{ name: 'x', shape: [1, 2, 6, 9] }], nodeInputs: ['x', '', '', 'sizes'],
    constants: [int64('sizes', [10, 10])], attrs: { mode: 'linear', axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' },
  },
  'Resize-18 axes + keep_aspect_ratio_policy not_smaller (nearest)': {
    op: 'Resize', opset: 18, inputs: [{ name: 'x', shape: [1, 2, 6, 9] }], nodeInputs: ['x', '', '', 'sizes'],
    constants: [int64('sizes', [10, 10])], attrs: { mode: 'nearest', axes: [2, 3], keep_aspect_ratio_policy: 'not_smaller' },
  },
  'Upsample-9 nearest': { op: 'Upsample', opset: 9, inputs: [{ name: 'x', shape: ['N', 2, 3, 4] }], nodeInputs: ['x', 'scales'], constants: [f32('scales', [4], [1, 1, 2, 2])], attrs: { mode: 'nearest' } },
  'Upsample-9 linear ×3/×1.5': { op: 'Upsample', opset: 9, inputs: [{ name: 'x', shape: [1, 2, 3, 4] }], nodeInputs: ['x', 'scales'], constants: [f32('scales', [4], [1, 1, 3, 1.5])], attrs: { mode: 'linear' } },
  'Upsample-7 scales attribute': { op: 'Upsample', opset: 7, inputs: [{ name: 'x', shape: [1, 2, 3, 4] }], nodeInputs: ['x'], attrs: { mode: 'nearest', scales: [1, 1, 2, 3] } },
});

function dimsOf(c: OpCase): number[] {
  return c.inputs[0].shape.map((d) => (typeof d === 'number' ? d : 2));
}

describe('Resize / Upsample reference vs onnxruntime-node', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const g = opGraph(c);
      const dims = dimsOf(c);
      const x = randn(dims.reduce((a, b) => a * b, 1), 5);
      const mine = runReference(g, { x }).y as Float32Array;
      const theirs = (await runOrt(writeModel(g), { x: { data: x, dims } })).y as Float32Array;
      expect(mine.length).toBe(theirs.length);
      expect(relErr(mine, theirs)).toBeLessThan(1e-5);
    });
  }

  it('sizes computed at run time from a dynamic dimension (Shape → Slice → Concat)', async () => {
    // y = Resize(x, sizes = concat(shape(x)[0:2], shape(ref)[2:4])): ref's spatial size is only known at run time.
    const nodes = [
      node('Shape', ['x'], ['sx']),
      node('Slice', ['sx', 's0', 's2'], ['nc']),
      node('Shape', ['ref'], ['sr']),
      node('Slice', ['sr', 's2', 's4'], ['hw']),
      node('Concat', ['nc', 'hw'], ['sizes'], { axis: 0 }),
      node('Resize', ['x', '', '', 'sizes'], ['y'], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }),
    ];
    const g = graphOf(nodes, [['x', ['N', 3, 5, 6]], ['ref', ['N', 1, 'S', 'S']]], ['y'], [int64('s0', [0]), int64('s2', [2]), int64('s4', [4])]);
    inferShapes(g);
    expect(g.types.get('y')!.shape).toEqual(['N', 3, 'S', 'S']);
    for (const [h, w] of [[7, 7], [4, 4]]) {
      const x = randn(2 * 3 * 5 * 6, h);
      const ref = new Float32Array(2 * h * w);
      const mine = runReference(g, { x, ref }).y as Float32Array;
      const theirs = (await runOrt(writeModel(g), { x: { data: x, dims: [2, 3, 5, 6] }, ref: { data: ref, dims: [2, 1, h, w] } })).y as Float32Array;
      expect(mine.length).toBe(2 * 3 * h * w);
      expect(relErr(mine, theirs)).toBeLessThan(1e-5);
    }
  });

  it('scales computed at run time (Div of shapes, cast to float) give a symbolic output at build time', async () => {
    const nodes = [
      node('Shape', ['ref'], ['sr']),
      node('Shape', ['x'], ['sx']),
      node('Cast', ['sr'], ['srf'], { to: 1 }),
      node('Cast', ['sx'], ['sxf'], { to: 1 }),
      node('Div', ['srf', 'sxf'], ['scales']),
      node('Resize', ['x', '', 'scales'], ['y'], { mode: 'nearest' }),
    ];
    const g = graphOf(nodes, [['x', [1, 2, 4, 4]], ['ref', [1, 2, 'S', 'S']]], ['y']);
    inferShapes(g);
    expect(g.types.get('y')!.shape.slice(2).every((d) => typeof d === 'string')).toBe(true);
    const x = randn(32, 3);
    const ref = new Float32Array(2 * 8 * 8);
    const mine = runReference(g, { x, ref }).y as Float32Array;
    const theirs = (await runOrt(writeModel(g), { x: { data: x, dims: [1, 2, 4, 4] }, ref: { data: ref, dims: [1, 2, 8, 8] } })).y as Float32Array;
    expect(Array.from(mine)).toEqual(Array.from(theirs));
  });

  it('refuses antialias with a coded error', () => {
    const c = resizeCase({ mode: 'linear', antialias: 1 }, DOWN);
    expect(() => opGraph(c)).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_OP, message: expect.stringMatching(/antialias=1/) }));
  });

  it('refuses both scales and sizes, and unknown modes', () => {
    const both: OpCase = { op: 'Resize', opset: 13, inputs: [{ name: 'x', shape: [1, 1, 2, 2] }], nodeInputs: ['x', '', 'scales', 'sizes'], constants: [f32('scales', [4], [1, 1, 2, 2]), int64('sizes', [1, 1, 4, 4])] };
    expect(() => opGraph(both)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_MODEL, message: expect.stringMatching(/exactly one of scales and sizes/) }));
    expect(() => opGraph(resizeCase({ mode: 'area' }, UP))).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_MODEL, message: expect.stringMatching(/unknown mode 'area'/) }));
    expect(() => opGraph(resizeCase({ coordinate_transformation_mode: 'half_pixel_symmetric' }, UP, 18))).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_MODEL }));
  });
});
