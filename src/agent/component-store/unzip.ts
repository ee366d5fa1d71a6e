// Unpacks a ZIP artifact (Unarchive: ZIP) with yauzl, which reads the central directory and refuses entry names
// that are absolute or climb with `..`; every path is checked again here against the destination, so no entry can
// land outside it (zip-slip). Entries are written as plain files and folders: a symbolic-link entry becomes a file
// holding the link's text, never a link.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

export class UnsafeZipEntryError extends Error {}

/** Unpacks `zipFile` into `destDir` (created). Files get `fileMode`, folders `folderMode`. */
export async function unzipInto(zipFile: string, destDir: string, fileMode: number, folderMode: number): Promise<void> {
  const root = path.resolve(destDir);
  await mkdir(root, { recursive: true, mode: folderMode });
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipFile, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true });
  } catch (e) {
    throw asUnsafe(e);
  }
  try {
    for await (const entry of eachEntry(zip)) {
      const target = path.resolve(root, entry.fileName);
      if (target !== root && !target.startsWith(root + path.sep)) {
        throw new UnsafeZipEntryError(`entry ${entry.fileName} would be written outside ${root}`);
      }
      if (entry.fileName.endsWith('/')) {
        await mkdir(target, { recursive: true, mode: folderMode });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true, mode: folderMode });
      // Written with the owner's write bit so a later entry of the same name can replace it; modes are set after.
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target, { mode: fileMode | 0o200 }));
    }
  } finally {
    zip.close();
  }
}

/** yauzl's entry iterator, with its name-validation errors told apart from I/O ones. */
async function* eachEntry(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  const entries = zip.eachEntry();
  for (;;) {
    let next: IteratorResult<yauzl.Entry>;
    try {
      next = await entries.next();
    } catch (e) {
      throw asUnsafe(e);
    }
    if (next.done) return;
    yield next.value;
  }
}

function asUnsafe(e: unknown): Error {
  const message = (e as Error)?.message ?? String(e);
  return /invalid relative path|absolute path|invalid characters in fileName/.test(message) ? new UnsafeZipEntryError(message) : (e as Error);
}
