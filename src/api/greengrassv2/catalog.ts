// The components a caller can see: its own (private) versions and meadow's public ones. A private component
// with a public component's name hides the public one, as in Greengrass dependency resolution.
import { componentVersionArn, PUBLIC_ACCOUNT } from '../../core/arn.js';
import { PUBLIC_COMPONENTS, PUBLIC_COMPONENTS_PUBLISHED_AT } from '../../core/public-components.js';
import { parseRecipe, type Recipe } from '../../core/recipe/index.js';
import type { Catalog, CandidateVersion } from '../../core/resolution/index.js';
import { highestFirst } from '../../core/resolution/version-policy.js';
import type { ComponentState, Scope, Store } from '../../store/store.js';

export interface CatalogVersion {
  name: string;
  version: string;
  arn: string;
  isPublic: boolean;
  recipeJson: string;
  recipe: Recipe;
  state: ComponentState;
  message?: string;
  errors?: Record<string, string>;
  createdAt: number;
}

// Parsed recipes are reused while their stored JSON is the same. The JSON is compared, not just the key: a version
// deleted and published again within one clock tick (or another server in this process) has the same key.
const parsed = new Map<string, { json: string; recipe: Recipe }>();
function recipeOf(key: string, json: string): Recipe {
  const hit = parsed.get(key);
  if (hit?.json === json) return hit.recipe;
  if (parsed.size > 5000) parsed.clear();
  const recipe = parseRecipe(json);
  parsed.set(key, { json, recipe });
  return recipe;
}

function publicVersions(scope: Scope, name: string): CatalogVersion[] {
  return (PUBLIC_COMPONENTS.get(name) ?? []).map((p) => ({
    name,
    version: p.version,
    arn: componentVersionArn(scope.region, PUBLIC_ACCOUNT, name, p.version),
    isPublic: true,
    recipeJson: p.recipe,
    recipe: recipeOf(`public:${name}:${p.version}`, p.recipe),
    state: 'DEPLOYABLE',
    message: 'NONE',
    errors: {},
    createdAt: PUBLIC_COMPONENTS_PUBLISHED_AT,
  }));
}

/** Every version of a component visible to the caller, highest version first. */
export async function versionsOf(store: Store, scope: Scope, name: string, only?: 'private' | 'public'): Promise<CatalogVersion[]> {
  const own =
    only === 'public'
      ? []
      : (await store.listVersionsOfComponent(scope, name)).map((c) => ({
          name,
          version: c.version,
          arn: componentVersionArn(scope.region, scope.accountId, name, c.version),
          isPublic: false,
          recipeJson: c.recipe,
          recipe: recipeOf(`${scope.accountId}:${scope.region}:${name}:${c.version}:${c.createdAt}`, c.recipe),
          state: c.state,
          message: c.message,
          errors: c.errors,
          createdAt: c.createdAt,
        }));
  const all = own.length > 0 || only === 'private' ? own : publicVersions(scope, name);
  // Build metadata breaks ties (1.0.0+b.2 before 1.0.0+b.1), as resolution orders versions, so every listing of
  // versions has one order and a pagination cursor can say where it stopped.
  return all.sort((a, b) => highestFirst(a.version, b.version));
}

export async function findVersion(store: Store, scope: Scope, name: string, version: string): Promise<CatalogVersion | undefined> {
  return (await versionsOf(store, scope, name)).find((v) => v.version === version);
}

export interface ResolvableVersion extends CandidateVersion {
  entry: CatalogVersion;
}

/**
 * Loads every DEPLOYABLE version of the named components and of everything they can depend on, and returns
 * a synchronous Catalog over them for the pure resolver. `supportsPlatform` decides platform matching;
 * `dependencyFilter` can leave out dependency kinds (CreateDeployment checks HARD dependencies only);
 * `known` holds versions the caller already read (name -> versionsOf result), so they are not read again.
 */
export async function loadCatalog(
  store: Store,
  scope: Scope,
  names: string[],
  supportsPlatform: (recipe: Recipe) => boolean,
  dependencyFilter: (type: 'HARD' | 'SOFT') => boolean = () => true,
  known: ReadonlyMap<string, CatalogVersion[]> = new Map(),
): Promise<Catalog<ResolvableVersion>> {
  const loaded = new Map<string, ResolvableVersion[] | undefined>();
  const queue = [...new Set(names)];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (loaded.has(name)) continue;
    const all = known.get(name) ?? (await versionsOf(store, scope, name));
    if (all.length === 0) {
      loaded.set(name, undefined); // no such component
      continue;
    }
    const versions = all.filter((v) => v.state === 'DEPLOYABLE');
    const candidates = versions.map((entry) => {
      const dependencies: CandidateVersion['dependencies'] = {};
      for (const [dep, req] of Object.entries(entry.recipe.ComponentDependencies ?? {})) {
        const type = req.DependencyType ?? 'HARD';
        if (!dependencyFilter(type)) continue;
        dependencies[dep] = { versionRequirement: req.VersionRequirement, dependencyType: type };
        if (!loaded.has(dep)) queue.push(dep);
      }
      return { version: entry.version, dependencies, supportsPlatform: supportsPlatform(entry.recipe), entry };
    });
    loaded.set(name, candidates);
  }
  return (name) => loaded.get(name);
}
