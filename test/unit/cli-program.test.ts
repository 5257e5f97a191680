import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Jimp } from 'jimp';
import { describe, expect, it } from 'vitest';
import { buildProgressReporter } from '../../lib/cli/progress.js';
import { runCli } from '../../lib/cli/program.js';
import { encodePayload } from '../../lib/builtin/program.js';
import { decodeModelProto } from '../../lib/onnx/reader.js';
import { modelProto, type ModelProtoMsg, type TensorProtoMsg } from '../../lib/onnx/schema.js';
import { writePlan } from '../../lib/plan.js';
import { seeds } from '../../scripts/fuzz/seeds.js';
import { smallCnn } from '../../scripts/gen-models.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-cli-'));

/** Runs the CLI in-process with captured output. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

function file(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('node-tensorrt CLI', () => {
  it('prints help and the version with exit code 0', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const c of ['inspect', 'build', 'classify', 'capabilities|info']) expect(help.out).toContain(c);
    expect(help.out).toMatch(/\n {2}bench \[options\]/);
    const v = await cli('--version');
    expect(v).toMatchObject({ code: 0, out: '0.1.0\n' });
  });

  it('reports usage errors through commander with exit code 1', async () => {
    expect(await cli('build')).toMatchObject({ code: 1, err: expect.stringContaining("error: missing required argument 'model'") });
    expect(await cli('build', 'm.onnx', '--frobnicate')).toMatchObject({ code: 1, err: expect.stringContaining("error: unknown option '--frobnicate'") });
    expect(await cli('classify', 'm.onnx')).toMatchObject({ code: 1, err: expect.stringContaining("error: missing required argument 'images'") });
  });

  it('prints coded validation errors as "error [CODE]: message" with exit code 1', async () => {
    const model = file('tiny.onnx', 'not really onnx');
    expect(await cli('build', model, '--shapes', 'input:1x3,8x3')).toEqual({
      code: 1,
      out: '',
      err: "error [ERR_INVALID_ARGUMENT]: Expected name:min,opt,max shapes (e.g. input:1x3x224x224,8x3x224x224,32x3x224x224) or name:shape for --shapes but received 'input:1x3,8x3' of type string\n",
    });
    expect(await cli('build', model, '--backend', 'cuda')).toMatchObject({
      code: 1,
      err: "error [ERR_INVALID_ARGUMENT]: Expected one of 'auto', 'tensorrt', 'builtin', 'reference' for --backend but received 'cuda' of type string\n",
    });
    expect(await cli('build', model, '--workspace', '-5')).toMatchObject({ code: 1, err: expect.stringContaining("for --workspace but received '-5'") });
    expect(await cli('classify', model, 'a.jpg', '--top', 'three')).toMatchObject({
      code: 1,
      err: "error [ERR_INVALID_ARGUMENT]: Expected a positive integer for --top but received 'three' of type string\n",
    });
    expect(await cli('classify', model, 'a.jpg', '--preset', 'torch')).toMatchObject({ code: 1, err: expect.stringContaining("for --preset but received 'torch'") });
    expect(await cli('build', model, '-o', model)).toMatchObject({ code: 1, err: expect.stringContaining('would overwrite the model') });
  });

  it('names missing files with ERR_IO', async () => {
    const missing = path.join(dir, 'missing.onnx');
    expect(await cli('build', missing)).toMatchObject({ code: 1, err: expect.stringMatching(/^error \[ERR_IO\]: Could not read the model .*missing\.onnx: ENOENT/) });
    expect(await cli('inspect', missing)).toMatchObject({ code: 1, err: expect.stringContaining('[ERR_IO]') });
    const model = file('m.onnx', 'x');
    expect(await cli('classify', model, path.join(dir, 'nope.jpg'))).toMatchObject({ code: 1, err: expect.stringMatching(/^error \[ERR_IO\]: Could not read the image .*nope\.jpg/) });
    expect(await cli('classify', model, 'x.jpg', '--labels', path.join(dir, 'nope.txt'))).toMatchObject({ code: 1, err: expect.stringContaining('Could not read the labels') });
  });

  it('classify on a non-image file exits 1 with ERR_IMAGE_DECODE, before any build', async () => {
    const model = file('m2.onnx', 'x');
    const png = file('ok.png', await new Jimp({ width: 4, height: 4, color: 0xff0000ff }).getBuffer('image/png'));
    const text = file('readme.txt', 'just words\n');
    const r = await cli('classify', model, png, text, '--top', '3');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`error [ERR_IMAGE_DECODE]: ${text} is not an image: expected a JPEG or PNG image (GIF, BMP and TIFF are read too), but it starts with "just words\\n"\n`);
  });

  it('classify builds a model that keeps its weights in an external file (from its path, cached by content)', async () => {
    // smallCnn with every initializer moved to m-ext.onnx.data.
    const m = decodeModelProto(smallCnn({ seed: 4 })) as ModelProtoMsg & { graph: { initializer: TensorProtoMsg[] } };
    const chunks: Uint8Array[] = [];
    let offset = 0;
    let firstFloat = -1;
    for (const t of m.graph.initializer) {
      if (t.data_type === 1 && firstFloat < 0) firstFloat = offset;
      const raw = t.raw_data?.length ? t.raw_data : new Uint8Array(Float32Array.from(t.float_data ?? []).buffer);
      t.raw_data = undefined;
      t.float_data = [];
      t.data_location = 1;
      t.external_data = [
        { key: 'location', value: 'm-ext.onnx.data' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.byteLength) },
      ];
      chunks.push(raw);
      offset += raw.byteLength;
    }
    const data = new Uint8Array(offset);
    chunks.reduce((at, c) => (data.set(c, at), at + c.byteLength), 0);
    file('m-ext.onnx.data', data);
    const model = file('m-ext.onnx', modelProto().encode(m as never).finish());
    const png = file('ext.png', await new Jimp({ width: 8, height: 8, color: 0x3366ccff }).getBuffer('image/png'));
    const cacheDir = path.join(dir, 'ext-cache');
    const args = ['classify', model, png, '--backend', 'reference', '--json', '--top', '2'];
    const direct = await cli(...args, '--no-cache');
    expect(direct.err).toBe('');
    expect(direct.code).toBe(0);
    const first = await cli(...args, '--cache-dir', cacheDir);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out).engine.source).toMatch(/^built and cached/);
    expect(JSON.parse((await cli(...args, '--cache-dir', cacheDir)).out).engine.source).toMatch(/^cached/);
    // Other weights in the external file: another cache entry, not the stale engine.
    file('m-ext.onnx.data', data.map((b, i) => (i === firstFloat ? b ^ 1 : b)));
    const changed = await cli(...args, '--cache-dir', cacheDir);
    expect(changed.err).toBe('');
    expect(JSON.parse(changed.out).engine.source).toMatch(/^built and cached/);
  });

  it('capabilities --json (and its alias info) describe this machine', async () => {
    const r = await cli('capabilities', '--json');
    expect(r.code).toBe(0);
    const caps = JSON.parse(r.out);
    expect(caps.version).toBe('0.1.0');
    expect(caps.backends.reference.available).toBe(true);
    expect(typeof caps.cuda.available).toBe('boolean');
    const text = await cli('info');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^node-tensorrt 0\.1\.0\naddon {8}(yes|no)/);
    expect(text.out).toMatch(/\n {2}reference {2}yes\n/);
  });

  it('inspects a plan file header, as text and JSON', async () => {
    const header = {
      backend: 'builtin' as const,
      formatVersion: 1,
      libraryVersion: '0.1.0',
      computeCapability: '9.0',
      deviceName: 'NVIDIA H100 80GB HBM3',
      tensorrtVersion: null,
      precision: 'fp16' as const,
      inputs: [{ name: 'input', shape: ['batch', 3, 224, 224], dtype: 'float32' as const }],
      outputs: [{ name: 'logits', shape: ['batch', 1000], dtype: 'float32' as const }],
      profile: { min: 1, opt: 8, max: 32 },
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    // The payload is not a program: the header prints, and the validator's verdict fails the command.
    const plan = file('m.plan', writePlan(header, new Uint8Array(1000)));
    const j = await cli('inspect', plan, '--json');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out).plan).toMatchObject({ ...header, payloadBytes: 1000 });
    expect(JSON.parse(j.out).validation).toMatchObject({ valid: false, code: 'ERR_PLAN_CORRUPT' });
    const t = await cli('inspect', plan);
    expect(t.code).toBe(1);
    expect(t.err).toContain('[ERR_PLAN_CORRUPT]: Corrupt builtin plan payload');
    expect(t.out).toContain('backend    builtin FP16, format 1');
    expect(t.out).toContain('built for  sm 9.0 (NVIDIA H100 80GB HBM3)');
    expect(t.out).toContain('batch      1..32 (opt 8)');
    expect(t.out).toMatch(/inputs:\n {2}input {2}float32 {2}\[batch, 3, 224, 224\]\noutputs:\n {2}logits {2}float32 {2}\[batch, 1000\]\n$/);
    const damaged = file('bad.plan', writePlan(header, new Uint8Array(1000)).subarray(0, 600));
    expect(await cli('inspect', damaged)).toMatchObject({ code: 1, err: expect.stringContaining('error [ERR_PLAN_CORRUPT]') });
  });

  it("validates a builtin plan's whole program on a machine without a GPU", async () => {
    const s = seeds()[0];
    const good = await cli('inspect', file('seed.plan', s.plan));
    expect(good.code).toBe(0);
    expect(good.out).toMatch(new RegExp(`program {4}valid: ${s.program.layers.length} layers; at the maximum batch: arena `));
    expect(JSON.parse((await cli('inspect', file('seed.plan', s.plan), '--json')).out).validation).toMatchObject({ valid: true, layers: s.program.layers.length });
    // A crafted program with a recomputed checksum: the container is intact, the program is not.
    const p = structuredClone(s.program);
    p.layers[0].inputs = [];
    const crafted = file('crafted.plan', writePlan(s.header, encodePayload(p, s.weights)));
    const bad = await cli('inspect', crafted);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/error \[ERR_PLAN_CORRUPT\]: Corrupt builtin program: layer 0 .* has input x = -1/);
  });

  it('inspect on a small ONNX model', async () => {
    const onnx = file('small.onnx', smallCnn({ seed: 1 }));
    const r = await cli('inspect', onnx, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.inputs).toEqual([{ name: 'input', shape: [expect.any(String), 3, 32, 32], dtype: 'float32' }]);
    expect(s.outputs.map((t: { name: string }) => t.name)).toEqual(['logits', 'probs']);
    expect(s.opset).toBeGreaterThan(0);
    expect(s.parameters).toBeGreaterThan(0);
    expect(s.ops.Conv).toBeGreaterThan(0);
    expect(s.supported).toBe(true);
    const text = await cli('inspect', onnx);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/small\.onnx: ONNX, .*opset \d+/);
    expect(text.out).toMatch(/\n {2}Conv +\d+\n/);
    expect(text.out).toContain(`parameters: ${s.parameters.toLocaleString('en-US')}`);
    expect(text.out).toContain('supported: yes');
  });
});

describe('build progress', () => {
  const events = [
    { phase: 'parse', done: 0, total: 1 },
    { phase: 'tactics', done: 0, total: 8 },
    ...Array.from({ length: 8 }, (_, i) => ({ phase: 'tactics', done: i + 1, total: 8, layer: `conv${i}` })),
    { phase: 'serialize', done: 1, total: 1 },
  ];

  it('prints one line per phase and quarter when stderr is not a terminal', () => {
    let s = '';
    const p = buildProgressReporter({ write: (c: string) => (s += c) });
    events.forEach((e) => p.onProgress(e));
    p.stop();
    expect(s).toBe(
      'build: parse\nbuild: tactics (8)\nbuild: tactics 1/8\nbuild: tactics 2/8\nbuild: tactics 4/8\nbuild: tactics 6/8\nbuild: tactics 8/8\nbuild: serialize\n',
    );
  });

  it('draws a cli-progress bar on a terminal and nothing when quiet', () => {
    let s = '';
    const tty = { write: (c: string) => ((s += c), true), isTTY: true, columns: 120 };
    const p = buildProgressReporter(tty);
    events.slice(0, 6).forEach((e) => p.onProgress(e));
    // cli-progress redraws on a timer; stop() draws the final state.
    p.stop();
    const plain = s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(plain).toContain('tactics   [');
    expect(plain).toMatch(/\] 4\/8 conv3/);
    let q = '';
    const quiet = buildProgressReporter({ write: (c: string) => (q += c), isTTY: true }, { quiet: true });
    events.forEach((e) => quiet.onProgress(e));
    quiet.stop();
    expect(q).toBe('');
  });
});
