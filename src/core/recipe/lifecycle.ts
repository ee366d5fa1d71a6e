// The lifecycle a device runs for a recipe's chosen manifest (semantics §6.1): the manifest's own Lifecycle, else the
// recipe-level Lifecycle filtered by the manifest's Selections. Steps come out in one shape, whether written as a
// bare script or as a mapping.
import { isMapping } from './keys.js';
import { LIFECYCLE_STEPS, type Lifecycle, type LifecycleScript, type LifecycleStepName, type Manifest, type Recipe, type Setenv } from './types.js';

/** The selection every manifest has implicitly. */
export const ALL_SELECTION = 'all';

/** One lifecycle step as the device runs it. */
export interface ResolvedStep {
  script: string;
  requiresPrivilege: boolean;
  /** `exists <path>` / `onpath <exe>`, optionally negated with `!`. */
  skipif?: string;
  /** Seconds; absent means the step's default. */
  timeoutSeconds?: number;
  setenv: Setenv;
}

/** The steps a device runs for a component, plus the lifecycle-wide Setenv. */
export interface ResolvedLifecycle {
  setenv: Setenv;
  steps: Partial<Record<LifecycleStepName, ResolvedStep>>;
}

/**
 * The lifecycle for `manifest` (the one selectManifest chose). As the nucleus does: a non-empty manifest Lifecycle
 * wins whole; otherwise the recipe-level Lifecycle is filtered. At any level whose keys include a selection keyword
 * (any manifest's Selections, or `all`), the first of this manifest's Selections present is kept, else `all`, else
 * the level is dropped; other keys at such a level are ignored.
 */
export function selectLifecycle(recipe: Recipe, manifest: Manifest): ResolvedLifecycle {
  if (manifest.Lifecycle !== undefined && Object.keys(manifest.Lifecycle).length > 0) return resolve(manifest.Lifecycle);
  const keywords = new Set([ALL_SELECTION, ...(recipe.Manifests ?? []).flatMap((m) => m.Selections ?? [])]);
  const filtered = filterSelections(recipe.Lifecycle ?? {}, keywords, manifest.Selections ?? []);
  return resolve(isMapping(filtered) ? (filtered as Lifecycle) : {});
}

function filterSelections(value: unknown, keywords: Set<string>, selections: string[]): unknown {
  if (!isMapping(value)) return value;
  if (Object.keys(value).some((key) => keywords.has(key))) {
    const chosen = [...selections, ALL_SELECTION].find((s) => value[s] !== undefined && value[s] !== null);
    return chosen === undefined ? undefined : filterSelections(value[chosen], keywords, selections);
  }
  const kept = Object.entries(value)
    .map(([key, v]): [string, unknown] => [key, filterSelections(v, keywords, selections)])
    .filter(([, v]) => v !== undefined && v !== null);
  return Object.fromEntries(kept);
}

const asSetenv = (value: unknown): Setenv =>
  isMapping(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)])) : {};

function resolve(lifecycle: Lifecycle): ResolvedLifecycle {
  const steps: ResolvedLifecycle['steps'] = {};
  for (const name of LIFECYCLE_STEPS) {
    const step = lifecycle[name];
    if (typeof step === 'string') steps[name] = { script: step, requiresPrivilege: false, setenv: {} };
    else if (isMapping(step)) {
      const s = step as LifecycleScript;
      steps[name] = {
        script: s.Script,
        requiresPrivilege: s.RequiresPrivilege === true,
        ...(s.Skipif !== undefined ? { skipif: s.Skipif } : {}),
        ...(s.Timeout !== undefined ? { timeoutSeconds: s.Timeout } : {}),
        setenv: asSetenv(s.Setenv),
      };
    }
  }
  return { setenv: asSetenv(lifecycle.Setenv), steps };
}
