// Load generation. Requests are SigV4-signed ahead of time (hashing in pure JS costs more than sending), then
// replayed by autocannon over keep-alive connections, so the load generator stays cheaper than the server.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import autocannon from 'autocannon';

export interface SignedRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export type Sign = (method: SignedRequest['method'], path: string, body?: string) => Promise<SignedRequest>;

/** Signs requests for one endpoint the way the AWS SDK does (service greengrass; valid for 15 minutes). */
export function signerFor(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }, region = 'us-east-1'): Sign {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ credentials, region, service: 'greengrass', sha256: Sha256 });
  return async (method, path, body) => {
    const headers: Record<string, string> = { host: url.host, 'user-agent': 'meadow-bench' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const signed = await signer.sign({ method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path, query: {}, headers, body });
    return { method, path, headers: signed.headers, body };
  };
}

/** One request replayed as is, or a source of prepared requests. */
export type Load = SignedRequest | (() => SignedRequest);

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests that failed or did not answer 2xx, by status ('error' for socket errors and timeouts). */
  failures: Record<string, number>;
  /** Wall-clock seconds the run took, connecting included. */
  wallSeconds: number;
  /** CPU seconds the load generator (this process) used meanwhile. */
  loadGeneratorCpuSeconds: number;
}

/**
 * Sends requests over `connections` keep-alive connections for `seconds`: the same one every time (autocannon
 * then builds its bytes once), or whatever the function hands out, which must be cheap (prepared before the run).
 */
export async function runLoad(endpoint: string, connections: number, seconds: number, request: Load): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url: endpoint,
    connections,
    duration: seconds,
    // autocannon adds Content-Length to the headers it is given: hand it copies, keep the prepared ones clean.
    requests: [
      typeof request === 'function'
        ? {
            setupRequest: () => {
              const r = request();
              return { ...r, headers: { ...r.headers } };
            },
          }
        : { ...request, headers: { ...request.headers } },
    ],
  });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);

  const failures: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    if (!status.startsWith('2')) failures[status] = count;
  }
  if (result.errors + result.timeouts > 0) failures.error = result.errors + result.timeouts;
  return {
    requests: result.requests.total,
    seconds: result.duration,
    perSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures,
    wallSeconds: wallMs / 1000,
    loadGeneratorCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
