// The library-version policy (README "Security"): a plan loads in the same major.minor release that wrote it and
// is refused with ERR_PLAN_MISMATCH by any other.
import { describe, expect, it } from 'vitest';
import { buildEngine, loadEngine } from '../../lib/builder.js';
import { checkLibraryVersion, readPlan, writePlan } from '../../lib/plan.js';
import { libraryVersion } from '../../lib/version.js';
import { smallCnn } from '../../scripts/gen-models.js';

describe('plan library version', () => {
  it('loads a plan of the same major.minor and refuses another with ERR_PLAN_MISMATCH', async () => {
    const engine = await buildEngine(smallCnn({ seed: 1 }), { backend: 'reference' });
    const { header, payload } = readPlan(engine.serialize());
    const [major, minor, patch] = libraryVersion().split('.').map(Number);
    const as = (v: unknown) => writePlan({ ...header, libraryVersion: v as string }, payload);
    (await loadEngine(as(`${major}.${minor}.${patch + 7}`))).dispose();
    for (const v of [`${major}.${minor + 1}.0`, `${major + 1}.${minor}.${patch}`, `${major}.${minor + 2}.1`, 'garbage', undefined, 12]) {
      await expect(loadEngine(as(v)), String(v)).rejects.toMatchObject({
        code: 'ERR_PLAN_MISMATCH',
        message: expect.stringContaining(`plans load only in the same major.minor release (${major}.${minor}.x)`),
      });
    }
    engine.dispose();
  });

  it('compares major.minor only', () => {
    expect(() => checkLibraryVersion({ libraryVersion: '1.2.3' } as never, '1.2.9')).not.toThrow();
    expect(() => checkLibraryVersion({ libraryVersion: '1.2.3' } as never, '1.3.0')).toThrow(/1\.2\.3 but this is 1\.3\.0/);
    expect(() => checkLibraryVersion({ libraryVersion: '1.2.3-rc.1' } as never, '1.2.0')).not.toThrow();
  });
});
