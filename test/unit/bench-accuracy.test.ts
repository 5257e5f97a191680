import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { argmaxRows, classificationMetrics, datasetDir, defaultDigitsDir, loadDigits, resolveDatasetDir, runAccuracy, type ClassificationAccuracyReport } from '../../lib/bench/accuracy.js';
import type { DetectionAccuracyReport } from '../../lib/bench/accuracy-detect.js';
import { parseBenchArgs } from '../../lib/bench/command.js';
import type { BenchReport } from '../../lib/bench/report.js';
import { accuracyHtml, accuracyText } from '../../lib/bench/report-accuracy.js';
import { runBench } from '../../lib/bench/run.js';
import { Graph } from '../../lib/ir/graph.js';
import { inferShapes } from '../../lib/ir/infer.js';
import { writeModel } from '../../lib/onnx/writer.js';
import { SHAPES_FORMAT } from '../../lib/vision/evaluate.js';

describe('classification metrics', () => {
  it('computes accuracy, per-class precision and recall, and the confusion matrix', () => {
    // truth:     0 0 0 1 1 2
    // predicted: 0 0 1 1 2 2
    const m = classificationMetrics([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 2], 4);
    expect(m).toMatchObject({ total: 6, correct: 4 });
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.confusion).toEqual([
      [2, 1, 0, 0],
      [0, 1, 1, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    expect(m.perClass).toEqual([
      { class: 0, support: 3, precision: 1, recall: 2 / 3 },
      { class: 1, support: 2, precision: 0.5, recall: 0.5 },
      { class: 2, support: 1, precision: 0.5, recall: 1 },
      { class: 3, support: 0, precision: null, recall: null },
    ]);
    // Macro averages skip the classes where the value is undefined.
    expect(m.macroPrecision).toBeCloseTo((1 + 0.5 + 0.5) / 3, 12);
    expect(m.macroRecall).toBeCloseTo((2 / 3 + 0.5 + 1) / 3, 12);
  });

  it('rejects mismatched lengths', () => {
    expect(() => classificationMetrics([0, 1], [0], 2)).toThrow('Expected as many predictions as labels but received 2 and 1');
  });

  it('takes the arg-max of each row', () => {
    expect(argmaxRows(new Float32Array([0.1, 0.9, 0.0, 3, -1, 2]), 2, 3)).toEqual([1, 0]);
  });
});

describe('digits set', () => {
  it('loads the shipped test split', async () => {
    const set = await loadDigits(defaultDigitsDir());
    expect(set.count).toBe(360);
    expect(set.shape).toEqual([1, 8, 8]);
    expect(set.classes).toBe(10);
    expect(set.labels).toHaveLength(360);
    expect(set.images).toHaveLength(360 * 64);
    expect(Math.min(...set.images)).toBe(0);
    expect(Math.max(...set.images)).toBeLessThanOrEqual(1);
    expect(new Set(set.labels).size).toBe(10);
    expect(set.io.inputs[0].dims).toEqual(['batch', 1, 8, 8]);
    expect(set.meta).not.toHaveProperty('labels');
  });

  it('says how to create a missing set', async () => {
    await expect(loadDigits(path.join(defaultDigitsDir(), 'nope'))).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringContaining('run scripts/train_digits.py') });
  });

  it('classifies the split with onnxruntime-node as the training script measured it', async () => {
    const set = await loadDigits(defaultDigitsDir());
    const report = (await runAccuracy({ dir: defaultDigitsDir(), backend: 'auto', hasGpu: false, device: 0, log: () => undefined })) as ClassificationAccuracyReport;
    const ortRun = report.runs.find((r) => r.name === 'onnxruntime-node (CPU)')!;
    expect(ortRun.metrics!.accuracy).toBeCloseTo((set.meta.torch as { testAccuracy: number }).testAccuracy, 6);
    expect(ortRun.metrics!.accuracy).toBeGreaterThan(0.95);
    expect(ortRun.metrics!.perClass).toHaveLength(10);
    expect(report.runs.map((r) => r.name)).toEqual(['reference (CPU FP32)', 'GPU engine FP32', 'GPU engine FP16', 'onnxruntime-node (CPU)']);
    expect(report.runs.filter((r) => r.name.startsWith('GPU engine')).map((r) => r.skipped)).toEqual(['no CUDA device', 'no CUDA device']);
    expect(report.dataset).toMatchObject({ count: 360, classes: 10 });
  });

  describe('through the reference backend', () => {
    it('agrees with onnxruntime on every sample', async () => {
      const report = (await runAccuracy({ dir: defaultDigitsDir(), backend: 'auto', hasGpu: false, device: 0, log: () => undefined })) as ClassificationAccuracyReport;
      const ref = report.runs.find((r) => r.name === 'reference (CPU FP32)')!;
      expect(ref.skipped).toBeUndefined();
      expect(report.agreement.find((g) => g.a === 'reference (CPU FP32)' && g.b === 'onnxruntime-node (CPU)')?.fraction).toBe(1);
    });
  });
});

/**
 * A detection set of three 32x32 images and a YOLO-style model (1x1 Conv + Reshape to [B, 6, 1024]) whose every
 * anchor predicts box (cx 16, cy 16, w 8, h 4) with class scores 0.9 / 0.2: after NMS one detection per class.
 */
function detectionSet(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-detset-'));
  const g = new Graph({
    opset: 17,
    inputs: [{ name: 'images', type: { dtype: 'float32', shape: ['B', 3, 32, 32] } }],
    outputs: [{ name: 'output0', type: { dtype: 'float32', shape: [] } }],
    nodes: [
      { name: 'conv', op: 'Conv', domain: '', inputs: ['images', 'w', 'b'], outputs: ['maps'], attrs: {} },
      { name: 'flat', op: 'Reshape', domain: '', inputs: ['maps', 'shape'], outputs: ['output0'], attrs: {} },
    ],
    initializers: new Map([
      ['w', { name: 'w', dtype: 'float32', dims: [6, 3, 1, 1], data: new Float32Array(18) }],
      ['b', { name: 'b', dtype: 'float32', dims: [6], data: Float32Array.from([16, 16, 8, 4, 0.9, 0.2]) }],
      ['shape', { name: 'shape', dtype: 'int64', dims: [3], data: BigInt64Array.from([0n, 6n, -1n]) }],
    ]),
  });
  inferShapes(g);
  writeFileSync(path.join(dir, 'det.onnx'), writeModel(g));
  writeFileSync(path.join(dir, 'imgs.u8.gz'), gzipSync(new Uint8Array(3 * 32 * 32 * 3).fill(90)));
  const perClass = { ring: { ap50: 0.6, precision: 0.6, recall: 0.6, instances: 3 }, block: { ap50: null, precision: 0, recall: 0, instances: 0 } };
  writeFileSync(
    path.join(dir, 'test.json'),
    JSON.stringify({
      format: SHAPES_FORMAT, model: 'det.onnx', count: 3, shape: [32, 32, 3], images: 'imgs.u8.gz', classes: ['ring', 'block'],
      boxes: [[[0, 12, 14, 20, 18]], [[0, 12, 14, 20, 18]], [[0, 0, 0, 5, 5]]],
      nms: { scoreThreshold: 0.001, iouThreshold: 0.5, maxDetections: 100 },
      torch: { version: '2.11.0', map50: 0.6, scoreThreshold: 0.25, perClass, detections: [] },
      seed: 0,
    }),
  );
  return dir;
}

describe('detection set (mAP@0.5)', () => {
  it('is recognised by its test.json and scored by the reference engine with the NMS stage and by onnxruntime-node', async () => {
    const dir = detectionSet();
    const report = (await runAccuracy({ dir, backend: 'auto', hasGpu: false, device: 0, log: () => undefined })) as DetectionAccuracyReport;
    expect(report.kind).toBe('detection');
    expect(report.dataset).toMatchObject({ count: 3, width: 32, height: 32, classes: ['ring', 'block'], scoreThreshold: 0.25, model: path.join(dir, 'det.onnx') });
    expect(report.dataset.meta).not.toHaveProperty('boxes');
    expect(report.runs.map((r) => [r.name, r.skipped ?? 'ran'])).toEqual([
      ['PyTorch FP32 (test.json)', 'ran'],
      ['reference (CPU FP32)', 'ran'],
      ['GPU engine FP32', 'no CUDA device'],
      ['GPU engine FP16', 'no CUDA device'],
      ['onnxruntime-node (CPU)', 'ran'],
    ]);
    expect(report.runs[0].metrics).toMatchObject({ map50: 0.6, perClass: [{ ap50: 0.6, instances: 3 }, { ap50: null, instances: 0 }] });
    // Class 0: three detections at 0.9, two hits of three truths → AP 2/3, precision 2/3, recall 2/3.
    for (const run of [report.runs[1], report.runs[4]]) {
      expect(run.metrics!.map50).toBeCloseTo(2 / 3, 10);
      expect(run.metrics!.perClass[0]).toMatchObject({ instances: 3 });
      expect(run.metrics!.perClass[0].recall).toBeCloseTo(2 / 3, 10);
    }
    const text = accuracyText(report).join('\n');
    expect(text).toMatch(/=== Accuracy \(detection, held-out split: 3 images 32x32, 2 classes; NMS score > 0.001, IoU 0.5, max 100; precision \/ recall at score ≥ 0.25\) ===/);
    expect(text).toMatch(/reference \(CPU FP32\)\s+66\.67%\s+\+6\.67 pt\s+66\.67%\s+66\.67%/);
    expect(text).toMatch(/ring\s+3\s+60\.0% · 60\.0% \/ 60\.0%\s+66\.7% · 66\.7% \/ 66\.7%/);
    const html = accuracyHtml(report, (h, rows) => [h.join('|'), ...rows.map((r) => r.join('|'))].join('\n'));
    expect(html).toContain('<section id="accuracy"><h2>Accuracy on real data: detection held-out split</h2>');
    expect(html).toContain('onnxruntime-node (CPU)|66.67%|+6.67 pt|66.67%|66.67%');
  });

  it('is the --accuracy set of a model in its folder; --dataset names one explicitly', async () => {
    const dir = detectionSet();
    expect(await resolveDatasetDir(undefined, path.join(dir, 'det.onnx'))).toBe(dir);
    expect(await resolveDatasetDir(undefined, path.join(tmpdir(), 'elsewhere', 'm.onnx'))).toBe(defaultDigitsDir());
    expect(await resolveDatasetDir(undefined, undefined)).toBe(defaultDigitsDir());
    expect(await resolveDatasetDir('shapes', undefined)).toBe(datasetDir('shapes'));
    expect(datasetDir('shapes')).toBe(path.join(path.dirname(defaultDigitsDir()), 'shapes'));
    expect(await resolveDatasetDir(dir, undefined)).toBe(dir);
  });

  it('goes into the bench reports (text, JSON) when the model is benchmarked with --accuracy', async () => {
    const dir = detectionSet();
    const json = path.join(dir, 'r.json');
    let out = '';
    const opts = parseBenchArgs([path.join(dir, 'det.onnx'), '--accuracy', '--peers', 'none', '--batch', '1', '--warmUp', '0', '--iterations', '1', '--duration', '0', '--validateSamples', '0', '--noReport', '--json', json]);
    await runBench(opts, { out: (t) => (out += t), err: () => undefined, tty: false });
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(report.accuracy?.kind).toBe('detection');
    expect(out).toContain('=== Accuracy (detection, held-out split: 3 images 32x32');
  }, 60_000);
});
