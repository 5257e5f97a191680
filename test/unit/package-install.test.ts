// The release tarballs as a user gets them: `pack:all` from the current build, installed into a blank app with
// install scripts off and no nvcc on PATH. The prebuilt addon must load from the platform package, with both external
// tactic sources compiled in, and the reference backend must classify the digits test split as PyTorch did.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installBlankApp, packAllShared, repoRoot, type BlankApp, type PackedTarball } from '../helpers/blank-app.js';

let out: string;
let packed: PackedTarball[];
let app: BlankApp;

beforeAll(() => {
  ({ dir: out, packed } = packAllShared());
  app = installBlankApp(packed, out);
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const sizes = packed.map((p) => `${p.file} ${mib(p.size)} packed, ${mib(p.unpackedSize)} unpacked`).join('; ');
  console.log(`blank app: npm ci --offline --ignore-scripts took ${(app.installMs / 1000).toFixed(1)} s (${sizes})`);
}, 120_000);

afterAll(() => {
  if (app) rmSync(app.dir, { recursive: true, force: true });
});

const list = (tgz: string) => execFileSync('tar', ['-tzf', path.join(out, tgz)], { encoding: 'utf8' }).split('\n');

describe('pack:all', () => {
  it('writes the main package and the linux-x64 platform package at the same version', () => {
    const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    expect(packed.map((p) => [p.name, p.version])).toEqual([
      ['node-tensorrt', version],
      ['@node-tensorrt/linux-x64', version],
    ]);
    for (const p of packed) expect(existsSync(path.join(out, p.file))).toBe(true);
  });

  it('puts the addon in the platform package only', () => {
    const platform = list(packed[1].file);
    expect(platform).toContain('package/node-tensorrt.node');
    expect(platform).toContain('package/build-info.json');
    const main = list(packed[0].file);
    expect(main.filter((f) => f.endsWith('.node'))).toEqual([]);
    expect(main).toContain('package/dist/lib/index.d.ts');
    expect(main).toContain('package/scripts/install.mjs');
    expect(packed[1].unpackedSize).toBeGreaterThan(1 << 20);
  });
});

describe('a blank app with the tarballs installed (no scripts, no nvcc)', () => {
  const capsOf = () => {
    const r = app.node(['--input-type=module', '-e', "import('node-tensorrt').then((m) => console.log(JSON.stringify(m.capabilities())))"]);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as {
      addon: { loaded: boolean; source?: string; path?: string; cudaArchitectures?: string };
      tacticSources: { cudnn: { compiled: boolean }; cublasLt: { compiled: boolean } };
      backends: { reference: { available: boolean } };
    };
  };

  it('installed without building anything', () => {
    const pkg = path.join(app.dir, 'node_modules', 'node-tensorrt');
    expect(existsSync(path.join(pkg, 'dist', 'lib', 'index.js'))).toBe(true);
    expect(existsSync(path.join(pkg, 'build'))).toBe(false);
    expect(existsSync(path.join(app.dir, 'node_modules', '@node-tensorrt', 'linux-x64', 'node-tensorrt.node'))).toBe(true);
    const which = app.node(['-e', "console.log(process.env.PATH.split(':').some((d) => require('fs').existsSync(d + '/nvcc')))"]);
    expect(which.stdout.trim()).toBe('false');
  });

  it('loads the addon from the platform package, with cuDNN and cuBLASLt compiled in', () => {
    const caps = capsOf();
    console.log(`blank app: capabilities() ${JSON.stringify({ addon: caps.addon, tacticSources: caps.tacticSources })}`);
    expect(caps.addon.loaded).toBe(true);
    expect(caps.addon.source).toBe('platform-package');
    expect(caps.addon.path).toBe(path.join(app.dir, 'node_modules', '@node-tensorrt', 'linux-x64', 'node-tensorrt.node'));
    expect(caps.tacticSources.cudnn.compiled).toBe(true);
    expect(caps.tacticSources.cublasLt.compiled).toBe(true);
    // build-info.json describes the binary it ships with.
    const info = JSON.parse(
      readFileSync(path.join(app.dir, 'node_modules', '@node-tensorrt', 'linux-x64', 'build-info.json'), 'utf8'),
    ) as { cudaArchitectures: string; cudaPtx: string; glibc: string | null; version: string };
    expect(info.cudaArchitectures).toBe(caps.addon.cudaArchitectures);
    expect(info.cudaPtx).toBe((caps.addon as { cudaPtx?: string }).cudaPtx);
    expect(info.glibc).toMatch(/^2\.\d+$/);
    expect(info.version).toBe(packed[0].version);
  });

  it('runs the reference backend: the digits test split at PyTorch\'s accuracy', () => {
    cpSync(path.join(repoRoot, 'test', 'fixtures', 'digits'), path.join(app.dir, 'digits'), { recursive: true });
    const script = `
      import { readFileSync } from 'node:fs';
      import { buildEngine } from 'node-tensorrt';
      const meta = JSON.parse(readFileSync('digits/test.json', 'utf8'));
      const raw = readFileSync('digits/test-images.f32');
      const images = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      const engine = await buildEngine('digits/digits.onnx', { backend: 'reference' });
      const ctx = await engine.createContext();
      const [input] = engine.inputs, [output] = engine.outputs;
      const size = 64, classes = meta.classes;
      let right = 0;
      for (let i = 0; i < meta.count; i++) {
        const res = await ctx.infer({ [input.name]: images.subarray(i * size, (i + 1) * size) });
        const logits = Array.from(res[output.name]);
        if (logits.indexOf(Math.max(...logits)) === meta.labels[i]) right++;
      }
      ctx.dispose();
      engine.dispose();
      console.log(JSON.stringify({ accuracy: right / meta.count, torch: meta.torch.testAccuracy }));
    `;
    const r = app.node(['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    const { accuracy, torch } = JSON.parse(r.stdout) as { accuracy: number; torch: number };
    console.log(`blank app: reference backend, digits test split: accuracy ${accuracy.toFixed(4)} (PyTorch ${torch.toFixed(4)})`);
    expect(Math.abs(accuracy - torch)).toBeLessThanOrEqual(1 / 360);
  });

  it('has an install script that builds nothing when the platform package loads', () => {
    const pkg = path.join(app.dir, 'node_modules', 'node-tensorrt');
    const r = app.node([path.join(pkg, 'scripts', 'install.mjs')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('node-tensorrt: using the prebuilt addon from @node-tensorrt/linux-x64; nothing to build\n');
    expect(existsSync(path.join(pkg, 'build'))).toBe(false);
  });

  describe('with a platform package whose addon does not load', () => {
    const addon = () => path.join(app.dir, 'node_modules', '@node-tensorrt', 'linux-x64', 'node-tensorrt.node');
    beforeAll(() => {
      renameSync(addon(), `${addon()}.away`);
      writeFileSync(addon(), Buffer.alloc(4096, 'x')); // long enough for the loader to read a header, and not ELF
    });
    afterAll(() => renameSync(`${addon()}.away`, addon()));

    it('the install script says why and falls back to the source build', () => {
      const r = app.node([path.join(app.dir, 'node_modules', 'node-tensorrt', 'scripts', 'install.mjs')]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/no prebuilt addon loads \(@node-tensorrt\/linux-x64: Error: .*invalid ELF header.*\); building from source/);
      expect(r.stderr).toContain('nvcc (the CUDA compiler) was not found');
    });

    it('the loader names the failure', () => {
      const r = app.node(['--input-type=module', '-e', "try { (await import('node-tensorrt')).memoryInfo(0) } catch (e) { console.log(e.message) }"]);
      expect(r.stdout).toMatch(/ {2}1\. @node-tensorrt\/linux-x64 \(platform package\) \S+node-tensorrt\.node: failed to load: .*invalid ELF header/);
    });
  });

  describe('without the platform package', () => {
    const platform = () => path.join(app.dir, 'node_modules', '@node-tensorrt', 'linux-x64');
    beforeAll(() => renameSync(platform(), `${platform()}.away`));
    afterAll(() => renameSync(`${platform()}.away`, platform()));

    it('the install script falls back to the source build (here: no nvcc, so it says what to do)', () => {
      const r = app.node([path.join(app.dir, 'node_modules', 'node-tensorrt', 'scripts', 'install.mjs')]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(
        'no prebuilt addon loads (@node-tensorrt/linux-x64: not installed; prebuilds/linux-x64/node-tensorrt.napi.node: absent); building from source',
      );
      expect(r.stderr).toContain('nvcc (the CUDA compiler) was not found');
      expect(r.stderr).toContain('npm install @node-tensorrt/linux-x64');
    });

    it('the loader lists what it tried, and the reference backend still works', () => {
      const script = `
        import { capabilities, memoryInfo } from 'node-tensorrt';
        const c = capabilities();
        let message = '';
        try { memoryInfo(0); } catch (e) { message = e.code + ' ' + e.message; }
        console.log(JSON.stringify({ addon: c.addon, reference: c.backends.reference, message }));
      `;
      const r = app.node(['--input-type=module', '-e', script]);
      const { addon, reference, message } = JSON.parse(r.stdout) as {
        addon: { loaded: boolean; reason: string };
        reference: { available: boolean };
        message: string;
      };
      expect(addon.loaded).toBe(false);
      expect(addon.reason).toMatch(/^Could not load the node-tensorrt native addon for linux-x64/);
      expect(reference.available).toBe(true);
      const lines = message.split('\n');
      expect(lines[0]).toMatch(/^ERR_ADDON_LOAD Could not load/);
      expect(lines.slice(1, 5)).toEqual([
        'Tried, in order:',
        expect.stringMatching(/^ {2}1\. @node-tensorrt\/linux-x64 \(platform package\): not installed/),
        '  2. build/Release (local build): not built',
        '  3. prebuilds/linux-x64: absent',
      ]);
    });
  });
});
