// The full deployment document a device downloads when its job document is the LARGE_CONFIGURATION form (semantics
// §8.1): GetDeploymentConfiguration hands out a pre-signed URL for it, served by the main API listener (devices
// fetch pre-signed URLs without their certificate, as they would from S3), plus its SHA-256 digest.
import type { FastifyInstance } from 'fastify';
import { parseIotArn } from '../../core/arn.js';
import type { Clock } from '../../core/clock.js';
import { prepareDelivery } from '../../core/device-document/index.js';
import { jobOfDeployment } from '../../engine/jobs.js';
import { DownloadUrlSigner } from '../../artifacts/download-url.js';
import type { Deployment, Scope, Store } from '../../store/store.js';

export const CONFIGURATION_DOWNLOAD_PATH = '/meadow/deployment-configurations';
/** The one object under a deployment's URL path (the signer signs a bucket-and-key pair). */
const DOCUMENT_NAME = 'configuration.json';

export class ConfigurationUrls {
  private readonly signer: DownloadUrlSigner;

  constructor(secret: string, clock: Clock) {
    this.signer = new DownloadUrlSigner(secret, clock, undefined, CONFIGURATION_DOWNLOAD_PATH);
  }

  urlFor(baseUrl: string, deploymentId: string): string {
    return this.signer.urlFor(baseUrl, deploymentId, DOCUMENT_NAME);
  }

  /** The deployment id a request's path and query were signed for, or why they are refused. */
  check(encodedPath: string, query: URLSearchParams): { ok: true; deploymentId: string } | { ok: false; reason: string } {
    const check = this.signer.check(encodedPath, query);
    if (!check.ok) return check;
    if (check.key !== DOCUMENT_NAME) return { ok: false, reason: 'The URL is not a meadow deployment configuration URL.' };
    return { ok: true, deploymentId: check.bucket };
  }
}

/**
 * The full document of a deployment: what its job was created with for a group, and for a single thing (whose
 * deployment rides the shadow, with no job) the same document built from the deployment. Undefined when a group
 * deployment has no job (it was never delivered).
 */
export async function fullConfigurationOf(store: Store, scope: Scope, d: Deployment): Promise<string | undefined> {
  if (parseIotArn(d.targetArn)?.kind === 'thing') return prepareDelivery(d, scope).full.json;
  return (await jobOfDeployment(store, scope, d))?.fullDocument;
}

export function registerConfigurationDownloadRoute(app: FastifyInstance, store: Store, scope: Scope, urls: ConfigurationUrls): void {
  app.get(`${CONFIGURATION_DOWNLOAD_PATH}/*`, async (req, reply) => {
    const refuse = (status: number, code: string, message: string) =>
      reply.code(status).header('x-amzn-ErrorType', code).type('application/json').send(JSON.stringify({ message }));
    const url = req.raw.url ?? '';
    const q = url.indexOf('?');
    const path = (q < 0 ? url : url.slice(0, q)).slice(CONFIGURATION_DOWNLOAD_PATH.length);
    const check = urls.check(path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
    if (!check.ok) return refuse(403, 'AccessDeniedException', check.reason);
    const d = await store.getDeployment(scope, check.deploymentId);
    const json = d && (await fullConfigurationOf(store, scope, d));
    if (json === undefined) return refuse(404, 'ResourceNotFoundException', `Deployment ${check.deploymentId} no longer exists.`);
    return reply.type('application/json').send(json);
  });
}
