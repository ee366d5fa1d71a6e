// Greengrass V2 component operations: publish from a recipe, describe, list, delete, artifacts, resolution.
import { ArtifactError } from '../../artifacts/artifact-store.js';
import { componentArn, componentVersionArn, inScope, parseComponentArn, PUBLIC_ACCOUNT, type ComponentRef } from '../../core/arn.js';
import { conflict, invalid, invalidFields, notFound } from '../../core/errors.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import { PUBLIC_COMPONENTS } from '../../core/public-components.js';
import {
  artifactFileName,
  parseRecipe,
  RecipeError,
  recipePlatforms,
  recipeToJson,
  recipeToYaml,
  selectManifest,
  type Recipe,
} from '../../core/recipe/index.js';
import { ResolutionError, resolveCandidate } from '../../core/resolution/index.js';
import { highestFirst } from '../../core/resolution/version-policy.js';
import type { ComponentState, Scope, Store } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';
import { idempotent } from '../idempotency.js';
import { loadCatalog, versionsOf, type CatalogVersion } from './catalog.js';

const DEFAULT_PAGE = 50;

/** `s3://BUCKET/KEY` -> its parts (the scheme in any case, as recipes allow); other schemes -> undefined. */
export function s3Location(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/i.exec(uri);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}

function status(state: ComponentState, message?: string, errors?: Record<string, string>) {
  return { componentState: state, message: message ?? 'NONE', errors: errors ?? {} };
}

/** A component version ARN of this account and region, or of meadow's public components. */
function versionRef(ctx: RequestContext, arn: string, member = 'arn'): ComponentRef & { version: string } {
  const ref = parseComponentArn(arn);
  if (!ref || !ref.version) throw invalidFields([{ name: member, message: `Value '${arn}' at '${member}' failed to satisfy constraint: Member must be a component version ARN` }]);
  if (ref.region !== ctx.scope.region || (ref.accountId !== ctx.scope.accountId && ref.accountId !== PUBLIC_ACCOUNT)) {
    throw notFound('componentVersion', arn, `Component version ${arn} does not exist in ${ctx.scope.region} for account ${ctx.scope.accountId}.`);
  }
  return ref as ComponentRef & { version: string };
}

async function versionOrThrow(ctx: RequestContext, arn: string): Promise<CatalogVersion> {
  const ref = versionRef(ctx, arn);
  const found = (await versionsOf(ctx.store, ctx.scope, ref.name, ref.accountId === PUBLIC_ACCOUNT ? 'public' : 'private')).find(
    (v) => v.version === ref.version,
  );
  if (!found) throw notFound('componentVersion', arn, `Component ${ref.name} version ${ref.version} does not exist.`);
  return found;
}

/**
 * Fills each S3 artifact's Digest and Algorithm from the artifact store, as AWS does at publication; an artifact
 * that cannot be read is an error of the version (which is then FAILED), keyed by its URI.
 */
async function digestArtifacts(ctx: RequestContext, recipe: Recipe): Promise<Record<string, string>> {
  const errors: Record<string, string> = {};
  const digests = new Map<string, string>();
  for (const manifest of recipe.Manifests ?? []) {
    for (const artifact of manifest.Artifacts ?? []) {
      const uri = artifact.Uri;
      if (/^docker:/i.test(uri)) continue; // images are pulled by the device, not hosted by meadow
      const loc = s3Location(uri);
      if (!loc) {
        errors[uri] = `meadow hosts artifacts in S3 buckets only; upload ${artifactFileName(uri)} and refer to it as s3://BUCKET/KEY.`;
        continue;
      }
      if (!digests.has(uri)) {
        try {
          digests.set(uri, await ctx.artifacts.digest(loc.bucket, loc.key));
        } catch (e) {
          if (!(e instanceof ArtifactError)) throw e;
          errors[uri] =
            e.code === 'NoSuchBucket' ? `Bucket ${loc.bucket} does not exist.` : e.code === 'NoSuchKey' ? `Object ${uri} does not exist.` : e.message;
          continue;
        }
      }
      artifact.Digest = digests.get(uri);
      artifact.Algorithm = 'SHA-256';
    }
  }
  return errors;
}

async function createComponentVersion(ctx: RequestContext, input: Input) {
  if (input.lambdaFunction !== undefined) {
    throw invalidFields([
      {
        name: 'lambdaFunction',
        message: "Value at 'lambdaFunction' failed to satisfy constraint: meadow does not import Lambda functions; publish the component with inlineRecipe",
      },
    ]);
  }
  if (input.inlineRecipe === undefined) {
    throw invalidFields([{ name: 'inlineRecipe', message: "Value null at 'inlineRecipe' failed to satisfy constraint: Member must not be null (give a recipe)" }]);
  }
  let recipe: Recipe;
  try {
    recipe = parseRecipe(input.inlineRecipe);
  } catch (e) {
    if (e instanceof RecipeError) throw invalidFields(e.violations);
    throw e;
  }
  const errors = await digestArtifacts(ctx, recipe);
  const failed = Object.keys(errors).length > 0;
  const state: ComponentState = failed ? 'FAILED' : 'DEPLOYABLE';
  const message = failed ? `${Object.keys(errors).length} artifact(s) of the recipe could not be read.` : 'NONE';
  const name = recipe.ComponentName;
  const version = recipe.ComponentVersion;
  const arn = componentVersionArn(ctx.scope.region, ctx.scope.accountId, name, version);
  return idempotent(ctx, input, async (tx) => {
    const createdAt = ctx.clock.now();
    const inserted = await tx.insertComponentVersion(ctx.scope, { name, version, recipe: recipeToJson(recipe), state, message, errors, createdAt });
    if (!inserted) {
      throw conflict('componentVersion', arn, `Component ${name} version ${version} already exists. Component versions are immutable: publish a new version.`);
    }
    if (input.tags) await tx.putTags(ctx.scope, arn, input.tags);
    return { arn, componentName: name, componentVersion: version, creationTimestamp: new Date(createdAt), status: status(state, message, errors) };
  });
}

async function describeComponent(ctx: RequestContext, input: Input) {
  const v = await versionOrThrow(ctx, input.arn);
  const tags = v.isPublic ? {} : await ctx.store.getTags(ctx.scope, v.arn);
  return {
    arn: v.arn,
    componentName: v.name,
    componentVersion: v.version,
    creationTimestamp: new Date(v.createdAt),
    publisher: v.recipe.ComponentPublisher,
    description: v.recipe.ComponentDescription,
    status: status(v.state, v.message, v.errors),
    platforms: recipePlatforms(v.recipe),
    tags: Object.keys(tags).length > 0 ? tags : undefined,
  };
}

async function getComponent(ctx: RequestContext, input: Input) {
  const v = await versionOrThrow(ctx, input.arn);
  const format = input.recipeOutputFormat ?? 'JSON';
  const tags = v.isPublic ? {} : await ctx.store.getTags(ctx.scope, v.arn);
  return {
    recipeOutputFormat: format,
    recipe: Buffer.from(format === 'YAML' ? recipeToYaml(v.recipe) : v.recipeJson),
    tags: Object.keys(tags).length > 0 ? tags : undefined,
  };
}

function summary(scope: Scope, latest: CatalogVersion) {
  return {
    arn: componentArn(scope.region, latest.isPublic ? PUBLIC_ACCOUNT : scope.accountId, latest.name),
    componentName: latest.name,
    latestVersion: {
      arn: latest.arn,
      componentVersion: latest.version,
      creationTimestamp: new Date(latest.createdAt),
      description: latest.recipe.ComponentDescription,
      publisher: latest.recipe.ComponentPublisher,
      platforms: recipePlatforms(latest.recipe),
    },
  };
}

async function listComponents(ctx: RequestContext, input: Input) {
  const scopeFilter: 'PRIVATE' | 'PUBLIC' | 'ALL' = input.scope ?? 'PRIVATE';
  const after = decodeNextToken(ctx.operation, input.nextToken);
  const limit = input.maxResults ?? DEFAULT_PAGE;
  // Entries are keyed `<visibility>:<name>` so one ordering pages through private and public alike.
  const keys: string[] = [];
  if (scopeFilter !== 'PUBLIC') {
    let cursor: string | undefined;
    do {
      const page = await ctx.store.listComponentNames(ctx.scope, { after: cursor, limit: 1000 });
      keys.push(...page.items.map((n) => `private:${n}`));
      cursor = page.next;
    } while (cursor);
  }
  if (scopeFilter !== 'PRIVATE') keys.push(...[...PUBLIC_COMPONENTS.keys()].sort().map((n) => `public:${n}`));
  const remaining = keys.filter((k) => after === undefined || k > after).sort();
  const pageKeys = remaining.slice(0, limit);
  const components = [];
  for (const key of pageKeys) {
    const [visibility, name] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    const [latest] = await versionsOf(ctx.store, ctx.scope, name, visibility as 'private' | 'public');
    if (latest) components.push(summary(ctx.scope, latest));
  }
  return { components, nextToken: encodeNextToken(ctx.operation, remaining.length > limit ? pageKeys[pageKeys.length - 1] : undefined) };
}

async function listComponentVersions(ctx: RequestContext, input: Input) {
  const ref = parseComponentArn(input.arn);
  if (!ref || ref.version !== undefined) {
    throw invalidFields([{ name: 'arn', message: `Value '${input.arn}' at 'arn' failed to satisfy constraint: Member must be a component ARN without a version` }]);
  }
  const visible = ref.region === ctx.scope.region && (ref.accountId === ctx.scope.accountId || ref.accountId === PUBLIC_ACCOUNT);
  const versions = visible ? await versionsOf(ctx.store, ctx.scope, ref.name, ref.accountId === PUBLIC_ACCOUNT ? 'public' : 'private') : [];
  if (versions.length === 0) throw notFound('component', input.arn, `Component ${input.arn} does not exist.`);
  const after = decodeNextToken(ctx.operation, input.nextToken);
  const limit = input.maxResults ?? DEFAULT_PAGE;
  // Highest version first; the cursor is the last version handed out, and the page goes on after it in that order
  // (build metadata included: 1.0.0+b.1 and 1.0.0+b.2 are different versions of equal precedence).
  const start = after === undefined ? 0 : versions.findIndex((v) => highestFirst(after, v.version) < 0);
  const rest = start < 0 ? [] : versions.slice(start);
  const page = rest.slice(0, limit);
  return {
    componentVersions: page.map((v) => ({ componentName: v.name, componentVersion: v.version, arn: v.arn })),
    nextToken: encodeNextToken(ctx.operation, rest.length > limit ? page[page.length - 1].version : undefined),
  };
}

async function deleteComponent(ctx: RequestContext, input: Input) {
  const ref = versionRef(ctx, input.arn);
  if (ref.accountId === PUBLIC_ACCOUNT) {
    throw invalid(`Component ${ref.name} version ${ref.version} is a public component; only your own component versions can be deleted.`);
  }
  await ctx.store.transaction(async (tx) => {
    if (!(await tx.getComponentVersion(ctx.scope, ref.name, ref.version))) {
      throw notFound('componentVersion', input.arn, `Component ${ref.name} version ${ref.version} does not exist.`);
    }
    await tx.deleteComponentVersion(ctx.scope, ref.name, ref.version);
    await tx.removeTags(ctx.scope, input.arn, []);
    // The component's own tags go with its last version.
    if ((await tx.listVersionsOfComponent(ctx.scope, ref.name)).length === 0) {
      await tx.removeTags(ctx.scope, componentArn(ctx.scope.region, ctx.scope.accountId, ref.name), []);
    }
  });
}

async function getComponentVersionArtifact(ctx: RequestContext, input: Input) {
  const v = await versionOrThrow(ctx, input.arn);
  const wanted: string = input.artifactName;
  // The artifact may be named by `BUCKET/KEY`, by its key, or by its file name.
  const candidates = (v.recipe.Manifests ?? []).flatMap((m) => m.Artifacts ?? []).flatMap((a) => {
    const loc = s3Location(a.Uri);
    return loc ? [{ loc, names: [`${loc.bucket}/${loc.key}`, loc.key, artifactFileName(a.Uri)] }] : [];
  });
  const match = candidates.find((c) => c.names[0] === wanted) ?? candidates.find((c) => c.names.includes(wanted));
  if (!match) throw notFound('artifact', wanted, `Component ${v.name} version ${v.version} has no artifact named ${wanted}.`);
  return { preSignedUrl: ctx.downloads.urlFor(ctx.baseUrl, match.loc.bucket, match.loc.key) };
}

async function resolveComponentCandidates(ctx: RequestContext, input: Input) {
  const attributes: Record<string, string> | undefined = input.platform?.attributes;
  const candidates: { componentName?: string; versionRequirements?: Record<string, string> }[] = input.componentCandidates ?? [];
  const names = candidates.map((c, i) => {
    if (!c.componentName) throw invalidFields([{ name: `componentCandidates[${i}].componentName`, message: `Value null at 'componentCandidates[${i}].componentName' failed to satisfy constraint: Member must not be null` }]);
    return c.componentName;
  });
  const catalog = await loadCatalog(ctx.store, ctx.scope, names, (recipe) => !attributes || selectManifest(recipe, attributes) !== undefined);
  const resolved = candidates.map((c) => {
    try {
      const chosen = resolveCandidate(c.componentName!, c.versionRequirements ?? {}, catalog);
      return {
        arn: chosen.entry.arn,
        componentName: chosen.entry.name,
        componentVersion: chosen.entry.version,
        recipe: Buffer.from(chosen.entry.recipeJson),
        vendorGuidance: 'ACTIVE',
      };
    } catch (e) {
      if (!(e instanceof ResolutionError)) throw e;
      if (e.kind === 'INVALID_REQUIREMENT') throw invalid(e.message);
      throw notFound('component', c.componentName!, e.message);
    }
  });
  return { resolvedComponentVersions: resolved };
}

export const componentHandlers: HandlerTable = {
  CreateComponentVersion: createComponentVersion,
  DescribeComponent: describeComponent,
  GetComponent: getComponent,
  ListComponents: listComponents,
  ListComponentVersions: listComponentVersions,
  DeleteComponent: deleteComponent,
  GetComponentVersionArtifact: getComponentVersionArtifact,
  ResolveComponentCandidates: resolveComponentCandidates,
};
