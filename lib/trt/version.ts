// TensorRT version strings and the rule for which runtime may deserialize which plan. Checked in TS before any
// native deserialization, so a mismatch is a coded error naming both versions, never TensorRT's own failure.
import { ErrorCode, TensorRTError } from '../errors.js';

export interface TrtVersion {
  major: number;
  minor: number;
  patch: number;
  /** The build number ("10.16.0.72"), when given. */
  build?: number;
}

const VERSION = /^(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?$/;

/**
 * Parses "major.minor.patch[.build]"; undefined when the text is not a version.
 * @example parseTrtVersion('10.16.0.72') // { major: 10, minor: 16, patch: 0, build: 72 }
 */
export function parseTrtVersion(text: unknown): TrtVersion | undefined {
  if (typeof text !== 'string') return undefined;
  const m = VERSION.exec(text.trim());
  if (!m) return undefined;
  const v: TrtVersion = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  if (m[4] !== undefined) v.build = Number(m[4]);
  return v;
}

/** "major.minor.patch" (the build number is not part of compatibility). @example formatTrtVersion({ major: 10, minor: 16, patch: 0 }) */
export function formatTrtVersion(v: TrtVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** Orders two versions by major, minor, patch. @example compareTrtVersions(a, b) < 0 */
export function compareTrtVersions(a: TrtVersion, b: TrtVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/**
 * Whether a runtime may deserialize a plan. The rule: TensorRT plans load only in the release that built them
 * (same major.minor.patch; the build number is ignored, as it only tells packagings of one release apart). A plan
 * built version-compatible (BuilderFlag::kVERSION_COMPATIBLE) also loads in any later release of the same major.
 * @example isTrtPlanCompatible(parseTrtVersion('10.16.0')!, parseTrtVersion('10.16.0.72')!) // true
 */
export function isTrtPlanCompatible(built: TrtVersion, runtime: TrtVersion, options: { versionCompatible?: boolean } = {}): boolean {
  if (options.versionCompatible) return built.major === runtime.major && compareTrtVersions(runtime, built) >= 0;
  return compareTrtVersions(built, runtime) === 0;
}

/**
 * Throws ERR_PLAN_MISMATCH (naming both versions) unless `runtime` may load a plan built by `built`;
 * ERR_PLAN_CORRUPT when the plan's recorded version is missing or malformed.
 * @example checkTrtPlanVersion(header.tensorrtVersion, capabilities().tensorrt.version);
 */
export function checkTrtPlanVersion(built: unknown, runtime: string, options: { versionCompatible?: boolean } = {}): void {
  const b = parseTrtVersion(built);
  if (!b) {
    throw new TensorRTError(
      ErrorCode.PLAN_CORRUPT,
      `Corrupt plan: the header's tensorrtVersion ${JSON.stringify(built ?? null)} is not a TensorRT version (expected "major.minor.patch")`,
    );
  }
  const r = parseTrtVersion(runtime);
  if (!r) throw new TensorRTError(ErrorCode.TENSORRT, `The loaded TensorRT reports an unreadable version '${runtime}'`);
  if (isTrtPlanCompatible(b, r, options)) return;
  const rule = options.versionCompatible
    ? `a version-compatible plan loads in TensorRT ${formatTrtVersion(b)} or a later ${b.major}.x`
    : 'TensorRT plans load only in the TensorRT release that built them (same major.minor.patch)';
  throw new TensorRTError(
    ErrorCode.PLAN_MISMATCH,
    `This plan was built with TensorRT ${formatTrtVersion(b)} but TensorRT ${formatTrtVersion(r)} is loaded: ${rule}. ` +
      `Rebuild the engine with TensorRT ${formatTrtVersion(r)}, or run it where TensorRT ${formatTrtVersion(b)} is installed.`,
  );
}
