// The artifact store in an external S3-compatible store (MEADOW_S3_ENDPOINT), through @aws-sdk/client-s3 with
// path-style addressing. Buckets and keys map one to one. Objects are uploaded with a SHA-256 checksum, so
// the store can hand the digest back without reading the object again.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  ArtifactError,
  bareEtag,
  checkBucketName,
  checkKey,
  checkPartNumber,
  DEFAULT_CONTENT_TYPE,
  formatRange,
  MAX_KEYS,
  type ArtifactErrorCode,
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

export interface S3StoreOptions {
  endpoint: string;
  region: string;
  /** Unset: the AWS SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where a body of unknown length is written first, as S3 needs the length up front. */
  spoolDir: string;
}

const PASSED_ON: ReadonlySet<string> = new Set<ArtifactErrorCode>([
  'NoSuchBucket',
  'NoSuchKey',
  'NoSuchUpload',
  'BucketAlreadyOwnedByYou',
  'BucketAlreadyExists',
  'BucketNotEmpty',
  'InvalidBucketName',
  'KeyTooLongError',
  'InvalidArgument',
  'InvalidPart',
  'InvalidPartOrder',
  'EntityTooSmall',
  'InvalidRange',
]);

/** The store's S3 errors become the same ArtifactErrors the local store raises; anything else passes as is. */
function translate(e: unknown, details: Record<string, string>): unknown {
  const err = e as { name?: string; message?: string; ActualObjectSize?: unknown };
  if (err?.name && PASSED_ON.has(err.name)) {
    const extra: Record<string, string> = typeof err.ActualObjectSize === 'string' ? { ActualObjectSize: err.ActualObjectSize } : {};
    return new ArtifactError(err.name as ArtifactErrorCode, err.message ?? err.name, { ...details, ...extra });
  }
  return e;
}

const isNotFound = (e: unknown) => (e as { name?: string })?.name === 'NotFound' || (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

/** A whole-object SHA-256 from a checksum header: composite (per-part) checksums end in `-<parts>`. */
const fullObjectSha256 = (checksum: string | undefined, type: string | undefined) =>
  checksum && !checksum.includes('-') && type !== 'COMPOSITE' ? checksum : undefined;

export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  /** Digests computed by reading an object, by bucket, key and ETag (a new object has a new ETag). */
  private readonly digests = new Map<string, string>();

  constructor(private readonly opts: S3StoreOptions) {
    this.client = new S3Client({ endpoint: opts.endpoint, region: opts.region, forcePathStyle: true, credentials: opts.credentials });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  async createBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    await this.call(() => this.client.send(new CreateBucketCommand({ Bucket: bucket })), { BucketName: bucket });
  }

  async headBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (e) {
      if (isNotFound(e)) throw noSuchBucket(bucket);
      throw translate(e, { BucketName: bucket });
    }
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const out = await this.call(() => this.client.send(new ListBucketsCommand({})), {});
    return (out.Buckets ?? []).map((b) => ({ name: b.Name!, creationDate: b.CreationDate ?? new Date(0) }));
  }

  async deleteBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    await this.call(() => this.client.send(new DeleteBucketCommand({ Bucket: bucket })), { BucketName: bucket });
  }

  async putObject(bucket: string, key: string, body: Readable, opts: { contentType?: string; contentLength?: number } = {}): Promise<PutResult> {
    checkBucketName(bucket);
    checkKey(key);
    const sha256 = createHash('sha256');
    const sized = await this.withLength(body, opts.contentLength);
    try {
      const out = await this.call(
        (abortSignal) =>
          this.client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: isolate(sized.stream, (chunk) => sha256.update(chunk)),
              ContentLength: sized.length,
              ContentType: opts.contentType || DEFAULT_CONTENT_TYPE,
              ChecksumAlgorithm: 'SHA256',
            }),
            { abortSignal },
          ),
        { BucketName: bucket, Key: key },
        sized.stream,
      );
      return { etag: bareEtag(out.ETag ?? ''), size: sized.length, sha256Base64: sha256.digest('base64') };
    } finally {
      await sized.cleanup();
    }
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo> {
    checkBucketName(bucket);
    checkKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: bareEtag(out.ETag ?? ''),
        contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
        lastModified: out.LastModified ?? new Date(0),
        sha256Base64: fullObjectSha256(out.ChecksumSHA256, out.ChecksumType),
      };
    } catch (e) {
      // A HEAD answer has no body to say which is missing: ask about the bucket.
      if (isNotFound(e)) {
        await this.headBucket(bucket);
        throw new ArtifactError('NoSuchKey', 'The specified key does not exist.', { Key: key });
      }
      throw translate(e, { BucketName: bucket, Key: key });
    }
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<ObjectBody> {
    checkBucketName(bucket);
    checkKey(key);
    const out = await this.call(
      () =>
        this.client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: range ? formatRange(range) : undefined, ChecksumMode: range ? undefined : 'ENABLED' }),
        ),
      { BucketName: bucket, Key: key },
    );
    const span = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(out.ContentRange ?? '');
    return {
      key,
      size: span ? Number(span[3]) : (out.ContentLength ?? 0),
      etag: bareEtag(out.ETag ?? ''),
      contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
      lastModified: out.LastModified ?? new Date(0),
      sha256Base64: fullObjectSha256(out.ChecksumSHA256, out.ChecksumType),
      stream: out.Body as Readable,
      range: span ? { start: Number(span[1]), end: Number(span[2]) } : undefined,
    };
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    checkBucketName(bucket);
    checkKey(key);
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })), { BucketName: bucket, Key: key });
  }

  async listObjectsV2(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    checkBucketName(bucket);
    const out = await this.call(
      () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: opts.prefix || undefined,
            Delimiter: opts.delimiter || undefined,
            ContinuationToken: opts.continuationToken,
            StartAfter: opts.startAfter,
            MaxKeys: Math.min(opts.maxKeys ?? MAX_KEYS, MAX_KEYS),
          }),
        ),
      { BucketName: bucket },
    );
    return {
      objects: (out.Contents ?? []).map((o) => ({
        key: o.Key!,
        size: o.Size ?? 0,
        etag: bareEtag(o.ETag ?? ''),
        contentType: DEFAULT_CONTENT_TYPE, // listings do not say; headObject does
        lastModified: o.LastModified ?? new Date(0),
      })),
      commonPrefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix!),
      isTruncated: out.IsTruncated ?? false,
      nextContinuationToken: out.IsTruncated ? out.NextContinuationToken : undefined,
    };
  }

  async createMultipartUpload(bucket: string, key: string, opts: { contentType?: string } = {}): Promise<{ uploadId: string }> {
    checkBucketName(bucket);
    checkKey(key);
    const out = await this.call(
      () => this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: opts.contentType || DEFAULT_CONTENT_TYPE })),
      { BucketName: bucket, Key: key },
    );
    return { uploadId: out.UploadId! };
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Readable, opts: { contentLength?: number } = {}): Promise<{ etag: string }> {
    checkPartNumber(partNumber);
    const sized = await this.withLength(body, opts.contentLength);
    try {
      const out = await this.call(
        (abortSignal) =>
          this.client.send(
            new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: isolate(sized.stream), ContentLength: sized.length }),
            { abortSignal },
          ),
        { BucketName: bucket, Key: key, UploadId: uploadId },
        sized.stream,
      );
      return { etag: bareEtag(out.ETag ?? '') };
    } finally {
      await sized.cleanup();
    }
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: CompletedPart[]): Promise<PutResult> {
    const out = await this.call(
      () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${bareEtag(p.etag)}"` })) },
          }),
        ),
      { BucketName: bucket, Key: key, UploadId: uploadId },
    );
    const head = await this.headObject(bucket, key);
    return { etag: bareEtag(out.ETag ?? head.etag), size: head.size, sha256Base64: head.sha256Base64 };
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.call(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })), {
      BucketName: bucket,
      Key: key,
      UploadId: uploadId,
    });
  }

  async digest(bucket: string, key: string): Promise<string> {
    const head = await this.headObject(bucket, key);
    if (head.sha256Base64) return head.sha256Base64;
    const cacheKey = `${bucket}\n${key}\n${head.etag}`;
    const cached = this.digests.get(cacheKey);
    if (cached) return cached;
    // Assembled from parts, or stored by another client: the only way to know is to read it.
    const object = await this.getObject(bucket, key);
    const hash = createHash('sha256');
    for await (const chunk of object.stream) hash.update(chunk);
    const digest = hash.digest('base64');
    if (object.etag === head.etag) {
      if (this.digests.size >= 1000) this.digests.clear();
      this.digests.set(cacheKey, digest);
    }
    return digest;
  }

  /**
   * Runs an SDK call, translating its errors. When a request body failed (it did not verify, or its sender
   * went away), that failure is the one to report, not the SDK's view of the aborted upload.
   */
  private async call<T>(send: (abortSignal: AbortSignal) => Promise<T>, details: Record<string, string>, body?: Readable): Promise<T> {
    const abort = new AbortController();
    let bodyError: unknown;
    // A failed body would leave the upload waiting for bytes that never come: abort it.
    body?.once('error', (e) => {
      bodyError = e;
      abort.abort();
    });
    try {
      return await send(abort.signal);
    } catch (e) {
      throw bodyError ?? translate(e, details);
    }
  }

  /** S3 needs a body's length before it: a stream of unknown length is written to a spool file first. */
  private async withLength(body: Readable, length: number | undefined): Promise<{ stream: Readable; length: number; cleanup: () => Promise<void> }> {
    if (length !== undefined) return { stream: body, length, cleanup: async () => {} };
    await mkdir(this.opts.spoolDir, { recursive: true });
    const path = join(this.opts.spoolDir, `spool-${randomBytes(12).toString('hex')}`);
    const file = await open(path, 'wx');
    let size = 0;
    try {
      for await (const chunk of body) {
        const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        size += data.length;
        for (let at = 0; at < data.length; ) at += (await file.write(data, at)).bytesWritten;
      }
    } catch (e) {
      await file.close();
      await rm(path, { force: true });
      throw e;
    }
    await file.close();
    return { stream: createReadStream(path), length: size, cleanup: () => rm(path, { force: true }) };
  }
}

function noSuchBucket(bucket: string): ArtifactError {
  return new ArtifactError('NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket });
}

/**
 * The bytes of `source` for the SDK to send, shown to `see` on the way. Errors stay on the source, where
 * call() turns them into an aborted request: the SDK wraps bodies in streams of its own that do not always
 * listen for errors, and an error reaching one of those would be an uncaught exception.
 */
function isolate(source: Readable, see?: (chunk: Buffer) => void): Readable {
  const through = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      see?.(chunk);
      done(null, chunk);
    },
  });
  return source.pipe(through);
}
