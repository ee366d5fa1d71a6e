import { DEFAULT_PERMISSION, type ArtifactPermission, type PermissionLevel } from './types.js';

/** The file an artifact becomes in the artifacts folder: the last path segment of its URI (after the scheme). */
export function artifactFileName(uri: string): string {
  const afterScheme = uri.slice(uri.indexOf(':') + 1);
  return afterScheme.slice(afterScheme.lastIndexOf('/') + 1);
}

/** The folder a ZIP artifact is unpacked into under `{artifacts:decompressedPath}`: its file name without the last extension. */
export function unarchiveFolderName(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? fileName.slice(0, dot) : fileName;
}

/**
 * The file mode an artifact's `Permission` gives its files (and the files unpacked from it): Read and Execute each
 * for nobody, the owner, or everyone; never writable. Folders of the store are always 0o755 (owner rwx, others rx).
 */
export function artifactFileMode(permission: ArtifactPermission | undefined): number {
  const bits = (level: PermissionLevel, owner: number, all: number) => (level === 'ALL' ? all : level === 'OWNER' ? owner : 0);
  const read = permission?.Read ?? DEFAULT_PERMISSION.Read;
  const execute = permission?.Execute ?? DEFAULT_PERMISSION.Execute;
  return bits(read, 0o400, 0o444) | bits(execute, 0o100, 0o111);
}

export const ARTIFACT_FOLDER_MODE = 0o755;

/**
 * The `artifactName` a device asks GetComponentVersionArtifact for: the URI after its scheme (the nucleus sends the
 * scheme-specific part), without the `//` of `s3://`, so `s3://BUCKET/KEY` asks for `BUCKET/KEY` and `greengrass:NAME`
 * for `NAME`.
 */
export function artifactRequestName(uri: string): string {
  return uri.slice(uri.indexOf(':') + 1).replace(/^\/\//, '');
}

/** The scheme of an artifact URI in upper case (`S3`, `GREENGRASS`, `DOCKER`), or undefined when it has none. */
export function artifactScheme(uri: string): string | undefined {
  const colon = uri.indexOf(':');
  return colon > 0 ? uri.slice(0, colon).toUpperCase() : undefined;
}
