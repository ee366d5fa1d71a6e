// Which keys of a recipe are part of the format (matched case-insensitively, written in canonical UpperCamelCase)
// and which are user data (kept exactly as given). Both parsing and serialising walk this one description, so a
// recipe always comes out with canonical names in a stable order.
import type { FieldViolation } from '../errors.js';

type Shape =
  /** Format-defined keys, in canonical order; any other key keeps its case and gets the `others` shape. */
  | { kind: 'struct'; fields: Record<string, Shape>; others?: Shape }
  | { kind: 'list'; of: Shape }
  /** User-named keys (dependency names), each value of shape `of`. */
  | { kind: 'map'; of: Shape }
  /** User data: kept as given, keys and all. */
  | { kind: 'data' };

const data: Shape = { kind: 'data' };
const struct = (fields: Record<string, Shape>): Shape & { kind: 'struct' } => ({ kind: 'struct', fields });

const step = struct({ Script: data, RequiresPrivilege: data, Skipif: data, Timeout: data, Setenv: data });
const lifecycle = struct({
  Setenv: data,
  Bootstrap: step,
  Install: step,
  Startup: step,
  Run: step,
  Shutdown: step,
  Recover: step,
  Uninstall: step,
});
lifecycle.others = lifecycle; // selection keys hold nested lifecycles

const artifact = struct({
  Uri: data,
  Unarchive: data,
  Permission: struct({ Read: data, Execute: data }),
  Digest: data,
  Algorithm: data,
});

const manifest = struct({
  Name: data,
  Platform: data,
  Lifecycle: lifecycle,
  Selections: data,
  Artifacts: { kind: 'list', of: artifact },
});

const recipe = struct({
  RecipeFormatVersion: data,
  ComponentName: data,
  ComponentVersion: data,
  ComponentType: data,
  ComponentDescription: data,
  ComponentPublisher: data,
  ComponentSource: data,
  ComponentDependencies: { kind: 'map', of: struct({ VersionRequirement: data, DependencyType: data }) },
  ComponentConfiguration: struct({ DefaultConfiguration: data }),
  Manifests: { kind: 'list', of: manifest },
  Lifecycle: lifecycle,
  Selections: data,
});

export const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** `Manifests[0]` + `Lifecycle` -> `Manifests[0].Lifecycle`. */
export const joinPath = (path: string, key: string) => (path ? `${path}.${key}` : key);

/**
 * Rewrites format keys to their canonical names and orders them canonically, leaving user data untouched.
 * Values of the wrong type are passed through for the validator to report. Two keys that differ only in case
 * would silently shadow each other, so they are reported in `violations`.
 */
export function canonicalKeys(value: unknown, violations: FieldViolation[] = []): unknown {
  return walk(value, recipe, '', violations);
}

function walk(value: unknown, shape: Shape, path: string, violations: FieldViolation[]): unknown {
  switch (shape.kind) {
    case 'data':
      return value;
    case 'list':
      return Array.isArray(value) ? value.map((v, i) => walk(v, shape.of, `${path}[${i}]`, violations)) : value;
    case 'map':
      // Object.fromEntries defines own properties, so a key like "__proto__" stays plain data.
      return isMapping(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, shape.of, `${path}[${k}]`, violations)]))
        : value;
    case 'struct':
      return isMapping(value) ? walkStruct(value, shape, path, violations) : value;
  }
}

function walkStruct(
  value: Record<string, unknown>,
  shape: Shape & { kind: 'struct' },
  path: string,
  violations: FieldViolation[],
): Record<string, unknown> {
  const canonical = new Map(Object.keys(shape.fields).map((name) => [name.toLowerCase(), name]));
  const known = new Map<string, [givenKey: string, value: unknown]>();
  const others: [string, unknown][] = [];
  for (const [key, v] of Object.entries(value)) {
    const name = canonical.get(key.toLowerCase());
    if (name === undefined) {
      others.push([key, walk(v, shape.others ?? data, joinPath(path, key), violations)]);
      continue;
    }
    const at = joinPath(path, name);
    const earlier = known.get(name);
    if (earlier) {
      violations.push({
        name: at,
        message: `${at}: given more than once ('${earlier[0]}' and '${key}'); recipe keys are case-insensitive`,
      });
      continue;
    }
    known.set(name, [key, walk(v, shape.fields[name], at, violations)]);
  }
  const ordered = Object.keys(shape.fields)
    .filter((name) => known.has(name))
    .map((name): [string, unknown] => [name, known.get(name)![1]]);
  return Object.fromEntries([...ordered, ...others]);
}
