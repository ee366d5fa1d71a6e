// Durable file writes for the agent's state: a file is written whole and fsynced before anything points at it, and
// replaced only by rename (atomic on POSIX file systems), with the directory fsynced so the new name survives a crash.
// A reader therefore sees the old file or the new one, never part of either.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temporary files are named `<name>.<random>.tmp`, so a crashed write leaves nothing that looks like a real file. */
export const TEMP_SUFFIX = '.tmp';

/** Writes `data` to a new file (which must not exist) and fsyncs it. The directory entry is not synced yet. */
export async function writeNewFileSynced(path: string, data: string | Buffer): Promise<void> {
  const file = await open(path, 'wx', 0o600);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Makes the directory's entries (files created, renamed or removed in it) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data`: temporary file, fsync, rename over `path`, fsync the directory. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const temp = join(dirname(path), `${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  try {
    await writeNewFileSynced(temp, data);
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await syncDirectory(dirname(path));
}
