// What a deployment does to one component's configuration and runWith on the device (semantics §3, §1.3, §5),
// after the nucleus's KernelConfigResolver. Pure: the agent passes the current state in and stores what comes out.
import type { DeviceComponent, DeviceConfigurationUpdate, DeviceRunWith } from '../device-document/index.js';
import { changedPaths } from './changes.js';
import { mayPointIntoArray, pointerSegments } from './pointer.js';
import {
  cloneTree,
  configValue,
  DEFAULT_TIMESTAMP,
  emptyTree,
  mergeValueInPlace,
  removeInPlace,
  replaceTree,
  type ConfigPath,
  type ConfigTree,
} from './tree.js';

export interface ConfigurationInput {
  /** The component's configuration on the device; absent for a component new to the device. */
  current?: ConfigTree;
  /** The recipe's `ComponentConfiguration.DefaultConfiguration` of the version being deployed. */
  defaults?: Record<string, unknown>;
  /**
   * This deployment's configurationUpdate for the component, only when the component is one of the deployment's
   * own roots (see `ownUpdateOf`); absent otherwise, which keeps the configuration as it is.
   */
  update?: Partial<DeviceConfigurationUpdate> | null;
  /** Epoch ms the merge is written at: the deployment's `creationTimestamp` (semantics §3.4). */
  timestamp: number;
}

export interface ConfigurationResult {
  /** The configuration after the deployment: what the agent keeps and components read. */
  tree: ConfigTree;
  /**
   * What the nucleus resolved before writing it into the tree; lifecycle scripts are interpolated with this. It
   * differs from `tree` only where a reset key's value was written after `timestamp` and the tree kept it.
   */
  resolved: Record<string, unknown>;
  /** Whether any value was added, changed or removed (a leaf's time moving forward alone is no change). */
  changed: boolean;
  /** The paths that changed, as the nucleus reports them (see decideServiceChange). */
  changes: ConfigPath[];
  /** Reset pointers skipped because a segment may name an array element (the nucleus logs and skips them). */
  ignoredResets: string[];
}

/**
 * The nucleus's `resolveConfigurationToApply` followed by its write into the live configuration:
 * 1. start from the current configuration, times and all;
 * 2. apply `reset` in order: `""` empties everything and ends the list; a pointer with any segment that may be an
 *    array index (`/list/0`, `/ports/8080`) is skipped; otherwise the node is removed (a missing one is a no-op);
 * 3. merge the recipe defaults at DEFAULT_TIMESTAMP, which fills only keys that are missing;
 * 4. merge `merge` at `timestamp`: a leaf written later keeps its value;
 * 5. write the result into the current configuration with REPLACE at `timestamp`: keys the result lacks are removed,
 *    the others merged as in 4 (so a reset brings a key back to its default only if no later write set it).
 * Throws JsonPointerError for a reset entry that is not a pointer (the nucleus fails such a deployment).
 */
export function resolveConfiguration(input: ConfigurationInput): ConfigurationResult {
  const current = input.current ?? emptyTree();
  const scratch = cloneTree(current);
  const ignoredResets: string[] = [];
  for (const pointer of input.update?.reset ?? []) {
    const segments = pointerSegments(pointer);
    if (segments.length === 0) {
      removeInPlace(scratch, []);
      break;
    }
    if (mayPointIntoArray(segments)) {
      ignoredResets.push(pointer);
      continue;
    }
    removeInPlace(scratch, segments);
  }
  mergeValueInPlace(scratch, input.defaults ?? {}, DEFAULT_TIMESTAMP);
  if (input.update?.merge != null) mergeValueInPlace(scratch, input.update.merge, input.timestamp);

  const resolved = configValue(scratch);
  const tree = replaceTree(current, resolved, input.timestamp);
  const changes = changedPaths(current, tree);
  return { tree, resolved, changed: changes.length > 0, changes, ignoredResets };
}

/**
 * The incoming deployment's entry for a component when the component is one of its roots, else undefined. Only
 * roots take the deployment's configurationUpdate and runWith; components rooted by other targets and dependencies
 * keep theirs (semantics §1.3 step 6). Every component a cloud deployment lists is a root; names match exactly.
 */
export function ownEntryOf(deployment: { components: Record<string, DeviceComponent> }, componentName: string): DeviceComponent | undefined {
  return Object.prototype.hasOwnProperty.call(deployment.components, componentName)
    ? deployment.components[componentName]
    : undefined;
}

/** The configurationUpdate the component takes from this deployment (undefined: keep its configuration). */
export function ownUpdateOf(
  deployment: { components: Record<string, DeviceComponent> },
  componentName: string,
): DeviceConfigurationUpdate | undefined {
  return ownEntryOf(deployment, componentName)?.configurationUpdate;
}

/**
 * The component's runWith after a deployment (KernelConfigResolver.updateRunWith with the document converter). A
 * root of the deployment gets exactly what the deployment says, member by member: a missing or empty posixUser or
 * windowsUser, or missing systemResourceLimits, goes back to the nucleus default (removed), so omitting runWith
 * resets it (semantics §5). A component that is not a root keeps its runWith.
 * `entry` is `ownEntryOf(deployment, name)`. The result is `{}` rather than undefined once the component had a
 * runWith, as the nucleus keeps the emptied node (its removal of posixUser is what triggers the reinstall).
 */
export function resolveRunWith(current: DeviceRunWith | undefined, entry: DeviceComponent | undefined): DeviceRunWith | undefined {
  if (entry === undefined) return current === undefined ? undefined : structuredClone(current);
  const wanted = entry.runWith ?? {};
  const out: DeviceRunWith = {};
  if (wanted.posixUser) out.posixUser = wanted.posixUser;
  if (wanted.windowsUser) out.windowsUser = wanted.windowsUser;
  if (wanted.systemResourceLimits != null) out.systemResourceLimits = structuredClone(wanted.systemResourceLimits);
  return Object.keys(out).length === 0 && current === undefined ? undefined : out;
}
