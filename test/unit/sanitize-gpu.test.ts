// scripts/sanitize-gpu.ts without a GPU: its command line, the schedule and inputs of the sanitized runs, and that
// every plan its prepare phase builds lowers and passes the validator here (so the GPU machine only has to time).
import { describe, expect, it } from 'vitest';
import { assembleBuiltinPlan } from '../../lib/builtin/assemble.js';
import { Op } from '../../lib/builtin/program.js';
import { validateBuiltinPlan } from '../../lib/builtin/validate.js';
import { parseModel } from '../../lib/onnx/reader.js';
import { optimize } from '../../lib/optimize/index.js';
import { foldStaticDims } from '../../lib/optimize/shape-fold.js';
import { resolveShapeProfile } from '../../lib/shapes.js';
import type { TensorInfo } from '../../lib/types.js';
import { appendNms, resolvePostprocess } from '../../lib/vision/postprocess.js';
import { parseSanitizeArgs } from '../../scripts/sanitize/args.js';
import { feedsFor, hostileRows } from '../../scripts/sanitize/feeds.js';
import { forceFused } from '../../scripts/sanitize/prepare.js';
import { runSchedule } from '../../scripts/sanitize/run.js';
import { NMS_BOXES, NMS_CLASSES, planSpecs, selected, type PlanSpec } from '../../scripts/sanitize/specs.js';

/** What buildEngine does before timing tactics (parse, postprocess, profile, fold, optimize, lower), with default tactics. */
function assemble(spec: PlanSpec, precision: 'fp32' | 'fp16') {
  let g = parseModel(spec.model());
  if (spec.postprocess) g = appendNms(g, resolvePostprocess(spec.postprocess).nms!);
  const profile = resolveShapeProfile(g.inputs.map((i) => ({ name: i.name, shape: i.type.shape })), spec.shapes);
  return assembleBuiltinPlan(optimize(foldStaticDims(g, profile.dims), { fuse: true, precision }), profile.batch, precision, '9.0');
}

describe('scripts/sanitize-gpu.ts', () => {
  it('parses its two phases and refuses anything else', () => {
    expect(parseSanitizeArgs(['--prepare', 'd'])).toEqual({ mode: 'prepare', dir: 'd', quick: false, mutants: 200 });
    expect(parseSanitizeArgs(['--run', 'd', '--quick', '--only', 'bert,mutants'])).toEqual({ mode: 'run', dir: 'd', only: 'bert,mutants', quick: true, mutants: 40 });
    expect(parseSanitizeArgs(['--run', 'd', '--mutants', '0']).mutants).toBe(0);
    expect(() => parseSanitizeArgs([])).toThrow(/Usage/);
    expect(() => parseSanitizeArgs(['--run', 'a', '--prepare', 'b'])).toThrow(/Usage/);
    expect(() => parseSanitizeArgs(['--run', 'a', '--mutants', '1.5'])).toThrow('Expected a non-negative integer for --mutants but received 1.5');
    expect(() => parseSanitizeArgs(['--run', 'a', '--bogus'])).toThrow();
  });

  it('selects plans by substrings', () => {
    expect(selected('bert_tiny-fp16', undefined)).toBe(true);
    expect(selected('bert_tiny-fp16', 'vit, bert')).toBe(true);
    expect(selected('mutants', 'vit')).toBe(false);
    expect(selected('vit_tiny-fp32', ',')).toBe(false);
  });

  it('runs every completion mode, with and without graphs, at batch 1 and the maximum; quick keeps one context', () => {
    const full = runSchedule(4, true, true, false);
    expect(full.map((c) => `${c.sync}${c.graphs ? '' : '/nograph'}`)).toEqual(['auto', 'spin', 'blocking', 'callback', 'auto/nograph']);
    expect(full[0].steps).toEqual(['infer:1', 'infer:4', 'infer-hostile:4', 'images:1', 'images:4', 'profile:1']);
    for (const c of full.slice(1, 4)) expect(c.steps).toEqual(['run:1', 'run:4']);
    expect(full[4].steps).toEqual(['run:1', 'run:4', 'infer-hostile:4']);
    expect(runSchedule(1, false, false, false)[0].steps).toEqual(['infer:1', 'profile:1']);
    const quick = runSchedule(4, true, false, true);
    expect(quick).toEqual([{ sync: 'auto', graphs: true, steps: ['infer:1', 'infer:4', 'images:4'] }]);
  });

  it('feeds realistic inputs, and hostile ones: ids outside the table, padded masks, NaN and ±Inf', () => {
    const bert: TensorInfo[] = [{ name: 'input_ids', dtype: 'int64', shape: ['batch', 16] }, { name: 'attention_mask', dtype: 'int64', shape: ['batch', 16] }];
    const plan = { kind: 'bert' as const, rows: { input_ids: 16, attention_mask: 16 }, extra: { vocab: 100 } };
    const ok = feedsFor(bert, plan, 3, 1, false);
    const ids = Array.from(ok.input_ids as BigInt64Array, Number);
    expect(ids).toHaveLength(48);
    expect(ids.every((v) => v >= 1 && v < 100)).toBe(true);
    expect(Array.from(ok.attention_mask as BigInt64Array).slice(0, 16).every((v) => v === 1n)).toBe(true);
    expect((ok.attention_mask as BigInt64Array).includes(0n)).toBe(true);
    const bad = feedsFor(bert, plan, 3, 1, true);
    expect(Array.from(bad.input_ids as BigInt64Array).some((v) => v >= 100n || v < -100n)).toBe(true);
    expect(Array.from(bad.attention_mask as BigInt64Array).slice(32).every((v) => v === 0n)).toBe(true);

    const sel = feedsFor([{ name: 'x', dtype: 'float32', shape: ['B', 7, 6, 5] }], { kind: 'select', rows: { x: 210 } }, 2, 3, true).x as Float32Array;
    expect(sel.length).toBe(420);
    expect(sel.some(Number.isNaN) && sel.includes(Infinity) && sel.includes(-Infinity)).toBe(true);
    expect(Array.from(hostileRows(new Float32Array(10).fill(1), 5).subarray(5))).toEqual([NaN, NaN, NaN, NaN, NaN]);

    const row = (4 + NMS_CLASSES) * NMS_BOXES;
    const det = feedsFor([{ name: 'x', dtype: 'float32', shape: ['B', 4 + NMS_CLASSES, NMS_BOXES] }], { kind: 'nms', rows: { x: row } }, 2, 5, false).x as Float32Array;
    expect(det.every(Number.isFinite)).toBe(true);
    expect(det[2 * NMS_BOXES]).toBeGreaterThanOrEqual(8); // widths
    const detBad = feedsFor([{ name: 'x', dtype: 'float32', shape: ['B', 4 + NMS_CLASSES, NMS_BOXES] }], { kind: 'nms', rows: { x: row } }, 2, 5, true).x as Float32Array;
    expect(detBad.subarray(row + 4 * NMS_BOXES).every(Number.isNaN)).toBe(true); // the last image: NaN scores only

    const f16 = feedsFor([{ name: 'x', dtype: 'float16', shape: ['B', 4] }], { kind: 'float', rows: { x: 4 } }, 2, 1, false).x;
    expect(f16).toBeInstanceOf(Uint16Array);
    expect(f16.length).toBe(8);
    expect(Array.from(f16 as Uint16Array).includes(0)).toBe(false);
  });

  it('every plan it prepares lowers and passes the validator on the CPU, and the fused variant forces fused blocks', () => {
    const specs = planSpecs();
    expect(specs.map((s) => s.name)).toEqual(expect.arrayContaining(['vit_tiny', 'bert_tiny', 'lraspp_mbv3', 'oldops_opset9', 'torchvision_mobilenet_v2', 'mobilenet_v2_gen', 'nms_per_class', 'select_topk_argmax', 'vision_ops']));
    for (const spec of specs) {
      for (const precision of spec.precisions) {
        const a = assemble(spec, precision);
        expect(() => validateBuiltinPlan(a.plan), `${spec.name} ${precision}`).not.toThrow();
        expect(a.header.profile.max, spec.name).toBeLessThanOrEqual(4);
        if (spec.variants?.includes('mbconv-fused') && precision === 'fp16') {
          const f = forceFused(a.plan);
          expect(f.blocks).toBe(17); // MobileNetV2's 17 inverted residuals, the first with an identity expand
          expect(f.fused).toBeGreaterThan(0);
          const { program } = validateBuiltinPlan(f.plan);
          expect(program.layers.filter((l) => l.op === Op.mbconv && /^mbconv_/.test(l.tactics![0].tactic))).toHaveLength(f.fused);
        }
      }
    }
  }, 300_000);
});
