// One component, one set of requirements -> one version: what ResolveComponentCandidates does per candidate
// (semantics §7.2: the highest version satisfying every requirement whose recipe supports the platform).
import { describeConstraints, ResolutionError, sortedRequirements } from './errors.js';
import type { CandidateVersion, Catalog, Requirements } from './types.js';
import { highestFirst, isValidRange, isValidVersion, satisfiesAll } from './version-policy.js';

/** The highest usable version of `name`, or a ResolutionError saying why there is none. */
export function resolveCandidate<C extends CandidateVersion>(name: string, requirements: Requirements, catalog: Catalog<C>): C {
  const reqs = sortedRequirements(requirements);
  for (const [dependent, range] of Object.entries(reqs)) {
    if (!isValidRange(range)) {
      throw new ResolutionError(
        'INVALID_REQUIREMENT',
        name,
        `Component ${name} has an invalid version requirement from ${dependent}: ${JSON.stringify(range)} is not an npm-style semver range.`,
        reqs,
      );
    }
  }

  const versions = catalog(name);
  if (versions === undefined) {
    throw new ResolutionError('NO_SUCH_COMPONENT', name, `Component ${name} does not exist. ${describeConstraints(name, reqs)}`, reqs);
  }

  const satisfying = versions
    .filter((c) => isValidVersion(c.version) && satisfiesAll(c.version, Object.values(reqs)))
    .sort((a, b) => highestFirst(a.version, b.version));
  if (satisfying.length === 0) {
    throw new ResolutionError(
      'REQUIREMENTS_NOT_MET',
      name,
      `Component ${name} has no usable version that satisfies all of its version requirements. ${describeConstraints(name, reqs)}`,
      reqs,
    );
  }

  const usable = satisfying.find((c) => c.supportsPlatform);
  if (!usable) {
    // "claim platform" is the substring the nucleus matches to report IncompatiblePlatformClaimByComponentException.
    const listed = satisfying.map((c) => c.version).join(', ');
    throw new ResolutionError(
      'NO_PLATFORM_MATCH',
      name,
      `Component ${name} has versions that satisfy its version requirements (${listed}), but none of them claim platform ` +
        `compatibility with this core device. ${describeConstraints(name, reqs)}`,
      reqs,
    );
  }
  return usable;
}
