// Connecting a device to meadow's (or AWS IoT's) MQTT endpoint: mutual TLS with the device's certificate and key,
// trusting the root of its bundle, with the thing name as client id (the default Greengrass policy binds
// `iot:Connect` to it). MQTT 3.1.1, as the nucleus speaks it.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { readDeviceBundle } from '../bundle.js';

/** Everything a device needs to reach its MQTT endpoint. */
export interface DeviceIdentity {
  thingName: string;
  certificatePem: string;
  privateKeyPem: string;
  /** The root the device trusts for the endpoint's server certificate (meadow's CA). */
  caPem: string;
  /** host:port of the MQTT endpoint. */
  endpoint: string;
}

/** The MQTT identity in a bundle written by `meadow provision`. */
export function identityFromBundle(dir: string): DeviceIdentity {
  const { config, certificatePem, privateKeyPem, caPem } = readDeviceBundle(dir);
  return { thingName: config.thingName, certificatePem, privateKeyPem, caPem, endpoint: config.iotDataEndpoint };
}

/**
 * Connects and resolves on the first CONNACK that accepts (rejects on a refusal). `overrides` tune the client (say,
 * `reconnectPeriod: 0` for no reconnects); by default it reconnects every second, as devices keep trying.
 */
export function connectDevice(id: DeviceIdentity, overrides: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtts://${id.endpoint}`, deviceClientOptions(id, overrides));
}

/** A client that connects in the background (a device agent starts whether or not its endpoint is reachable). */
export function startDeviceClient(id: DeviceIdentity, overrides: IClientOptions = {}): MqttClient {
  return mqtt.connect(`mqtts://${id.endpoint}`, deviceClientOptions(id, overrides));
}

function deviceClientOptions(id: DeviceIdentity, overrides: IClientOptions): IClientOptions {
  return {
    clientId: id.thingName,
    cert: id.certificatePem,
    key: id.privateKeyPem,
    ca: id.caPem,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...overrides,
  };
}
