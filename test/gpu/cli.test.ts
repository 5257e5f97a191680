import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Jimp } from 'jimp';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/program.js';
import { gpuSuite, hasGpu } from '../helpers/gpu.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = path.join(root, 'test/fixtures/torchvision_mobilenet_v2.onnx');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

interface ClassifyJson {
  engine: { backend: string; precision: string; source: string };
  images: { image: string; predictions: { index: number; probability: number; logit: number }[] }[];
  timing: { batch: number; inferenceMsPerImage: number };
}

describe.skipIf(!hasGpu)(gpuSuite('node-tensorrt CLI on the GPU'), () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-cli-gpu-'));
  const cache = path.join(dir, 'cache');
  const images: string[] = [];

  it('builds a plan with a batch profile and inspects it', async () => {
    const plan = path.join(dir, 'mnv2.plan');
    const r = await cli('build', fixture, '-o', plan, '--shapes', 'input:1x3x224x224,4x3x224x224,8x3x224x224', '--json');
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ plan, precision: 'fp16', profile: { min: 1, opt: 4, max: 8 } });
    expect(s.planBytes).toBeGreaterThan(1e6);
    expect(s.layers).toBeGreaterThan(10);
    const i = await cli('inspect', plan, '--json');
    expect(JSON.parse(i.out).plan).toMatchObject({ precision: 'fp16', profile: { min: 1, opt: 4, max: 8 } });
  });

  it('classifies images, caching the engine, and agrees with the reference backend', async () => {
    for (const [name, color] of [['red.png', 0xd02020ff], ['green.jpg', 0x20c040ff], ['blue.png', 0x2040d0ff]] as const) {
      const img = new Jimp({ width: 320, height: 240, color });
      img.scan(0, 0, 320, 240, (x, y, idx) => {
        img.bitmap.data[idx + 1] = (x * 3 + y) & 255;
      });
      const p = path.join(dir, name);
      writeFileSync(p, await img.getBuffer(name.endsWith('.png') ? 'image/png' : 'image/jpeg'));
      images.push(p);
    }
    const args = ['classify', fixture, ...images, '--top', '3', '--fp32', '--batch', '2', '--cache-dir', cache, '--json'];
    const first = await cli(...args);
    expect(first.code, first.err).toBe(0);
    const a = JSON.parse(first.out) as ClassifyJson;
    expect(a.engine.source).toMatch(/^built and cached at /);
    expect(readdirSync(path.join(cache, 'engines')).filter((f) => f.endsWith('.plan'))).toHaveLength(1);
    expect(a.timing.batch).toBe(2);
    expect(a.images.map((r) => r.image)).toEqual(images);
    for (const r of a.images) {
      expect(r.predictions).toHaveLength(3);
      const p = r.predictions.map((x) => x.probability);
      expect(p[0]).toBeGreaterThanOrEqual(p[1]);
      expect(p[1]).toBeGreaterThanOrEqual(p[2]);
      expect(p[0] + p[1] + p[2]).toBeLessThanOrEqual(1 + 1e-6);
    }

    const second = await cli(...args);
    expect(second.code, second.err).toBe(0);
    const b = JSON.parse(second.out) as ClassifyJson;
    expect(b.engine.source).toMatch(/^cached at /);
    expect(b.images.map((r) => r.predictions.map((x) => x.index))).toEqual(a.images.map((r) => r.predictions.map((x) => x.index)));

    const ref = await cli('classify', fixture, ...images, '--top', '3', '--backend', 'reference', '--no-cache', '--json');
    expect(ref.code, ref.err).toBe(0);
    const c = JSON.parse(ref.out) as ClassifyJson;
    c.images.forEach((r, i) => {
      expect(a.images[i].predictions[0].index).toBe(r.predictions[0].index);
      expect(a.images[i].predictions[0].probability).toBeCloseTo(r.predictions[0].probability, 3);
    });
  });

  it('prints the top classes and times as text', async () => {
    const r = await cli('classify', fixture, images[0], '--top', '2', '--fp32', '--cache-dir', cache);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^engine: \w+ FP32 on GPU 0, cached at .*\.plan \(.+\)\n/);
    // A 1000-class model gets the ImageNet names that ship with the package, not 'class N'.
    expect(r.out).toMatch(/red\.png\n {2}1\. {2}\S.* +\d+\.\d\d%\n {2}2\. {2}\S.* +\d+\.\d\d%\n/);
    expect(r.out).not.toMatch(/\d\. {2}class \d+ /);
    expect(r.out).toMatch(/1 image \(batch 1\): preprocess [\d.]+ m?s\/image, inference [\d.]+ m?s\/image \(GPU compute [\d.]+ m?s\/image\)\n$/);
  });
});
