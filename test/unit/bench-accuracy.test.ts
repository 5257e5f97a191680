import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { argmaxRows, classificationMetrics, defaultDigitsDir, loadDigits, runAccuracy } from '../../lib/bench/accuracy.js';

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
    const report = await runAccuracy({ dir: defaultDigitsDir(), backend: 'auto', hasGpu: false, device: 0, log: () => undefined });
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
      const report = await runAccuracy({ dir: defaultDigitsDir(), backend: 'auto', hasGpu: false, device: 0, log: () => undefined });
      const ref = report.runs.find((r) => r.name === 'reference (CPU FP32)')!;
      expect(ref.skipped).toBeUndefined();
      expect(report.agreement.find((g) => g.a === 'reference (CPU FP32)' && g.b === 'onnxruntime-node (CPU)')?.fraction).toBe(1);
    });
  });
});
