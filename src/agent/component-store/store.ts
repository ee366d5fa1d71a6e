// The agent's component store, laid out under its root as the nucleus lays out its own (componentPaths):
//   packages/recipes/<base64url(sha256(name))>@<version>.recipe.yaml    the recipe, as YAML
//   packages/recipes/<base64url(sha256(name))>@<version>.metadata.json  its ARN (what GetComponentVersionArtifact takes)
//   packages/artifacts/<name>/<version>/<file>                         artifacts as downloaded, read-only
//   packages/artifacts-unarchived/<name>/<version>/<archive>/...       ZIP artifacts unpacked
// Each artifact is downloaded once: a file already there with the recipe's digest is kept. Downloads go to a
// temporary name and are renamed into place only once their digest matched, and archives are unpacked into a
// temporary folder renamed into place, so a crash never leaves a half-written artifact under its real name.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ARTIFACT_CHECKSUM_ATTEMPTS, CLOUD_RETRY_INTERVAL_MS } from '../../core/dataplane-retry.js';
import { DeploymentError, type DeploymentErrorCode } from '../../core/deployment-errors.js';
import { componentPaths } from '../../core/configuration/interpolate.js';
import {
  ARTIFACT_FOLDER_MODE,
  RecipeError,
  artifactFileMode,
  artifactFileName,
  artifactRequestName,
  artifactScheme,
  parseRecipe,
  recipeToYaml,
  unarchiveFolderName,
  type Artifact,
  type Recipe,
} from '../../core/recipe/index.js';
import { highestFirst, satisfiesAll } from '../../core/resolution/version-policy.js';
import { abortableSleep, type CallOptions, type DataPlaneClient } from '../dataplane/client.js';
import { syncDirectory, writeFileAtomic } from '../state/atomic-file.js';
import { UnsafeZipEntryError, unzipInto } from './unzip.js';

/** What the store needs of the data plane to fetch artifacts. */
export type ArtifactSource = Pick<DataPlaneClient, 'getComponentVersionArtifact' | 'downloadToFile'>;

export interface ComponentStoreOptions {
  /** The agent's root (the nucleus's root path). */
  root: string;
  /** Where artifacts come from; a store without one only reads what is already on disk. */
  source?: ArtifactSource;
  /** Waits between two downloads of an artifact that did not match its digest; tests pass one that returns at once. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Downloads of one artifact before a digest mismatch fails the deployment. */
  checksumAttempts?: number;
}

export interface RecipeMetadata {
  componentName: string;
  componentVersion: string;
  /** Absent for a recipe that did not come from the cloud. */
  componentVersionArn?: string;
}

/** `name@version`, the way `cleanup` is told what to keep. */
export const componentRef = (name: string, version: string) => `${name}@${version}`;

const SUPPORTED_SCHEMES = new Set(['S3', 'GREENGRASS']);
const DOWNLOAD_SUFFIX = '.download';
const UNPACK_SUFFIX = '.unpack';

export class ComponentStore {
  readonly root: string;
  private readonly source?: ArtifactSource;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly checksumAttempts: number;

  constructor(opts: ComponentStoreOptions) {
    this.root = path.resolve(opts.root);
    this.source = opts.source;
    this.sleep = opts.sleep ?? abortableSleep;
    this.checksumAttempts = opts.checksumAttempts ?? ARTIFACT_CHECKSUM_ATTEMPTS;
  }

  get recipesDir(): string {
    return path.join(this.root, 'packages', 'recipes');
  }

  paths(name: string, version: string) {
    return componentPaths(this.root, name, version);
  }

  /** The recipe file of a component version (whether or not it exists). */
  recipeFile(name: string, version: string): string {
    return path.join(this.recipesDir, `${nameHash(name)}@${version}.recipe.yaml`);
  }

  metadataFile(name: string, version: string): string {
    return path.join(this.recipesDir, `${nameHash(name)}@${version}.metadata.json`);
  }

  /**
   * Keeps a recipe (as ResolveComponentCandidates returns it) with its ARN. The recipe is checked first: one that does
   * not parse fails with RECIPE_PARSE_ERROR and nothing is written. Files already holding the same are left alone.
   */
  async saveRecipe(resolved: { componentName: string; componentVersion: string; recipe: Buffer | string; arn?: string }): Promise<Recipe> {
    const { componentName: name, componentVersion: version } = resolved;
    let recipe: Recipe;
    try {
      recipe = parseRecipe(resolved.recipe);
    } catch (e) {
      if (!(e instanceof RecipeError)) throw e;
      throw new DeploymentError(`The recipe of component ${name} version ${version} is not valid: ${e.message}`, ['COMPONENT_PACKAGE_LOADING_ERROR', 'RECIPE_PARSE_ERROR'], { cause: e });
    }
    if (recipe.ComponentName !== name || recipe.ComponentVersion !== version) {
      throw new DeploymentError(
        `The recipe sent for component ${name} version ${version} is for ${recipe.ComponentName} version ${recipe.ComponentVersion}.`,
        ['COMPONENT_PACKAGE_LOADING_ERROR', 'RECIPE_PARSE_ERROR'],
      );
    }
    await this.ensureFolder(path.dirname(this.recipesDir), ARTIFACT_FOLDER_MODE);
    await this.ensureFolder(this.recipesDir, 0o700);
    const metadata: RecipeMetadata = { componentName: name, componentVersion: version, ...(resolved.arn && { componentVersionArn: resolved.arn }) };
    await writeIfChanged(this.recipeFile(name, version), recipeToYaml(recipe));
    await writeIfChanged(this.metadataFile(name, version), JSON.stringify(metadata) + '\n');
    return recipe;
  }

  /** The stored recipe, or undefined when there is none; LOCAL_RECIPE_CORRUPTED when it no longer parses. */
  async readRecipe(name: string, version: string): Promise<Recipe | undefined> {
    const text = await readFile(this.recipeFile(name, version), 'utf8').catch(ifMissing(undefined));
    if (text === undefined) return undefined;
    try {
      return parseRecipe(text);
    } catch (e) {
      throw new DeploymentError(`The stored recipe of component ${name} version ${version} is corrupted: ${(e as Error).message}`, ['COMPONENT_PACKAGE_LOADING_ERROR', 'LOCAL_RECIPE_CORRUPTED'], { cause: e });
    }
  }

  async readMetadata(name: string, version: string): Promise<RecipeMetadata | undefined> {
    const text = await readFile(this.metadataFile(name, version), 'utf8').catch(ifMissing(undefined));
    return text === undefined ? undefined : (JSON.parse(text) as RecipeMetadata);
  }

  /** Every component version that has a recipe here. */
  async listComponents(): Promise<RecipeMetadata[]> {
    const files = await readdir(this.recipesDir).catch(ifMissing([] as string[]));
    const out: RecipeMetadata[] = [];
    for (const f of files.filter((f) => f.endsWith('.metadata.json')).sort()) {
      try {
        out.push(JSON.parse(await readFile(path.join(this.recipesDir, f), 'utf8')) as RecipeMetadata);
      } catch {
        // A metadata file that cannot be read names nothing; cleanup leaves it to the next save.
      }
    }
    return out;
  }

  /** The highest stored version of `name` satisfying every range (the nucleus's local candidate after the running one). */
  async bestLocalVersion(name: string, ranges: Iterable<string>): Promise<string | undefined> {
    const required = [...ranges];
    const versions = (await this.listComponents()).filter((m) => m.componentName === name).map((m) => m.componentVersion);
    return versions.filter((v) => satisfiesAll(v, required)).sort(highestFirst)[0];
  }

  /**
   * Makes every artifact of a component version's manifest present, verified, with its Permission, and unpacked when
   * it says Unarchive: ZIP. Fails with the nucleus's codes under ARTIFACT_DOWNLOAD_ERROR (ARTIFACT_CHECKSUM_MISMATCH
   * after `checksumAttempts` downloads that did not match).
   */
  async prepareArtifacts(name: string, version: string, artifacts: readonly Artifact[], opts: CallOptions = {}): Promise<void> {
    const { artifacts: dir } = this.paths(name, version);
    if (artifacts.length > 0) await this.ensureFolder(dir, ARTIFACT_FOLDER_MODE);
    for (const artifact of artifacts) {
      const fresh = await this.fetchArtifact(name, version, dir, artifact, opts);
      const file = path.join(dir, artifactFileName(artifact.Uri));
      await this.applyMode(name, version, artifact, () => chmod(file, artifactFileMode(artifact.Permission)));
      if ((artifact.Unarchive ?? 'NONE') === 'ZIP') await this.unarchive(name, version, artifact, file, fresh);
    }
  }

  /**
   * Removes every component version not in `keep` (`name@version`): its recipe, metadata, artifacts and unpacked
   * artifacts. Returns what was removed.
   */
  async cleanup(keep: Iterable<string>): Promise<string[]> {
    const kept = new Set(keep);
    const present = new Map<string, { name: string; version: string }>();
    for (const m of await this.listComponents()) present.set(componentRef(m.componentName, m.componentVersion), { name: m.componentName, version: m.componentVersion });
    // Artifact folders without a recipe (a save that never completed) go too.
    for (const base of ['artifacts', 'artifacts-unarchived']) {
      const top = path.join(this.root, 'packages', base);
      for (const name of await readdir(top).catch(ifMissing([] as string[]))) {
        for (const version of await readdir(path.join(top, name)).catch(ifMissing([] as string[]))) {
          present.set(componentRef(name, version), { name, version });
        }
      }
    }
    const removed: string[] = [];
    for (const [ref, { name, version }] of [...present].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (kept.has(ref)) continue;
      const p = this.paths(name, version);
      // Recipe last: a cleanup cut short leaves a version that is listed, and so cleaned up next time.
      await rm(p.artifacts, { recursive: true, force: true });
      await rm(p.artifactsDecompressed, { recursive: true, force: true });
      await rm(this.metadataFile(name, version), { force: true });
      await rm(this.recipeFile(name, version), { force: true });
      for (const parent of [path.dirname(p.artifacts), path.dirname(p.artifactsDecompressed)]) {
        if ((await readdir(parent).catch(ifMissing(['']))).length === 0) await rm(parent, { recursive: true, force: true });
      }
      removed.push(ref);
    }
    return removed;
  }

  /** Downloads one artifact unless it is there with its digest; true when it was (re)downloaded. */
  private async fetchArtifact(name: string, version: string, dir: string, artifact: Artifact, opts: CallOptions): Promise<boolean> {
    const uri = artifact.Uri ?? '';
    const fail = (reason: string, code: DeploymentErrorCode, cause?: unknown) =>
      new DeploymentError(`Artifact ${uri} of component ${name} version ${version}: ${reason}`, ['ARTIFACT_DOWNLOAD_ERROR', code], { cause });
    if (uri === '') throw fail('the artifact has no URI.', 'EMPTY_ARTIFACT_URI');
    const scheme = artifactScheme(uri);
    if (scheme === undefined) throw fail('the URI has no scheme.', 'EMPTY_ARTIFACT_SCHEME');
    if (!SUPPORTED_SCHEMES.has(scheme)) throw fail(`the ${scheme.toLowerCase()}: scheme is not supported (s3: and greengrass: are).`, 'UNSUPPORTED_ARTIFACT_SCHEME');
    const fileName = artifactFileName(uri);
    if (fileName === '' || fileName === '.' || fileName === '..') throw fail('the URI names no file.', 'ARTIFACT_URI_NOT_VALID');
    const file = path.join(dir, fileName);
    await removeLeftovers(dir, `.${fileName}.`, DOWNLOAD_SUFFIX);

    if (!artifact.Digest || !artifact.Algorithm) {
      // A recipe without a digest (not one from the cloud, which always sets it) uses the file that is there.
      if (await exists(file)) return false;
      throw fail('the recipe gives no digest algorithm to verify a download with.', 'RECIPE_MISSING_ARTIFACT_HASH_ALGORITHM');
    }
    if (artifact.Algorithm !== 'SHA-256') throw fail(`the digest algorithm ${artifact.Algorithm} is not supported.`, 'HASHING_ALGORITHM_UNAVAILABLE');
    if ((await fileDigest(file)) === artifact.Digest) return false;

    const arn = (await this.readMetadata(name, version))?.componentVersionArn;
    if (!arn) throw fail('the store has no component version ARN to download it with.', 'LOCAL_RECIPE_METADATA_NOT_FOUND');
    if (!this.source) throw fail('the agent has no data plane to download it from.', 'DEVICE_CONFIG_NOT_VALID_FOR_ARTIFACT_DOWNLOAD');
    let got = '';
    for (let attempt = 1; attempt <= this.checksumAttempts; attempt++) {
      if (attempt > 1) await this.sleep(CLOUD_RETRY_INTERVAL_MS, opts.signal);
      const temp = path.join(dir, `.${fileName}.${randomBytes(6).toString('hex')}${DOWNLOAD_SUFFIX}`);
      try {
        const url = await this.source.getComponentVersionArtifact(arn, artifactRequestName(uri), opts);
        const result = await this.source.downloadToFile(url, temp, opts);
        got = result.sha256Base64;
        if (got === artifact.Digest) {
          await rename(temp, file);
          await syncDirectory(dir);
          return true;
        }
      } catch (e) {
        if (e instanceof DeploymentError) throw new DeploymentError(`Artifact ${uri} of component ${name} version ${version} could not be downloaded: ${e.message}`, ['ARTIFACT_DOWNLOAD_ERROR', ...e.codes], { cause: e });
        throw e;
      } finally {
        await rm(temp, { force: true });
      }
    }
    throw fail(
      `the download's SHA-256 digest ${got} does not match the recipe's ${artifact.Digest} (${this.checksumAttempts} download${this.checksumAttempts === 1 ? '' : 's'} tried).`,
      'ARTIFACT_CHECKSUM_MISMATCH',
    );
  }

  /** Unpacks a ZIP artifact into `{artifacts:decompressedPath}/<file name without extension>`, replacing what was there. */
  private async unarchive(name: string, version: string, artifact: Artifact, file: string, fresh: boolean): Promise<void> {
    const base = this.paths(name, version).artifactsDecompressed;
    const dest = path.join(base, unarchiveFolderName(path.basename(file)));
    if (!fresh && (await exists(dest))) return;
    await this.ensureFolder(base, ARTIFACT_FOLDER_MODE);
    await removeLeftovers(base, `.${path.basename(dest)}.`, UNPACK_SUFFIX);
    const temp = path.join(base, `.${path.basename(dest)}.${randomBytes(6).toString('hex')}${UNPACK_SUFFIX}`);
    const mode = artifactFileMode(artifact.Permission);
    try {
      await unzipInto(file, temp, mode, ARTIFACT_FOLDER_MODE);
      await this.applyMode(name, version, artifact, () => setTreeModes(temp, mode));
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      if (e instanceof DeploymentError) throw e;
      const what = e instanceof UnsafeZipEntryError ? `it holds an unsafe entry (${e.message})` : (e as Error).message;
      throw new DeploymentError(`Artifact ${artifact.Uri} of component ${name} version ${version} could not be unarchived: ${what}`, ['ARTIFACT_DOWNLOAD_ERROR', 'IO_UNZIP_ERROR'], { cause: e });
    }
    const old = `${temp}.old`;
    if (await exists(dest)) await rename(dest, old);
    await rename(temp, dest);
    await syncDirectory(base);
    await rm(old, { recursive: true, force: true });
  }

  private async applyMode(name: string, version: string, artifact: Artifact, apply: () => Promise<void>): Promise<void> {
    try {
      await apply();
    } catch (e) {
      throw new DeploymentError(`The permissions of artifact ${artifact.Uri} of component ${name} version ${version} could not be set: ${(e as Error).message}`, ['ARTIFACT_DOWNLOAD_ERROR', 'SET_PERMISSION_ERROR'], { cause: e });
    }
  }

  /** Creates a folder (and the ones above it, up to the root) and gives it `mode` whatever the umask. */
  private async ensureFolder(dir: string, mode: number): Promise<void> {
    await mkdir(dir, { recursive: true, mode });
    await chmod(dir, mode);
  }
}

/** The nucleus names recipe files by the URL-safe base64 (no padding) SHA-256 of the component name. */
function nameHash(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('base64url');
}

async function writeIfChanged(file: string, text: string): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current !== text) await writeFileAtomic(file, text);
}

/** Base64 SHA-256 of a file, or undefined when it cannot be read. */
async function fileDigest(file: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('base64');
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Temporary files or folders of an earlier attempt that was cut short. */
async function removeLeftovers(dir: string, prefix: string, suffix: string): Promise<void> {
  for (const entry of await readdir(dir).catch(ifMissing([] as string[]))) {
    if (entry.startsWith(prefix) && (entry.endsWith(suffix) || entry.endsWith(`${suffix}.old`))) {
      await rm(path.join(dir, entry), { recursive: true, force: true });
    }
  }
}

/** Files get `fileMode`, folders ARTIFACT_FOLDER_MODE, all the way down. */
async function setTreeModes(dir: string, fileMode: number): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await setTreeModes(p, fileMode);
    else await chmod(p, fileMode);
  }
  await chmod(dir, ARTIFACT_FOLDER_MODE);
}

function ifMissing<T>(value: T) {
  return (e: NodeJS.ErrnoException): T => {
    if (e.code === 'ENOENT') return value;
    throw e;
  };
}
