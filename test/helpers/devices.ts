// Devices for end-to-end rollout tests: things registered through the IoT API, played by the fleet simulator's
// devices (src/simulator: `mqtt` clients running the agent's DeploymentJobsClient), each answering its deployments as
// it is told to.
import type { IoTClient } from '@aws-sdk/client-iot';
import { createServer } from 'node:net';
import { iot, mqtt as crtMqtt } from 'aws-iot-device-sdk-v2';
import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceIdentity } from '../../src/agent/protocol/connect.js';
import type { ProvisionedDevice } from '../../src/simulator/device.js';
import { provisionFleet } from '../../src/simulator/provision.js';
import { uniqueName } from './greengrass.js';
import type { TestServer } from './server.js';

export {
  eventually,
  Fleet,
  ignore,
  nucleusDetails,
  outcome,
  runDevices,
  SimulatedDevice,
  startOnly,
  succeedAndReportStatus,
  type FleetOptions,
  type ProvisionedDevice,
  type Respond,
} from '../../src/simulator/device.js';

/** Where devices register (the IoT API) and connect (the MQTT endpoint and the root it trusts). */
export interface DeviceEndpoint {
  iot: IoTClient;
  /** host:port of the MQTT broker. */
  mqtt: string;
  caPem: string;
}

export async function endpointOf(s: TestServer): Promise<DeviceEndpoint> {
  return { iot: s.iot, mqtt: `127.0.0.1:${s.mqttPort}`, caPem: (await s.store.getCertificateAuthority())!.certificatePem };
}

/**
 * `count` things with ACTIVE certificates attached (and in `groupName` when given). Each CreateKeysAndCertificate
 * costs an RSA-2048 key generation on the server (~150 ms of CPU here), so a large fleet may share certificates:
 * `devicesPerCertificate` things get one certificate attached to them all (see src/simulator/provision.ts).
 */
export async function provisionDevices(
  e: DeviceEndpoint,
  count: number,
  opts: { groupName?: string; prefix?: string; devicesPerCertificate?: number } = {},
): Promise<ProvisionedDevice[]> {
  const prefix = opts.prefix ?? uniqueName('dev');
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  return provisionFleet({ iot: e.iot, mqttEndpoint: e.mqtt, caPem: e.caPem }, names, {
    groupName: opts.groupName,
    devicesPerCertificate: opts.devicesPerCertificate,
  });
}

/** A port nothing listens on now, for a server that must come back on the same port after a restart. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A connection of the AWS IoT Device SDK v2 (aws-crt) with the device's certificate, trusting meadow's CA. */
export async function sdkV2Connection(d: DeviceIdentity, port: number): Promise<crtMqtt.MqttClientConnection> {
  const config = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder(d.certificatePem, d.privateKeyPem)
    .with_certificate_authority(d.caPem)
    .with_endpoint('127.0.0.1')
    .with_port(port)
    .with_client_id(d.thingName)
    .with_clean_session(true)
    .build();
  const connection = new crtMqtt.MqttClient().new_connection(config);
  await connection.connect();
  return connection;
}

/**
 * A bare MQTT 3.1.1 connection to the test server's broker with a device's key and certificate, no reconnects: for
 * tests of the broker itself (refusals, topic policy, shadows) rather than of a simulated device.
 */
export async function connectRaw(
  s: Pick<TestServer, 'mqttPort'>,
  caPem: string,
  d: { key: string; cert: string },
  clientId: string,
): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtts://127.0.0.1:${s.mqttPort}`, {
    clientId,
    key: d.key,
    cert: d.cert,
    ca: caPem,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
}
