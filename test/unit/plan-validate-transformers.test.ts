// The plan validator on lowered transformer programs: they pass, and crafted changes to the new layers (an
// attention stride past its tensor, a gather over a larger table, a batch increment that outgrows the arena at the
// maximum batch, a mistyped mask) are refused before anything runs.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { lowerGraph } from '../../lib/builtin/lower.js';
import { OP_NAMES, type Program } from '../../lib/builtin/program.js';
import { validateBuiltinProgram, validatedOps } from '../../lib/builtin/validate.js';
import { parseModel } from '../../lib/onnx/index.js';
import { optimize } from '../../lib/optimize/index.js';
import { foldStaticDims } from '../../lib/optimize/shape-fold.js';

const fixture = (name: string) => parseModel(new Uint8Array(readFileSync(`test/fixtures/models/${name}.onnx`)));

function refused(p: Program, weights: Uint8Array, message: RegExp) {
  let err: unknown;
  try {
    validateBuiltinProgram(p, weights, undefined, 'build');
  } catch (e) {
    err = e;
  }
  expect(err, 'the program was accepted').toBeDefined();
  expect(err).toMatchObject({ code: 'ERR_PLAN_CORRUPT', message: expect.stringMatching(message) });
}

describe('validator rules of the transformer layers', () => {
  let vit: { program: Program; weights: Uint8Array };
  let bert: { program: Program; weights: Uint8Array };
  beforeAll(() => {
    vit = lowerGraph(optimize(fixture('vit_tiny'), { fuse: true, precision: 'fp16' }), { min: 1, opt: 4, max: 16 });
    const b = foldStaticDims(fixture('bert_tiny'), { sequence: { min: 16, opt: 16, max: 16 } });
    bert = lowerGraph(optimize(b, { fuse: true, precision: 'fp32' }), { min: 1, opt: 4, max: 16 });
  }, 60_000);

  const layer = (p: Program, op: string) => p.layers.find((l) => OP_NAMES[l.op] === op)!;

  it('knows every new op', () => {
    expect(validatedOps()).toEqual(expect.arrayContaining(['layernorm', 'gather', 'compare', 'predicate', 'where', 'attention']));
  });

  it('accepts the lowered ViT and BERT programs', () => {
    expect(validateBuiltinProgram(vit.program, vit.weights, undefined, 'build').layers).toBe(vit.program.layers.length);
    expect(validateBuiltinProgram(bert.program, bert.weights, undefined, 'build').layers).toBe(bert.program.layers.length);
    expect(bert.program.layers.some((l) => l.perBatch)).toBe(true);
  });

  it('refuses an attention key stride that reaches past the keys', () => {
    const p = structuredClone(vit.program);
    (layer(p, 'attention').params.ks as number[])[2] *= 1000;
    refused(p, vit.weights, /attention.*touches elements .* of its keys/);
  });

  it('refuses a gather over a table larger than its tensor', () => {
    const p = structuredClone(bert.program);
    const g = layer(p, 'gather');
    g.params.len = (g.params.len as number) * 100;
    refused(p, bert.weights, /gather.*table/);
  });

  it('checks affine layers at the maximum batch, not only at batch 1', () => {
    const p = structuredClone(bert.program);
    const l = p.layers.find((x) => OP_NAMES[x.op] === 'layernorm' && x.perBatch?.rows !== undefined)!;
    l.perBatch!.rows = (l.perBatch!.rows as number) * 2; // right at batch 1, twice too many rows at batch 16
    refused(p, bert.weights, /layernorm.*at batch 16/);
  });

  it('holds flash_mma and the in-place operand offsets to what the kernel loads', () => {
    // The lowered ViT reads K and V at offsets 64 and 128 of its QKV projection: accepted as lowered, with flash_mma.
    const ok = structuredClone(vit.program);
    const a0 = layer(ok, 'attention');
    expect([a0.params.ko, a0.params.vo]).toEqual([64, 128]);
    a0.tactics = [{ upTo: 16, tactic: 'flash_mma_w8' }];
    expect(validateBuiltinProgram(ok, vit.weights, undefined, "build").layers).toBe(ok.layers.length);
    const crafted: [string, (a: Program['layers'][number]) => void, RegExp][] = [
      ['an offset past the projection', (a) => (a.params.vo = (a.params.vo as number) * 1000), /attention.*touches elements .* of its values/],
      ['an offset off 16-byte alignment', (a) => (a.params.ko = 68), /offset off 16-byte alignment/],
      ['a feature stride the kernel does not load', (a) => ((a.params.qs as number[])[3] = 2), /strides it does not load|touches elements/],
      ['a negative offset', (a) => (a.params.qo = -8), /qo/],
    ];
    for (const [, change, message] of crafted) {
      const p = structuredClone(vit.program);
      const a = layer(p, 'attention');
      a.tactics = [{ upTo: 16, tactic: 'flash_mma' }];
      change(a);
      refused(p, vit.weights, message);
    }
    // float32 engines cannot name it (it runs float16 only).
    const q = structuredClone(bert.program);
    layer(q, 'attention').tactics = [{ upTo: 16, tactic: 'flash_mma' }];
    refused(q, bert.weights, /uses flash_mma for head sizes or a dtype it does not run/);
  });

  it('refuses an unknown attention tactic and a mask of the wrong type', () => {
    const p = structuredClone(vit.program);
    layer(p, 'attention').tactics = [{ upTo: 16, tactic: 'flash_fast' }];
    refused(p, vit.weights, /unknown attention tactic 'flash_fast'/);
    const q = structuredClone(bert.program);
    const a = layer(q, 'attention');
    const ids = q.io.find((x) => x.name === 'input_ids')!.tensor;
    a.inputs[3] = ids;
    refused(q, bert.weights, /mask/);
  });
});
