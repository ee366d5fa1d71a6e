/** The file an artifact becomes in the artifacts folder: the last path segment of its URI (after the scheme). */
export function artifactFileName(uri: string): string {
  const afterScheme = uri.slice(uri.indexOf(':') + 1);
  return afterScheme.slice(afterScheme.lastIndexOf('/') + 1);
}
