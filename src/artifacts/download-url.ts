// Pre-signed, expiring artifact URLs that meadow itself serves (GetComponentVersionArtifact hands them out).
// The signature is an HMAC over bucket, key and expiry with a key derived from meadow's access secret, so every
// meadow process sharing a database issues and accepts the same URLs; time comes from the injectable clock.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';

export const DOWNLOAD_PATH = '/meadow/artifact-downloads';
export const DEFAULT_URL_LIFETIME_SECONDS = 15 * 60;

export type UrlCheck = { ok: true; bucket: string; key: string } | { ok: false; reason: string };

export class DownloadUrlSigner {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly clock: Clock,
    private readonly lifetimeSeconds = DEFAULT_URL_LIFETIME_SECONDS,
    /** Where the URLs point; each path gets its own key, so a URL signed for one path is refused under another. */
    readonly path = DOWNLOAD_PATH,
  ) {
    const purpose = path === DOWNLOAD_PATH ? 'meadow artifact download URLs' : `meadow download URLs under ${path}`;
    this.key = createHmac('sha256', secret).update(purpose).digest();
  }

  private sign(bucket: string, key: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${bucket}\n${key}\n${expires}`).digest('hex');
  }

  /** A URL under `baseUrl` (scheme://host:port) valid for the signer's lifetime from now. */
  urlFor(baseUrl: string, bucket: string, key: string): string {
    const expires = Math.floor(this.clock.now() / 1000) + this.lifetimeSeconds;
    const path = [bucket, ...key.split('/')].map(encodeURIComponent).join('/');
    return `${baseUrl}${this.path}/${path}?expires=${expires}&signature=${this.sign(bucket, key, expires)}`;
  }

  /** Checks the path after the signer's path (still encoded) and the query of a download request. */
  check(encodedPath: string, query: URLSearchParams): UrlCheck {
    let parts: string[];
    try {
      // Empty segments are part of the key: S3 keys may hold `//` or start with `/`.
      parts = encodedPath.replace(/^\//, '').split('/').map(decodeURIComponent);
    } catch {
      return { ok: false, reason: 'The URL path is not valid.' };
    }
    const [bucket, ...rest] = parts;
    const key = rest.join('/');
    const expires = Number(query.get('expires'));
    const signature = query.get('signature') ?? '';
    if (!bucket || !key || !Number.isInteger(expires) || !/^[0-9a-f]{64}$/.test(signature)) {
      return { ok: false, reason: 'The URL is not a meadow artifact download URL.' };
    }
    const expected = Buffer.from(this.sign(bucket, key, expires), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      return { ok: false, reason: 'The URL signature does not match; the URL was altered.' };
    }
    if (Math.floor(this.clock.now() / 1000) > expires) {
      return { ok: false, reason: `The URL expired at ${new Date(expires * 1000).toISOString()}; ask for a new one.` };
    }
    return { ok: true, bucket, key };
  }
}
