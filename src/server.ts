// Builds and starts a meadow server: the fastify app with the AWS API plugin, on a store and a clock.
import type { FastifyInstance } from 'fastify';
import { greengrassHandlers } from './api/greengrassv2/index.js';
import { iotHandlers } from './api/iot/index.js';
import { iotJobsDataHandlers } from './api/iot-jobs-data/index.js';
import type { ArtifactStore } from './artifacts/artifact-store.js';
import { registerDownloadRoute } from './artifacts/download-route.js';
import { DownloadUrlSigner } from './artifacts/download-url.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Config } from './config.js';
import type { Credentials } from './credentials.js';
import { startDataPlane } from './devices/dataplane/index.js';
import { ConfigurationUrls, registerConfigurationDownloadRoute } from './devices/dataplane/deployment-configuration.js';
import { loadCertificateAuthority, type CertificateAuthority } from './devices/identity/ca.js';
import { deviceEndpointTls } from './devices/identity/server-tls.js';
import { startMqttBroker } from './devices/mqtt/broker.js';
import { RolloutWorker } from './engine/rollout-worker.js';
import type { Store } from './store/store.js';
import { createS3Handler } from './s3/s3-api.js';
import { awsApiPlugin, type ServiceBinding } from './wire/aws-api.js';
import { GREENGRASS_ERRORS, IOT_ERRORS, IOT_JOBS_DATA_ERRORS } from './wire/errors.js';
import { createFastifyApp } from './wire/fastify-app.js';
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
  /** The port of the devices' MQTT broker (mutual TLS; the real one when 0 was asked for). */
  mqttPort: number;
  /** https://host:port of the devices' HTTPS data plane (mutual TLS; the real port when 0 was asked for). */
  dataPlaneEndpoint: string;
  close(): Promise<void>;
}

let models: { greengrass: ServiceModel; iot: ServiceModel; iotJobsData: ServiceModel } | undefined;
const loadModels = () =>
  (models ??= { greengrass: ServiceModel.load('greengrassv2'), iot: ServiceModel.load('iot'), iotJobsData: ServiceModel.load('iot-jobs-data') });

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
  return (await assemble(deps)).app;
}

/** The main app and what the device data plane shares with it (services, URL signers, the CA loader). */
async function assemble(deps: ServerDeps) {
  const { greengrass, iot, iotJobsData } = loadModels();
  const app = createFastifyApp({ logger: deps.logger ?? { level: deps.config.logLevel } });
  app.get('/health', async () => ({ status: 'ok' }));
  const clock = deps.clock ?? systemClock;
  const ca = certificateAuthorityLoader(deps, clock);
  if (deps.config.caCertFile) await ca(); // operator-supplied files are checked at start, so mistakes show at once
  const downloads = new DownloadUrlSigner(deps.credentials.secretAccessKey, clock);
  registerDownloadRoute(app, deps.artifacts, downloads);
  // Full deployment documents (GetDeploymentConfiguration on the data plane hands out these URLs).
  const configurationUrls = new ConfigurationUrls(deps.credentials.secretAccessKey, clock);
  const scope = { accountId: deps.config.accountId, region: deps.config.region };
  registerConfigurationDownloadRoute(app, deps.store, scope, configurationUrls);
  const services = {
    greengrass: { model: greengrass, handlers: greengrassHandlers, errors: GREENGRASS_ERRORS } satisfies ServiceBinding,
    iotJobsData: { model: iotJobsData, handlers: iotJobsDataHandlers, errors: IOT_JOBS_DATA_ERRORS } satisfies ServiceBinding,
  };
  await app.register(awsApiPlugin, {
    services: [
      services.greengrass,
      // AWS CLI v2 releases before 2.13 sign IoT requests as `execute-api`; AWS IoT accepts both.
      { model: iot, handlers: iotHandlers, errors: IOT_ERRORS, signingAliases: ['execute-api'] },
      // The devices' jobs API; its paths collide with iot's, so requests are told apart by their signing name.
      services.iotJobsData,
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
  return { app, services, downloads, configurationUrls, ca, clock, scope };
}

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  // The MQTT broker's server certificate needs the CA at start; the app then shares the one loaded here.
  const ca = deps.ca ?? (await loadCertificateAuthority(deps.config, deps.store, deps.clock ?? systemClock));
  const parts = await assemble({ ...deps, ca });
  // One server certificate for both device endpoints (an RSA key per start, not one per listener).
  const tls = await deviceEndpointTls(ca, deps.config.host);
  const app = parts.app;
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
  // Scale-out mode (MEADOW_MQTT_URL): devices use the external broker, and no broker is started here. Its MQTT
  // client library is loaded only then (~14 MiB a server with the embedded broker does not need).
  const mqtt = await (deps.config.mqttUrl
    ? (await import('./devices/mqtt/external-broker.js')).connectExternalBroker({ config: deps.config, store: deps.store, scope: { accountId: deps.config.accountId, region: deps.config.region }, clock, log: app.log })
    : startMqttBroker({
        host: deps.config.host,
        port: deps.config.mqttPort,
        store: deps.store,
        scope: { accountId: deps.config.accountId, region: deps.config.region },
        clock,
        ca,
        tls,
        log: app.log,
      })
  ).catch(async (e: Error) => {
    await engine.stop();
    await app.close();
    const where = deps.config.mqttUrl ? `connect to the MQTT broker at ${deps.config.mqttUrl}` : `start the MQTT broker on ${deps.config.host}:${deps.config.mqttPort}`;
    throw new Error(`cannot ${where}: ${e.message}`);
  });
  const endpoint = `http://${deps.config.host}:${port}`;
  const dataPlane = await startDataPlane({
    host: deps.config.host,
    port: deps.config.dataPlanePort,
    scope: parts.scope,
    store: deps.store,
    clock,
    artifacts: deps.artifacts,
    downloads: parts.downloads,
    configurationUrls: parts.configurationUrls,
    ca: parts.ca,
    tls,
    greengrass: parts.services.greengrass,
    iotJobsData: parts.services.iotJobsData,
    downloadBaseUrl: () => endpoint,
    rateLimitPerSecond: deps.config.apiRateLimit,
    logger: deps.logger ?? { level: deps.config.logLevel },
  }).catch(async (e: Error) => {
    await engine.stop();
    await mqtt.close();
    await app.close();
    throw new Error(`cannot start the device data plane on ${deps.config.host}:${deps.config.dataPlanePort}: ${e.message}`);
  });
  return {
    app,
    endpoint,
    engine,
    clock,
    mqttPort: mqtt.port,
    dataPlaneEndpoint: dataPlane.endpoint,
    close: async () => {
      await engine.stop();
      await dataPlane.close();
      await mqtt.close();
      await app.close();
    },
  };
}
