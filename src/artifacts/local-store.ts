// The artifact store on the local disk, under <MEADOW_DATA_DIR>/artifacts/:
//   buckets/<bucket>/bucket.json                 the bucket (name, creation date)
//   buckets/<bucket>/objects/<a>.d/<b>.d/<c>.json the metadata of key `a/b/c` (etag, size, sha256, ...)
//   buckets/<bucket>/objects/<a>.d/<b>.d/<c>.<version>.obj   its bytes, named by the metadata
//   uploads/<uploadId>/upload.json, <n>.json, <n>.<version>.part   multipart uploads in progress
//   tmp/                                          files being written (a day-old leftover is swept at open)
// Every file is written under tmp/ and renamed into place, and an object's metadata file is renamed last:
// it names the data file, so a reader sees the old object or the new one, and a crash never leaves half an
// object. Suffixes keep directories (.d), metadata (.json) and data (.obj) apart, so keys `a` and `a/b` can
// both exist, and no key can name a path outside its bucket.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import {
  ArtifactError,
  checkBucketName,
  checkKey,
  checkPartNumber,
  DEFAULT_CONTENT_TYPE,
  MAX_KEYS,
  MIN_PART_SIZE,
  multipartEtag,
  resolveRange,
  bareEtag,
  type ArtifactStore,
  type BucketInfo,
  type ByteRange,
  type CompletedPart,
  type ListObjectsOptions,
  type ListObjectsResult,
  type ObjectBody,
  type ObjectInfo,
  type PutResult,
} from './artifact-store.js';

interface ObjectMeta {
  key: string;
  size: number;
  etag: string;
  sha256: string;
  contentType: string;
  lastModified: string;
  /** The data file's name, in the metadata file's directory. */
  data: string;
}

interface UploadMeta {
  bucket: string;
  key: string;
  contentType: string;
  initiated: string;
}

interface PartMeta {
  etag: string;
  size: number;
  data: string;
}

interface TempFile {
  path: string;
  size: number;
  md5Hex: string;
  sha256Base64: string;
}

/** Longest '/'-separated part of a key, in bytes: file names stop at 255 and we add a suffix. */
const MAX_SEGMENT_BYTES = 200;

const isNotFound = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT' || (e as NodeJS.ErrnoException)?.code === 'ENOTDIR';

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Compares keys by their UTF-8 bytes, the order S3 lists them in. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local';
  private readonly root: string;
  private readonly tmpDir: string;

  private constructor(root: string) {
    this.root = resolve(root);
    this.tmpDir = join(this.root, 'tmp');
  }

  static async open(root: string): Promise<LocalArtifactStore> {
    const store = new LocalArtifactStore(root);
    for (const dir of ['buckets', 'uploads', 'tmp']) await mkdir(join(store.root, dir), { recursive: true });
    await store.sweepTmp();
    return store;
  }

  /** Removes what a crash left half-written under tmp/; only old files, as another process may be writing. */
  private async sweepTmp(): Promise<void> {
    const dayAgo = Date.now() - 24 * 3600 * 1000;
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < dayAgo) await rm(path, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {}

  // ---- buckets

  async createBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    // Built aside and renamed into place: renaming onto an existing bucket fails, so creation is atomic.
    const staging = join(this.tmpDir, `bucket-${randomBytes(8).toString('hex')}`);
    await mkdir(join(staging, 'objects'), { recursive: true });
    await this.writeJsonAtomic(join(staging, 'bucket.json'), { name: bucket, creationDate: new Date().toISOString() });
    try {
      await rename(staging, this.bucketDir(bucket));
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') {
        throw new ArtifactError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: bucket });
      }
      throw e;
    }
  }

  async headBucket(bucket: string): Promise<void> {
    await this.bucketInfo(bucket);
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const names = (await readdir(join(this.root, 'buckets'))).sort(byteOrder);
    const infos = await Promise.all(names.map((n) => this.bucketInfo(n).catch(() => undefined)));
    return infos.filter((b): b is BucketInfo => b !== undefined);
  }

  async deleteBucket(bucket: string): Promise<void> {
    await this.bucketInfo(bucket);
    if (await this.containsObject(join(this.bucketDir(bucket), 'objects'))) {
      throw new ArtifactError('BucketNotEmpty', 'The bucket you tried to delete is not empty.', { BucketName: bucket });
    }
    // Renamed away first so the bucket disappears at once, then removed at leisure.
    const doomed = join(this.tmpDir, `deleted-${randomBytes(8).toString('hex')}`);
    await rename(this.bucketDir(bucket), doomed);
    await rm(doomed, { recursive: true, force: true });
  }

  private bucketDir(bucket: string): string {
    checkBucketName(bucket);
    return join(this.root, 'buckets', bucket);
  }

  private async bucketInfo(bucket: string): Promise<BucketInfo> {
    const b = await readJson<{ name: string; creationDate: string }>(join(this.bucketDir(bucket), 'bucket.json'));
    if (!b) throw new ArtifactError('NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket });
    return { name: b.name, creationDate: new Date(b.creationDate) };
  }

  private async containsObject(dir: string): Promise<boolean> {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isFile() && entry.name.endsWith('.json')) return true;
      if (entry.isDirectory() && (await this.containsObject(join(dir, entry.name)))) return true;
    }
    return false;
  }

  // ---- objects

  /** Where key's metadata lives: each '/'-separated part but the last becomes a `<part>.d` directory. */
  private objectPaths(bucket: string, key: string): { dir: string; base: string; meta: string } {
    checkKey(key);
    const segments = key.split('/');
    for (const s of segments) {
      if (s === '.' || s === '..') {
        throw new ArtifactError('InvalidArgument', `Object key '${key}' has a '${s}' path segment; meadow refuses keys that could name another directory.`, {
          ArgumentName: 'key',
        });
      }
      if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES || s.includes('\0')) {
        throw new ArtifactError('InvalidArgument', `Each '/'-separated part of an object key must be at most ${MAX_SEGMENT_BYTES} bytes without NUL characters; '${key.slice(0, 64)}' is not.`, {
          ArgumentName: 'key',
        });
      }
    }
    const objectsDir = join(this.bucketDir(bucket), 'objects');
    const base = segments[segments.length - 1];
    const dir = join(objectsDir, ...segments.slice(0, -1).map((s) => `${s}.d`));
    const meta = join(dir, `${base}.json`);
    // The suffixes already rule escapes out; this states the invariant where it matters.
    if (!meta.startsWith(objectsDir + sep)) throw new ArtifactError('InvalidArgument', `Object key '${key}' names a path outside its bucket.`, { ArgumentName: 'key' });
    return { dir, base, meta };
  }

  async putObject(bucket: string, key: string, body: Readable, opts: { contentType?: string } = {}): Promise<PutResult> {
    const paths = this.objectPaths(bucket, key);
    await this.bucketInfo(bucket);
    const tmp = await this.writeTemp(body);
    return this.commitObject(bucket, key, paths, tmp, tmp.md5Hex, opts.contentType);
  }

  private async commitObject(
    bucket: string,
    key: string,
    paths: { dir: string; base: string; meta: string },
    tmp: TempFile,
    etag: string,
    contentType: string | undefined,
  ): Promise<PutResult> {
    try {
      await this.bucketInfo(bucket); // the bucket may have gone while the body arrived
      const meta = { key, size: tmp.size, etag, sha256: tmp.sha256Base64, contentType: contentType || DEFAULT_CONTENT_TYPE, lastModified: new Date().toISOString() };
      await this.commitVersioned(paths.dir, paths.base, '.obj', paths.meta, tmp.path, meta);
    } catch (e) {
      await rm(tmp.path, { force: true });
      throw e;
    }
    return { etag, size: tmp.size, sha256Base64: tmp.sha256Base64 };
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo> {
    const { meta } = await this.readObjectMeta(bucket, key);
    return toInfo(meta);
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<ObjectBody> {
    // A concurrent overwrite may remove the data file between reading the metadata and opening it: read again.
    for (let attempt = 0; ; attempt++) {
      const { meta, dir } = await this.readObjectMeta(bucket, key);
      let file;
      try {
        file = await open(join(dir, meta.data), 'r');
      } catch (e) {
        if (isNotFound(e) && attempt === 0) continue;
        throw e;
      }
      try {
        const span = range ? resolveRange(range, meta.size) : undefined;
        // An open file stays readable even if an overwrite unlinks it meanwhile.
        const stream = file.createReadStream(span ? { start: span.start, end: span.end } : {});
        return { ...toInfo(meta), stream, range: span };
      } catch (e) {
        await file.close();
        throw e;
      }
    }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const paths = this.objectPaths(bucket, key);
    await this.bucketInfo(bucket);
    const meta = await readJson<ObjectMeta>(paths.meta);
    if (!meta) return;
    await rm(paths.meta, { force: true });
    await rm(join(paths.dir, meta.data), { force: true });
  }

  async digest(bucket: string, key: string): Promise<string> {
    return (await this.readObjectMeta(bucket, key)).meta.sha256;
  }

  private async readObjectMeta(bucket: string, key: string): Promise<{ meta: ObjectMeta; dir: string }> {
    const paths = this.objectPaths(bucket, key);
    const meta = await readJson<ObjectMeta>(paths.meta);
    if (!meta) {
      await this.bucketInfo(bucket);
      throw new ArtifactError('NoSuchKey', 'The specified key does not exist.', { Key: key });
    }
    return { meta, dir: paths.dir };
  }

  async listObjectsV2(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    await this.bucketInfo(bucket);
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter || undefined;
    const maxKeys = Math.min(opts.maxKeys ?? MAX_KEYS, MAX_KEYS);
    const resume = opts.continuationToken !== undefined ? decodeListToken(opts.continuationToken) : undefined;
    const after = resume?.after ?? opts.startAfter ?? '';

    // Only the directory the prefix points into needs walking.
    const prefixDir = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    let startDir: string;
    try {
      startDir = prefixDir ? this.objectPaths(bucket, `${prefixDir}x`).dir : join(this.bucketDir(bucket), 'objects');
    } catch {
      return { objects: [], commonPrefixes: [], isTruncated: false }; // a prefix no stored key can have
    }
    const keys = (await this.walkKeys(startDir, prefixDir)).filter((k) => k.startsWith(prefix));
    keys.sort(byteOrder);

    const emitted: { item: string; isPrefix: boolean }[] = [];
    let isTruncated = false;
    for (const key of keys) {
      if (after && byteOrder(key, after) <= 0) continue;
      // A page that ended on a common prefix has listed everything under it.
      if (resume?.isPrefix && key.startsWith(resume.after)) continue;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      const item = cut >= 0 ? key.slice(0, cut + delimiter!.length) : key;
      const last = emitted[emitted.length - 1];
      if (cut >= 0 && last?.isPrefix && last.item === item) continue;
      if (emitted.length === maxKeys) {
        isTruncated = maxKeys > 0;
        break;
      }
      emitted.push({ item, isPrefix: cut >= 0 });
    }

    const metas = await Promise.all(
      emitted.filter((e) => !e.isPrefix).map((e) => this.readObjectMeta(bucket, e.item).then((m) => m.meta, () => undefined)),
    );
    const lastEmitted = emitted[emitted.length - 1];
    return {
      objects: metas.filter((m): m is ObjectMeta => m !== undefined).map(toInfo),
      commonPrefixes: emitted.filter((e) => e.isPrefix).map((e) => e.item),
      isTruncated,
      nextContinuationToken: isTruncated ? encodeListToken(lastEmitted.item, lastEmitted.isPrefix) : undefined,
    };
  }

  /** Every key stored under dir, whose keys all start with keyPrefix. */
  private async walkKeys(dir: string, keyPrefix: string): Promise<string[]> {
    const out: string[] = [];
    const entries = await readdir(dir, { withFileTypes: true }).catch((e) => {
      if (isNotFound(e)) return [];
      throw e;
    });
    for (const entry of entries) {
      if (entry.isDirectory() && entry.name.endsWith('.d')) {
        out.push(...(await this.walkKeys(join(dir, entry.name), `${keyPrefix}${entry.name.slice(0, -2)}/`)));
      } else if (entry.isFile() && entry.name.endsWith('.json')) {
        out.push(keyPrefix + entry.name.slice(0, -5));
      }
    }
    return out;
  }

  // ---- multipart uploads

  async createMultipartUpload(bucket: string, key: string, opts: { contentType?: string } = {}): Promise<{ uploadId: string }> {
    this.objectPaths(bucket, key);
    await this.bucketInfo(bucket);
    const uploadId = randomBytes(16).toString('hex');
    await mkdir(this.uploadDir(uploadId));
    const meta: UploadMeta = { bucket, key, contentType: opts.contentType || DEFAULT_CONTENT_TYPE, initiated: new Date().toISOString() };
    await this.writeJsonAtomic(join(this.uploadDir(uploadId), 'upload.json'), meta);
    return { uploadId };
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Readable): Promise<{ etag: string }> {
    checkPartNumber(partNumber);
    await this.readUpload(bucket, key, uploadId);
    const tmp = await this.writeTemp(body);
    const dir = this.uploadDir(uploadId);
    try {
      await this.readUpload(bucket, key, uploadId); // it may have been completed or aborted meanwhile
      await this.commitVersioned(dir, String(partNumber), '.part', join(dir, `${partNumber}.json`), tmp.path, { etag: tmp.md5Hex, size: tmp.size });
    } catch (e) {
      await rm(tmp.path, { force: true });
      throw e;
    }
    return { etag: tmp.md5Hex };
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: CompletedPart[]): Promise<PutResult> {
    const upload = await this.readUpload(bucket, key, uploadId);
    if (parts.length === 0) {
      throw new ArtifactError('InvalidArgument', 'You must specify at least one part to complete a multipart upload.', { ArgumentName: 'Part' });
    }
    const dir = this.uploadDir(uploadId);
    const chosen: PartMeta[] = [];
    for (const [i, part] of parts.entries()) {
      if (i > 0 && part.partNumber <= parts[i - 1].partNumber) {
        throw new ArtifactError('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.', {
          UploadId: uploadId,
        });
      }
      const stored = Number.isInteger(part.partNumber) ? await readJson<PartMeta>(join(dir, `${part.partNumber}.json`)) : undefined;
      if (!stored || stored.etag !== bareEtag(part.etag)) {
        throw new ArtifactError('InvalidPart', `Part ${part.partNumber} could not be found, or its ETag does not match the one given.`, {
          UploadId: uploadId,
          PartNumber: String(part.partNumber),
          ETag: part.etag,
        });
      }
      if (i < parts.length - 1 && stored.size < MIN_PART_SIZE) {
        throw new ArtifactError('EntityTooSmall', `Your proposed upload is smaller than the minimum allowed size: part ${part.partNumber} is ${stored.size} bytes; every part but the last must be at least 5 MiB.`, {
          PartNumber: String(part.partNumber),
          ProposedSize: String(stored.size),
          MinSizeAllowed: String(MIN_PART_SIZE),
        });
      }
      chosen.push(stored);
    }
    const files = chosen.map((p) => join(dir, p.data));
    const tmp = await this.writeTemp(Readable.from(concatFiles(files)));
    const result = await this.commitObject(bucket, key, this.objectPaths(bucket, key), tmp, multipartEtag(chosen.map((p) => p.etag)), upload.contentType);
    await rm(dir, { recursive: true, force: true });
    return result;
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.readUpload(bucket, key, uploadId);
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  private uploadDir(uploadId: string): string {
    return join(this.root, 'uploads', uploadId);
  }

  private async readUpload(bucket: string, key: string, uploadId: string): Promise<UploadMeta> {
    const upload = /^[0-9a-f]{32}$/.test(uploadId) ? await readJson<UploadMeta>(join(this.uploadDir(uploadId), 'upload.json')) : undefined;
    if (!upload || upload.bucket !== bucket || upload.key !== key) {
      await this.bucketInfo(bucket);
      throw new ArtifactError('NoSuchUpload', 'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
        UploadId: uploadId,
      });
    }
    return upload;
  }

  // ---- files

  /** Writes a stream to a new file under tmp/, hashing it on the way, and syncs it to disk. */
  private async writeTemp(body: Readable): Promise<TempFile> {
    const path = join(this.tmpDir, randomBytes(12).toString('hex'));
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    let size = 0;
    const file = await open(path, 'wx');
    try {
      for await (const data of body) {
        const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
        md5.update(chunk);
        sha256.update(chunk);
        size += chunk.length;
        for (let at = 0; at < chunk.length; ) at += (await file.write(chunk, at)).bytesWritten;
      }
      await file.sync();
    } catch (e) {
      await file.close();
      await rm(path, { force: true });
      throw e;
    }
    await file.close();
    return { path, size, md5Hex: md5.digest('hex'), sha256Base64: sha256.digest('base64') };
  }

  /**
   * Moves a finished temp file next to its metadata under a fresh name, then replaces the metadata (the commit
   * point), then removes the data file the old metadata named.
   */
  private async commitVersioned(dir: string, base: string, suffix: string, metaPath: string, tmpPath: string, meta: object): Promise<void> {
    await mkdir(dir, { recursive: true });
    const data = `${base}.${randomBytes(8).toString('hex')}${suffix}`;
    await rename(tmpPath, join(dir, data));
    const previous = await readJson<{ data?: string }>(metaPath);
    await this.writeJsonAtomic(metaPath, { ...meta, data });
    if (previous?.data && previous.data !== data) await rm(join(dir, previous.data), { force: true });
  }

  private async writeJsonAtomic(path: string, value: object): Promise<void> {
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'));
    const file = await open(tmp, 'wx');
    try {
      await file.writeFile(JSON.stringify(value));
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}

function toInfo(meta: ObjectMeta): ObjectInfo {
  return {
    key: meta.key,
    size: meta.size,
    etag: meta.etag,
    contentType: meta.contentType,
    lastModified: new Date(meta.lastModified),
    sha256Base64: meta.sha256,
  };
}

async function* concatFiles(paths: string[]): AsyncGenerator<Buffer> {
  for (const path of paths) yield* createReadStream(path);
}

// Continuation tokens are opaque to clients; inside, the last key or common prefix the previous page held.
function encodeListToken(after: string, isPrefix: boolean): string {
  return Buffer.from(JSON.stringify({ a: after, p: isPrefix })).toString('base64url');
}

function decodeListToken(token: string): { after: string; isPrefix: boolean } {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof v?.a === 'string' && typeof v?.p === 'boolean') return { after: v.a, isPrefix: v.p };
  } catch {
    // fall through
  }
  throw new ArtifactError('InvalidArgument', 'The continuation token provided is incorrect.', { ArgumentName: 'continuation-token', ArgumentValue: token.slice(0, 64) });
}

