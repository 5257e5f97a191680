// Decomposed LayerNorm and GELU (as older exporters write them) become one node each; outputs do
// not change, on the reference backend and in onnxruntime after writing the graph back.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { FUSED_DOMAIN, type Node } from '../../lib/ir/types.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { fuseGelu, fuseLayerNorm, optimize } from '../../lib/optimize/index.js';
import { runReference } from '../../lib/reference/index.js';
import { f32, int64, opCounts, randn, relErr, runOrt } from './reference-helpers.js';

let k = 0;
const n = (op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name: `${op}_${k++}`, op, domain: '', inputs, outputs, attrs });

/** x [2, 5, 8] → decomposed LayerNorm over the last axis (Pow or Mul for the square) → optional affine → Relu. */
function layerNormGraph(opset: number, square: 'pow' | 'mul', affine: boolean): Graph {
  const axes: Node['attrs'] = opset >= 18 ? {} : { axes: [-1] };
  const ax = opset >= 18 ? ['ax'] : [];
  const nodes = [
    n('ReduceMean', ['x', ...ax], ['m'], axes),
    n('Sub', ['x', 'm'], ['d']),
    square === 'pow' ? n('Pow', ['d', 'two'], ['sq']) : n('Mul', ['d', 'd'], ['sq']),
    n('ReduceMean', ['sq', ...ax], ['v'], axes),
    n('Add', ['v', 'eps'], ['ve']),
    n('Sqrt', ['ve'], ['s']),
    n('Div', ['d', 's'], ['nrm']),
    ...(affine ? [n('Mul', ['nrm', 'gamma'], ['sc']), n('Add', ['sc', 'beta'], ['z'])] : [n('Identity', ['nrm'], ['z'])]),
    n('Relu', ['z'], ['y']),
  ];
  const g = new Graph({
    opset,
    inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['N', 5, 8] } }],
    outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
    nodes,
    initializers: new Map([f32('two', [], [2]), f32('eps', [], [1e-5]), f32('gamma', [8], randn(8, 2)), f32('beta', [8], randn(8, 3)), int64('ax', [-1])].map((c) => [c.name, c])),
  });
  inferShapes(g);
  return g;
}

/** x [2, 3, 6] → GELU in its erf form (Div or Mul by 1/√2; ½ applied first or last) or its tanh form. */
function geluGraph(opset: number, form: 'erf-div' | 'erf-mul-half-first' | 'tanh-pow' | 'tanh-mul'): Graph {
  const tail = (c: string, early: boolean) => (early ? [n('Mul', ['x', 'half'], ['xh']), n('Mul', ['xh', c], ['y'])] : [n('Mul', ['x', c], ['xc']), n('Mul', ['xc', 'half'], ['y'])]);
  let nodes: Node[];
  if (form.startsWith('erf')) {
    nodes = [form === 'erf-div' ? n('Div', ['x', 'sqrt2'], ['a']) : n('Mul', ['x', 'isqrt2'], ['a']), n('Erf', ['a'], ['e']), n('Add', ['e', 'one'], ['c']), ...tail('c', form !== 'erf-div')];
  } else {
    const cube = form === 'tanh-pow' ? [n('Pow', ['x', 'three'], ['x3'])] : [n('Mul', ['x', 'x'], ['xx']), n('Mul', ['x', 'xx'], ['x3'])];
    nodes = [...cube, n('Mul', ['x3', 'c044'], ['t1']), n('Add', ['x', 't1'], ['t2']), n('Mul', ['t2', 'csqrt'], ['t3']), n('Tanh', ['t3'], ['t4']), n('Add', ['one', 't4'], ['c']), ...tail('c', false)];
  }
  const g = new Graph({
    opset,
    inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['N', 3, 6] } }],
    outputs: [{ name: 'y', type: { dtype: 'float32', shape: [] } }],
    nodes,
    initializers: new Map(
      [f32('sqrt2', [], [Math.SQRT2]), f32('isqrt2', [], [Math.SQRT1_2]), f32('one', [], [1]), f32('half', [], [0.5]), f32('three', [], [3]), f32('c044', [], [0.044715]), f32('csqrt', [], [Math.sqrt(2 / Math.PI)])].map((c) => [c.name, c]),
    ),
  });
  inferShapes(g);
  return g;
}

async function sameOutputs(before: Graph, after: Graph, shape: number[]): Promise<void> {
  const x = randn(shape.reduce((a, b) => a * b, 1), 5).map((v) => v * 3);
  const want = runReference(before, { x }).y as Float32Array;
  expect(relErr(runReference(after, { x }).y as Float32Array, want)).toBeLessThan(1e-6);
  const ort = (await runOrt(writeModel(after), { x: { data: x, dims: shape } })).y as Float32Array;
  expect(relErr(ort, want)).toBeLessThan(1e-5);
}

describe('fuseLayerNorm', () => {
  it.each([
    [17, 'pow', true, ''],
    [13, 'mul', true, FUSED_DOMAIN],
    [18, 'pow', false, ''],
    [11, 'pow', false, FUSED_DOMAIN],
  ] as const)('opset %i, square by %s, affine %s', async (opset, square, affine, domain) => {
    const g = layerNormGraph(opset, square, affine);
    const f = g.clone();
    expect(fuseLayerNorm(f)).toBe(1);
    const h = opCounts(f);
    expect(h.LayerNormalization).toBe(1);
    expect(f.nodes.find((m) => m.op === 'LayerNormalization')!.domain).toBe(domain);
    expect(f.nodes.length).toBeLessThan(g.nodes.length);
    expect(h.ReduceMean ?? 0).toBe(0);
    await sameOutputs(g, f, [2, 5, 8]);
  });

  it('leaves a ReduceMean whose mean is read elsewhere alone', () => {
    const g = layerNormGraph(17, 'pow', true);
    g.outputs.push({ name: 'm', type: { dtype: 'float32', shape: [] } });
    expect(fuseLayerNorm(g)).toBe(0);
  });
});

describe('fuseGelu', () => {
  it.each([
    [17, 'erf-div', FUSED_DOMAIN],
    [20, 'erf-mul-half-first', ''],
    [13, 'tanh-pow', FUSED_DOMAIN],
    [20, 'tanh-mul', ''],
  ] as const)('opset %i, %s', async (opset, form, domain) => {
    const g = geluGraph(opset, form);
    const f = g.clone();
    expect(fuseGelu(f)).toBe(1);
    expect(f.nodes.map((m) => [m.op, m.domain])).toEqual([['Gelu', domain]]);
    expect(f.nodes[0].attrs).toEqual(form.startsWith('tanh') ? { approximate: 'tanh' } : {});
    await sameOutputs(g, f, [2, 3, 6]);
  });

  it('leaves a GELU whose intermediate is read elsewhere alone', () => {
    const g = geluGraph(20, 'erf-div');
    g.outputs.push({ name: 'e', type: { dtype: 'float32', shape: [] } });
    expect(fuseGelu(g)).toBe(0);
  });
});

describe('on the fixtures', () => {
  it('ViT, ConvNeXt and BERT: every Erf-GELU becomes a Gelu, outputs unchanged', () => {
    for (const name of ['vit_tiny', 'convnext_tiny', 'bert_tiny']) {
      const g = parseModel(readFileSync(fileURLToPath(new URL(`../fixtures/models/${name}.onnx`, import.meta.url))));
      const erf = opCounts(g).Erf;
      const o = optimize(g, { fuse: true, precision: 'fp32' });
      const h = opCounts(o);
      expect(h.Erf ?? 0).toBe(0);
      expect(h.Gelu).toBe(erf);
      if (name === 'bert_tiny') continue; // covered with masks in parity-transformers.test.ts
      const x = randn(3 * 64 * 64, 8);
      expect(relErr(runReference(o, { input: x }).logits as Float32Array, runReference(g, { input: x }).logits as Float32Array)).toBeLessThan(1e-5);
    }
  });
});
