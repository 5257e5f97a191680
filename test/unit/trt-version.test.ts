import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../lib/errors.js';
import { checkTrtPlanVersion, compareTrtVersions, formatTrtVersion, isTrtPlanCompatible, parseTrtVersion } from '../../lib/trt/version.js';
import { thrownError } from '../helpers/errors.js';

const v = (s: string) => parseTrtVersion(s)!;

describe('TensorRT version strings', () => {
  it('parses major.minor.patch with an optional build number', () => {
    expect(parseTrtVersion('10.16.0')).toEqual({ major: 10, minor: 16, patch: 0 });
    expect(parseTrtVersion('10.16.0.72')).toEqual({ major: 10, minor: 16, patch: 0, build: 72 });
    expect(parseTrtVersion(' 11.1.0 ')).toEqual({ major: 11, minor: 1, patch: 0 });
  });

  it('rejects what is not a version', () => {
    for (const bad of ['', '10', '10.16', '10.16.x', 'v10.16.0', '10.16.0.72.1', '10..0', '-1.0.0', null, undefined, 10.16]) {
      expect(parseTrtVersion(bad)).toBeUndefined();
    }
  });

  it('formats without the build and orders numerically', () => {
    expect(formatTrtVersion(v('10.16.0.72'))).toBe('10.16.0');
    expect(compareTrtVersions(v('10.9.0'), v('10.16.0'))).toBeLessThan(0);
    expect(compareTrtVersions(v('11.0.0'), v('10.16.3'))).toBeGreaterThan(0);
    expect(compareTrtVersions(v('10.16.0.1'), v('10.16.0.72'))).toBe(0);
  });
});

describe('plan compatibility rule', () => {
  it('needs the same major.minor.patch; the build number does not matter', () => {
    expect(isTrtPlanCompatible(v('10.16.0.72'), v('10.16.0'))).toBe(true);
    expect(isTrtPlanCompatible(v('10.16.0'), v('10.16.1'))).toBe(false);
    expect(isTrtPlanCompatible(v('10.16.0'), v('10.15.0'))).toBe(false);
    expect(isTrtPlanCompatible(v('10.16.0'), v('11.1.0'))).toBe(false);
  });

  it('lets version-compatible plans run on later releases of the same major only', () => {
    const vc = { versionCompatible: true };
    expect(isTrtPlanCompatible(v('10.8.0'), v('10.16.0'), vc)).toBe(true);
    expect(isTrtPlanCompatible(v('10.16.0'), v('10.8.0'), vc)).toBe(false);
    expect(isTrtPlanCompatible(v('10.16.0'), v('11.1.0'), vc)).toBe(false);
  });

  it('throws ERR_PLAN_MISMATCH naming both versions', () => {
    expect(() => checkTrtPlanVersion('10.16.0', '10.16.0.72')).not.toThrow();
    const e = thrownError(() => checkTrtPlanVersion('10.16.0.72', '11.1.0'));
    expect(e.code).toBe(ErrorCode.PLAN_MISMATCH);
    expect(e.message).toContain('built with TensorRT 10.16.0 but TensorRT 11.1.0 is loaded');
    expect(e.message).toContain('same major.minor.patch');
    const vc = thrownError(() => checkTrtPlanVersion('10.16.0', '10.8.0', { versionCompatible: true }));
    expect(vc.code).toBe(ErrorCode.PLAN_MISMATCH);
    expect(vc.message).toContain('TensorRT 10.16.0 or a later 10.x');
  });

  it('calls a missing or malformed recorded version a corrupt plan', () => {
    for (const bad of [null, undefined, '', 'ten']) {
      const e = thrownError(() => checkTrtPlanVersion(bad, '10.16.0'));
      expect(e.code).toBe(ErrorCode.PLAN_CORRUPT);
      expect(e.message).toContain('tensorrtVersion');
    }
  });
});
