// Recipe variables (semantics §6.2, §3.5), as the nucleus's KernelConfigResolver.interpolate/replace renders them
// into lifecycle scripts at deployment time. Pure: paths are computed, never looked at.
import path from 'node:path';
import { isMapping } from '../recipe/keys.js';
import { compareFolded } from './tree.js';
import { pointerSegments, valueAtPointer } from './pointer.js';

/** One component of the deployment being applied, as interpolation sees it. */
export interface ResolvedComponent {
  version: string;
  /** Its configuration as resolved for this deployment (`resolveConfiguration(...).resolved`). */
  configuration: Record<string, unknown>;
}

export interface InterpolationContext {
  /** The component whose scripts are rendered. */
  componentName: string;
  /** The device's Greengrass root, absolute (the agent's ROOT). */
  rootPath: string;
  /** The core device's thing name; `{iot:thingName}` stays as written without it. */
  thingName?: string;
  /** The component's direct dependencies: the keys of its recipe's ComponentDependencies, spelled as there. */
  dependencies: readonly string[];
  /** Every component of the resolved deployment (the component itself included), by name. */
  components: Readonly<Record<string, ResolvedComponent>>;
}

/** A variable left as written, and why (the nucleus logs these and carries on). */
export interface UnresolvedVariable {
  variable: string;
  reason: string;
}

export interface Interpolated<T> {
  value: T;
  unresolved: UnresolvedVariable[];
}

/** Where the nucleus keeps a component's files under the root (NucleusPaths); the agent lays its store out alike. */
export function componentPaths(rootPath: string, name: string, version: string) {
  return {
    /** `{artifacts:path}`: artifacts as downloaded (read-only for the component). */
    artifacts: path.join(rootPath, 'packages', 'artifacts', name, version),
    /** `{artifacts:decompressedPath}`: ZIP artifacts unpacked, each into a folder named after the archive. */
    artifactsDecompressed: path.join(rootPath, 'packages', 'artifacts-unarchived', name, version),
    /** `{work:path}`: the component's working directory (the cwd of its processes). */
    work: path.join(rootPath, 'work', name),
  };
}

// `{namespace:key}` and `{component:namespace:key}`; a key never holds ':' or '}'.
const SAME_COMPONENT = /\{([.\w-]+):([^:}]*)\}/g;
const CROSS_COMPONENT = /\{([.\w-]+):([.\w-]+):([^:}]*)\}/g;

type SystemNamespace = Record<string, (name: string, version: string, ctx: InterpolationContext) => string | undefined>;

/** Namespaces other than `configuration`, by key; matched case-sensitively, as the nucleus does. */
const SYSTEM_NAMESPACES: Record<string, SystemNamespace> = {
  artifacts: {
    path: (name, version, ctx) => componentPaths(ctx.rootPath, name, version).artifacts,
    decompressedPath: (name, version, ctx) => componentPaths(ctx.rootPath, name, version).artifactsDecompressed,
  },
  work: { path: (name, version, ctx) => componentPaths(ctx.rootPath, name, version).work },
  kernel: { rootPath: (_name, _version, ctx) => ctx.rootPath },
  iot: { thingName: (_name, _version, ctx) => ctx.thingName },
};

const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Renders the recipe variables of one string. First `{namespace:key}` for the component itself, then
 * `{Other:namespace:key}`, where Other must be a direct dependency in the deployment. Every occurrence of a
 * variable's exact text is replaced at once, and the second pass reads the first pass's output, both as in the
 * nucleus. A variable that cannot be rendered stays as written and is reported in `unresolved`:
 * an unknown namespace or key, a configuration path with nothing there, a component that is not a direct
 * dependency. `{configuration:/p}` renders a string as is, a number, boolean or null as text, an object or array as
 * compact JSON. Throws JsonPointerError for a configuration key that is not a JSON pointer (the nucleus fails the
 * deployment on it).
 */
export function interpolateString(text: string, ctx: InterpolationContext): Interpolated<string> {
  return render(text, ctx, true);
}

/**
 * Renders every string of a lifecycle (steps, scripts, Setenv values, selection keys' nested lifecycles); other
 * values are kept as they are (the nucleus does not look into lists).
 */
export function interpolateLifecycle<T>(lifecycle: T, ctx: InterpolationContext): Interpolated<T> {
  const unresolved: UnresolvedVariable[] = [];
  const value = walkStrings(lifecycle, (s) => collect(render(s, ctx, true), unresolved)) as T;
  return { value, unresolved };
}

/**
 * With the nucleus's `interpolateComponentConfiguration` on (semantics §3.5): renders the strings of a
 * configuration with every variable except configuration ones (`{configuration:...}` and
 * `{Other:configuration:...}` stay as written).
 */
export function interpolateConfiguration(
  configuration: Record<string, unknown>,
  ctx: InterpolationContext,
): Interpolated<Record<string, unknown>> {
  const unresolved: UnresolvedVariable[] = [];
  const value = walkStrings(configuration, (s) => collect(render(s, ctx, false), unresolved)) as Record<string, unknown>;
  return { value, unresolved };
}

function collect(result: Interpolated<string>, into: UnresolvedVariable[]): string {
  into.push(...result.unresolved);
  return result.value;
}

function walkStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walkStrings(v, f)]));
  return value;
}

function render(text: string, ctx: InterpolationContext, withConfiguration: boolean): Interpolated<string> {
  const unresolved: UnresolvedVariable[] = [];
  let out = text;
  const replace = (variable: string, owner: string, entry: ResolvedComponent | undefined, namespace: string, key: string) => {
    if (namespace === 'configuration' && !withConfiguration) return;
    const value = variableValue(owner, entry, namespace, key, ctx);
    if (typeof value === 'string') out = out.split(variable).join(value);
    else unresolved.push({ variable, reason: value.reason });
  };

  const self = own(ctx.components, ctx.componentName) ? ctx.components[ctx.componentName] : undefined;
  for (const [variable, namespace, key] of text.matchAll(SAME_COMPONENT)) {
    replace(variable, ctx.componentName, self, namespace, key);
  }
  for (const [variable, target, namespace, key] of out.matchAll(CROSS_COMPONENT)) {
    if (!ctx.dependencies.includes(target)) {
      unresolved.push({ variable, reason: `${target} is not a direct dependency of ${ctx.componentName}` });
    } else if (!own(ctx.components, target)) {
      unresolved.push({ variable, reason: `${target} is not part of the deployment` });
    } else replace(variable, target, ctx.components[target], namespace, key);
  }
  return { value: out, unresolved };
}

/** One variable's text for component `owner`, or why there is none. */
function variableValue(
  owner: string,
  entry: ResolvedComponent | undefined,
  namespace: string,
  key: string,
  ctx: InterpolationContext,
): string | { reason: string } {
  if (namespace === 'configuration') {
    return configurationText(entry?.configuration, key) ?? { reason: `nothing at configuration path '${key}' of ${owner}` };
  }
  if (!own(SYSTEM_NAMESPACES, namespace)) return { reason: `unknown namespace '${namespace}'` };
  return systemValue(namespace, key, owner, entry?.version, ctx) ?? { reason: `no value for '${key}' in namespace '${namespace}'` };
}

function systemValue(namespace: string, key: string, name: string, version: string | undefined, ctx: InterpolationContext) {
  const ns = SYSTEM_NAMESPACES[namespace];
  if (!own(ns, key)) return undefined;
  // A component's own entry is always in the deployment; without a version only version-free values render.
  return ns[key](name, version ?? '', ctx);
}

/** Jackson's `JsonNode.at(pointer)` then `asText()` for a value, compact JSON for an object or array. */
function configurationText(configuration: Record<string, unknown> | undefined, pointer: string): string | undefined {
  if (configuration === undefined) return undefined;
  const value = valueAtPointer(configuration, pointerSegments(pointer));
  if (value === undefined) return undefined;
  if (value === null) return 'null';
  if (typeof value === 'object') return compactJson(value, false);
  return String(value);
}

/**
 * Compact JSON with keys in the order the nucleus writes a configuration node: its own objects ordered
 * case-insensitively, objects inside a list (kept as parsed) by plain key order. Written by hand because
 * JSON.stringify puts integer-like keys first.
 */
function compactJson(value: unknown, insideList: boolean): string {
  if (Array.isArray(value)) return `[${value.map((v) => compactJson(v, true)).join(',')}]`;
  if (!isMapping(value)) return JSON.stringify(value ?? null);
  const entries = Object.entries(value);
  entries.sort(([a], [b]) => (insideList ? (a < b ? -1 : a > b ? 1 : 0) : compareFolded(a, b)));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${compactJson(v, insideList)}`).join(',')}}`;
}
