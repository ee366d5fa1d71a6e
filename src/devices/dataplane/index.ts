// The HTTPS device data plane (semantics §8.8): the calls a Greengrass core device makes over mutual TLS on its own
// port — ResolveComponentCandidates, GetComponentVersionArtifact, ListThingGroupsForCoreDevice,
// GetDeploymentConfiguration and the IoT jobs data plane. It is the same model-driven AWS API plugin as the main
// listener, with the client certificate instead of SigV4 as the authentication step, and only these operations.
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import type { DownloadUrlSigner } from '../../artifacts/download-url.js';
import type { Clock } from '../../core/clock.js';
import type { HandlerTable } from '../../api/context.js';
import type { Scope, Store } from '../../store/store.js';
import { awsApiPlugin, type ServiceBinding } from '../../wire/aws-api.js';
import { createFastifyApp } from '../../wire/fastify-app.js';
import type { CertificateAuthority } from '../identity/ca.js';
import type { DeviceEndpointTls } from '../identity/server-tls.js';
import { authenticateDevice, authorizeDevice } from './authenticate.js';
import type { ConfigurationUrls } from './deployment-configuration.js';
import { dataPlaneGreengrassHandlers } from './handlers.js';

/** The Greengrass operations devices call on the data plane; the control plane's others are not served here. */
export const DATA_PLANE_GREENGRASS_OPERATIONS: ReadonlySet<string> = new Set([
  'ResolveComponentCandidates',
  'GetComponentVersionArtifact',
  'ListThingGroupsForCoreDevice',
  'GetDeploymentConfiguration',
]);

export interface DataPlaneOptions {
  host: string;
  port: number;
  scope: Scope;
  store: Store;
  clock: Clock;
  artifacts: ArtifactStore;
  downloads: DownloadUrlSigner;
  configurationUrls: ConfigurationUrls;
  ca: () => Promise<CertificateAuthority>;
  /** The device endpoints' server certificate and mutual-TLS settings (deviceEndpointTls), shared with MQTT. */
  tls: DeviceEndpointTls;
  /** The Greengrass and IoT jobs data services as the main listener serves them (models, handlers, errors). */
  greengrass: ServiceBinding;
  iotJobsData: ServiceBinding;
  /** Where pre-signed URLs point: the main API listener, which devices reach without a client certificate. */
  downloadBaseUrl: () => string;
  rateLimitPerSecond: number;
  logger: boolean | object;
}

export interface DataPlane {
  app: FastifyInstance;
  /** https://host:port (the real port when 0 was asked for). */
  endpoint: string;
  close(): Promise<void>;
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const app = createFastifyApp({
    logger: opts.logger,
    // The handshake refuses a client without a certificate chaining to meadow's CA; each request then checks that
    // the certificate is still a device's (authenticateDevice).
    https: opts.tls,
  });
  const greengrassHandlers: HandlerTable = { ...opts.greengrass.handlers, ...dataPlaneGreengrassHandlers(opts.configurationUrls) };
  await app.register(awsApiPlugin, {
    services: [
      { ...opts.greengrass, handlers: greengrassHandlers, operations: DATA_PLANE_GREENGRASS_OPERATIONS },
      { ...opts.iotJobsData },
    ],
    store: opts.store,
    clock: opts.clock,
    artifacts: opts.artifacts,
    downloads: opts.downloads,
    ca: opts.ca,
    accountId: opts.scope.accountId,
    region: opts.scope.region,
    credentials: [],
    rateLimitPerSecond: opts.rateLimitPerSecond,
    authenticate: authenticateDevice({ store: opts.store, scope: opts.scope, clock: opts.clock, ca: opts.ca }),
    authorize: authorizeDevice({ store: opts.store, scope: opts.scope }),
    baseUrl: opts.downloadBaseUrl,
  });
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const urlHost = isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host;
  return { app, endpoint: `https://${urlHost}:${port}`, close: () => app.close() };
}
