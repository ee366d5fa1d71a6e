// AWS Signature Version 4 verification (header form), as the AWS SDKs and CLI sign requests:
// honours SignedHeaders, double-encodes the raw path (the non-S3 rule), hashes the exact body bytes,
// and accepts requests whose x-amz-date is within the allowed clock skew.
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
      | 'InvalidSignatureException',
    message: string,
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

export function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([rfc3986(decodeURIComponent(k)), rfc3986(decodeURIComponent(v))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
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
    const m = AUTH_RE.exec(auth);
    if (!m) {
      throw new AuthError(
        'IncompleteSignatureException',
        'Authorization header requires Credential, SignedHeaders and Signature parameters with algorithm AWS4-HMAC-SHA256.',
      );
    }
    const [, credential, signedHeaderList, signature] = m;
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
      throw new AuthError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'; this meadow serves '${this.opts.region}'.`);
    }
    if (!this.opts.services.has(service)) {
      throw new AuthError('InvalidSignatureException', `Credential should be scoped to a served service, not '${service}'.`);
    }
    const amzDate = header(req.headers, 'x-amz-date');
    const requestTime = amzDate ? parseAmzDate(amzDate) : undefined;
    if (!amzDate || requestTime === undefined) {
      throw new AuthError('IncompleteSignatureException', 'Request must carry an X-Amz-Date header in the form yyyyMMddTHHmmssZ.');
    }
    if (amzDate.slice(0, 8) !== scopeDate) {
      throw new AuthError('InvalidSignatureException', `Credential date ${scopeDate} does not match X-Amz-Date ${amzDate}.`);
    }
    const now = this.opts.now();
    if (Math.abs(now - requestTime) > this.maxSkewMs) {
      throw new AuthError(
        'InvalidSignatureException',
        `Signature expired: ${amzDate} is outside the allowed 15 minute window around the server time ${new Date(now).toISOString()}.`,
      );
    }
    const signedHeaders = signedHeaderList.split(';');
    if (!signedHeaders.includes('host')) {
      throw new AuthError('InvalidSignatureException', "'Host' must be a signed header.");
    }
    const bodyHash = req.body && req.body.length > 0 ? sha256Hex(req.body) : EMPTY_SHA256;
    const claimed = header(req.headers, 'x-amz-content-sha256');
    if (claimed !== undefined && claimed !== bodyHash) {
      throw new AuthError('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match what was computed.');
    }
    let canonicalHeaders = '';
    for (const name of signedHeaders) {
      const value = header(req.headers, name);
      if (value === undefined) throw new AuthError('InvalidSignatureException', `Signed header '${name}' is missing from the request.`);
      canonicalHeaders += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
    }
    let query: string;
    try {
      query = canonicalQuery(req.rawQuery);
    } catch {
      throw new AuthError('InvalidSignatureException', 'Malformed percent-encoding in the query string.');
    }
    const canonicalRequest = [req.method, canonicalUri(req.rawPath), query, canonicalHeaders, signedHeaderList, bodyHash].join('\n');
    const scope = `${scopeDate}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const expected = createHmac('sha256', this.signingKey(secret, scopeDate, region, service)).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      throw new AuthError(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
    return { accessKeyId, region, service };
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
