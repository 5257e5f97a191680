// The addon loader's order (platform package, build/Release, prebuilds/) and its "Could not load" message, over
// throw-away package roots: no real addon is needed except where a test says so.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AddonLoadFailure, addonCandidates, addonLoadMessage, loadFirst, platformPackageName } from '../../lib/loader.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Layout {
  platformVersion?: string;
  platformFile?: boolean;
  build?: boolean;
  prebuilds?: boolean;
}

/** A node-tensorrt package root with the given pieces; each addon file's content names it. */
function fakeRoot(l: Layout): string {
  const root = mkdtempSync(path.join(tmpdir(), 'ntrt-loader-'));
  dirs.push(root);
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'node-tensorrt', version: '1.2.3' }));
  if (l.platformVersion) {
    const pkg = path.join(root, 'node_modules', '@node-tensorrt', 'linux-x64');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@node-tensorrt/linux-x64', version: l.platformVersion }));
    if (l.platformFile !== false) writeFileSync(path.join(pkg, 'node-tensorrt.node'), 'platform');
  }
  if (l.build) {
    mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
    writeFileSync(path.join(root, 'build', 'Release', 'node-tensorrt.node'), 'build');
  }
  if (l.prebuilds) {
    mkdirSync(path.join(root, 'prebuilds', 'linux-x64'), { recursive: true });
    writeFileSync(path.join(root, 'prebuilds', 'linux-x64', 'node-tensorrt.napi.node'), 'prebuilds');
  }
  return root;
}

const opts = (root: string) => ({ root, version: '1.2.3', platform: 'linux', arch: 'x64' });

describe('addon candidates', () => {
  it('are the platform package, then build/Release, then prebuilds/', () => {
    const c = addonCandidates(opts(fakeRoot({ platformVersion: '1.2.3', build: true, prebuilds: true })));
    expect(c.map((x) => x.source)).toEqual(['platform-package', 'build', 'prebuilds']);
    expect(c.every((x) => x.file)).toBe(true);
    expect(c[0].file).toMatch(/node_modules\/@node-tensorrt\/linux-x64\/node-tensorrt\.node$/);
  });

  it('say why a place is missing', () => {
    const c = addonCandidates(opts(fakeRoot({})));
    expect(c.map((x) => x.file)).toEqual([undefined, undefined, undefined]);
    expect(c[0].missing).toMatch(/^not installed/);
    expect(c[1].missing).toBe('not built');
  });

  it('skip a platform package of another version', () => {
    const [pkg] = addonCandidates(opts(fakeRoot({ platformVersion: '1.2.2', build: true })));
    expect(pkg.file).toBeUndefined();
    expect(pkg.missing).toBe('version 1.2.2 is installed, but node-tensorrt is 1.2.3');
  });

  it('skip a platform package without its binary', () => {
    const [pkg] = addonCandidates(opts(fakeRoot({ platformVersion: '1.2.3', platformFile: false })));
    expect(pkg.missing).toMatch(/node-tensorrt\.node is missing from the package$/);
  });

  it('are only NODE_TENSORRT_ADDON when it is set', () => {
    const root = fakeRoot({ platformVersion: '1.2.3', build: true });
    const c = addonCandidates({ ...opts(root), envFile: '/nonexistent/x.node' });
    expect(c).toEqual([{ source: 'env', label: 'NODE_TENSORRT_ADDON=/nonexistent/x.node', missing: '/nonexistent/x.node does not exist' }]);
  });

  it('name the platform package by platform and architecture', () => {
    expect(platformPackageName('linux', 'x64')).toBe('@node-tensorrt/linux-x64');
    const c = addonCandidates({ ...opts(fakeRoot({ build: true })), platform: 'linux', arch: 'arm64' });
    expect(c[0].label).toBe('@node-tensorrt/linux-arm64 (platform package)');
  });
});

describe('loadFirst', () => {
  const loader = (bad: string[]) => (file: string) => {
    const which = file.endsWith('napi.node') ? 'prebuilds' : file.includes('node_modules') ? 'platform' : 'build';
    if (bad.includes(which)) throw new Error(`${which} is broken\nsecond line`);
    return { which };
  };

  it('takes the platform package first', () => {
    const c = addonCandidates(opts(fakeRoot({ platformVersion: '1.2.3', build: true, prebuilds: true })));
    const r = loadFirst<{ which: string }>(c, loader([]));
    expect(r.module.which).toBe('platform');
    expect(r.candidate.source).toBe('platform-package');
    expect(r.skipped).toEqual([]);
  });

  it('falls back to the local build when the platform package does not load, and records why', () => {
    const c = addonCandidates(opts(fakeRoot({ platformVersion: '1.2.3', build: true, prebuilds: true })));
    const r = loadFirst<{ which: string }>(c, loader(['platform']));
    expect(r.module.which).toBe('build');
    expect(r.skipped.map((s) => s.reason)).toEqual(['failed to load: platform is broken']);
  });

  it('falls back to prebuilds/ last', () => {
    const c = addonCandidates(opts(fakeRoot({ prebuilds: true })));
    expect(loadFirst<{ which: string }>(c, loader([])).module.which).toBe('prebuilds');
  });

  it('throws every attempt, in order, when none loads', () => {
    const c = addonCandidates(opts(fakeRoot({ platformVersion: '1.2.3', build: true })));
    try {
      loadFirst(c, loader(['platform', 'build']));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AddonLoadFailure);
      const attempts = (e as AddonLoadFailure).attempts;
      expect(attempts.map((a) => [a.candidate.source, a.reason])).toEqual([
        ['platform-package', 'failed to load: platform is broken'],
        ['build', 'failed to load: build is broken'],
        ['prebuilds', 'absent'],
      ]);
    }
  });
});

describe('the "Could not load" message', () => {
  it('lists each place tried with its reason, then the possible solutions', () => {
    const root = fakeRoot({ platformVersion: '1.2.3' });
    const c = addonCandidates(opts(root));
    let attempts: AddonLoadFailure['attempts'] = [];
    try {
      loadFirst(c, () => {
        throw new Error('libcuda.so.1: cannot open shared object file');
      });
    } catch (e) {
      attempts = (e as AddonLoadFailure).attempts;
    }
    const lines = addonLoadMessage(attempts, root, 'linux', 'x64').split('\n');
    expect(lines[0]).toMatch(/^Could not load the node-tensorrt native addon for linux-x64 \(Node /);
    expect(lines[1]).toBe('Tried, in order:');
    expect(lines[2]).toMatch(
      /^ {2}1\. @node-tensorrt\/linux-x64 \(platform package\) \S+node-tensorrt\.node: failed to load: libcuda\.so\.1: cannot open/,
    );
    expect(lines[3]).toBe('  2. build/Release (local build): not built');
    expect(lines[4]).toBe('  3. prebuilds/linux-x64: absent');
    expect(lines[5]).toBe('Possible solutions:');
    expect(lines.slice(6).join('\n')).toContain('npm install @node-tensorrt/linux-x64');
    expect(lines.slice(6).join('\n')).toContain('npm rebuild node-tensorrt');
    expect(lines.at(-1)).toContain("backend: 'reference'");
  });

  it('says no prebuilt addon exists on other platforms', () => {
    const root = fakeRoot({});
    const c = addonCandidates({ ...opts(root), platform: 'darwin', arch: 'arm64' });
    const msg = addonLoadMessage(c.map((candidate) => ({ candidate, reason: candidate.missing ?? '' })), root, 'darwin', 'arm64');
    expect(msg).toContain('No prebuilt addon exists for darwin-arm64');
    expect(msg).not.toContain('npm install @node-tensorrt');
  });
});
