// The embedded S3 endpoint, on the same port as the AWS API, over each kind of artifact store: the local disk,
// and an external S3-compatible store, here played by a second meadow (a real S3-speaking peer). Driven by
// @aws-sdk/client-s3 with default settings (path-style), presigned URLs fetched with plain fetch, requests
// signed by hand where an SDK cannot send them (aws-chunked with chunk signatures), and the AWS CLI v2.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  AbortMultipartUploadCommand,
  BucketAlreadyOwnedByYou,
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
  NoSuchBucket,
  NoSuchKey,
  NoSuchUpload,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type ListObjectsV2CommandInput,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { GetDeploymentCommand, ResourceNotFoundException } from '@aws-sdk/client-greengrassv2';
import { SignatureV4 } from '@smithy/signature-v4';
import { ArtifactError } from '../src/artifacts/artifact-store.js';
import { LocalArtifactStore } from '../src/artifacts/local-store.js';
import { AWS_CLI as AWS, awsCliEnv } from './helpers/aws-cli.js';
import { STORE_KINDS } from './helpers/databases.js';
import { startTestServer, TEST_CREDENTIALS, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
const sha256 = (data: Buffer | string, encoding: 'hex' | 'base64' = 'hex') => createHash('sha256').update(data).digest(encoding);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** The multipart ETag, computed independently: MD5 of the concatenated part MD5s, then `-<parts>`. */
function multipartEtag(parts: Buffer[]): string {
  return `"${md5(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest())))}-${parts.length}"`;
}

/** Asserts an S3 error the SDK raised: its class (or name for unmodelled codes), HTTP status and members. */
async function rejectsWith(p: Promise<unknown>, name: string, status: number, check?: (e: any) => void): Promise<void> {
  await assert.rejects(p, (e: any) => {
    assert.ok(e instanceof S3ServiceException, `not an S3 service error: ${e}`);
    assert.equal(e.name, name, e.message);
    assert.equal(e.$metadata.httpStatusCode, status);
    assert.ok(e.message.length > 0);
    check?.(e);
    return true;
  });
}

async function drain(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** 64 MiB of varied bytes, one MiB at a time, the same on every call. */
function* bigBody(): Generator<Buffer> {
  const seed = createHash('sha512').update('meadow').digest();
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i += seed.length) seed.copy(block, i);
  for (let n = 0; n < 64; n++) {
    const out = Buffer.from(block);
    out.writeUInt32BE(n, 0);
    out.writeUInt32BE(n * 7919, MiB - 4);
    yield out;
  }
}

for (const kind of STORE_KINDS) {
  for (const storeKind of ['local', 's3'] as const) {
    describe(`S3 endpoint over the ${storeKind} artifact store (${kind})`, () => {
      let s: TestServer;
      let upstream: TestServer | undefined;
      let s3: S3Client;
      /** Headers of each request the SDK sent, as signed. */
      const sent: Record<string, string>[] = [];

      before(async () => {
        if (storeKind === 's3') {
          upstream = await startTestServer(kind);
          s = await startTestServer(kind, {
            config: {
              s3Endpoint: upstream.endpoint,
              s3AccessKeyId: TEST_CREDENTIALS.accessKeyId,
              s3SecretAccessKey: TEST_CREDENTIALS.secretAccessKey,
              s3Region: 'us-east-1',
            },
          });
        } else {
          s = await startTestServer(kind);
        }
        assert.equal(s.artifacts.kind, storeKind);
        s3 = new S3Client({ endpoint: s.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
        s3.middlewareStack.add(
          (next) => async (args: any) => {
            sent.push({ ...args.request.headers });
            return next(args);
          },
          { step: 'deserialize', name: 'recordSentHeaders' },
        );
      });
      after(async () => {
        s3.destroy();
        await s.close();
        await upstream?.close();
      });

      it('creates, lists, heads and deletes buckets, with S3 errors for the wrong cases', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'bucket-one' }));
        await s3.send(new CreateBucketCommand({ Bucket: 'bucket-two' }));
        const listed = await s3.send(new ListBucketsCommand({}));
        assert.deepEqual(
          listed.Buckets!.map((b) => b.Name),
          ['bucket-one', 'bucket-two'],
        );
        assert.ok(listed.Buckets!.every((b) => b.CreationDate instanceof Date && Math.abs(b.CreationDate.getTime() - Date.now()) < 3_600_000));

        await s3.send(new HeadBucketCommand({ Bucket: 'bucket-one' }));
        await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })), NotFound);
        await assert.rejects(s3.send(new CreateBucketCommand({ Bucket: 'bucket-one' })), (e: any) => {
          assert.ok(e instanceof BucketAlreadyOwnedByYou);
          assert.equal(e.$metadata.httpStatusCode, 409);
          return true;
        });
        await rejectsWith(s3.send(new CreateBucketCommand({ Bucket: 'Not_Valid' })), 'InvalidBucketName', 400, (e) => {
          assert.equal(e.BucketName, 'Not_Valid');
          assert.match(e.message, /lowercase letters, digits/);
        });

        await s3.send(new PutObjectCommand({ Bucket: 'bucket-two', Key: 'keep.txt', Body: 'x' }));
        await rejectsWith(s3.send(new DeleteBucketCommand({ Bucket: 'bucket-two' })), 'BucketNotEmpty', 409, (e) => assert.equal(e.BucketName, 'bucket-two'));
        await s3.send(new DeleteObjectCommand({ Bucket: 'bucket-two', Key: 'keep.txt' }));
        await s3.send(new DeleteBucketCommand({ Bucket: 'bucket-two' }));
        await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: 'bucket-two' })), NotFound);
        await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'bucket-two', Key: 'keep.txt' })), (e: any) => {
          assert.ok(e instanceof NoSuchBucket);
          assert.equal(e.$metadata.httpStatusCode, 404);
          return true;
        });
        await rejectsWith(s3.send(new DeleteBucketCommand({ Bucket: 'bucket-two' })), 'NoSuchBucket', 404);
        assert.deepEqual(
          (await s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name),
          ['bucket-one'],
        );
      });

      it('refuses a bucket name that one of meadow’s own routes would shadow', async () => {
        await rejectsWith(s3.send(new CreateBucketCommand({ Bucket: 'health' })), 'InvalidBucketName', 400, (e) => assert.match(e.message, /meadow serves '\/health'/));
      });

      it('puts, gets, heads and deletes objects', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'objects' }));
        const text = 'hello, meadow artifacts\n';
        const put = await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt', Body: text, ContentType: 'text/plain' }));
        assert.equal(put.ETag, `"${md5(text)}"`);

        const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt' }));
        assert.equal(await got.Body!.transformToString(), text);
        assert.equal(got.ContentLength, Buffer.byteLength(text));
        assert.equal(got.ContentType, 'text/plain');
        assert.equal(got.ETag, put.ETag);
        assert.ok(got.LastModified instanceof Date && Math.abs(got.LastModified.getTime() - Date.now()) < 3_600_000);

        // With checksums asked for, the whole object's SHA-256 comes back (and the SDK checks the body with it).
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt', ChecksumMode: 'ENABLED' }));
        assert.equal(head.ContentLength, Buffer.byteLength(text));
        assert.equal(head.ETag, put.ETag);
        assert.equal(head.ChecksumSHA256, sha256(text, 'base64'));
        const checked = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt', ChecksumMode: 'ENABLED' }));
        assert.equal(checked.ChecksumSHA256, sha256(text, 'base64'));
        assert.equal(await checked.Body!.transformToString(), text);

        // Overwrite: the new bytes replace the old.
        await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt', Body: 'v2' }));
        assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt' }))).Body!.transformToString(), 'v2');

        // `a` and `a/b` are both keys, as in S3; so is a key with characters that need encoding.
        await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'dir', Body: 'file named like a folder' }));
        const odd = 'dir/with space+plus/ünïcödé #1?.txt';
        await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: odd, Body: 'odd' }));
        assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'dir' }))).Body!.transformToString(), 'file named like a folder');
        assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: odd }))).Body!.transformToString(), 'odd');

        await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt' }));
        await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt' })), (e: any) => {
          assert.ok(e instanceof NoSuchKey);
          assert.equal(e.$metadata.httpStatusCode, 404);
          assert.equal((e as any).Key, 'dir/sub/hello.txt');
          return true;
        });
        await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt' })), NotFound);
        // Deleting what is not there succeeds, as in S3.
        await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'dir/sub/hello.txt' }));
        await rejectsWith(s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'a/../../escape', Body: 'x' })), 'InvalidArgument', 400, (e) =>
          assert.match(e.message, /'\.\.' path segment/),
        );
      });

      it('serves byte ranges with 206 and Content-Range, and refuses unsatisfiable ones with 416', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'ranges' }));
        const data = Buffer.from('0123456789abcdefghij');
        await s3.send(new PutObjectCommand({ Bucket: 'ranges', Key: 'r.bin', Body: data }));
        const cases: [string, string, string][] = [
          ['bytes=2-5', 'bytes 2-5/20', '2345'],
          ['bytes=15-', 'bytes 15-19/20', 'fghij'],
          ['bytes=-3', 'bytes 17-19/20', 'hij'],
          ['bytes=18-99', 'bytes 18-19/20', 'ij'],
        ];
        for (const [range, contentRange, body] of cases) {
          const got = await s3.send(new GetObjectCommand({ Bucket: 'ranges', Key: 'r.bin', Range: range }));
          assert.equal(got.$metadata.httpStatusCode, 206, range);
          assert.equal(got.ContentRange, contentRange, range);
          assert.equal(got.ContentLength, body.length, range);
          assert.equal(await got.Body!.transformToString(), body, range);
        }
        await rejectsWith(s3.send(new GetObjectCommand({ Bucket: 'ranges', Key: 'r.bin', Range: 'bytes=20-' })), 'InvalidRange', 416, (e) => assert.equal(e.ActualObjectSize, '20'));
      });

      it('lists objects with prefix, delimiter, start-after and pagination', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
        const keys = ['a.txt', 'b/1.txt', 'b/2.txt', 'b/c/3.txt', 'b/c/4.txt', 'd e/5+6.txt', 'ü/7.txt', 'b-1.txt'];
        for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'listing', Key: key, Body: key }));
        const byteOrder = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

        async function listAll(input: Omit<ListObjectsV2CommandInput, 'Bucket'>) {
          const contents: string[] = [];
          const prefixes: string[] = [];
          const tokens = new Set<string>();
          let token: string | undefined;
          let pages = 0;
          do {
            const page = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', ...input, ContinuationToken: token }));
            pages++;
            assert.equal(page.KeyCount, (page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0));
            if (input.MaxKeys) assert.ok(page.KeyCount! <= input.MaxKeys);
            contents.push(...(page.Contents ?? []).map((c) => c.Key!));
            prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
            if (token) {
              assert.ok(!tokens.has(token), 'a continuation token came back twice');
              tokens.add(token);
            }
          } while (token);
          return { contents, prefixes, pages };
        }

        const all = await listAll({ MaxKeys: 3 });
        assert.deepEqual(all.contents, byteOrder);
        assert.equal(all.pages, 3);

        const first = await s3.send(new ListObjectsV2Command({ Bucket: 'listing' }));
        const aTxt = first.Contents!.find((c) => c.Key === 'a.txt')!;
        assert.equal(aTxt.Size, 5);
        assert.equal(aTxt.ETag, `"${md5('a.txt')}"`);
        assert.equal(first.IsTruncated, false);

        assert.deepEqual(await listAll({ Prefix: 'b/', Delimiter: '/' }), { contents: ['b/1.txt', 'b/2.txt'], prefixes: ['b/c/'], pages: 1 });
        assert.deepEqual(await listAll({ Delimiter: '/', MaxKeys: 2 }), { contents: ['a.txt', 'b-1.txt'], prefixes: ['b/', 'd e/', 'ü/'], pages: 3 });
        assert.deepEqual((await listAll({ Prefix: 'b/c' })).contents, ['b/c/3.txt', 'b/c/4.txt']);
        assert.deepEqual((await listAll({ StartAfter: 'b/2.txt' })).contents, ['b/c/3.txt', 'b/c/4.txt', 'd e/5+6.txt', 'ü/7.txt']);
        assert.deepEqual((await listAll({ Prefix: 'nothing-here/' })).contents, []);

        await rejectsWith(s3.send(new ListObjectsV2Command({ Bucket: 'listing', ContinuationToken: 'not-a-token' })), 'InvalidArgument', 400);
        await assert.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-listing' })), NoSuchBucket);
      });

      it('assembles a multipart upload, with the S3 multipart ETag, and refuses bad completions', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'multipart' }));
        const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1234)];
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'multipart', Key: 'big/app.zip', ContentType: 'application/zip' }));
        assert.ok(UploadId);
        const etags: string[] = [];
        for (const [i, part] of parts.entries()) {
          const up: { ETag?: string } = await s3.send(new UploadPartCommand({ Bucket: 'multipart', Key: 'big/app.zip', UploadId, PartNumber: i + 1, Body: part }));
          assert.equal(up.ETag, `"${md5(part)}"`);
          etags.push(up.ETag!);
        }
        const complete = (list: { PartNumber: number; ETag: string }[]) =>
          s3.send(new CompleteMultipartUploadCommand({ Bucket: 'multipart', Key: 'big/app.zip', UploadId, MultipartUpload: { Parts: list } }));

        await rejectsWith(complete([{ PartNumber: 1, ETag: etags[0] }, { PartNumber: 2, ETag: `"${md5('other')}"` }]), 'InvalidPart', 400);
        await rejectsWith(complete([{ PartNumber: 2, ETag: etags[1] }, { PartNumber: 1, ETag: etags[0] }]), 'InvalidPartOrder', 400);
        // Every part but the last must be 5 MiB or more; a completion may leave uploaded parts out.
        const extra = await s3.send(new UploadPartCommand({ Bucket: 'multipart', Key: 'big/app.zip', UploadId, PartNumber: 4, Body: 'left out' }));
        await rejectsWith(complete([{ PartNumber: 3, ETag: etags[2] }, { PartNumber: 4, ETag: extra.ETag! }]), 'EntityTooSmall', 400);

        const done = await complete(etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })));
        assert.equal(done.ETag, multipartEtag(parts));
        assert.equal(done.Key, 'big/app.zip');
        const whole = Buffer.concat(parts);
        const got = await s3.send(new GetObjectCommand({ Bucket: 'multipart', Key: 'big/app.zip' }));
        assert.equal(got.ContentType, 'application/zip');
        assert.equal(got.ETag, multipartEtag(parts));
        assert.ok((await drain(got.Body)).equals(whole));
        assert.equal(await s.artifacts.digest('multipart', 'big/app.zip'), sha256(whole, 'base64'));

        // A completed upload is gone; so is an aborted one.
        await rejectsWith(complete([{ PartNumber: 1, ETag: etags[0] }]), 'NoSuchUpload', 404);
        const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'multipart', Key: 'aborted' }));
        await s3.send(new AbortMultipartUploadCommand({ Bucket: 'multipart', Key: 'aborted', UploadId: second.UploadId }));
        await assert.rejects(s3.send(new UploadPartCommand({ Bucket: 'multipart', Key: 'aborted', UploadId: second.UploadId, PartNumber: 1, Body: 'x' })), (e: any) => {
          assert.ok(e instanceof NoSuchUpload);
          assert.equal(e.$metadata.httpStatusCode, 404);
          return true;
        });
        await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'multipart', Key: 'aborted' })), NotFound);
      });

      it('takes a stream body (aws-chunked with a CRC32 trailer) of 64 MiB, past the control plane’s body limit', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'streams' }));
        const hash = createHash('sha256');
        let size = 0;
        for (const block of bigBody()) {
          hash.update(block);
          size += block.length;
        }
        sent.length = 0;
        const put = await s3.send(new PutObjectCommand({ Bucket: 'streams', Key: 'big.bin', Body: Readable.from(bigBody()), ContentLength: size }));
        assert.match(put.ETag!, /^"[0-9a-f]{32}"$/);
        // The SDK sent what this test means to exercise.
        const headers = sent[sent.length - 1];
        assert.equal(headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
        assert.equal(headers['x-amz-trailer'], 'x-amz-checksum-crc32');

        const head = await s3.send(new HeadObjectCommand({ Bucket: 'streams', Key: 'big.bin', ChecksumMode: 'ENABLED' }));
        assert.equal(head.ContentLength, 64 * MiB);
        assert.equal(head.ChecksumSHA256, hash.digest('base64'));
        const tail = await s3.send(new GetObjectCommand({ Bucket: 'streams', Key: 'big.bin', Range: `bytes=${64 * MiB - 4}-` }));
        assert.equal((await drain(tail.Body)).readUInt32BE(0), 63 * 7919);
      });

      it('refuses a body whose checksum does not match, and keeps nothing of it', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'checksums' }));
        await rejectsWith(s3.send(new PutObjectCommand({ Bucket: 'checksums', Key: 'bad', Body: 'some bytes', ChecksumCRC32: 'AAAAAA==' })), 'BadDigest', 400, (e) =>
          assert.match(e.message, /CRC32/),
        );
        await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'checksums', Key: 'bad' })), NotFound);
      });

      it('serves presigned GET and PUT URLs to plain fetch, and refuses tampered or expired ones', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'presigned' }));
        await s3.send(new PutObjectCommand({ Bucket: 'presigned', Key: 'public/app.zip', Body: 'zip bytes' }));
        await s3.send(new PutObjectCommand({ Bucket: 'presigned', Key: 'private/other.txt', Body: 'not for this URL' }));

        const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'presigned', Key: 'public/app.zip' }), { expiresIn: 300 });
        assert.match(url, /X-Amz-Signature=[0-9a-f]{64}/);
        const res = await fetch(url);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'zip bytes');
        const ranged = await fetch(url, { headers: { range: 'bytes=4-' } });
        assert.equal(ranged.status, 206);
        assert.equal(await ranged.text(), 'bytes');

        // The same signature on another key, or a longer lifetime than was signed, is refused.
        for (const tampered of [url.replace('public/app.zip', 'private/other.txt'), url.replace('X-Amz-Expires=300', 'X-Amz-Expires=3000')]) {
          assert.notEqual(tampered, url);
          const refused = await fetch(tampered);
          const body = await refused.text();
          assert.equal(refused.status, 403, body);
          assert.match(body, /<Code>SignatureDoesNotMatch<\/Code>/);
          assert.doesNotMatch(body, /not for this URL/);
        }
        const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'presigned', Key: 'public/app.zip' }), {
          expiresIn: 60,
          signingDate: new Date(Date.now() - 3_600_000),
        });
        const late = await fetch(expired);
        const lateBody = await late.text();
        assert.equal(late.status, 403);
        assert.match(lateBody, /<Code>AccessDenied<\/Code>/);
        assert.match(lateBody, /expired/);

        const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'presigned', Key: 'uploaded.txt' }), { expiresIn: 300 });
        const putRes = await fetch(putUrl, { method: 'PUT', body: 'sent with fetch' });
        assert.equal(putRes.status, 200, await putRes.text());
        assert.equal(putRes.headers.get('etag'), `"${md5('sent with fetch')}"`);
        assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'presigned', Key: 'uploaded.txt' }))).Body!.transformToString(), 'sent with fetch');
      });

      it('refuses a wrong secret or an unknown access key with S3’s errors', async () => {
        const wrongSecret = new S3Client({ endpoint: s.endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'wrong' } });
        const unknownKey = new S3Client({ endpoint: s.endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' } });
        try {
          await rejectsWith(wrongSecret.send(new ListBucketsCommand({})), 'SignatureDoesNotMatch', 403);
          await rejectsWith(unknownKey.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);
          await rejectsWith(wrongSecret.send(new PutObjectCommand({ Bucket: 'objects', Key: 'never', Body: 'x' })), 'SignatureDoesNotMatch', 403);
        } finally {
          wrongSecret.destroy();
          unknownKey.destroy();
        }
        await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'never' })), NotFound);
        // Unsigned requests name no service; meadow refuses them (in the AWS API's words) and serves nothing.
        const anonymous = await fetch(`${s.endpoint}/objects/dir`);
        assert.equal(anonymous.status, 403);
        assert.doesNotMatch(await anonymous.text(), /file named like a folder/);
      });

      describe('hand-signed aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER])', () => {
        /**
         * Sends a PUT whose body is framed in signed chunks, with a signed CRC32 trailer when `crc32` is given;
         * `tamper` changes the framed body after signing.
         */
        async function streamingPut(key: string, chunks: Buffer[], opts: { crc32?: string; tamper?: (framed: Buffer) => Buffer } = {}): Promise<Response> {
          const url = new URL(s.endpoint);
          const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: TEST_CREDENTIALS, sha256: Sha256, uriEscapePath: false });
          const trailerHeaders: Record<string, string> = opts.crc32 ? { 'x-amz-trailer': 'x-amz-checksum-crc32' } : {};
          const signed = await signer.sign({
            method: 'PUT',
            protocol: url.protocol,
            hostname: url.hostname,
            port: Number(url.port),
            path: `/chunked/${key}`,
            query: {},
            headers: {
              host: url.host,
              'content-encoding': 'aws-chunked',
              'x-amz-content-sha256': opts.crc32 ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
              'x-amz-decoded-content-length': String(chunks.reduce((n, c) => n + c.length, 0)),
              ...trailerHeaders,
            },
          });
          const headers = signed.headers as Record<string, string>;
          const seed = /Signature=([0-9a-f]{64})/.exec(headers.authorization)![1];
          const amzDate = headers['x-amz-date'];
          const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
          // The signing key and each chunk's signature, computed here from the SigV4 specification.
          const key0 = hmac(hmac(hmac(hmac(`AWS4${TEST_CREDENTIALS.secretAccessKey}`, amzDate.slice(0, 8)), 'us-east-1'), 's3'), 'aws4_request');
          let previous = seed;
          const framed: Buffer[] = [];
          for (const chunk of [...chunks, Buffer.alloc(0)]) {
            const sig = hmac(key0, ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, EMPTY_SHA256, sha256(chunk)].join('\n')).toString('hex');
            framed.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`), chunk);
            if (chunk.length > 0) framed.push(Buffer.from('\r\n'));
            previous = sig;
          }
          if (opts.crc32) {
            const trailer = `x-amz-checksum-crc32:${opts.crc32}\n`;
            const trailerSig = hmac(key0, ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previous, sha256(trailer)].join('\n')).toString('hex');
            framed.push(Buffer.from(`x-amz-checksum-crc32:${opts.crc32}\r\nx-amz-trailer-signature:${trailerSig}\r\n`));
          }
          framed.push(Buffer.from('\r\n'));
          let body: Buffer = Buffer.concat(framed);
          if (opts.tamper) body = opts.tamper(body);
          const { host: _host, ...sendHeaders } = headers;
          return fetch(`${s.endpoint}/chunked/${key}`, { method: 'PUT', headers: sendHeaders, body: new Uint8Array(body) });
        }

        before(async () => {
          await s3.send(new CreateBucketCommand({ Bucket: 'chunked' }));
        });

        it('accepts a body whose chunk signatures chain correctly', async () => {
          const chunks = [randomBytes(64 * 1024), randomBytes(64 * 1024), randomBytes(100)];
          const res = await streamingPut('signed.bin', chunks);
          assert.equal(res.status, 200, await res.text());
          const whole = Buffer.concat(chunks);
          assert.equal(res.headers.get('etag'), `"${md5(whole)}"`);
          const got = await s3.send(new GetObjectCommand({ Bucket: 'chunked', Key: 'signed.bin' }));
          assert.ok((await drain(got.Body)).equals(whole));
        });

        it('accepts a signed CRC32 trailer, and refuses one that does not match the bytes', async () => {
          const chunks = [randomBytes(80 * 1024), randomBytes(10)];
          const whole = Buffer.concat(chunks);
          const crc = Buffer.alloc(4);
          crc.writeUInt32BE(crc32(whole));
          const res = await streamingPut('trailed.bin', chunks, { crc32: crc.toString('base64') });
          assert.equal(res.status, 200, await res.text());
          assert.ok((await drain((await s3.send(new GetObjectCommand({ Bucket: 'chunked', Key: 'trailed.bin' }))).Body)).equals(whole));

          const wrong = await streamingPut('wrong-crc.bin', chunks, { crc32: 'AAAAAA==' });
          const body = await wrong.text();
          assert.equal(wrong.status, 400, body);
          assert.match(body, /<Code>BadDigest<\/Code>/);
          await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'chunked', Key: 'wrong-crc.bin' })), NotFound);
        });

        it('refuses a tampered chunk with SignatureDoesNotMatch and keeps the object it would have replaced', async () => {
          await s3.send(new PutObjectCommand({ Bucket: 'chunked', Key: 'kept.txt', Body: 'the original' }));
          const chunks = [Buffer.alloc(70 * 1024, 'a'), Buffer.alloc(70 * 1024, 'b')];
          const res = await streamingPut('kept.txt', chunks, {
            tamper: (framed) => {
              const copy = Buffer.from(framed);
              const secondChunk = copy.indexOf(Buffer.alloc(64, 'b')); // a run only the second chunk's data has
              assert.ok(secondChunk > 0);
              copy[secondChunk + 10] = 'c'.charCodeAt(0);
              return copy;
            },
          });
          const body = await res.text();
          assert.equal(res.status, 403, body);
          assert.match(body, /<Code>SignatureDoesNotMatch<\/Code>/);
          assert.match(body, /chunk signature/);
          const got = await s3.send(new GetObjectCommand({ Bucket: 'chunked', Key: 'kept.txt' }));
          assert.equal(await got.Body!.transformToString(), 'the original');
        });

        it('refuses a body that does not match its signed x-amz-content-sha256', async () => {
          const url = new URL(s.endpoint);
          const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: TEST_CREDENTIALS, sha256: Sha256, uriEscapePath: false });
          const signed = await signer.sign({
            method: 'PUT',
            protocol: url.protocol,
            hostname: url.hostname,
            port: Number(url.port),
            path: '/chunked/swapped.txt',
            query: {},
            headers: { host: url.host, 'x-amz-content-sha256': sha256('what was signed') },
          });
          const { host: _host, ...headers } = signed.headers as Record<string, string>;
          const res = await fetch(`${s.endpoint}/chunked/swapped.txt`, { method: 'PUT', headers, body: 'what was sent!!' });
          const body = await res.text();
          assert.equal(res.status, 400, body);
          assert.match(body, /<Code>XAmzContentSHA256Mismatch<\/Code>/);
          await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'chunked', Key: 'swapped.txt' })), NotFound);
        });
      });

      it('answers the AWS API on the same port, told apart by the signing name', async () => {
        await assert.rejects(s.gg.send(new GetDeploymentCommand({ deploymentId: 'no-such-deployment' })), ResourceNotFoundException);
      });

      describe('the AWS CLI v2', () => {
        let home: string;
        let work: string;
        before(() => {
          home = mkdtempSync(join(tmpdir(), 'meadow-s3-cli-home-'));
          work = mkdtempSync(join(tmpdir(), 'meadow-s3-cli-files-'));
        });
        after(() => {
          rmSync(home, { recursive: true, force: true });
          rmSync(work, { recursive: true, force: true });
        });

        async function aws(...args: string[]): Promise<string> {
          const { stdout } = await run(AWS, [...args, '--endpoint-url', s.endpoint], {
            cwd: work,
            maxBuffer: 16 * MiB,
            env: awsCliEnv(home),
          });
          return stdout;
        }

        it('makes a bucket, copies a small and a 20 MiB (multipart) file up, lists, and copies them back intact', async () => {
          const small = Buffer.from('a small artifact\n');
          const big = randomBytes(20 * MiB);
          writeFileSync(join(work, 'small.txt'), small);
          writeFileSync(join(work, 'big.bin'), big);

          assert.match(await aws('s3', 'mb', 's3://cli-bucket'), /make_bucket: cli-bucket/);
          assert.match(await aws('s3', 'cp', 'small.txt', 's3://cli-bucket/docs/small.txt'), /upload: .*small\.txt to s3:\/\/cli-bucket\/docs\/small\.txt/);
          assert.match(await aws('s3', 'cp', 'big.bin', 's3://cli-bucket/big.bin'), /upload: .*big\.bin to s3:\/\/cli-bucket\/big\.bin/);

          assert.match(await aws('s3', 'ls'), /\bcli-bucket$/m);
          const top = await aws('s3', 'ls', 's3://cli-bucket/');
          assert.match(top, /^\s+PRE docs\/$/m);
          assert.match(top, new RegExp(`\\s${20 * MiB} big\\.bin$`, 'm'));
          assert.match(await aws('s3', 'ls', 's3://cli-bucket/', '--recursive'), new RegExp(`\\s${small.length} docs/small\\.txt$`, 'm'));

          // Above 8 MiB the CLI uploads in 8 MiB parts: the ETag says how the object was assembled.
          const head = await s3.send(new HeadObjectCommand({ Bucket: 'cli-bucket', Key: 'big.bin' }));
          assert.equal(head.ETag, multipartEtag([big.subarray(0, 8 * MiB), big.subarray(8 * MiB, 16 * MiB), big.subarray(16 * MiB)]));

          // Downloading a large object, the CLI fetches ranges in parallel.
          await aws('s3', 'cp', 's3://cli-bucket/big.bin', 'big.down');
          await aws('s3', 'cp', 's3://cli-bucket/docs/small.txt', 'small.down');
          assert.ok(readFileSync(join(work, 'big.down')).equals(big));
          assert.ok(readFileSync(join(work, 'small.down')).equals(small));
        });

        it('gives the SHA-256 digest Greengrass recipes carry, matching node’s crypto on the same file', async () => {
          const expected = createHash('sha256').update(readFileSync(join(work, 'big.bin'))).digest('base64');
          assert.equal(await s.artifacts.digest('cli-bucket', 'big.bin'), expected);
          const small = createHash('sha256').update(readFileSync(join(work, 'small.txt'))).digest('base64');
          assert.equal(await s.artifacts.digest('cli-bucket', 'docs/small.txt'), small);
          await assert.rejects(s.artifacts.digest('cli-bucket', 'missing'), (e: any) => e.code === 'NoSuchKey');
        });

        it('reports S3 errors the way the CLI prints them, and removes objects and the bucket', async () => {
          await assert.rejects(aws('s3', 'rb', 's3://cli-bucket'), (e: any) => {
            assert.match(e.stderr, /BucketNotEmpty/);
            return true;
          });
          assert.match(await aws('s3', 'rm', 's3://cli-bucket/', '--recursive'), /delete: s3:\/\/cli-bucket\/big\.bin/);
          assert.match(await aws('s3', 'rb', 's3://cli-bucket'), /remove_bucket: cli-bucket/);
          await assert.rejects(aws('s3', 'ls', 's3://cli-bucket/'), (e: any) => {
            assert.match(e.stderr, /NoSuchBucket/);
            return true;
          });
        });
      });
    });
  }
}

// The local store's own promises, checked on its files directly (no database is involved).
describe('local artifact store on disk', () => {
  let root: string;
  let store: LocalArtifactStore;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'meadow-artifacts-'));
    store = await LocalArtifactStore.open(root);
    await store.createBucket('disk');
  });
  after(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('digests as Greengrass recipes want it: base64 of the raw SHA-256, as node’s crypto computes it', async () => {
    await store.putObject('disk', 'abc.txt', Readable.from([Buffer.from('abc')]));
    // The SHA-256 test vector for "abc", base64-encoded.
    assert.equal(await store.digest('disk', 'abc.txt'), 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');

    const file = join(root, 'known.bin');
    writeFileSync(file, randomBytes(3 * MiB + 17));
    const put = await store.putObject('disk', 'files/known.bin', createReadStream(file), { contentType: 'application/octet-stream' });
    const expected = createHash('sha256').update(readFileSync(file)).digest('base64');
    assert.equal(put.sha256Base64, expected);
    assert.equal(await store.digest('disk', 'files/known.bin'), expected);
    assert.equal((await store.headObject('disk', 'files/known.bin')).size, 3 * MiB + 17);
  });

  it('never shows a half-written object: leftovers of a crash are invisible, and old temp files are swept', async () => {
    await store.putObject('disk', 'app.zip', Readable.from([Buffer.from('version one')]));
    // A crash after the new bytes were moved in but before the metadata named them, and one mid-write.
    const objects = join(root, 'buckets', 'disk', 'objects');
    writeFileSync(join(objects, `app.zip.${'0'.repeat(16)}.obj`), 'version two, never committed');
    writeFileSync(join(objects, `other.${'1'.repeat(16)}.obj`), 'an object that never was');
    const stale = join(root, 'tmp', 'half-written');
    writeFileSync(stale, 'half');
    const fresh = join(root, 'tmp', 'being-written');
    writeFileSync(fresh, 'in progress elsewhere');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    utimesSync(stale, twoDaysAgo, twoDaysAgo);

    const reopened = await LocalArtifactStore.open(root);
    const got = await reopened.getObject('disk', 'app.zip');
    assert.equal((await drain(got.stream)).toString(), 'version one');
    const listed = await reopened.listObjectsV2('disk');
    assert.deepEqual(
      listed.objects.map((o) => o.key),
      ['abc.txt', 'app.zip', 'files/known.bin'],
    );
    await assert.rejects(reopened.headObject('disk', 'other'), (e: any) => e instanceof ArtifactError && e.code === 'NoSuchKey');
    assert.ok(!existsSync(stale), 'a day-old temp file is swept');
    assert.ok(existsSync(fresh), 'a recent temp file may belong to a write in progress');
    await reopened.close();
  });

  it('refuses keys that could name a path outside the bucket, and writes nothing for them', async () => {
    for (const key of ['../../escape.txt', 'a/../../escape.txt', 'a/./b', '..']) {
      await assert.rejects(store.putObject('disk', key, Readable.from([Buffer.from('x')])), (e: any) => {
        assert.ok(e instanceof ArtifactError);
        assert.equal(e.code, 'InvalidArgument');
        assert.match(e.message, /path segment/);
        return true;
      });
    }
    await assert.rejects(store.putObject('disk', `${'x'.repeat(201)}/y`, Readable.from([Buffer.from('x')])), (e: any) => e.code === 'InvalidArgument');
    await assert.rejects(store.putObject('disk', 'k'.repeat(1025), Readable.from([Buffer.from('x')])), (e: any) => e.code === 'KeyTooLongError');
    assert.ok(!existsSync(join(root, 'escape.txt')) && !existsSync(join(root, 'buckets', 'escape.txt')));
    assert.deepEqual(readdirSync(join(root, 'tmp')).sort(), ['being-written']);
  });
});
