// What a change to a component's service configuration does to its process (semantics §3.6), after the subscriber
// the nucleus puts on every generic component's config node (GenericExternalService). Pure.
import { isMapping } from '../recipe/keys.js';
import { isDeepStrictEqual } from 'node:util';
import { foldKey, treeFromValue, type ConfigNode, type ConfigPath, type ConfigTree } from './tree.js';

/**
 * The paths whose value changed between two trees, as the nucleus reports changes to subscribers: a changed, added
 * or removed leaf by its path; a removed branch by its own path only; an added branch by each leaf it holds (an
 * empty added branch reports nothing); a leaf and a branch replacing each other by the path and any new leaves.
 * A leaf whose time alone moved is no change.
 */
export function changedPaths(before: ConfigTree, after: ConfigTree): ConfigPath[] {
  const out: string[][] = [];
  diffBranches(before, after, [], out);
  return out;
}

function diffBranches(
  before: ConfigNode & { kind: 'branch' },
  after: ConfigNode & { kind: 'branch' },
  at: string[],
  out: string[][],
): void {
  for (const [key, old] of before.children) {
    const now = after.children.get(key);
    const path = [...at, (now ?? old).name];
    if (now === undefined) out.push(path);
    else if (old.kind === 'branch' && now.kind === 'branch') diffBranches(old, now, path, out);
    else if (old.kind === 'leaf' && now.kind === 'leaf') {
      if (!isDeepStrictEqual(old.value, now.value)) out.push(path);
    } else {
      out.push(path);
      if (now.kind === 'branch') addedLeaves(now, path, out);
    }
  }
  for (const [key, now] of after.children) {
    if (before.children.has(key)) continue;
    const path = [...at, now.name];
    if (now.kind === 'leaf') out.push(path);
    else addedLeaves(now, path, out);
  }
}

function addedLeaves(branch: ConfigNode & { kind: 'branch' }, at: string[], out: string[][]): void {
  for (const child of branch.children.values()) {
    const path = [...at, child.name];
    if (child.kind === 'leaf') out.push(path);
    else addedLeaves(child, path, out);
  }
}

/** What the process needs: nothing, a restart (shutdown, then startup/run), or a reinstall (then install again). */
export type ServiceAction = 'none' | 'restart' | 'reinstall';

export interface ServiceChangeDecision {
  action: ServiceAction;
  /** Resource limits changed: apply them to the running process in place (no restart for that alone). */
  reapplyResourceLimits: boolean;
}

/**
 * A component's service configuration as the agent keeps it: the keys the nucleus keeps under
 * `services.<name>` (`version`, the interpolated `lifecycle`, `runWith`, `setenv`, `configuration`, ...).
 */
export type ServiceConfig = Record<string, unknown>;

const ACTION_RANK: Record<ServiceAction, number> = { none: 0, restart: 1, reinstall: 2 };

/**
 * The nucleus's rule for each changed path, seen with the component's own name in front (its check matches a name
 * anywhere along the path, case-insensitively, the component's name included):
 * - a path through `shutdown` does nothing;
 * - through `systemResourceLimits`: limits are re-applied in place (and the other rules still apply);
 * - through `install`, `version` or `posixUser`: reinstall;
 * - through `lifecycle` or `setenv`: restart (a BROKEN component is reinstalled instead, as any restart of one is).
 * So a change only under `configuration` does nothing, unless a key there has one of these names (the nucleus
 * matches `configuration/version` too). Several changes: the strongest action wins.
 */
export function decideServiceChange(
  componentName: string,
  changes: readonly ConfigPath[],
  options: { broken?: boolean } = {},
): ServiceChangeDecision {
  let action: ServiceAction = 'none';
  let reapplyResourceLimits = false;
  for (const path of changes) {
    const names = new Set([componentName, ...path].map(foldKey));
    if (names.has('shutdown')) continue;
    if (names.has('systemresourcelimits')) reapplyResourceLimits = true;
    let wanted: ServiceAction = 'none';
    if (names.has('install') || names.has('version') || names.has('posixuser')) wanted = 'reinstall';
    else if (names.has('lifecycle') || names.has('setenv')) wanted = options.broken ? 'reinstall' : 'restart';
    if (ACTION_RANK[wanted] > ACTION_RANK[action]) action = wanted;
  }
  return { action, reapplyResourceLimits };
}

/**
 * decideServiceChange for two whole service configurations (before and after a deployment, both with their
 * lifecycle already interpolated, so that a `{configuration:/x}` whose value changed restarts the component).
 */
export function serviceConfigChange(
  componentName: string,
  before: ServiceConfig,
  after: ServiceConfig,
  options: { broken?: boolean } = {},
): ServiceChangeDecision {
  const changes = changedPaths(asTree(before), asTree(after));
  return decideServiceChange(componentName, changes, options);
}

/** Times do not matter for a diff; undefined members are left out, as JSON would. */
const asTree = (v: ServiceConfig): ConfigTree =>
  treeFromValue(isMapping(v) ? (JSON.parse(JSON.stringify(v)) as Record<string, unknown>) : {}, 0);
