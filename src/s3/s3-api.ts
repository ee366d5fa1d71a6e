// meadow's embedded S3 endpoint: the path-style S3 REST API over the artifact store, on the same port as the
// AWS API, for requests signed for `s3`. Bodies stream from the socket to the store (they can be far larger
// than the control plane's body limit) and are checked on the way (see payload.ts).
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  bareEtag,
  checkBucketName,
  parseRangeHeader,
  type ArtifactStore,
  type ByteRange,
  type ObjectBody,
  type ObjectInfo,
} from '../artifacts/artifact-store.js';
import { parseQuery } from '../wire/codec.js';
import { SigV4Verifier, type S3Auth } from '../wire/sigv4.js';
import { S3Error, toS3Error } from './errors.js';
import { declaredLength, readSmallBody, verifiedBody } from './payload.js';
import { parseXmlBody, xmlDocument } from './xml.js';

export interface S3ApiOptions {
  store: ArtifactStore;
  region: string;
  accountId: string;
  credentials: { accessKeyId: string; secretAccessKey: string }[];
}

export type S3Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

/** Largest single PutObject or UploadPart, as in S3. */
const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
const MAX_XML_BODY = 2 * 1024 * 1024;

/** Query parameters naming S3 features meadow does not serve; a request using one gets NotImplemented. */
const UNSUPPORTED_SUBRESOURCES = [
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy',
  'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select', 'tagging',
  'torrent', 'versioning', 'versions', 'website',
];

/** GetObject's response-* query parameters and the header each one overrides. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-cache-control': 'cache-control',
  'response-expires': 'expires',
};

interface S3Request {
  req: FastifyRequest;
  reply: FastifyReply;
  auth: S3Auth;
  query: Map<string, string[]>;
  bucket: string;
  key: string;
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const quoted = (etag: string) => `"${etag}"`;

export function createS3Handler(opts: S3ApiOptions): S3Handler {
  const secrets = new Map(opts.credentials.map((c) => [c.accessKeyId, c.secretAccessKey]));
  const verifier = new SigV4Verifier({
    secretFor: (id) => secrets.get(id),
    region: opts.region,
    services: new Set(['s3']),
    now: () => Date.now(),
  });
  const api = new S3Api(opts.store, opts.region, opts.accountId);

  return async function handleS3(req, reply) {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    reply.header('x-amz-request-id', requestId).header('x-amz-id-2', randomBytes(24).toString('base64'));
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    let resource = rawPath;
    try {
      const auth = verifier.verifyS3({ method: req.method, rawPath, rawQuery, headers: req.headers });
      const { bucket, key } = splitPath(rawPath);
      resource = key ? `/${bucket}/${key}` : `/${bucket}`;
      let query: Map<string, string[]>;
      try {
        query = parseQuery(rawQuery);
      } catch (e) {
        throw new S3Error('InvalidURI', 400, (e as Error).message);
      }
      return await api.dispatch({ req, reply, auth, query, bucket, key });
    } catch (e) {
      let err = toS3Error(e, opts.region);
      if (!err) {
        req.log.error({ err: e }, 'unexpected error while serving an S3 request');
        err = new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
      }
      // A body we stopped reading is drained, so the client gets this answer rather than a reset connection.
      if (!req.raw.readableEnded) {
        req.raw.unpipe();
        req.raw.resume();
      }
      if (reply.sent) return reply;
      reply.code(err.status);
      if (err.code === 'InvalidRange' && err.details.ActualObjectSize) reply.header('content-range', `bytes */${err.details.ActualObjectSize}`);
      if (req.method === 'HEAD') return reply.send(); // HEAD answers carry no body, errors included
      const body = xmlDocument('Error', { Code: err.code, Message: err.message, ...err.details, Resource: resource, RequestId: requestId }, false);
      return reply.type('application/xml').send(body);
    }
  };
}

/** Path-style addressing: `/<bucket>/<key>`; the key is everything after the bucket's slash, decoded. */
function splitPath(rawPath: string): { bucket: string; key: string } {
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new S3Error('InvalidURI', 400, `Couldn't parse the specified URI: malformed percent-encoding in '${s.slice(0, 80)}'.`);
    }
  };
  const rest = rawPath.replace(/^\//, '');
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: decode(rest), key: '' };
  return { bucket: decode(rest.slice(0, slash)), key: decode(rest.slice(slash + 1)) };
}

class S3Api {
  constructor(
    private readonly store: ArtifactStore,
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  async dispatch(r: S3Request): Promise<FastifyReply> {
    const method = r.req.method;
    const unsupported = UNSUPPORTED_SUBRESOURCES.find((s) => r.query.has(s));
    if (unsupported) return notImplemented(`meadow's S3 endpoint does not implement the '${unsupported}' subresource.`);
    if (!r.bucket) {
      if (method === 'GET') return this.listBuckets(r);
      throw methodNotAllowed(method, 'the service');
    }
    if (!r.key) {
      switch (method) {
        case 'PUT':
          return this.createBucket(r);
        case 'HEAD':
          return this.headBucket(r);
        case 'DELETE':
          return this.deleteBucket(r);
        case 'GET':
          if (r.query.has('location')) return this.getBucketLocation(r);
          if (r.query.has('uploads')) return notImplemented('meadow does not implement ListMultipartUploads.');
          if (r.query.get('list-type')?.[0] === '2') return this.listObjectsV2(r);
          return notImplemented('meadow implements ListObjectsV2 (list-type=2) only, not the original ListObjects.');
      }
      throw methodNotAllowed(method, 'a bucket');
    }
    switch (method) {
      case 'PUT':
        if (r.req.headers['x-amz-copy-source'] !== undefined) return notImplemented('meadow does not implement CopyObject or UploadPartCopy.');
        if (r.query.has('uploadId') || r.query.has('partNumber')) return this.uploadPart(r);
        return this.putObject(r);
      case 'GET':
        if (r.query.has('uploadId')) return notImplemented('meadow does not implement ListParts.');
        return this.getObject(r, false);
      case 'HEAD':
        return this.getObject(r, true);
      case 'DELETE':
        if (r.query.has('uploadId')) return this.abortMultipartUpload(r);
        return this.deleteObject(r);
      case 'POST':
        if (r.query.has('uploads')) return this.createMultipartUpload(r);
        if (r.query.has('uploadId')) return this.completeMultipartUpload(r);
        return notImplemented('meadow does not implement POST object uploads (browser forms).');
    }
    throw methodNotAllowed(method, 'an object');
  }

  // ---- buckets

  private async listBuckets(r: S3Request) {
    const buckets = await this.store.listBuckets();
    return sendXml(r.reply, 200, 'ListAllMyBucketsResult', {
      Owner: this.owner(),
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.creationDate })) },
    });
  }

  private async createBucket(r: S3Request) {
    checkBucketName(r.bucket);
    // Path-style S3 shares the path space with meadow's own routes (GET /health): such a bucket could not be listed.
    const shadowing = r.req.server.findRoute({ method: 'GET', url: `/${r.bucket}` });
    if (shadowing && !('*' in (shadowing.params as object))) {
      throw new S3Error('InvalidBucketName', 400, `The specified bucket is not valid: meadow serves '/${r.bucket}' itself, so no bucket can have that name.`, {
        BucketName: r.bucket,
      });
    }
    const body = await readSmallBody(verifiedBody(r.req.raw, r.auth.payload, r.req.headers), MAX_XML_BODY);
    if (body.length > 0) {
      const config = parseXmlBody(body, 'CreateBucketConfiguration');
      const location = typeof config.LocationConstraint === 'string' ? config.LocationConstraint : undefined;
      if (location !== undefined && location !== this.region) {
        throw new S3Error('IllegalLocationConstraintException', 400, `The ${location} location constraint is incompatible with this endpoint, which serves ${this.region}.`);
      }
    }
    await this.store.createBucket(r.bucket);
    return r.reply.code(200).header('location', `/${r.bucket}`).send();
  }

  private async headBucket(r: S3Request) {
    await this.store.headBucket(r.bucket);
    return r.reply.code(200).header('x-amz-bucket-region', this.region).send();
  }

  private async deleteBucket(r: S3Request) {
    await this.store.deleteBucket(r.bucket);
    return r.reply.code(204).send();
  }

  private async getBucketLocation(r: S3Request) {
    await this.store.headBucket(r.bucket);
    // us-east-1 is reported as an empty LocationConstraint, as S3 does.
    return sendXml(r.reply, 200, 'LocationConstraint', { '#text': this.region === 'us-east-1' ? '' : this.region });
  }

  private async listObjectsV2(r: S3Request) {
    const param = (name: string) => r.query.get(name)?.[0];
    const maxKeysParam = param('max-keys');
    const maxKeys = maxKeysParam === undefined ? 1000 : Number(maxKeysParam);
    if (!/^\d+$/.test(maxKeysParam ?? '0') || !Number.isSafeInteger(maxKeys)) {
      throw new S3Error('InvalidArgument', 400, 'Provided max-keys not an integer or within integer range.', { ArgumentName: 'max-keys', ArgumentValue: maxKeysParam! });
    }
    const encodingType = param('encoding-type');
    if (encodingType !== undefined && encodingType !== 'url') {
      throw new S3Error('InvalidArgument', 400, `Invalid Encoding Method specified in Request: encoding-type must be 'url', not '${encodingType}'.`, {
        ArgumentName: 'encoding-type',
      });
    }
    // With encoding-type=url, keys come back URL-encoded so any character survives the XML.
    const enc = (s: string | undefined) => (s === undefined || encodingType !== 'url' ? s : encodeURIComponent(s));
    const prefix = param('prefix') ?? '';
    const delimiter = param('delimiter') || undefined;
    const continuationToken = param('continuation-token');
    const startAfter = param('start-after');
    const page = await this.store.listObjectsV2(r.bucket, { prefix, delimiter, continuationToken, startAfter, maxKeys });
    return sendXml(r.reply, 200, 'ListBucketResult', {
      Name: r.bucket,
      Prefix: enc(prefix),
      Delimiter: enc(delimiter),
      MaxKeys: Math.min(maxKeys, 1000),
      EncodingType: encodingType,
      KeyCount: page.objects.length + page.commonPrefixes.length,
      IsTruncated: page.isTruncated,
      ContinuationToken: continuationToken,
      NextContinuationToken: page.nextContinuationToken,
      StartAfter: enc(startAfter),
      Contents: page.objects.map((o) => ({
        Key: enc(o.key),
        LastModified: o.lastModified,
        ETag: quoted(o.etag),
        Size: o.size,
        StorageClass: 'STANDARD',
      })),
      CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
    });
  }

  // ---- objects

  private async putObject(r: S3Request) {
    const body = this.uploadBody(r);
    const contentType = first(r.req.headers['content-type']);
    const stored = await this.store.putObject(r.bucket, r.key, body, { contentType, contentLength: declaredLength(r.auth.payload, r.req.headers) });
    return r.reply.code(200).header('etag', quoted(stored.etag)).send();
  }

  private async getObject(r: S3Request, headOnly: boolean) {
    const range = headOnly ? undefined : parseRangeHeader(first(r.req.headers.range));
    const object: ObjectInfo & Partial<ObjectBody> = headOnly ? await this.store.headObject(r.bucket, r.key) : await this.store.getObject(r.bucket, r.key, range);
    const { reply } = r;
    const notModified = conditionFails(r.req.headers, object);
    if (notModified) {
      object.stream?.destroy();
      if (notModified === 412) throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold.', { Condition: 'If-Match' });
      return reply.code(304).header('etag', quoted(object.etag)).header('last-modified', object.lastModified.toUTCString()).send();
    }
    reply
      .code(object.range ? 206 : 200)
      .header('content-type', object.contentType)
      .header('etag', quoted(object.etag))
      .header('last-modified', object.lastModified.toUTCString())
      .header('accept-ranges', 'bytes')
      .header('content-length', String(object.range ? object.range.end - object.range.start + 1 : object.size));
    if (object.range) reply.header('content-range', `bytes ${object.range.start}-${object.range.end}/${object.size}`);
    // The whole object's SHA-256, for clients that ask for checksums (the SDKs then verify the body with it).
    if (!object.range && object.sha256Base64 && first(r.req.headers['x-amz-checksum-mode'])?.toUpperCase() === 'ENABLED') {
      reply.header('x-amz-checksum-sha256', object.sha256Base64).header('x-amz-checksum-type', 'FULL_OBJECT');
    }
    for (const [param, headerName] of Object.entries(RESPONSE_OVERRIDES)) {
      const value = r.query.get(param)?.[0];
      if (value !== undefined) reply.header(headerName, value);
    }
    return object.stream ? reply.send(object.stream) : reply.send();
  }

  private async deleteObject(r: S3Request) {
    await this.store.deleteObject(r.bucket, r.key);
    return r.reply.code(204).send();
  }

  // ---- multipart uploads

  private async createMultipartUpload(r: S3Request) {
    const { uploadId } = await this.store.createMultipartUpload(r.bucket, r.key, { contentType: first(r.req.headers['content-type']) });
    return sendXml(r.reply, 200, 'InitiateMultipartUploadResult', { Bucket: r.bucket, Key: r.key, UploadId: uploadId });
  }

  private async uploadPart(r: S3Request) {
    const uploadId = r.query.get('uploadId')?.[0];
    const partNumber = r.query.get('partNumber')?.[0];
    if (!uploadId || !partNumber) throw new S3Error('InvalidRequest', 400, 'UploadPart needs both the partNumber and the uploadId query parameters.');
    if (!/^\d{1,5}$/.test(partNumber)) {
      throw new S3Error('InvalidArgument', 400, 'Part number must be an integer between 1 and 10000, inclusive.', { ArgumentName: 'partNumber', ArgumentValue: partNumber });
    }
    const body = this.uploadBody(r);
    const { etag } = await this.store.uploadPart(r.bucket, r.key, uploadId, Number(partNumber), body, {
      contentLength: declaredLength(r.auth.payload, r.req.headers),
    });
    return r.reply.code(200).header('etag', quoted(etag)).send();
  }

  private async completeMultipartUpload(r: S3Request) {
    const uploadId = r.query.get('uploadId')![0];
    const xml = parseXmlBody(await readSmallBody(verifiedBody(r.req.raw, r.auth.payload, r.req.headers), MAX_XML_BODY), 'CompleteMultipartUpload', ['Part']);
    const parts = ((xml.Part as Record<string, unknown>[] | undefined) ?? []).map((p) => {
      const partNumber = typeof p?.PartNumber === 'string' && /^\d{1,5}$/.test(p.PartNumber) ? Number(p.PartNumber) : NaN;
      if (Number.isNaN(partNumber) || typeof p.ETag !== 'string') {
        throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema: every <Part> needs a <PartNumber> and an <ETag>.');
      }
      return { partNumber, etag: bareEtag(p.ETag) };
    });
    const result = await this.store.completeMultipartUpload(r.bucket, r.key, uploadId, parts);
    const host = first(r.req.headers.host) ?? 'localhost';
    return sendXml(r.reply, 200, 'CompleteMultipartUploadResult', {
      Location: `http://${host}/${r.bucket}/${r.key.split('/').map(encodeURIComponent).join('/')}`,
      Bucket: r.bucket,
      Key: r.key,
      ETag: quoted(result.etag),
    });
  }

  private async abortMultipartUpload(r: S3Request) {
    await this.store.abortMultipartUpload(r.bucket, r.key, r.query.get('uploadId')![0]);
    return r.reply.code(204).send();
  }

  /** The body of a PutObject or UploadPart, checked as it streams into the store. */
  private uploadBody(r: S3Request) {
    const length = declaredLength(r.auth.payload, r.req.headers);
    if (length !== undefined && length > MAX_UPLOAD_BYTES) {
      throw new S3Error('EntityTooLarge', 400, `Your proposed upload exceeds the maximum allowed size: one request uploads at most 5 GiB; use a multipart upload for more.`, {
        ProposedSize: String(length),
        MaxSizeAllowed: String(MAX_UPLOAD_BYTES),
      });
    }
    return verifiedBody(r.req.raw, r.auth.payload, r.req.headers);
  }

  private owner() {
    return { ID: createHash('sha256').update(this.accountId).digest('hex'), DisplayName: 'meadow' };
  }
}

function sendXml(reply: FastifyReply, status: number, root: string, content: Parameters<typeof xmlDocument>[1]) {
  return reply.code(status).type('application/xml').send(xmlDocument(root, content));
}

function notImplemented(message: string): never {
  throw new S3Error('NotImplemented', 501, message);
}

function methodNotAllowed(method: string, target: string): S3Error {
  return new S3Error('MethodNotAllowed', 405, `The specified method is not allowed against this resource: ${method} on ${target}.`, { Method: method });
}

/** 304 when If-None-Match matches, 412 when If-Match does not; undefined when the request may proceed. */
function conditionFails(headers: FastifyRequest['headers'], object: ObjectInfo): 304 | 412 | undefined {
  const matches = (header: string | undefined) =>
    header !== undefined && header.split(',').some((t) => t.trim() === '*' || bareEtag(t.trim()) === object.etag);
  const ifMatch = first(headers['if-match']);
  if (ifMatch !== undefined && !matches(ifMatch)) return 412;
  if (matches(first(headers['if-none-match']))) return 304;
  return undefined;
}
