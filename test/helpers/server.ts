// Starts a real meadow server on an ephemeral port for a test, with real AWS SDK clients pointed at it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GreengrassV2Client } from '@aws-sdk/client-greengrassv2';
import { IoTClient } from '@aws-sdk/client-iot';
import type { Clock } from '../../src/core/clock.js';
import type { RolloutWorker } from '../../src/engine/rollout-worker.js';
import { configFromEnv, type Config } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { openArtifactStore } from '../../src/artifacts/open-artifact-store.js';
import type { ArtifactStore } from '../../src/artifacts/artifact-store.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { createDatabase } from './databases.js';

export const TEST_CREDENTIALS = { accessKeyId: 'AKIAMEADOWTEST000001', secretAccessKey: 'meadow-test-secret-key-0000000000000000' };

export interface TestServer {
  endpoint: string;
  config: Config;
  store: Store;
  artifacts: ArtifactStore;
  gg: GreengrassV2Client;
  iot: IoTClient;
  /** The server's rollout worker: `tick()` does the rollout work due at the server clock's now. */
  engine: RolloutWorker;
  clock: Clock;
  /** The port of the server's MQTT broker (mutual TLS with device certificates). */
  mqttPort: number;
  /** https://127.0.0.1:port of the devices' HTTPS data plane (mutual TLS with a device certificate). */
  dataPlaneEndpoint: string;
  close(): Promise<void>;
}

export interface TestServerOptions {
  clock?: Clock;
  config?: Partial<Config>;
  /** Lets a test observe or slow down the store the server uses. */
  wrapStore?: (store: Store) => Store;
  /** Start on another test server's data (its `config`), as a restart would, and leave the data in place at close. */
  dataOf?: Pick<Config, 'dataDir' | 'databaseUrl'>;
}

export function clientConfig(endpoint: string, region = 'us-east-1') {
  return { endpoint, region, credentials: TEST_CREDENTIALS, maxAttempts: 1 };
}

export async function startTestServer(kind: 'sqlite' | 'postgres', opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataOf?.dataDir ?? mkdtempSync(join(tmpdir(), 'meadow-test-'));
  const db = kind === 'postgres' && !opts.dataOf ? await createDatabase() : undefined;
  const config: Config = {
    ...configFromEnv({}),
    port: 0,
    mqttPort: 0,
    dataPlanePort: 0,
    dataDir,
    databaseUrl: opts.dataOf ? opts.dataOf.databaseUrl : db?.url,
    accessKeyId: TEST_CREDENTIALS.accessKeyId,
    secretAccessKey: TEST_CREDENTIALS.secretAccessKey,
    logLevel: 'warn',
    ...opts.config,
  };
  const rawStore = await openStore(config);
  const store = opts.wrapStore ? opts.wrapStore(rawStore) : rawStore;
  const artifacts = await openArtifactStore(config);
  // A test that brings its own clock drives the rollout worker itself, with engine.tick(), so no timer runs then.
  const server = await startServer({
    config,
    store,
    artifacts,
    credentials: TEST_CREDENTIALS,
    clock: opts.clock,
    logger: false,
    rolloutTimer: opts.clock === undefined,
  });
  const gg = new GreengrassV2Client(clientConfig(server.endpoint, config.region));
  const iot = new IoTClient(clientConfig(server.endpoint, config.region));
  return {
    endpoint: server.endpoint,
    config,
    store: rawStore,
    artifacts,
    gg,
    iot,
    engine: server.engine,
    clock: server.clock,
    mqttPort: server.mqttPort,
    dataPlaneEndpoint: server.dataPlaneEndpoint,
    async close() {
      gg.destroy();
      iot.destroy();
      await server.close();
      await rawStore.close();
      await artifacts.close();
      await db?.drop();
      if (!opts.dataOf) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
