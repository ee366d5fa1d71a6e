// The artifact store: buckets of objects, as S3 has them, behind one interface. meadow keeps component
// artifacts here, and its embedded S3 endpoint (src/s3/) serves it to the AWS CLI and SDKs. Two kinds:
// on the local disk (local-store.ts) or in an external S3-compatible store (s3-store.ts).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** Error codes are S3's own, so the S3 endpoint can pass them on unchanged. */
export type ArtifactErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'NoSuchUpload'
  | 'BucketAlreadyOwnedByYou'
  | 'BucketAlreadyExists'
  | 'BucketNotEmpty'
  | 'InvalidBucketName'
  | 'KeyTooLongError'
  | 'InvalidArgument'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'EntityTooSmall'
  | 'InvalidRange';

export class ArtifactError extends Error {
  constructor(
    readonly code: ArtifactErrorCode,
    message: string,
    /** What the error is about (BucketName, Key, UploadId, ActualObjectSize, ...), for S3's error body. */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = `ArtifactError(${code})`;
  }
}

export interface BucketInfo {
  name: string;
  creationDate: Date;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** Without quotes: the hex MD5 of the bytes, or `<md5-of-part-md5s>-<parts>` for a multipart object. */
  etag: string;
  contentType: string;
  lastModified: Date;
  /**
   * Base64 of the raw SHA-256 of the whole object (what a Greengrass recipe's artifact `Digest` holds), when
   * the store knows it without reading the object: always for the local store. `digest()` always answers.
   */
  sha256Base64?: string;
}

export interface PutResult {
  etag: string;
  size: number;
  /** As in ObjectInfo: known unless an external store assembled the object from parts. */
  sha256Base64?: string;
}

/** An HTTP byte range as asked for: `bytes=start-end`, `bytes=start-`, or `bytes=-suffixLength`. */
export type ByteRange = { start: number; end?: number } | { suffixLength: number };

export interface ObjectBody extends ObjectInfo {
  stream: Readable;
  /** The inclusive byte range the stream holds, when a range was asked for. */
  range?: { start: number; end: number };
}

export interface ListObjectsOptions {
  prefix?: string;
  delimiter?: string;
  continuationToken?: string;
  startAfter?: string;
  /** 0 to 1000; more is read as 1000, as S3 does. */
  maxKeys?: number;
}

export interface ListObjectsResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

export interface PutOptions {
  contentType?: string;
  /** The body's length when known; a store that must announce it up front spools the body otherwise. */
  contentLength?: number;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface ArtifactStore {
  readonly kind: 'local' | 's3';
  createBucket(bucket: string): Promise<void>;
  /** Resolves when the bucket exists; NoSuchBucket otherwise. */
  headBucket(bucket: string): Promise<void>;
  listBuckets(): Promise<BucketInfo[]>;
  /** Only an empty bucket can be deleted (BucketNotEmpty otherwise). */
  deleteBucket(bucket: string): Promise<void>;

  /** Stores the whole stream as the object, replacing any object under the key only once all of it arrived. */
  putObject(bucket: string, key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;
  headObject(bucket: string, key: string): Promise<ObjectInfo>;
  getObject(bucket: string, key: string, range?: ByteRange): Promise<ObjectBody>;
  /** Deleting a key that does not exist succeeds, as in S3. */
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjectsV2(bucket: string, opts?: ListObjectsOptions): Promise<ListObjectsResult>;

  createMultipartUpload(bucket: string, key: string, opts?: { contentType?: string }): Promise<{ uploadId: string }>;
  uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Readable, opts?: { contentLength?: number }): Promise<{ etag: string }>;
  completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: CompletedPart[]): Promise<PutResult>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;

  /** Base64 of the raw SHA-256 of the whole object, as Greengrass recipes carry it (`Algorithm: SHA-256`). */
  digest(bucket: string, key: string): Promise<string>;
  close(): Promise<void>;
}

export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';
export const MAX_KEYS = 1000;
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;

/** S3's naming rules for general purpose buckets. */
export function checkBucketName(bucket: string): void {
  const problem =
    bucket.length < 3 || bucket.length > 63
      ? 'must be between 3 and 63 characters long'
      : !/^[a-z0-9.-]+$/.test(bucket)
        ? 'may contain only lowercase letters, digits, dots (.) and hyphens (-)'
        : !/^[a-z0-9].*[a-z0-9]$/.test(bucket)
          ? 'must begin and end with a letter or digit'
          : bucket.includes('..')
            ? 'must not contain two adjacent dots'
            : /^\d+\.\d+\.\d+\.\d+$/.test(bucket)
              ? 'must not be formatted as an IP address'
              : /^(xn--|sthree-)/.test(bucket) || /(-s3alias|--ol-s3)$/.test(bucket)
                ? 'must not use a prefix or suffix S3 reserves'
                : undefined;
  if (problem) throw new ArtifactError('InvalidBucketName', `The specified bucket is not valid: bucket name '${bucket}' ${problem}.`, { BucketName: bucket });
}

export function checkKey(key: string): void {
  if (key.length === 0) throw new ArtifactError('InvalidArgument', 'An object key must not be empty.', { ArgumentName: 'key' });
  if (Buffer.byteLength(key) > 1024) {
    throw new ArtifactError('KeyTooLongError', 'Your key is too long: an object key is at most 1024 bytes of UTF-8.', { Key: key.slice(0, 64) });
  }
}

export function checkPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new ArtifactError('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive.`, {
      ArgumentName: 'partNumber',
      ArgumentValue: String(partNumber),
    });
  }
}

/** The inclusive byte span a range selects in an object of `size` bytes; InvalidRange when it selects nothing. */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } {
  const span =
    'suffixLength' in range
      ? { start: Math.max(0, size - range.suffixLength), end: size - 1 }
      : { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
  const empty = 'suffixLength' in range ? range.suffixLength === 0 || size === 0 : range.start >= size;
  if (empty) {
    throw new ArtifactError('InvalidRange', 'The requested range is not satisfiable.', {
      RangeRequested: formatRange(range).replace('bytes=', 'bytes '),
      ActualObjectSize: String(size),
    });
  }
  return span;
}

/** A `Range: bytes=…` header; anything else (several ranges, other units, nonsense) is ignored, as S3 does. */
export function parseRangeHeader(value: string | undefined): ByteRange | undefined {
  const m = value ? /^bytes=(\d*)-(\d*)$/.exec(value.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { suffixLength: Number(m[2]) };
  const start = Number(m[1]);
  const end = m[2] === '' ? undefined : Number(m[2]);
  return end !== undefined && end < start ? undefined : { start, end };
}

export function formatRange(range: ByteRange): string {
  return 'suffixLength' in range ? `bytes=-${range.suffixLength}` : `bytes=${range.start}-${range.end ?? ''}`;
}

/** ETag of a multipart object: MD5 over the concatenated binary MD5s of its parts, then `-<part count>`. */
export function multipartEtag(partEtags: string[]): string {
  const md5s = Buffer.concat(partEtags.map((e) => Buffer.from(e, 'hex')));
  return `${createHash('md5').update(md5s).digest('hex')}-${partEtags.length}`;
}

/** ETags travel quoted in S3 headers and XML; stores keep them bare. */
export function bareEtag(etag: string): string {
  return etag.replace(/^(W\/)?"(.*)"$/, '$2');
}
