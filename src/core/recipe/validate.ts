// Every rule a recipe must satisfy, checked on the canonical-key form (see keys.ts). Pure: value in, the full list
// of violations out, each naming the recipe path and the rule it breaks.
import semver from 'semver';
import type { FieldViolation } from '../errors.js';
import { isMapping, joinPath } from './keys.js';
import { artifactFileName } from './artifact.js';
import { compilePlatformRegex, isRegexLabel } from './platform.js';
import { COMPONENT_TYPES, LIFECYCLE_STEPS, RECIPE_FORMAT_VERSION } from './types.js';

type Obj = Record<string, unknown>;
type Fail = (name: string, rule: string) => void;

const COMPONENT_NAME = /^[a-zA-Z0-9-_.]+$/;
const MAX_VERSION_PART = 999999;
const SKIPIF = /^!?(exists|onpath) +\S/;
const URI_HINT = 'use s3://BUCKET/KEY or docker:IMAGE';

/** How a wrong value is shown in a message. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `'${v.length > 80 ? `${v.slice(0, 80)}...` : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return `the ${typeof v} ${v}`;
  if (Array.isArray(v)) return 'a list';
  return isMapping(v) ? 'a mapping' : typeof v;
}

const oneOf = (allowed: readonly string[]) =>
  allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`;

export function validateRecipe(recipe: Obj): FieldViolation[] {
  const out: FieldViolation[] = [];
  const fail: Fail = (name, rule) => out.push({ name, message: `${name}: ${rule}` });

  const format = recipe.RecipeFormatVersion;
  if (format === undefined || format === null) {
    fail('RecipeFormatVersion', `required; the only supported version is '${RECIPE_FORMAT_VERSION}'`);
  } else if (format !== RECIPE_FORMAT_VERSION) {
    fail('RecipeFormatVersion', `must be '${RECIPE_FORMAT_VERSION}' (the only supported version), got ${describe(format)}`);
  }

  const name = recipe.ComponentName;
  if (name === undefined || name === null) fail('ComponentName', 'required');
  else if (typeof name !== 'string') fail('ComponentName', `must be a string, got ${describe(name)}`);
  else if (name.length < 1 || name.length > 128) fail('ComponentName', `must be 1 to 128 characters long, got ${name.length}`);
  else if (!COMPONENT_NAME.test(name)) fail('ComponentName', `may contain only letters, digits, '-', '_' and '.', got ${describe(name)}`);

  checkVersion(recipe.ComponentVersion, fail);

  const type = recipe.ComponentType;
  if (type !== undefined && !(COMPONENT_TYPES as readonly unknown[]).includes(type)) {
    fail('ComponentType', `must be one of ${COMPONENT_TYPES.join(', ')}, got ${describe(type)}`);
  }
  for (const key of ['ComponentDescription', 'ComponentPublisher', 'ComponentSource']) {
    if (recipe[key] !== undefined && typeof recipe[key] !== 'string') fail(key, `must be a string, got ${describe(recipe[key])}`);
  }

  checkDependencies(recipe.ComponentDependencies, typeof name === 'string' ? name : undefined, fail);

  const config = recipe.ComponentConfiguration;
  if (config !== undefined) {
    if (!isMapping(config)) fail('ComponentConfiguration', `must be a mapping, got ${describe(config)}`);
    else if (config.DefaultConfiguration !== undefined && !isMapping(config.DefaultConfiguration)) {
      fail('ComponentConfiguration.DefaultConfiguration', `must be a mapping, got ${describe(config.DefaultConfiguration)}`);
    }
  }

  const manifests = recipe.Manifests;
  if (manifests !== undefined) {
    if (!Array.isArray(manifests)) fail('Manifests', `must be a list of manifests, got ${describe(manifests)}`);
    else manifests.forEach((m, i) => checkManifest(m, `Manifests[${i}]`, fail));
  }
  if (recipe.Lifecycle !== undefined) checkLifecycle(recipe.Lifecycle, 'Lifecycle', fail);
  if (recipe.Selections !== undefined) checkStringList(recipe.Selections, 'Selections', fail);
  return out;
}

function checkVersion(version: unknown, fail: Fail): void {
  const at = 'ComponentVersion';
  if (version === undefined || version === null) return fail(at, 'required');
  if (typeof version !== 'string') return fail(at, `must be a string, got ${describe(version)}`);
  // semver.parse also takes a leading 'v' and surrounding blanks; a recipe version may not have them.
  const parsed = /^[0-9]/.test(version) && version.trim() === version ? semver.parse(version) : null;
  if (!parsed) return fail(at, `must be a semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (e.g. 1.0.0), got ${describe(version)}`);
  if (version.length > 64) fail(at, `must be at most 64 characters long, got ${version.length}`);
  if ([parsed.major, parsed.minor, parsed.patch].some((n) => n > MAX_VERSION_PART)) {
    fail(at, `major, minor and patch must each be at most ${MAX_VERSION_PART}, got ${describe(version)}`);
  }
}

function checkDependencies(deps: unknown, self: string | undefined, fail: Fail): void {
  if (deps === undefined) return;
  if (!isMapping(deps)) {
    return fail('ComponentDependencies', `must be a mapping of component name to {VersionRequirement, DependencyType}, got ${describe(deps)}`);
  }
  for (const [dep, spec] of Object.entries(deps)) {
    const at = `ComponentDependencies[${dep}]`;
    if (dep.length > 128 || !COMPONENT_NAME.test(dep)) {
      fail(at, "dependency name must be 1 to 128 letters, digits, '-', '_' or '.'");
    }
    if (dep === self) fail(at, 'a component cannot depend on itself');
    if (!isMapping(spec)) {
      fail(at, `must be a mapping with VersionRequirement and optional DependencyType, got ${describe(spec)}`);
      continue;
    }
    const range = spec.VersionRequirement;
    if (range === undefined || range === null) fail(`${at}.VersionRequirement`, 'required');
    else if (typeof range !== 'string') fail(`${at}.VersionRequirement`, `must be a string, got ${describe(range)}`);
    else if (semver.validRange(range) === null) {
      fail(`${at}.VersionRequirement`, `must be an npm-style version range (e.g. '>=1.0.0 <2.0.0' or '^1.2.0'), got ${describe(range)}`);
    }
    const type = spec.DependencyType;
    if (type !== undefined && type !== 'HARD' && type !== 'SOFT') fail(`${at}.DependencyType`, `must be HARD or SOFT, got ${describe(type)}`);
  }
}

function checkManifest(manifest: unknown, at: string, fail: Fail): void {
  if (!isMapping(manifest)) return fail(at, `must be a mapping, got ${describe(manifest)}`);
  if (manifest.Name !== undefined && typeof manifest.Name !== 'string') fail(`${at}.Name`, `must be a string, got ${describe(manifest.Name)}`);
  if (manifest.Platform !== undefined) checkPlatform(manifest.Platform, `${at}.Platform`, fail);
  if (manifest.Lifecycle !== undefined) checkLifecycle(manifest.Lifecycle, `${at}.Lifecycle`, fail);
  if (manifest.Selections !== undefined) checkStringList(manifest.Selections, `${at}.Selections`, fail);
  const artifacts = manifest.Artifacts;
  if (artifacts === undefined) return;
  if (!Array.isArray(artifacts)) return fail(`${at}.Artifacts`, `must be a list of artifacts, got ${describe(artifacts)}`);
  const usedBy = new Map<string, string>(); // file name -> first artifact path
  artifacts.forEach((artifact, i) => {
    const fileName = checkArtifact(artifact, `${at}.Artifacts[${i}]`, fail);
    if (fileName === undefined) return;
    const first = usedBy.get(fileName);
    if (first) {
      fail(`${at}.Artifacts[${i}].Uri`, `file name '${fileName}' is also used by ${first}; artifact file names must be unique within a manifest`);
    } else usedBy.set(fileName, `${at}.Artifacts[${i}]`);
  });
}

function checkPlatform(platform: unknown, at: string, fail: Fail): void {
  if (!isMapping(platform)) return fail(at, `must be a mapping of attribute name to label, got ${describe(platform)}`);
  for (const [attribute, label] of Object.entries(platform)) {
    const p = `${at}[${attribute}]`;
    if (typeof label !== 'string') {
      fail(p, `must be a string, got ${describe(label)}`);
    } else if (isRegexLabel(label)) {
      const compiled = compilePlatformRegex(label);
      if (compiled instanceof Error) fail(p, `${describe(label)} is not a valid regular expression: ${compiled.message}`);
    } else if (label !== '*' && !/^[a-zA-Z0-9]/.test(label)) {
      fail(p, `must be a label starting with a letter or digit, '*', or '/regex/', got ${describe(label)}`);
    }
  }
}

function checkLifecycle(lifecycle: unknown, at: string, fail: Fail): void {
  if (!isMapping(lifecycle)) return fail(at, `must be a mapping of lifecycle steps, got ${describe(lifecycle)}`);
  if (lifecycle.Startup !== undefined && lifecycle.Run !== undefined) fail(at, 'Startup and Run are mutually exclusive; give only one');
  for (const [key, value] of Object.entries(lifecycle)) {
    const p = joinPath(at, key);
    if (key === 'Setenv') checkSetenv(value, p, fail);
    else if ((LIFECYCLE_STEPS as readonly string[]).includes(key)) checkStep(value, p, fail);
    else if (isMapping(value)) checkLifecycle(value, p, fail);
    else {
      const steps = ['Setenv', ...LIFECYCLE_STEPS].join(', ');
      fail(p, `'${key}' is not a lifecycle step (${steps}), so it is a selection key and must map to a lifecycle mapping, got ${describe(value)}`);
    }
  }
}

function checkStep(step: unknown, at: string, fail: Fail): void {
  if (typeof step === 'string') return;
  if (!isMapping(step)) return fail(at, `must be a script string or a mapping with Script, got ${describe(step)}`);
  if (step.Script === undefined || step.Script === null) fail(`${at}.Script`, 'required');
  else if (typeof step.Script !== 'string') fail(`${at}.Script`, `must be a string, got ${describe(step.Script)}`);
  if (step.RequiresPrivilege !== undefined && typeof step.RequiresPrivilege !== 'boolean') {
    fail(`${at}.RequiresPrivilege`, `must be true or false, got ${describe(step.RequiresPrivilege)}`);
  }
  if (step.Skipif !== undefined && !(typeof step.Skipif === 'string' && SKIPIF.test(step.Skipif))) {
    fail(`${at}.Skipif`, `must be 'exists <path>' or 'onpath <executable>', optionally preceded by '!', got ${describe(step.Skipif)}`);
  }
  const timeout = step.Timeout;
  if (timeout !== undefined && !(typeof timeout === 'number' && Number.isSafeInteger(timeout) && timeout > 0)) {
    fail(`${at}.Timeout`, `must be a positive integer number of seconds, got ${describe(timeout)}`);
  }
  if (step.Setenv !== undefined) checkSetenv(step.Setenv, `${at}.Setenv`, fail);
}

function checkSetenv(env: unknown, at: string, fail: Fail): void {
  if (!isMapping(env)) return fail(at, `must be a mapping of variable name to string value, got ${describe(env)}`);
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string') fail(`${at}[${name}]`, `must be a string, got ${describe(value)}`);
  }
}

function checkStringList(list: unknown, at: string, fail: Fail): void {
  if (!Array.isArray(list)) return fail(at, `must be a list of strings, got ${describe(list)}`);
  list.forEach((v, i) => {
    if (typeof v !== 'string') fail(`${at}[${i}]`, `must be a string, got ${describe(v)}`);
  });
}

/** Checks one artifact; returns its file name when it has a usable Uri that names a file (docker images do not). */
function checkArtifact(artifact: unknown, at: string, fail: Fail): string | undefined {
  if (!isMapping(artifact)) return void fail(at, `must be a mapping, got ${describe(artifact)}`);
  const fileName = checkUri(artifact.Uri, `${at}.Uri`, fail);
  const unarchive = artifact.Unarchive;
  if (unarchive !== undefined && unarchive !== 'NONE' && unarchive !== 'ZIP') fail(`${at}.Unarchive`, `must be NONE or ZIP, got ${describe(unarchive)}`);
  const permission = artifact.Permission;
  if (permission !== undefined) {
    if (!isMapping(permission)) fail(`${at}.Permission`, `must be a mapping with Read and Execute, got ${describe(permission)}`);
    else {
      for (const key of ['Read', 'Execute']) {
        const level = permission[key];
        if (level !== undefined && !['NONE', 'OWNER', 'ALL'].includes(level as string)) {
          fail(`${at}.Permission.${key}`, `must be ${oneOf(['NONE', 'OWNER', 'ALL'])}, got ${describe(level)}`);
        }
      }
    }
  }
  if (artifact.Digest !== undefined && typeof artifact.Digest !== 'string') fail(`${at}.Digest`, `must be a string, got ${describe(artifact.Digest)}`);
  if (artifact.Algorithm !== undefined && artifact.Algorithm !== 'SHA-256') fail(`${at}.Algorithm`, `must be SHA-256, got ${describe(artifact.Algorithm)}`);
  return fileName;
}

function checkUri(uri: unknown, at: string, fail: Fail): string | undefined {
  if (uri === undefined || uri === null) return void fail(at, 'required');
  if (typeof uri !== 'string') return void fail(at, `must be a string, got ${describe(uri)}`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)?.[1];
  if (scheme === undefined) return void fail(at, `must be a URI with a scheme; ${URI_HINT}, got ${describe(uri)}`);
  const rest = uri.slice(scheme.length + 1);
  switch (scheme.toLowerCase()) {
    case 's3':
      if (!/^\/\/[^/]+\/./.test(rest)) return void fail(at, `must be s3://BUCKET/KEY with a non-empty bucket and key, got ${describe(uri)}`);
      break;
    case 'greengrass':
      if (rest === '') return void fail(at, `must be greengrass:NAME with a non-empty name, got ${describe(uri)}`);
      break;
    case 'docker':
      if (rest === '') fail(at, `must be docker:IMAGE with a non-empty image, got ${describe(uri)}`);
      return undefined; // an image, not a file in the artifacts folder
    default:
      return void fail(at, `unsupported scheme '${scheme}'; ${URI_HINT}`);
  }
  const fileName = artifactFileName(uri);
  if (fileName === '') return void fail(at, `must end in a file name, got ${describe(uri)}`);
  return fileName;
}
