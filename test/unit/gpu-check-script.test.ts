// scripts/gpu-check.sh reports the first run of the GPU suite: a failed run is not rerun (through npx) and replaced.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('scripts/gpu-check.sh', () => {
  it("returns a failed suite's status without running it again", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-gpucheck-'));
    const count = path.join(dir, 'count');
    writeFileSync(count, '');
    // A vitest that fails its first run and passes any later one; npx just runs its arguments.
    writeFileSync(path.join(dir, 'vitest'), `#!/bin/sh\necho run >> ${count}\n[ "$(wc -l < ${count})" -gt 1 ]\n`);
    writeFileSync(path.join(dir, 'npx'), '#!/bin/sh\nexec "$@"\n');
    chmodSync(path.join(dir, 'vitest'), 0o755);
    chmodSync(path.join(dir, 'npx'), 0o755);
    const fn = readFileSync('scripts/gpu-check.sh', 'utf8').split('\n').find((l) => l.startsWith('run()'))!;
    const out = execFileSync('bash', ['-c', `${fn}\nrun vitest run test/gpu; echo "rc=$?"`], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
    expect(out.trim()).toBe('rc=1');
    expect(readFileSync(count, 'utf8').trim().split('\n')).toEqual(['run']);
  });
});
