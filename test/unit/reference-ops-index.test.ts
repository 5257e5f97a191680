// GatherND, ScatterElements, OneHot and Hardmax: the reference kernels against onnxruntime-node on one-node models,
// bad indices as coded errors, and builtin's rewrites of OneHot and Hardmax (lowered and run by the CPU simulation
// of its kernels) against the reference.
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import type { Constant, DataType } from '../../lib/ir/types.js';
import { optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { node } from '../helpers/graphs.js';
import { simulate } from '../helpers/program-sim.js';
import { expectOrtAgreement, f32, int64, opCounts, opGraph, randn, type OpCase } from './reference-helpers.js';

const x = (shape: number[], dtype: DataType = 'float32', name = 'x') => ({ name, shape, dtype });
const w = (name: string, dims: number[], seed = 7) => f32(name, dims, randn(dims.reduce((a, b) => a * b, 1), seed));
// Ties on purpose: Hardmax takes the first maximum.
const ties = (n: number) => Float32Array.from({ length: n }, (_, i) => [1, 3, 3, -2, 0][i % 5]);

const CASES: Record<string, OpCase & { feed?: Record<string, (n: number) => Float32Array> }> = {
  'GatherND, whole rows': { op: 'GatherND', inputs: [x([3, 4])], nodeInputs: ['x', 'i'], constants: [int64('i', [2, 0, -1], [3, 1])] },
  'GatherND, elements': { op: 'GatherND', inputs: [x([3, 4, 2])], nodeInputs: ['x', 'i'], constants: [int64('i', [0, 1, 2, -1, 1, 3], [3, 2])] },
  'GatherND, batch_dims 1': { op: 'GatherND', inputs: [x([2, 3, 4])], nodeInputs: ['x', 'i'], constants: [int64('i', [2, 0, 1, 1], [2, 2, 1])], attrs: { batch_dims: 1 } },
  'ScatterElements axis 1': { op: 'ScatterElements', inputs: [x([3, 4])], nodeInputs: ['x', 'i', 'u'], constants: [int64('i', [1, 3, 0, -1, 2, 2], [3, 2]), w('u', [3, 2])], attrs: { axis: 1 } },
  'ScatterElements add, repeated index (opset 16)': { op: 'ScatterElements', opset: 16, inputs: [x([4, 2])], nodeInputs: ['x', 'i', 'u'], constants: [int64('i', [1, 0, 1, 3, 1, 0], [3, 2]), w('u', [3, 2])], attrs: { axis: 0, reduction: 'add' } },
  'OneHot axis -1, negative index': { op: 'OneHot', inputs: [], nodeInputs: ['i', 'd', 'v'], constants: [int64('i', [0, 2, -1, 4, 1, 3], [2, 3]), int64('d', [5], []), f32('v', [2], [-1, 2])] },
  'OneHot axis 0, out-of-range index all off': { op: 'OneHot', inputs: [], nodeInputs: ['i', 'd', 'v'], constants: [int64('i', [0, 7, 2], [3]), int64('d', [4], []), f32('v', [2], [0, 1])], attrs: { axis: 0 } },
  'OneHot with a float depth': { op: 'OneHot', inputs: [], nodeInputs: ['i', 'd', 'v'], constants: [int64('i', [0, 2, 1, -1, 2, 0], [2, 3]), f32('d', [], [3.7]), f32('v', [2], [-1, 5])], attrs: { axis: 0 } },
  'Hardmax axis -1 (opset 13), ties': { op: 'Hardmax', inputs: [x([2, 3, 5])], feed: { x: ties } },
  'RoiAlign avg, half_pixel (opset 16), 3×3 bins, 2×2 samples, scale 0.5, a region past the map': {
    op: 'RoiAlign', opset: 16, inputs: [x([2, 3, 8, 10])], nodeInputs: ['x', 'rois', 'bi'],
    constants: [f32('rois', [4, 4], [0, 0, 8, 6, 4.5, 2, 19, 15.5, 10, 12, 30, 24, -6, -4, 3, 5]), int64('bi', [0, 1, 1, 0])],
    attrs: { output_height: 3, output_width: 3, sampling_ratio: 2, spatial_scale: 0.5 },
  },
  'RoiAlign avg, adaptive sampling (opset 10, output_half_pixel), tiny region': {
    op: 'RoiAlign', opset: 10, inputs: [x([2, 3, 8, 10])], nodeInputs: ['x', 'rois', 'bi'],
    constants: [f32('rois', [3, 4], [1, 1, 7, 6, 2.25, 3.5, 2.5, 3.75, 0, 0, 9, 7]), int64('bi', [1, 0, 1])],
    attrs: { output_height: 2, output_width: 4 },
  },
  'RoiAlign max (opset 16)': {
    op: 'RoiAlign', opset: 16, inputs: [x([1, 2, 6, 6])], nodeInputs: ['x', 'rois', 'bi'],
    constants: [f32('rois', [2, 4], [0.5, 0.5, 5, 4, 1, 2, 3, 5.5]), int64('bi', [0, 0])],
    attrs: { mode: 'max', output_height: 2, output_width: 2, sampling_ratio: 2 },
  },
  ...gridSampleCases(),
  'Hardmax axis 1 (opset 13)': { op: 'Hardmax', inputs: [x([2, 5, 3])], attrs: { axis: 1 }, feed: { x: ties } },
  'Hardmax axis 1 (opset 11, flattened)': { op: 'Hardmax', opset: 11, inputs: [x([2, 3, 5])], feed: { x: ties } },
};

/** GridSample over modes (bicubic included), paddings and align_corners, at opsets 16 and 20, with grid points past [-1, 1]. */
function gridSampleCases(): Record<string, OpCase & { feed?: Record<string, (n: number) => Float32Array> }> {
  const out: Record<string, OpCase & { feed?: Record<string, (n: number) => Float32Array> }> = {};
  const spread = (n: number) => randn(n, 21).map((v) => Math.max(-1.6, Math.min(1.6, v * 0.8)));
  for (const [opset, modes] of [[16, ['bilinear', 'nearest', 'bicubic']], [20, ['linear', 'nearest', 'cubic']]] as const) {
    for (const mode of modes) {
      for (const padding of ['zeros', 'border', 'reflection']) {
        for (const align of [0, 1]) {
          out[`GridSample ${mode}, ${padding}, align_corners ${align} (opset ${opset})`] = {
            op: 'GridSample', opset, inputs: [x([2, 3, 5, 7]), x([2, 4, 6, 2], 'float32', 'grid')],
            attrs: { mode, padding_mode: padding, align_corners: align }, feed: { grid: spread },
          };
        }
      }
    }
  }
  return out;
}

describe('indexing reference kernels match onnxruntime-node', () => {
  for (const [name, c] of Object.entries(CASES)) it(name, () => expectOrtAgreement(c));

  it('an index past the data is a coded error naming it, not a read out of bounds', () => {
    for (const c of [
      { op: 'GatherND', inputs: [x([3, 4])], nodeInputs: ['x', 'i'], constants: [int64('i', [3], [1, 1])] },
      { op: 'ScatterElements', inputs: [x([3, 4])], nodeInputs: ['x', 'i', 'u'], constants: [int64('i', [-5], [1, 1]), w('u', [1, 1])], attrs: { axis: 1 } },
      { op: 'ReverseSequence', opset: 10, inputs: [x([4, 3])], nodeInputs: ['x', 'l'], constants: [int64('l', [1, 5, 2])] },
      { op: 'RoiAlign', opset: 16, inputs: [x([1, 1, 3, 4])], nodeInputs: ['x', 'rois', 'bi'], constants: [f32('rois', [1, 4], [0, 0, 2, 2]), int64('bi', [1])] },
      { op: 'ReverseSequence', opset: 10, inputs: [x([4, 3])], nodeInputs: ['x', 'l'], constants: [int64('l', [1, -1, 2])] },
    ] as OpCase[]) {
      const g = opGraph(c);
      expect(() => runReference(g, { x: randn(12, 1) })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_INPUT' }));
    }
  });
});

describe('builtin runs OneHot and Hardmax as compares and selects', () => {
  const consts: Constant[] = [int64('depth', [5], []), f32('values', [2], [0, 1])];
  const chain = () => {
    const g = new Graph({
      opset: 17,
      inputs: [
        { name: 'ids', type: { dtype: 'int64', shape: ['n', 3] } },
        { name: 'x', type: { dtype: 'float32', shape: ['n', 3, 5] } },
      ],
      outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
      nodes: [node('OneHot', ['ids', 'depth', 'values'], ['hot'], { axis: -1 }), node('Hardmax', ['x'], ['max'], { axis: 2 }), node('Add', ['hot', 'max'], ['y'])],
      initializers: new Map(consts.map((c) => [c.name, c])),
    });
    inferShapes(g);
    return g;
  };
  for (const precision of ['fp32', 'fp16'] as const) {
    it(`exactly as the reference, negative and out-of-range ids included (${precision})`, () => {
      const g = chain();
      const opt = optimize(g, { fuse: true, precision });
      expect(opCounts(opt).OneHot).toBeUndefined();
      expect(opCounts(opt).Hardmax).toBeUndefined();
      const { program, weights } = lowerGraph(opt, { min: 1, opt: 2, max: 4 });
      const ids = BigInt64Array.from([0, 4, -1, 7, -5, 2].map(BigInt));
      const xv = ties(2 * 3 * 5);
      const want = runReference(g, { ids, x: xv }).y as Float32Array;
      expect(Array.from(simulate(program, weights, { ids, x: xv }, 2).y)).toEqual(Array.from(want));
    });
  }
});

describe('crafted sizes', () => {
  it('a OneHot depth of 2^40 is a coded error, not a failed allocation', () => {
    const g = opGraph({ op: 'OneHot', inputs: [], nodeInputs: ['i', 'd', 'v'], constants: [int64('i', [1, 2], [2]), int64('d', [2 ** 40], []), f32('v', [2], [0, 1])] });
    expect(() => runReference(g, {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_INPUT', message: expect.stringMatching(/too large/) }));
  });
});

describe('EyeLike, ReverseSequence and GridSample refuse malformed nodes', () => {
  it('with coded errors that name the problem', () => {
    expect(() => opGraph({ op: 'GridSample', opset: 16, inputs: [x([1, 2, 4, 4]), x([1, 3, 3, 2], 'float32', 'grid')], attrs: { mode: 'area' } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MODEL', message: expect.stringMatching(/unknown mode 'area'/) }));
    expect(() => opGraph({ op: 'GridSample', opset: 20, inputs: [x([1, 2, 4, 4, 4]), x([1, 3, 3, 3, 3], 'float32', 'grid')] })).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_OP' }));
    expect(() => opGraph({ op: 'GridSample', opset: 16, inputs: [x([1, 2, 4, 4]), x([1, 3, 3, 3], 'float32', 'grid')] })).toThrow(expect.objectContaining({ code: 'ERR_SHAPE_MISMATCH' }));
    expect(() => opGraph({ op: 'EyeLike', inputs: [x([2, 3, 4])] })).toThrow(expect.objectContaining({ code: 'ERR_SHAPE_MISMATCH', message: expect.stringMatching(/must be 2-D/) }));
    expect(() => opGraph({ op: 'ReverseSequence', opset: 10, inputs: [x([4, 3, 2])], nodeInputs: ['x', 'l'], constants: [int64('l', [1, 2])] })).toThrow(/2 entries for a batch of 3/);
    expect(() => opGraph({ op: 'ReverseSequence', opset: 10, inputs: [x([4, 3, 2])], nodeInputs: ['x', 'l'], constants: [int64('l', [1, 2, 3])], attrs: { batch_axis: 2, time_axis: 0 } })).toThrow(/batch_axis and time_axis/);
  });
});

describe('indices shaped past the data', () => {
  it('GatherElements and ScatterElements refuse indices wider than the data off their axis (their positions are data positions there)', () => {
    for (const c of [
      { op: 'GatherElements', inputs: [x([3, 4])], nodeInputs: ['x', 'i'], constants: [int64('i', new Array(12).fill(0), [2, 6])], attrs: { axis: 0 } },
      { op: 'ScatterElements', inputs: [x([3, 4])], nodeInputs: ['x', 'i', 'u'], constants: [int64('i', new Array(12).fill(0), [2, 6]), w('u', [2, 6])], attrs: { axis: 0 } },
    ] as OpCase[]) {
      expect(() => opGraph(c)).toThrow(/indices \[2, 6\] reach past the data \[3, 4\] on axis 1/);
    }
  });
});
