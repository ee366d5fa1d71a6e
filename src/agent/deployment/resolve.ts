// Device-side dependency resolution (semantics §1.3, §7.1): the union of every target's pinned roots, each component
// at the highest version the cloud finds for the intersection of its requirements. The walk is the core's
// (src/core/resolution/resolve-deployment.ts: requirements by dependent, withdrawn when a dependent's version changes,
// to a fixed point); the per-component answer comes from ResolveComponentCandidates as the nucleus asks it, one
// candidate at a time with the local candidate, falling back to that local candidate when the cloud fails.
import { DeploymentError } from '../../core/deployment-errors.js';
import type { Recipe } from '../../core/recipe/index.js';
import { findCycle } from '../../core/resolution/cycles.js';
import { compareNames, describeConstraints, sortedRequirements } from '../../core/resolution/errors.js';
import type { DependencyType, Requirements, RootsByGroup } from '../../core/resolution/index.js';
import { isValidVersion, satisfiesAll } from '../../core/resolution/version-policy.js';
import { DataPlaneError } from '../dataplane/client.js';

export interface ResolvedComponent {
  name: string;
  version: string;
  recipe: Recipe;
  /** Dependency name -> its type, from the recipe. */
  dependencies: Record<string, DependencyType>;
}

export interface VersionSource {
  /** The version the device runs now, if any. */
  installedVersion(name: string): string | undefined;
  /** The highest stored version satisfying every range. */
  bestLocalVersion(name: string, ranges: string[]): Promise<string | undefined>;
  /** ResolveComponentCandidates for one candidate; the recipe is saved. `retry: false` when there is a local fallback. */
  fromCloud(name: string, requirements: Requirements, localCandidate: string | undefined, signal: AbortSignal): Promise<{ version: string; recipe: Recipe }>;
  /** A stored recipe. */
  local(name: string, version: string): Promise<Recipe | undefined>;
}

/** Versions that keep changing each other's requirements: no fixed point (the core reports such loops too). */
const MAX_CHANGES_PER_COMPONENT = 100;

export async function resolveOnDevice(roots: RootsByGroup, source: VersionSource, signal: AbortSignal): Promise<Map<string, ResolvedComponent>> {
  const requirements = new Map<string, Requirements>();
  const resolved = new Map<string, ResolvedComponent>();
  const queue: string[] = [];
  const enqueue = (c: string) => {
    if (!queue.includes(c)) queue.push(c);
  };
  const impose = (component: string, dependent: string, range: string) => {
    requirements.set(component, { ...requirements.get(component), [dependent]: range });
    enqueue(component);
  };
  for (const group of Object.keys(roots).sort(compareNames)) {
    for (const [component, version] of Object.entries(roots[group])) {
      if (!isValidVersion(version)) {
        throw new DeploymentError(`${group} roots component ${component} at ${JSON.stringify(version)}, which is not a semantic version.`, ['COMPONENT_VERSION_NOT_VALID']);
      }
      impose(component, group, `=${version}`);
    }
  }

  let changes = 0;
  while (queue.length > 0) {
    signal.throwIfAborted();
    const component = queue.shift()!;
    const reqs = sortedRequirements(requirements.get(component) ?? {});
    const previous = resolved.get(component);
    const chosen = Object.keys(reqs).length === 0 ? undefined : await resolveOne(component, reqs, source, signal);
    if (chosen?.version === previous?.version) continue;
    if (previous) {
      for (const dependency of Object.keys(previous.dependencies)) {
        const r = requirements.get(dependency);
        if (r) delete r[component];
        enqueue(dependency);
      }
    }
    if (chosen) {
      resolved.set(component, chosen);
      const declared = chosen.recipe.ComponentDependencies ?? {};
      for (const dependency of Object.keys(declared).sort(compareNames)) impose(dependency, component, declared[dependency].VersionRequirement);
    } else {
      resolved.delete(component);
      requirements.delete(component);
    }
    if (previous && ++changes > MAX_CHANGES_PER_COMPONENT * Math.max(1, requirements.size)) {
      throw new DeploymentError(`The versions of ${component} and its dependencies keep changing each other's requirements.`, ['COMPONENT_CIRCULAR_DEPENDENCY_ERROR']);
    }
  }

  const names = [...resolved.keys()].sort(compareNames);
  const cycle = findCycle(names, (n) => Object.keys(resolved.get(n)!.dependencies).filter((d) => resolved.has(d)).sort(compareNames));
  if (cycle) throw new DeploymentError(`Circular dependency detected: ${cycle.join(' -> ')}.`, ['COMPONENT_CIRCULAR_DEPENDENCY_ERROR']);
  return new Map(names.map((n) => [n, resolved.get(n)!]));
}

/** The nucleus's ComponentManager.resolveComponentVersion for one component. */
async function resolveOne(name: string, reqs: Requirements, source: VersionSource, signal: AbortSignal): Promise<ResolvedComponent> {
  const ranges = Object.values(reqs);
  const installed = source.installedVersion(name);
  const localCandidate = installed !== undefined && satisfiesAll(installed, ranges) ? installed : await source.bestLocalVersion(name, ranges);
  let version: string;
  let recipe: Recipe | undefined;
  try {
    ({ version, recipe } = await source.fromCloud(name, reqs, localCandidate, signal));
  } catch (e) {
    signal.throwIfAborted();
    recipe = localCandidate === undefined ? undefined : await source.local(name, localCandidate);
    if (localCandidate === undefined || recipe === undefined) throw noVersion(name, reqs, e);
    version = localCandidate;
  }
  const dependencies = Object.fromEntries(
    Object.entries(recipe.ComponentDependencies ?? {}).map(([d, spec]) => [d, spec.DependencyType ?? 'HARD'] as const),
  );
  return { name, version, recipe, dependencies };
}

/** The nucleus's NoAvailableComponentVersionException: the message names every requirement and who made it. */
function noVersion(name: string, reqs: Requirements, cause: unknown): DeploymentError {
  if (cause instanceof DeploymentError && !(cause instanceof DataPlaneError && cause.status === 404)) {
    if (!(cause instanceof DataPlaneError)) return cause;
    return new DeploymentError(`Resolving component ${name} with the cloud failed: ${cause.message} ${describeConstraints(name, reqs)}`, cause.codes, { cause });
  }
  const detail = cause instanceof Error ? ` The cloud said: ${cause.message}` : '';
  return new DeploymentError(
    `No local or cloud component version satisfies the requirements. Check whether the version constraints conflict and that the component exists ` +
      `in your AWS account with a version that matches the version constraints. If the version constraints conflict, revise deployments to resolve ` +
      `the conflict. ${describeConstraints(name, reqs)}${detail}`,
    ['NO_AVAILABLE_COMPONENT_VERSION', 'COMPONENT_VERSION_REQUIREMENTS_NOT_MET'],
    { cause },
  );
}
