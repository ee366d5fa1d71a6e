// The agent's side of the Greengrass device data plane (semantics §7.1, §8.1, §8.8): HTTPS with the device's
// certificate and key, trusting the root of its bundle, over one kept-alive connection pool. Four calls —
// ResolveComponentCandidates, GetComponentVersionArtifact, ListThingGroupsForCoreDevice, GetDeploymentConfiguration —
// and the download of what a pre-signed URL points at (meadow's own download URL or an S3 one), streamed to disk.
// Every failure becomes a DataPlaneError carrying the HTTP status, AWS's error code and the nucleus's error codes;
// when to try again is src/core/dataplane-retry.ts's rule, the waiting is injectable.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, truncate, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rootCertificates } from 'node:tls';
import {
  ARTIFACT_CHECKSUM_ATTEMPTS,
  failureCodes,
  retryAfter,
  type CallFailure,
  type DataPlaneCall,
} from '../../core/dataplane-retry.js';
import { DeploymentError, type DeploymentErrorCode } from '../../core/deployment-errors.js';
import { FULL_DOCUMENT_MAX_BYTES, integrityCheckOf } from '../../core/device-document/index.js';
import { readDeviceBundle } from '../bundle.js';

/** What the agent needs to call the data plane as its thing. */
export interface DataPlaneIdentity {
  thingName: string;
  certificatePem: string;
  privateKeyPem: string;
  /** The root the device trusts for the data plane's server certificate (meadow's CA). */
  caPem: string;
  /** https://host:port of the data plane. */
  endpoint: string;
}

/** The data-plane identity in a bundle written by `meadow provision`. */
export function dataPlaneIdentityFromBundle(dir: string): DataPlaneIdentity {
  const bundle = readDeviceBundle(dir);
  return {
    thingName: bundle.config.thingName,
    certificatePem: bundle.certificatePem,
    privateKeyPem: bundle.privateKeyPem,
    caPem: bundle.caPem,
    endpoint: bundle.config.dataPlaneEndpoint.replace(/\/+$/, ''),
  };
}

/** A data-plane call or download that failed for good (after whatever retries the rule allowed). */
export class DataPlaneError extends DeploymentError {
  constructor(
    readonly call: DataPlaneCall,
    readonly failure: CallFailure,
    message: string,
    codes: readonly DeploymentErrorCode[] = failureCodes(call, failure),
    options?: { cause?: unknown },
  ) {
    super(message, codes, options);
    this.name = 'DataPlaneError';
  }

  /** The HTTP status, when there was an answer. */
  get status(): number | undefined {
    return this.failure.kind === 'http' ? this.failure.status : undefined;
  }

  /** AWS's error code (`ResourceNotFoundException`, ...), when the answer named one. */
  get errorCode(): string | undefined {
    return this.failure.kind === 'http' ? this.failure.errorCode : undefined;
  }
}

export interface ComponentCandidate {
  componentName: string;
  /** The local candidate, if any. */
  componentVersion?: string;
  /** Dependent (a group, `thing/...`, or a component) -> npm-style range. */
  versionRequirements: Record<string, string>;
}

export interface ResolvedComponentVersion {
  arn: string;
  componentName: string;
  componentVersion: string;
  /** The recipe as the cloud sent it (JSON). */
  recipe: Buffer;
  vendorGuidance?: string;
  message?: string;
}

export interface CoreDeviceThingGroup {
  thingGroupName: string;
  hasChildGroups?: boolean;
  rootToParentThingGroups?: { thingGroupName: string; thingGroupArn: string }[];
}

export interface DataPlaneClientOptions {
  /** Waits between attempts; tests pass one that records and returns at once. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Bounds the retries the rule allows without end (network, throttling, 5xx); unbounded by default, as the nucleus. */
  maxAttempts?: number;
  /** Page size of ListThingGroupsForCoreDevice. */
  pageSize?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface DownloadResult {
  size: number;
  /** Base64 of the SHA-256 of the bytes written (what a recipe's artifact Digest holds). */
  sha256Base64: string;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** An error from the response's side of a request (connection refused or reset, TLS, a cut stream). */
class NetworkFailure extends Error {}

/** Disk errors are the device's, not the network's: they are not retried. */
const DISK_ERROR_CODES = new Set(['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EDQUOT', 'EISDIR', 'ENOTDIR', 'EMFILE']);

export class DataPlaneClient {
  private readonly agent: https.Agent;
  private readonly downloadAgents: { http: http.Agent; https: https.Agent };
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly maxAttempts: number;
  private readonly pageSize: number;

  constructor(
    readonly identity: DataPlaneIdentity,
    options: DataPlaneClientOptions = {},
  ) {
    this.agent = new https.Agent({ keepAlive: true, cert: identity.certificatePem, key: identity.privateKeyPem, ca: identity.caPem });
    // Pre-signed URLs are fetched without the device certificate, as from S3: public roots plus the bundle's root
    // (meadow's own listener may present a certificate from its CA).
    this.downloadAgents = {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true, ca: [...rootCertificates, identity.caPem] }),
    };
    this.sleep = options.sleep ?? abortableSleep;
    this.maxAttempts = options.maxAttempts ?? Infinity;
    this.pageSize = options.pageSize ?? 50;
  }

  get thingName(): string {
    return this.identity.thingName;
  }

  /**
   * One component's version from the cloud: exactly one candidate in, exactly one resolved version out. With
   * `retry: false` (the agent has a local candidate to fall back on) any failure is thrown at once.
   */
  async resolveComponentCandidates(
    platformAttributes: Record<string, string>,
    candidate: ComponentCandidate,
    opts: CallOptions & { retry?: boolean } = {},
  ): Promise<ResolvedComponentVersion> {
    const call = 'ResolveComponentCandidates';
    const body = {
      platform: { attributes: platformAttributes },
      componentCandidates: [
        { componentName: candidate.componentName, componentVersion: candidate.componentVersion, versionRequirements: candidate.versionRequirements },
      ],
    };
    const out = await this.withRetries(call, opts, () => this.json(call, 'POST', '/greengrass/v2/resolveComponentCandidates', body), opts.retry === false ? 1 : undefined);
    const list = Array.isArray(out.resolvedComponentVersions) ? out.resolvedComponentVersions : [];
    const [r] = list;
    if (list.length !== 1 || typeof r?.componentVersion !== 'string' || typeof r?.recipe !== 'string') {
      throw new DeploymentError(
        `ResolveComponentCandidates answered ${list.length} versions for component ${candidate.componentName}; one with a recipe was expected.`,
        ['CLOUD_API_ERROR', 'RESOLVE_COMPONENT_CANDIDATES_BAD_RESPONSE'],
      );
    }
    return {
      arn: r.arn,
      componentName: r.componentName,
      componentVersion: r.componentVersion,
      recipe: Buffer.from(r.recipe, 'base64'),
      vendorGuidance: r.vendorGuidance,
      message: r.message,
    };
  }

  /** The pre-signed URL of one artifact of a component version (`artifactName` as artifactRequestName gives it). */
  async getComponentVersionArtifact(componentVersionArn: string, artifactName: string, opts: CallOptions = {}): Promise<string> {
    const call = 'GetComponentVersionArtifact';
    const path = `/greengrass/v2/components/${encodeURIComponent(componentVersionArn)}/artifacts/${artifactName.split('/').map(encodeURIComponent).join('/')}`;
    const out = await this.withRetries(call, opts, () => this.json(call, 'GET', path));
    if (typeof out.preSignedUrl !== 'string') throw new DeploymentError('GetComponentVersionArtifact answered without a preSignedUrl.', ['CLOUD_API_ERROR', 'BAD_REQUEST']);
    return out.preSignedUrl;
  }

  /** Every thing group the device is directly in, each with its ancestors root first: all pages. */
  async listThingGroupsForCoreDevice(opts: CallOptions = {}): Promise<CoreDeviceThingGroup[]> {
    const call = 'ListThingGroupsForCoreDevice';
    const groups: CoreDeviceThingGroup[] = [];
    let nextToken: string | undefined;
    do {
      const query = new URLSearchParams({ maxResults: String(this.pageSize) });
      if (nextToken) query.set('nextToken', nextToken);
      const path = `/greengrass/v2/coreDevices/${encodeURIComponent(this.thingName)}/thingGroups?${query}`;
      const page = await this.withRetries(call, opts, () => this.json(call, 'GET', path));
      groups.push(...((page.thingGroups ?? []) as CoreDeviceThingGroup[]));
      nextToken = typeof page.nextToken === 'string' && page.nextToken !== '' ? page.nextToken : undefined;
    } while (nextToken);
    return groups;
  }

  /**
   * The full document of a LARGE_CONFIGURATION deployment: GetDeploymentConfiguration, then the pre-signed URL,
   * then its SHA-256 against the integrity check. A download that fails or does not match is fetched again (with a
   * new URL) up to ARTIFACT_CHECKSUM_ATTEMPTS times in all; a document over 10 MB is refused.
   */
  async getDeploymentConfiguration(deploymentId: string, opts: CallOptions = {}): Promise<string> {
    const call = 'GetDeploymentConfiguration';
    const path = `/greengrass/v2/deployments/${encodeURIComponent(deploymentId)}/configuration?${new URLSearchParams({ coreDeviceThingName: this.thingName })}`;
    for (let attempt = 1; ; attempt++) {
      const out = await this.withRetries(call, opts, () => this.json(call, 'GET', path));
      const check = out.integrityCheck ?? {};
      if (typeof out.preSignedUrl !== 'string' || check.algorithm !== 'SHA-256' || typeof check.digest !== 'string') {
        throw new DeploymentError(
          `GetDeploymentConfiguration for deployment ${deploymentId} answered without a URL or a SHA-256 integrity check.`,
          ['CLOUD_API_ERROR', 'DOWNLOAD_DEPLOYMENT_DOCUMENT_ERROR'],
        );
      }
      let failure: string;
      try {
        const text = (await this.downloadToBuffer(out.preSignedUrl, FULL_DOCUMENT_MAX_BYTES, opts)).toString('utf8');
        const digest = integrityCheckOf(text).digest;
        if (digest === check.digest) return text;
        failure = `its SHA-256 digest ${digest} is not the integrity check's ${check.digest}`;
      } catch (e) {
        if (!(e instanceof DataPlaneError)) throw e;
        failure = e.message;
      }
      if (attempt >= ARTIFACT_CHECKSUM_ATTEMPTS || attempt >= this.maxAttempts) {
        throw new DeploymentError(`The full document of deployment ${deploymentId} could not be downloaded intact: ${failure}.`, [
          'DOWNLOAD_DEPLOYMENT_DOCUMENT_ERROR',
        ]);
      }
      await this.sleep(retryAfter(call, { kind: 'network' }, attempt)!, opts.signal);
    }
  }

  /**
   * Streams a pre-signed URL into `file` (created or truncated), hashing as it goes. A connection cut part way is
   * picked up where it stopped with a Range request; what is on disk is what is hashed.
   */
  async downloadToFile(url: string, file: string, opts: CallOptions & { mode?: number } = {}): Promise<DownloadResult> {
    const call = 'Download';
    await writeFile(file, '', { mode: opts.mode ?? 0o600 });
    let offset = 0;
    let hash = createHash('sha256');
    for (let failures = 0; ; ) {
      try {
        const res = await this.open(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, opts.signal);
        if (res.statusCode === 200 && offset > 0) {
          // The server sent everything again: start over.
          await truncate(file, 0);
          [offset, hash] = [0, createHash('sha256')];
        } else if (res.statusCode !== 200 && !(res.statusCode === 206 && offset > 0)) {
          const answer = await collect(res, 64 * 1024);
          throw this.httpError(call, { headers: res.headers, body: answer?.body ?? Buffer.alloc(0), status: res.statusCode ?? 0 });
        }
        await pipeline(res, hashing(hash), createWriteStream(file, { flags: 'a' }));
        const size = (await stat(file)).size;
        return { size, sha256Base64: hash.digest('base64') };
      } catch (e) {
        if (DISK_ERROR_CODES.has((e as NodeJS.ErrnoException).code ?? '')) {
          throw new DataPlaneError(call, { kind: 'network' }, `Writing ${file} failed: ${(e as Error).message}`, ['IO_WRITE_ERROR'], { cause: e });
        }
        if (opts.signal?.aborted) throw opts.signal.reason;
        const error =
          e instanceof DataPlaneError ? e : new DataPlaneError(call, { kind: 'network' }, `Downloading ${redact(url)} failed: ${(e as Error).message}`, undefined, { cause: e });
        failures++;
        const delay = retryAfter(call, error.failure, failures);
        if (delay === undefined || failures >= this.maxAttempts) throw error;
        await this.sleep(delay, opts.signal);
        // Resume from what reached the disk, whatever was in flight.
        [offset, hash] = await hashFile(file);
      }
    }
  }

  /** A pre-signed URL's content in memory, refused (DEPLOYMENT_DOCUMENT_SIZE_EXCEEDED) past `maxBytes`. */
  async downloadToBuffer(url: string, maxBytes: number, opts: CallOptions = {}): Promise<Buffer> {
    const call = 'Download';
    return this.withRetries(call, opts, async () => {
      const res = await this.open(url, {}, opts.signal);
      const length = Number(res.headers['content-length']);
      if (res.statusCode === 200 && length > maxBytes) {
        res.destroy();
        throw tooLarge(url, maxBytes);
      }
      const answer = await collect(res, maxBytes);
      if (answer === undefined) throw tooLarge(url, maxBytes);
      if (res.statusCode !== 200) throw this.httpError(call, { ...answer, status: res.statusCode ?? 0 });
      return answer.body;
    });
  }

  close(): void {
    this.agent.destroy();
    this.downloadAgents.http.destroy();
    this.downloadAgents.https.destroy();
  }

  private async withRetries<T>(call: DataPlaneCall, opts: CallOptions, attempt: () => Promise<T>, maxAttempts = this.maxAttempts): Promise<T> {
    for (let failures = 1; ; failures++) {
      try {
        return await attempt();
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        const error =
          e instanceof NetworkFailure ? new DataPlaneError(call, { kind: 'network' }, `${call} could not reach ${this.identity.endpoint}: ${e.message}`, undefined, { cause: e }) : e;
        if (!(error instanceof DataPlaneError)) throw error;
        const delay = retryAfter(call, error.failure, failures);
        if (delay === undefined || failures >= maxAttempts) throw error;
        await this.sleep(delay, opts.signal);
      }
    }
  }

  /** One data-plane request; a 2xx answer's JSON body, or a DataPlaneError. */
  private async json(call: DataPlaneCall, method: string, path: string, body?: unknown): Promise<any> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = https.request(
        new URL(path, this.identity.endpoint),
        {
          method,
          agent: this.agent,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        },
        (res) => {
          collect(res, Infinity).then((a) => resolve({ ...a!, status: res.statusCode ?? 0 }), (e) => reject(new NetworkFailure(e.message)));
        },
      );
      req.on('error', (e) => reject(new NetworkFailure(e.message)));
      req.end(payload);
    });
    if (answer.status < 200 || answer.status >= 300) throw this.httpError(call, answer);
    const text = answer.body.toString('utf8');
    try {
      return text === '' ? {} : JSON.parse(text);
    } catch {
      throw new DataPlaneError(call, { kind: 'http', status: answer.status }, `${call} answered ${answer.status} with a body that is not JSON.`);
    }
  }

  /** GET of a pre-signed URL; resolves with the response once its head arrived. */
  private open(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
    const target = new URL(url);
    const [lib, agent] = target.protocol === 'https:' ? [https, this.downloadAgents.https] : [http, this.downloadAgents.http];
    return new Promise((resolve, reject) => {
      const req = lib.request(target, { method: 'GET', agent, headers, signal }, resolve);
      req.on('error', (e) => reject(signal?.aborted ? signal.reason : new NetworkFailure(e.message)));
      req.end();
    });
  }

  private httpError(call: DataPlaneCall, answer: Answer): DataPlaneError {
    const header = answer.headers['x-amzn-errortype'];
    let body: any;
    try {
      body = JSON.parse(answer.body.toString('utf8'));
    } catch {
      body = undefined;
    }
    const errorCode = (typeof header === 'string' ? header.split(':')[0] : undefined) ?? s3ErrorCode(answer.body) ?? body?.__type ?? body?.code;
    const message = body?.message ?? body?.Message ?? answer.body.toString('utf8').slice(0, 200);
    return new DataPlaneError(call, { kind: 'http', status: answer.status, errorCode }, `${call} failed with HTTP ${answer.status}${errorCode ? ` ${errorCode}` : ''}: ${message}`);
  }
}

function tooLarge(url: string, maxBytes: number): DeploymentError {
  return new DataPlaneError('Download', { kind: 'http', status: 200 }, `${redact(url)} holds more than ${maxBytes} bytes.`, ['DEPLOYMENT_DOCUMENT_SIZE_EXCEEDED']);
}

/** A URL without its query (a pre-signed URL's signature is a credential; never logged). */
const redact = (url: string) => url.split('?')[0];

/** An S3 error body's `<Code>`. */
function s3ErrorCode(body: Buffer): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body.toString('utf8').slice(0, 4096))?.[1];
}

/** The whole body, or undefined once it passes `maxBytes`; a cut stream rejects. */
function collect(res: IncomingMessage, maxBytes: number): Promise<Omit<Answer, 'status'> | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        res.destroy();
        resolve(undefined);
      } else chunks.push(c);
    });
    res.on('error', (e) => reject(new NetworkFailure(e.message)));
    res.on('aborted', () => reject(new NetworkFailure('the response was cut short')));
    res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
  });
}

function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

async function hashFile(file: string): Promise<[number, Hash]> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return [size, hash];
}
