// Which versions a requirement admits. The one place that decides how npm-style ranges are read.
import semver from 'semver';

/**
 * Greengrass evaluates ranges with semver4j (NUC `Requirement.buildNPM`), which compares versions by plain semver
 * order: unlike npm, it does not exclude a prerelease such as `1.1.0-beta` from `>=1.0.0`. So prereleases are
 * ordinary candidates here (`includePrerelease: true`), and `>=1.0.0 <1.1.0` admits `1.1.0-beta` in both.
 * Known edge where node-semver still differs from semver4j: the upper bound it derives for `^`, `~`, `1.x` and
 * partial hyphen ranges is `<2.0.0-0`, so `^1.0.0` rejects `2.0.0-rc.1` (semver4j's `<2.0.0` admits it). meadow
 * keeps node-semver's reading there: a prerelease of the next major is not what a caret range asks for.
 */
const OPTIONS = { includePrerelease: true } as const;

export const isValidRange = (range: string): boolean => semver.validRange(range, OPTIONS) !== null;

export const isValidVersion = (version: string): boolean => semver.valid(version) !== null;

/** Every requirement must hold on its own: the intersection, even when a range contains `||`. */
export const satisfiesAll = (version: string, ranges: Iterable<string>): boolean => {
  for (const range of ranges) if (!semver.satisfies(version, range, OPTIONS)) return false;
  return true;
};

/** Highest version first; build metadata breaks ties so the order is total and the choice deterministic. */
export const highestFirst = (a: string, b: string): number => semver.compareBuild(b, a);
