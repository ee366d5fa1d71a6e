// The dependency closure of every group's roots, each component at one version (semantics §1.3, §7.1). Used by
// CreateDeployment (one group: refuse what can never deploy) and by the device agent (all of a device's groups).
import { findCycle } from './cycles.js';
import { compareNames, ResolutionError } from './errors.js';
import { resolveCandidate } from './resolve-candidate.js';
import type { CandidateVersion, Catalog, Requirements, RootsByGroup } from './types.js';
import { isValidVersion } from './version-policy.js';

/**
 * Version changes allowed per component seen before the walk is declared non-terminating. A legitimate walk
 * changes a component's version a handful of times; only versions that keep undoing each other get near this.
 */
const MAX_CHANGES_PER_COMPONENT = 100;

const sortedKeys = (o: object) => Object.keys(o).sort(compareNames);

/**
 * Resolves every group's roots and their transitive dependencies (HARD and SOFT alike) to one version each and
 * returns component -> version, sorted by name. Each root is pinned to `=version` by every group that roots it;
 * each dependency gets its declaring component's range; every component takes the highest version satisfying all
 * of its requirements at once (there is no "winning" group). Throws ResolutionError.
 *
 * Unlike the nucleus, which never revisits a component whose requirements shrank, this walks to a fixed point:
 * whenever a component's requirements change (added, or withdrawn because the dependent's version changed or the
 * dependent left the closure) it is resolved again, so the result does not depend on the order of the walk and
 * every component ends at the highest version its final requirements allow.
 */
export function resolveDeployment(roots: RootsByGroup, catalog: Catalog): Map<string, string> {
  const requirements = new Map<string, Requirements>(); // component -> dependent -> range
  const resolved = new Map<string, CandidateVersion>();
  const failures = new Map<string, ResolutionError>(); // the latest failure of components that failed last time
  const queue: string[] = [];
  const queued = new Set<string>();

  const enqueue = (component: string) => {
    if (!queued.has(component)) {
      queued.add(component);
      queue.push(component);
    }
  };
  const impose = (component: string, dependent: string, range: string) => {
    const reqs = requirements.get(component) ?? {};
    reqs[dependent] = range;
    requirements.set(component, reqs);
    enqueue(component);
  };
  const withdraw = (component: string, dependent: string) => {
    delete requirements.get(component)?.[dependent];
    enqueue(component);
  };

  for (const group of sortedKeys(roots)) {
    for (const component of sortedKeys(roots[group])) {
      const version = roots[group][component];
      if (!isValidVersion(version)) {
        throw new ResolutionError(
          'INVALID_REQUIREMENT',
          component,
          `${group} roots component ${component} at ${JSON.stringify(version)}, which is not a semantic version.`,
          { [group]: version },
        );
      }
      impose(component, group, `=${version}`);
    }
  }

  let changes = 0;
  const recentChanges: Array<{ component: string; version?: CandidateVersion }> = [];
  while (queue.length > 0) {
    const component = queue.shift()!;
    queued.delete(component);
    const reqs = requirements.get(component) ?? {};
    const previous = resolved.get(component);

    let chosen: CandidateVersion | undefined; // stays undefined when nothing requires the component any more
    failures.delete(component);
    if (Object.keys(reqs).length > 0) {
      try {
        chosen = resolveCandidate(component, reqs, catalog);
      } catch (e) {
        if (!(e instanceof ResolutionError)) throw e;
        // Not final yet: a requirement may still be withdrawn by a dependent that changes version later.
        // Until then the previous version (if any) and what it requires stay in place.
        failures.set(component, e);
        continue;
      }
    }
    if (chosen?.version === previous?.version) continue;

    // The version changed, or the component left the closure: what the old version required no longer applies.
    if (previous) {
      for (const dependency of sortedKeys(previous.dependencies)) withdraw(dependency, component);
    }
    if (chosen) {
      resolved.set(component, chosen);
      for (const dependency of sortedKeys(chosen.dependencies)) impose(dependency, component, chosen.dependencies[dependency].versionRequirement);
    } else {
      resolved.delete(component);
      requirements.delete(component);
    }

    if (previous) {
      recentChanges.push({ component, version: chosen });
      if (recentChanges.length > 4 * requirements.size) recentChanges.shift();
      if (++changes > MAX_CHANGES_PER_COMPONENT * requirements.size) throw neverSettles(recentChanges, resolved);
    }
  }

  const firstFailure = [...failures.keys()].sort(compareNames)[0];
  if (firstFailure !== undefined) throw failures.get(firstFailure)!;

  // HARD and SOFT both order startup on the device, so a loop through either kind can never start.
  const names = [...resolved.keys()].sort(compareNames);
  const cycle = findCycle(names, (name) => sortedKeys(resolved.get(name)!.dependencies));
  if (cycle) {
    throw new ResolutionError('CIRCULAR_DEPENDENCY', cycle[0], `Circular dependency detected: ${cycle.join(' -> ')}.`, requirements.get(cycle[0]), cycle);
  }

  return new Map(names.map((name) => [name, resolved.get(name)!.version]));
}

/**
 * Versions that keep undoing each other (X@2 needs Y@2, Y@2 needs X@1, X@1 needs Y@1, Y@1 lets X go back to 2) have
 * no stable answer. That feedback needs a loop through the versions involved, so report it as the cycle it is.
 */
function neverSettles(recentChanges: Array<{ component: string; version?: CandidateVersion }>, resolved: Map<string, CandidateVersion>): ResolutionError {
  const edges = new Map<string, Set<string>>();
  const addEdges = (component: string, version?: CandidateVersion) => {
    const to = edges.get(component) ?? new Set<string>();
    for (const dependency of Object.keys(version?.dependencies ?? {})) to.add(dependency);
    edges.set(component, to);
  };
  for (const { component, version } of recentChanges) addEdges(component, version);
  for (const [component, version] of resolved) addEdges(component, version);

  const involved = [...new Set(recentChanges.map((c) => c.component))].sort(compareNames);
  const cycle = findCycle(involved, (name) => [...(edges.get(name) ?? [])].sort(compareNames)) ?? [...involved, involved[0]];
  return new ResolutionError(
    'CIRCULAR_DEPENDENCY',
    cycle[0],
    `Circular dependency detected: ${cycle.join(' -> ')} (their versions keep changing each other's requirements, so no set of versions settles).`,
    {},
    cycle,
  );
}
