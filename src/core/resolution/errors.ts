// Why a resolution failed. Pure data: the API layer (ResolveComponentCandidates, CreateDeployment) and the device
// agent each turn a kind into their own error shape; the messages carry the substrings the nucleus matches on.
import type { Requirements } from './types.js';

export type ResolutionErrorKind =
  | 'NO_SUCH_COMPONENT' //     no component by that name
  | 'NO_PLATFORM_MATCH' //     versions satisfy the requirements, none supports the platform
  | 'REQUIREMENTS_NOT_MET' //  no version satisfies every requirement at once
  | 'INVALID_REQUIREMENT' //   a requirement is not a semver range (or a root version is not a version)
  | 'CIRCULAR_DEPENDENCY'; //  the resolved components depend on each other in a loop

export class ResolutionError extends Error {
  constructor(
    readonly kind: ResolutionErrorKind,
    /** The component that could not be resolved (for a cycle: where the cycle was entered). */
    readonly component: string,
    message: string,
    /** The requirements that applied to `component`, sorted by dependent. */
    readonly requirements: Requirements = {},
    /** For CIRCULAR_DEPENDENCY: the loop, first name repeated at the end (`[A, B, A]`). */
    readonly cycle?: string[],
  ) {
    super(message);
    this.name = `ResolutionError(${kind})`;
  }
}

/** Requirements sorted by dependent, so messages and error members do not depend on insertion order. */
export function sortedRequirements(requirements: Requirements): Requirements {
  return Object.fromEntries(Object.entries(requirements).sort(([a], [b]) => compareNames(a, b)));
}

/** `Component X version constraints: thinggroup/A requires =1.0.0, thinggroup/B requires >=2.0.0.` (the nucleus wording) */
export function describeConstraints(component: string, requirements: Requirements): string {
  const parts = Object.entries(sortedRequirements(requirements)).map(([dependent, range]) => `${dependent} requires ${range}`);
  return `Component ${component} version constraints: ${parts.length ? parts.join(', ') : 'none'}.`;
}

/** Code-unit order: stable across locales, unlike localeCompare. */
export const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
