// The devices' MQTT endpoint: aedes over TLS with meadow's CA, mutual TLS required. A connection is admitted only
// for a device certificate meadow issued that is ACTIVE and attached to the thing named by the MQTT client id (as
// AWS IoT's default Greengrass policy binds `iot:Connect` to the thing name); the thing may then use only its own
// `$aws/things/<thing>/` topics. Refusals: CONNECT gets CONNACK "not authorized" (or "identifier rejected" for a
// client id that is not the certificate's thing); a SUBSCRIBE outside its topics gets a failure code in SUBACK for
// that filter; a PUBLISH outside them is dropped and the connection closed, as AWS IoT does on a policy denial.
// The jobs API and its notifications are served on the thing's jobs topics (jobs-api.ts).
// Fleet-status (health) messages are taken on `greengrassv2/health/json` (fleet-status.ts).
// The Device Shadow API is served on the thing's shadow topics (shadow-api.ts).
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../core/clock.js';
import type { Scope, Store } from '../../store/store.js';
import type { CertificateAuthority } from '../identity/ca.js';
import type { DeviceEndpointTls } from '../identity/server-tls.js';
import { verifyDeviceCertificate } from '../identity/verify.js';
import { CONNACK_IDENTIFIER_REJECTED, CONNACK_NOT_AUTHORIZED, createBroker, type Admission } from './aedes-adapter.js';
import { DeviceApis, type DeviceLog } from './device-apis.js';
import { isOwnTopic } from './topics.js';

/** How long the broker's server certificate is valid; a new one is issued at every start. */
export interface MqttBrokerOptions {
  host: string;
  port: number;
  store: Store;
  scope: Scope;
  clock: Clock;
  ca: CertificateAuthority;
  /** The device endpoints' server certificate and mutual-TLS settings (deviceEndpointTls). */
  tls: DeviceEndpointTls;
  log: DeviceLog;
}

export interface MqttBroker {
  /** The port it listens on (the real one when 0 was asked for). */
  port: number;
  close(): Promise<void>;
}

/** Names the server certificate carries: the loopback names, and the configured host when it is a real address. */
export async function startMqttBroker(opts: MqttBrokerOptions): Promise<MqttBroker> {
  const { store, scope, clock, ca, log } = opts;
  const connected = new Set<string>();
  let apis: DeviceApis | undefined;

  const admit = async (socket: TLSSocket, clientId: string): Promise<Admission> => {
    const peer = socket.getPeerCertificate?.(false);
    if (!peer?.raw) return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, reason: 'no client certificate was presented' };
    // The client id is the thing the device says it is (as AWS IoT's policy variable iot:Connection.Thing.ThingName).
    const check = await verifyDeviceCertificate({ store, scope, ca, clock }, peer.raw, clientId);
    if (check.ok) return { ok: true, thingName: clientId };
    if (check.otherThing) return { ok: false, returnCode: CONNACK_IDENTIFIER_REJECTED, reason: `the client id must be the name of a thing the certificate is attached to: ${check.reason}` };
    return { ok: false, returnCode: CONNACK_NOT_AUTHORIZED, reason: check.reason };
  };

  const broker = await createBroker({
    admit,
    mayPublish: isOwnTopic,
    maySubscribe: isOwnTopic,
    onPublish: (thing, topic, payload) => apis!.handle(thing, topic, payload),
    onRefused: (what, detail) => log.warn({ ...detail, refused: what }, `MQTT ${what} refused`),
  });
  // Notifications go to things connected here (in-process changes only; see execution-events.ts).
  apis = new DeviceApis({ store, scope, clock, log, transport: { publish: broker.publish, mayReach: (thing) => connected.has(thing) } });

  broker.aedes.on('clientReady', (client) => {
    const thing = broker.thingOf(client);
    if (thing !== undefined) connected.add(thing);
  });
  broker.aedes.on('clientDisconnect', (client) => {
    const thing = broker.thingOf(client);
    if (thing === undefined) return;
    connected.delete(thing);
    apis!.disconnected(thing);
  });

  const server: Server = createServer(opts.tls, (socket) => broker.aedes.handle(socket));
  // A failed handshake (no or foreign client certificate) is the client's problem, not the server's.
  server.on('tlsClientError', (err) => log.warn({ err: err.message }, 'MQTT TLS handshake refused'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      apis!.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await broker.close(); // disconnects the clients, so the server can finish closing
      await closed;
    },
  };
}
