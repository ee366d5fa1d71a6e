// Builds and starts a meadow server: the fastify app with the AWS API plugin, on a store and a clock.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { greengrassHandlers } from './api/greengrassv2/index.js';
import { iotHandlers } from './api/iot/index.js';
import type { ArtifactStore } from './artifacts/artifact-store.js';
import { registerDownloadRoute } from './artifacts/download-route.js';
import { DownloadUrlSigner } from './artifacts/download-url.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Config } from './config.js';
import type { Credentials } from './credentials.js';
import { loadCertificateAuthority, type CertificateAuthority } from './devices/identity/ca.js';
import type { Store } from './store/store.js';
import { createS3Handler } from './s3/s3-api.js';
import { awsApiPlugin } from './wire/aws-api.js';
import { GREENGRASS_ERRORS, IOT_ERRORS, plainError } from './wire/errors.js';
import { ServiceModel } from './wire/service-model.js';

export interface ServerDeps {
  config: Config;
  store: Store;
  artifacts: ArtifactStore;
  credentials: Pick<Credentials, 'accessKeyId' | 'secretAccessKey'>;
  clock?: Clock;
  /** The device CA; loaded (or created) from the config and store when not given. */
  ca?: CertificateAuthority;
  logger?: boolean | object;
}

export interface RunningServer {
  app: FastifyInstance;
  /** http://host:port of the API (the port is the real one when 0 was asked for). */
  endpoint: string;
  close(): Promise<void>;
}

let models: { greengrass: ServiceModel; iot: ServiceModel } | undefined;
const loadModels = () => (models ??= { greengrass: ServiceModel.load('greengrassv2'), iot: ServiceModel.load('iot') });

/** Errors raised before a request reaches the AWS API plugin still name a request id, as every AWS error does. */
const errorHeaders = (code: string) => ({ 'x-amzn-ErrorType': code, 'x-amzn-RequestId': randomUUID() });

export async function buildApp(deps: ServerDeps): Promise<FastifyInstance> {
  const { greengrass, iot } = loadModels();
  const app = Fastify({
    logger: deps.logger ?? { level: deps.config.logLevel },
    // Per-request access logs would cost more than the requests; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024 * 1024,
    frameworkErrors: (err, _req, reply) => {
      const e = plainError(400, 'SerializationException', `Malformed request: ${err.message}`);
      (reply as FastifyReply).code(e.status).headers({ ...errorHeaders(e.code), 'content-type': 'application/json' }).send(e.body);
    },
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const e = plainError(status, status === 413 ? 'RequestEntityTooLargeException' : status === 500 ? 'InternalFailure' : 'SerializationException', err.message);
    reply.code(e.status).headers({ ...errorHeaders(e.code), 'content-type': 'application/json' }).send(e.body);
  });
  app.get('/health', async () => ({ status: 'ok' }));
  const clock = deps.clock ?? systemClock;
  const ca = deps.ca ?? (await loadCertificateAuthority(deps.config, deps.store, clock));
  const downloads = new DownloadUrlSigner(deps.credentials.secretAccessKey, clock);
  registerDownloadRoute(app, deps.artifacts, downloads);
  await app.register(awsApiPlugin, {
    services: [
      { model: greengrass, handlers: greengrassHandlers, errors: GREENGRASS_ERRORS },
      // AWS CLI v2 releases before 2.13 sign IoT requests as `execute-api`; AWS IoT accepts both.
      { model: iot, handlers: iotHandlers, errors: IOT_ERRORS, signingAliases: ['execute-api'] },
    ],
    store: deps.store,
    clock,
    artifacts: deps.artifacts,
    downloads,
    ca,
    accountId: deps.config.accountId,
    region: deps.config.region,
    credentials: [deps.credentials],
    rateLimitPerSecond: deps.config.apiRateLimit,
    // The embedded S3 endpoint over the artifact store, for requests signed for `s3`.
    extraServices: new Map([
      ['s3', createS3Handler({ store: deps.artifacts, region: deps.config.region, accountId: deps.config.accountId, credentials: [deps.credentials] })],
    ]),
  });
  return app;
}

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const app = await buildApp(deps);
  await app.listen({ host: deps.config.host, port: deps.config.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : deps.config.port;
  return {
    app,
    endpoint: `http://${deps.config.host}:${port}`,
    close: () => app.close(),
  };
}
