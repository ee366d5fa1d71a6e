// `meadow serve`: start the control plane on the configured store and print how to reach it.
import { setFlagsFromString } from 'node:v8';
import { configFromEnv } from './config.js';
import { credentialsHelp, loadCredentials } from './credentials.js';
import { startServer } from './server.js';
import { openArtifactStore } from './artifacts/open-artifact-store.js';
import { openStore } from './store/open-store.js';

export async function serve(): Promise<void> {
  const config = configFromEnv();
  // A fan-out to 10,000 devices made V8 grow the heap by ~400 MiB of garbage before collecting (BENCHMARKS.md).
  if (config.heapGrowthPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
  const credentials = loadCredentials(config);
  const store = await openStore(config);
  const artifacts = await openArtifactStore(config);
  const server = await startServer({ config, store, artifacts, credentials });
  const storeName = config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`;
  process.stdout.write(`meadow listening on ${server.endpoint} (store: ${storeName}, region ${config.region}, account ${config.accountId})\n`);
  process.stdout.write(
    config.mqttUrl
      ? `meadow MQTT broker (external, devices' requests through shared subscriptions) on ${config.mqttUrl.replace(/\/+$/, '')}\n`
      : `meadow MQTT broker (mutual TLS, device certificates) on ${config.host}:${server.mqttPort}\n`,
  );
  process.stdout.write(`meadow device data plane (HTTPS, mutual TLS, device certificates) on ${server.dataPlaneEndpoint}\n`);
  if (credentials.source !== 'environment') process.stdout.write(credentialsHelp(credentials, config, server.endpoint));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await store.close();
    await artifacts.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
