// Scale-out mode: device MQTT traffic goes through an external broker (MEADOW_MQTT_URL, e.g. Mosquitto) instead of the
// embedded one. The broker authenticates devices (mutual TLS with meadow's CA, the thing name as the certificate's
// identity) and lets each use only its own `$aws/things/<thing>/` topics (docs/scale-out.md); meadow connects as a
// privileged service client, takes the devices' requests through MQTT shared subscriptions (`$share/meadow/...`, so
// each request goes to exactly one of the meadow processes), reads the thing name from the topic, and publishes replies
// and notifications to the broker. Mosquitto 2.0 does not deliver `$`-topics to shared subscriptions, so there a
// bridge republishes the requests under a plain prefix (MEADOW_MQTT_REQUEST_ROOT, e.g. `meadow/requests/`). Every process publishes the notifications of the changes it commits, so devices
// hear of changes made by any process.
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions } from 'mqtt';
import type { Clock } from '../../core/clock.js';
import { fleetStatusTopic } from '../../core/device-topics.js';
import type { Config } from '../../config.js';
import type { Scope, Store } from '../../store/store.js';
import type { MqttBroker } from './broker.js';
import { DeviceApis, type DeviceLog } from './device-apis.js';
import { isOwnTopic } from './topics.js';

/** The shared-subscription group of every meadow process on one database. */
export const SHARE_GROUP = 'meadow';

/** Where devices' requests are taken from by default: their own topics, `$aws/things/<thing>/...`. */
export const DEVICE_TOPIC_ROOT = '$aws/things/';

/**
 * Topic filters of every request a device can make, for any thing, relative to `$aws/things/`: the jobs API (plain
 * and with the Greengrass namespace segment before the verb; parseJobsRequest), the shadow API
 * (parseShadowRequestTopic) and fleet status. Narrow filters rather than `+/#`, so meadow's own replies and
 * notifications do not come back to it.
 */
export function deviceRequestPatterns(): string[] {
  const jobs = ['get', 'start-next', '+/get', '+/update', '+/start-next', '+/+/get', '+/+/update'].map((t) => `+/jobs/${t}`);
  const shadows = ['get', 'update', 'delete'].flatMap((verb) => [`+/shadow/${verb}`, `+/shadow/name/+/${verb}`]);
  return [...jobs, ...shadows, fleetStatusTopic('+').slice(DEVICE_TOPIC_ROOT.length)];
}

/**
 * The thing and its own topic for a request taken under `root` (`$aws/things/`, or the prefix a broker bridge
 * republishes requests under: `<root><thing>/...` stands for `$aws/things/<thing>/...`), or undefined.
 */
export function deviceTopicOf(root: string, topic: string): { thingName: string; topic: string } | undefined {
  if (!topic.startsWith(root)) return undefined;
  const deviceTopic = DEVICE_TOPIC_ROOT + topic.slice(root.length);
  const thingName = deviceTopic.split('/')[2];
  return thingName && isOwnTopic(thingName, deviceTopic) ? { thingName, topic: deviceTopic } : undefined;
}

export interface ExternalBrokerOptions {
  config: Pick<Config, 'mqttUrl' | 'mqttUsername' | 'mqttPassword' | 'mqttCaFile' | 'mqttCertFile' | 'mqttKeyFile' | 'mqttRequestRoot'>;
  store: Store;
  scope: Scope;
  clock: Clock;
  log: DeviceLog;
}

export async function connectExternalBroker(opts: ExternalBrokerOptions): Promise<MqttBroker> {
  const { config, log } = opts;
  const url = new URL(config.mqttUrl!);
  const root = config.mqttRequestRoot ?? DEVICE_TOPIC_ROOT;
  const options: IClientOptions = {
    // One session per process: a request in flight to a process that stops is not handed to another (MQTT keeps it
    // in that session), so a new client id each start, clean session, and the device asks again (docs/scale-out.md).
    clientId: `meadow-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    username: config.mqttUsername,
    password: config.mqttPassword,
    ...(config.mqttCaFile ? { ca: readFileSync(config.mqttCaFile) } : {}),
    ...(config.mqttCertFile ? { cert: readFileSync(config.mqttCertFile), key: readFileSync(config.mqttKeyFile!) } : {}),
  };
  const client = await mqtt.connectAsync(url.toString(), options);
  const apis = new DeviceApis({
    ...opts,
    transport: {
      publish: async (topic, payload) => {
        await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
      },
      mayReach: () => true,
    },
  });
  client.on('message', (topic, payload, packet) => {
    // A retained message is an old request someone left on the broker, not one a device is waiting on.
    if (packet.retain) return;
    const request = deviceTopicOf(root, topic);
    if (request === undefined) return;
    apis.handle(request.thingName, request.topic, payload).catch((err) => log.error({ err, thing: request.thingName, topic }, 'MQTT device request failed'));
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'MQTT connection to the external broker failed'));
  try {
    const granted = await client.subscribeAsync(
      deviceRequestPatterns().map((p) => `$share/${SHARE_GROUP}/${root}${p}`),
      { qos: 1 },
    );
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new Error(`the broker refused meadow's subscriptions to ${refused.join(', ')}: check its ACL for meadow's user`);
  } catch (e) {
    apis.close();
    await client.endAsync(true);
    throw e;
  }
  return {
    port: Number(url.port) || (url.protocol === 'mqtts:' ? 8883 : 1883),
    close: async () => {
      apis.close();
      await client.endAsync();
    },
  };
}
