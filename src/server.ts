// Builds and starts a meadow server: the fastify app with the AWS API plugin, on a store and a clock.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { greengrassHandlers } from './api/greengrassv2/index.js';
import { iotHandlers } from './api/iot/index.js';
import { iotJobsDataHandlers } from './api/iot-jobs-data/index.js';
import type { ArtifactStore } from './artifacts/artifact-store.js';
import { registerDownloadRoute } from './artifacts/download-route.js';
import { DownloadUrlSigner } from './artifacts/download-url.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Config } from './config.js';
import type { Credentials } from './credentials.js';
import { loadCertificateAuthority, type CertificateAuthority } from './devices/identity/ca.js';
import { RolloutWorker } from './engine/rollout-worker.js';
import type { Store } from './store/store.js';
import { createS3Handler } from './s3/s3-api.js';
import { awsApiPlugin } from './wire/aws-api.js';
import { GREENGRASS_ERRORS, IOT_ERRORS, IOT_JOBS_DATA_ERRORS, plainError } from './wire/errors.js';
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
  /** Run the rollout worker on a timer (default). Tests that move a ManualClock turn it off and call engine.tick(). */
  rolloutTimer?: boolean;
}

export interface RunningServer {
  app: FastifyInstance;
  /** http://host:port of the API (the port is the real one when 0 was asked for). */
  endpoint: string;
  /** The rollout worker of group-deployment jobs; tests drive it with `tick()` after moving a ManualClock. */
  engine: RolloutWorker;
  clock: Clock;
  close(): Promise<void>;
}

let models: { greengrass: ServiceModel; iot: ServiceModel; iotJobsData: ServiceModel } | undefined;
const loadModels = () =>
  (models ??= { greengrass: ServiceModel.load('greengrassv2'), iot: ServiceModel.load('iot'), iotJobsData: ServiceModel.load('iot-jobs-data') });

/** Errors raised before a request reaches the AWS API plugin still name a request id, as every AWS error does. */
const errorHeaders = (code: string) => ({ 'x-amzn-ErrorType': code, 'x-amzn-RequestId': randomUUID() });

/**
 * The CA is loaded (or generated: an RSA key takes a while) the first time it is needed, not at every start; one
 * promise is shared by all callers, and a failure is not remembered so the next call tries again.
 */
function certificateAuthorityLoader(deps: ServerDeps, clock: Clock): () => Promise<CertificateAuthority> {
  let loading: Promise<CertificateAuthority> | undefined = deps.ca ? Promise.resolve(deps.ca) : undefined;
  return () =>
    (loading ??= loadCertificateAuthority(deps.config, deps.store, clock).catch((e) => {
      loading = undefined;
      throw e;
    }));
}

export async function buildApp(deps: ServerDeps): Promise<FastifyInstance> {
  const { greengrass, iot, iotJobsData } = loadModels();
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
  const ca = certificateAuthorityLoader(deps, clock);
  if (deps.config.caCertFile) await ca(); // operator-supplied files are checked at start, so mistakes show at once
  const downloads = new DownloadUrlSigner(deps.credentials.secretAccessKey, clock);
  registerDownloadRoute(app, deps.artifacts, downloads);
  await app.register(awsApiPlugin, {
    services: [
      { model: greengrass, handlers: greengrassHandlers, errors: GREENGRASS_ERRORS },
      // AWS CLI v2 releases before 2.13 sign IoT requests as `execute-api`; AWS IoT accepts both.
      { model: iot, handlers: iotHandlers, errors: IOT_ERRORS, signingAliases: ['execute-api'] },
      // The devices' jobs API; its paths collide with iot's, so requests are told apart by their signing name.
      { model: iotJobsData, handlers: iotJobsDataHandlers, errors: IOT_JOBS_DATA_ERRORS },
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
  const clock = deps.clock ?? systemClock;
  const engine = new RolloutWorker({
    store: deps.store,
    clock,
    scope: { accountId: deps.config.accountId, region: deps.config.region },
    onError: (err) => app.log.error({ err }, 'rollout worker tick failed'),
  });
  if (deps.rolloutTimer !== false) engine.start();
  return {
    app,
    endpoint: `http://${deps.config.host}:${port}`,
    engine,
    clock,
    close: async () => {
      await engine.stop();
      await app.close();
    },
  };
}
