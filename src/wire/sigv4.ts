// AWS Signature Version 4 verification, as the AWS SDKs and CLI sign requests. `verify` is the rule every
// service but S3 follows: Authorization header, raw path normalised and encoded a second time, the exact body
// bytes hashed. `verifyS3` is S3's variant: the raw path as sent, header or presigned query-string auth, and a
// payload that is not at hand yet (it is streamed), so it returns how the body must be checked while it is
// read: against a SHA-256, not at all, or as aws-chunked data whose chunks carry a chain of signatures.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SigV4Request {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
}

export interface SignedIdentity {
  accessKeyId: string;
  region: string;
  service: string;
}

export class AuthError extends Error {
  constructor(
    readonly code:
      | 'MissingAuthenticationTokenException'
      | 'IncompleteSignatureException'
      | 'UnrecognizedClientException'
      | 'InvalidSignatureException'
      // a certificate-authenticated caller that may not do this (the device data plane)
      | 'AccessDeniedException',
    message: string,
    /** The error S3 reports for this failure, where it is not the plain translation of `code`. */
    readonly s3Code?: string,
  ) {
    super(message);
  }
}

export interface SigV4Options {
  secretFor: (accessKeyId: string) => string | undefined;
  region: string;
  services: ReadonlySet<string>;
  now: () => number;
  maxSkewMs?: number;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const AUTH_RE = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/;

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function header(headers: SigV4Request['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Canonical URI for every service but S3: normalise dot segments, then percent-encode the raw path again. */
export function canonicalUri(rawPath: string): string {
  const out: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const trailing = out.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return '/' + out.map(rfc3986).join('/') + trailing;
}

/** The decoded name/value pairs of a raw query string, in order. */
function queryPairs(rawQuery: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([decodeURIComponent(k), decodeURIComponent(v)]);
  }
  return pairs;
}

/** Sorted, encoded query; `omit` leaves one parameter out (a presigned URL's own X-Amz-Signature). */
export function canonicalQuery(rawQuery: string, omit?: string): string {
  if (!rawQuery) return '';
  const pairs = queryPairs(rawQuery)
    .filter(([k]) => k !== omit)
    .map(([k, v]): [string, string] => [rfc3986(k), rfc3986(v)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/** What S3 requests claim in x-amz-content-sha256 besides a hex SHA-256 of the body. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** What an aws-chunked body's chunk signatures are computed with; each chunk's chains on the one before. */
export interface ChunkSigning {
  signingKey: Buffer;
  amzDate: string;
  /** yyyymmdd/region/service/aws4_request */
  scope: string;
  /** The request's own signature, which the first chunk's signature chains on. */
  seedSignature: string;
}

/** How an S3 request's body is to be checked as it is read. */
export type PayloadCheck =
  | { kind: 'sha256'; hex: string }
  | { kind: 'unsigned' }
  /** aws-chunked body; `signing` when chunks are signed, `trailer` when checksums follow the last chunk. */
  | { kind: 'chunked'; signing?: ChunkSigning; trailer: boolean };

export interface S3Auth extends SignedIdentity {
  payload: PayloadCheck;
}

/** The parts of a signature, whether they came in the Authorization header or in the query string. */
interface SignatureParts {
  credential: string;
  signedHeaderList: string;
  signature: string;
  amzDate: string | undefined;
}

interface CredentialScope {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  secret: string;
}

/** The service a request is signed for (its credential scope), read without verifying anything. */
export function signingServiceOf(headers: SigV4Request['headers'], rawQuery: string): string | undefined {
  const auth = header(headers, 'authorization');
  const credential = auth ? /Credential=([^,\s]+)/.exec(auth)?.[1] : /(?:^|&)X-Amz-Credential=([^&]+)/.exec(rawQuery)?.[1];
  if (!credential) return undefined;
  let decoded = credential;
  try {
    decoded = decodeURIComponent(credential);
  } catch {
    return undefined;
  }
  return decoded.split('/')[3];
}

export class SigV4Verifier {
  private readonly keyCache = new Map<string, Buffer>();
  private readonly maxSkewMs: number;

  constructor(private readonly opts: SigV4Options) {
    this.maxSkewMs = opts.maxSkewMs ?? 15 * 60 * 1000;
  }

  verify(req: SigV4Request): SignedIdentity {
    const auth = header(req.headers, 'authorization');
    if (!auth) throw new AuthError('MissingAuthenticationTokenException', 'Missing Authentication Token');
    const parts = parseAuthorizationHeader(auth, header(req.headers, 'x-amz-date'));
    const scope = this.checkCredential(parts.credential);
    const amzDate = this.checkRequestTime(parts.amzDate, scope);
    const signedHeaders = checkSignedHeaders(parts.signedHeaderList);
    const bodyHash = req.body && req.body.length > 0 ? sha256Hex(req.body) : EMPTY_SHA256;
    const claimed = header(req.headers, 'x-amz-content-sha256');
    if (claimed !== undefined && claimed !== bodyHash) {
      throw new AuthError('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match what was computed.');
    }
    this.checkSignature(req, parts, scope, amzDate, signedHeaders, canonicalUri(req.rawPath), () => canonicalQueryOrThrow(req.rawQuery), bodyHash);
    return { accessKeyId: scope.accessKeyId, region: scope.region, service: scope.service };
  }

  /**
   * S3's variant, for a request whose body has not been read: signed in the Authorization header or presigned
   * in the query string. The caller checks the body as it streams, as the returned `payload` says.
   */
  verifyS3(req: Omit<SigV4Request, 'body'>): S3Auth {
    const auth = header(req.headers, 'authorization');
    if (auth) {
      const parts = parseAuthorizationHeader(auth, header(req.headers, 'x-amz-date'));
      const scope = this.checkCredential(parts.credential);
      const amzDate = this.checkRequestTime(parts.amzDate, scope);
      const signedHeaders = checkSignedHeaders(parts.signedHeaderList);
      const claimed = header(req.headers, 'x-amz-content-sha256');
      if (!claimed) throw new AuthError('InvalidSignatureException', 'Missing required header for this request: x-amz-content-sha256.', 'InvalidRequest');
      const payload = payloadCheckFor(claimed);
      const signingKey = this.checkSignature(req, parts, scope, amzDate, signedHeaders, req.rawPath, () => canonicalQueryOrThrow(req.rawQuery), claimed);
      if (payload.kind === 'chunked' && (claimed === STREAMING_SIGNED || claimed === STREAMING_SIGNED_TRAILER)) {
        payload.signing = { signingKey, amzDate, scope: scopeString(scope), seedSignature: parts.signature };
      }
      return { accessKeyId: scope.accessKeyId, region: scope.region, service: scope.service, payload };
    }
    const query = new Map(queryPairsOrThrow(req.rawQuery));
    if (!query.has('X-Amz-Algorithm') && !query.has('X-Amz-Credential') && !query.has('X-Amz-Signature')) {
      throw new AuthError('MissingAuthenticationTokenException', 'Anonymous requests are not served: sign the request with AWS Signature Version 4.', 'AccessDenied');
    }
    return this.verifyPresigned(req, query);
  }

  private verifyPresigned(req: Omit<SigV4Request, 'body'>, query: Map<string, string>): S3Auth {
    const malformed = (message: string) => new AuthError('IncompleteSignatureException', message, 'AuthorizationQueryParametersError');
    if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw malformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".');
    const missing = ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'].filter((p) => !query.get(p));
    if (missing.length > 0) throw malformed(`Query-string authentication requires the ${missing.join(', ')} parameter${missing.length > 1 ? 's' : ''}.`);
    const signature = query.get('X-Amz-Signature')!;
    if (!/^[0-9a-f]{64}$/.test(signature)) throw malformed('X-Amz-Signature must be 64 lowercase hexadecimal digits.');
    const expires = Number(query.get('X-Amz-Expires'));
    if (!Number.isInteger(expires) || expires < 1 || expires > 604800) {
      throw malformed('X-Amz-Expires must be a number of seconds from 1 to 604800 (seven days).');
    }
    const parts: SignatureParts = {
      credential: query.get('X-Amz-Credential')!,
      signedHeaderList: query.get('X-Amz-SignedHeaders')!,
      signature,
      amzDate: query.get('X-Amz-Date'),
    };
    const scope = this.checkCredential(parts.credential);
    const amzDate = checkAmzDate(parts.amzDate, scope);
    const signedAt = parseAmzDate(amzDate)!;
    const now = this.opts.now();
    if (now > signedAt + expires * 1000) throw new AuthError('InvalidSignatureException', 'Request has expired.', 'AccessDenied');
    if (signedAt - now > this.maxSkewMs) throw new AuthError('InvalidSignatureException', 'Request is not valid yet: X-Amz-Date is in the future.', 'AccessDenied');
    const signedHeaders = checkSignedHeaders(parts.signedHeaderList);
    const claimed = header(req.headers, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
    const payload = payloadCheckFor(claimed);
    if (payload.kind === 'chunked') throw malformed('A presigned request cannot send an aws-chunked body.');
    this.checkSignature(req, parts, scope, amzDate, signedHeaders, req.rawPath, () => canonicalQueryOrThrow(req.rawQuery, 'X-Amz-Signature'), claimed);
    return { accessKeyId: scope.accessKeyId, region: scope.region, service: scope.service, payload };
  }

  private checkCredential(credential: string): CredentialScope {
    const scopeParts = credential.split('/');
    if (scopeParts.length !== 5 || scopeParts[4] !== 'aws4_request') {
      throw new AuthError('IncompleteSignatureException', `Credential '${credential}' is not of the form AKID/yyyymmdd/region/service/aws4_request.`);
    }
    const [accessKeyId, scopeDate, region, service] = scopeParts;
    const secret = this.opts.secretFor(accessKeyId);
    if (secret === undefined) {
      throw new AuthError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    if (region !== this.opts.region) {
      throw new AuthError(
        'InvalidSignatureException',
        `Credential should be scoped to a valid region, not '${region}'; this meadow serves '${this.opts.region}'.`,
        'AuthorizationHeaderMalformed',
      );
    }
    if (!this.opts.services.has(service)) {
      throw new AuthError('InvalidSignatureException', `Credential should be scoped to a served service, not '${service}'.`);
    }
    return { accessKeyId, scopeDate, region, service, secret };
  }

  /** The request's x-amz-date, checked against the credential's date and the allowed clock skew. */
  private checkRequestTime(amzDate: string | undefined, scope: CredentialScope): string {
    const date = checkAmzDate(amzDate, scope);
    const now = this.opts.now();
    if (Math.abs(now - parseAmzDate(date)!) > this.maxSkewMs) {
      throw new AuthError(
        'InvalidSignatureException',
        `Signature expired: ${date} is outside the allowed 15 minute window around the server time ${new Date(now).toISOString()}.`,
        'RequestTimeTooSkewed',
      );
    }
    return date;
  }

  /** Recomputes the signature over the canonical request; returns the signing key for chunk signatures. */
  private checkSignature(
    req: Omit<SigV4Request, 'body'>,
    parts: SignatureParts,
    scope: CredentialScope,
    amzDate: string,
    signedHeaders: string[],
    uri: string,
    query: () => string,
    payloadHash: string,
  ): Buffer {
    let canonicalHeaders = '';
    for (const name of signedHeaders) {
      const value = header(req.headers, name);
      if (value === undefined) throw new AuthError('InvalidSignatureException', `Signed header '${name}' is missing from the request.`);
      canonicalHeaders += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
    }
    const canonicalRequest = [req.method, uri, query(), canonicalHeaders, parts.signedHeaderList, payloadHash].join('\n');
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scopeString(scope)}\n${sha256Hex(canonicalRequest)}`;
    const key = this.signingKey(scope.secret, scope.scopeDate, scope.region, scope.service);
    const expected = createHmac('sha256', key).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(parts.signature, 'hex'))) {
      throw new AuthError(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
    return key;
  }

  private signingKey(secret: string, date: string, region: string, service: string): Buffer {
    const cacheKey = `${secret}\n${date}\n${region}\n${service}`;
    let key = this.keyCache.get(cacheKey);
    if (!key) {
      const kDate = createHmac('sha256', 'AWS4' + secret).update(date).digest();
      const kRegion = createHmac('sha256', kDate).update(region).digest();
      const kService = createHmac('sha256', kRegion).update(service).digest();
      key = createHmac('sha256', kService).update('aws4_request').digest();
      if (this.keyCache.size > 64) this.keyCache.clear();
      this.keyCache.set(cacheKey, key);
    }
    return key;
  }
}

/** Signature of one aws-chunked chunk, given the signature before it and the SHA-256 of the chunk's data. */
export function chunkSignature(s: ChunkSigning, previousSignature: string, chunkSha256Hex: string): string {
  const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, previousSignature, EMPTY_SHA256, chunkSha256Hex].join('\n');
  return createHmac('sha256', s.signingKey).update(stringToSign).digest('hex');
}

/** Signature over the trailing headers of an aws-chunked body (`name:value\n` each), chained on the last chunk's. */
export function trailerSignature(s: ChunkSigning, previousSignature: string, canonicalTrailers: string): string {
  const stringToSign = ['AWS4-HMAC-SHA256-TRAILER', s.amzDate, s.scope, previousSignature, sha256Hex(canonicalTrailers)].join('\n');
  return createHmac('sha256', s.signingKey).update(stringToSign).digest('hex');
}

export function signaturesEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

const scopeString = (s: CredentialScope) => `${s.scopeDate}/${s.region}/${s.service}/aws4_request`;

function parseAuthorizationHeader(auth: string, amzDate: string | undefined): SignatureParts {
  const m = AUTH_RE.exec(auth);
  if (!m) {
    throw new AuthError(
      'IncompleteSignatureException',
      'Authorization header requires Credential, SignedHeaders and Signature parameters with algorithm AWS4-HMAC-SHA256.',
      'AuthorizationHeaderMalformed',
    );
  }
  return { credential: m[1], signedHeaderList: m[2], signature: m[3], amzDate };
}

function checkAmzDate(amzDate: string | undefined, scope: CredentialScope): string {
  if (!amzDate || parseAmzDate(amzDate) === undefined) {
    throw new AuthError('IncompleteSignatureException', 'Request must carry an X-Amz-Date header in the form yyyyMMddTHHmmssZ.');
  }
  if (amzDate.slice(0, 8) !== scope.scopeDate) {
    throw new AuthError('InvalidSignatureException', `Credential date ${scope.scopeDate} does not match X-Amz-Date ${amzDate}.`, 'AuthorizationHeaderMalformed');
  }
  return amzDate;
}

function checkSignedHeaders(list: string): string[] {
  const signedHeaders = list.split(';');
  if (!signedHeaders.includes('host')) {
    throw new AuthError('InvalidSignatureException', "'Host' must be a signed header.");
  }
  return signedHeaders;
}

function canonicalQueryOrThrow(rawQuery: string, omit?: string): string {
  try {
    return canonicalQuery(rawQuery, omit);
  } catch {
    throw new AuthError('InvalidSignatureException', 'Malformed percent-encoding in the query string.');
  }
}

function queryPairsOrThrow(rawQuery: string): [string, string][] {
  try {
    return queryPairs(rawQuery);
  } catch {
    throw new AuthError('InvalidSignatureException', 'Malformed percent-encoding in the query string.');
  }
}

function payloadCheckFor(claimed: string): PayloadCheck {
  if (/^[0-9a-f]{64}$/.test(claimed)) return { kind: 'sha256', hex: claimed };
  switch (claimed) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case STREAMING_UNSIGNED_TRAILER:
      return { kind: 'chunked', trailer: true };
    case STREAMING_SIGNED:
      return { kind: 'chunked', trailer: false };
    case STREAMING_SIGNED_TRAILER:
      return { kind: 'chunked', trailer: true };
  }
  throw new AuthError(
    'InvalidSignatureException',
    `x-amz-content-sha256 must be the hex SHA-256 of the body, ${UNSIGNED_PAYLOAD}, ${STREAMING_SIGNED}, ${STREAMING_SIGNED_TRAILER} or ${STREAMING_UNSIGNED_TRAILER}; got '${claimed.slice(0, 80)}'.`,
    'InvalidArgument',
  );
}
