// aedes speaks in callbacks; this wraps its hooks once so the broker's policy is plain async functions. It fails
// closed: a hook that throws refuses the connection, subscription or publish it was asked about.
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client } from 'aedes';
import type { TLSSocket } from 'node:tls';

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3) the policy may refuse a connection with. */
export const CONNACK_IDENTIFIER_REJECTED = 2;
export const CONNACK_NOT_AUTHORIZED = 5;

/** Messages aedes delivers at once; above any fan-out meadow makes (see createBroker). */
const DELIVERY_CONCURRENCY = 1_000_000;

export type Admission = { ok: true; thingName: string } | { ok: false; returnCode: number; reason: string };

export interface BrokerPolicy {
  /** Decides a CONNECT from the client's TLS socket (its peer certificate) and its client id. */
  admit(socket: TLSSocket, clientId: string): Promise<Admission>;
  /** Whether the admitted thing may publish to / subscribe to this topic (filter). */
  mayPublish(thingName: string, topic: string): boolean;
  maySubscribe(thingName: string, topicFilter: string): boolean;
  /** A publish the broker accepted from a thing (called after authorization, errors are the handler's own). */
  onPublish(thingName: string, topic: string, payload: Buffer): Promise<void>;
  /** Reports refusals and failures (for the log). */
  onRefused(what: string, detail: Record<string, unknown>): void;
}

export interface WrappedBroker {
  aedes: Aedes;
  /** Publishes to subscribers at QoS 1, resolving when aedes has taken the message. */
  publish(topic: string, payload: object): Promise<void>;
  /** The thing an MQTT client was admitted as, while it is connected. */
  thingOf(client: Client): string | undefined;
  close(): Promise<void>;
}

export async function createBroker(policy: BrokerPolicy): Promise<WrappedBroker> {
  const things = new WeakMap<Client, string>();
  const aedes = await Aedes.createBroker({
    // aedes delivers at most `concurrency` messages at once and queues the rest; its queue drains by recursion
    // (mqemitter), so a fan-out of thousands of notifications overflowed the stack. Deliveries are cheap: no queue.
    concurrency: DELIVERY_CONCURRENCY,
    authenticate(client, _username, _password, done) {
      const refuse = (returnCode: number, reason: string) => {
        policy.onRefused('connect', { clientId: client.id, reason });
        const err = new Error(reason) as AuthenticateError;
        err.returnCode = returnCode;
        done(err, false);
      };
      policy.admit(client.conn as TLSSocket, client.id).then(
        (a) => {
          if (!a.ok) return refuse(a.returnCode, a.reason);
          things.set(client, a.thingName);
          done(null, true);
        },
        (e: Error) => refuse(CONNACK_NOT_AUTHORIZED, `could not check the client certificate: ${e.message}`),
      );
    },
    authorizeSubscribe(client, sub, done) {
      const thing = things.get(client);
      if (thing !== undefined && policy.maySubscribe(thing, sub.topic)) return done(null, sub);
      policy.onRefused('subscribe', { clientId: client.id, topic: sub.topic });
      done(null, null); // a failure return code (0x80) in SUBACK for this filter; the connection stays
    },
    authorizePublish(client, packet, done) {
      const thing = client ? things.get(client) : undefined;
      if (thing !== undefined && policy.mayPublish(thing, packet.topic)) return done(null);
      policy.onRefused('publish', { clientId: client?.id, topic: packet.topic });
      done(new Error(`not authorized to publish to ${packet.topic}`)); // aedes drops it and closes the connection
    },
  });
  aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
    const thing = client ? things.get(client) : undefined;
    if (thing === undefined) return; // the broker's own publishes
    policy.onPublish(thing, packet.topic, Buffer.from(packet.payload)).catch((e: Error) => policy.onRefused('request', { clientId: client?.id, topic: packet.topic, reason: e.message }));
  });
  return {
    aedes,
    publish: (topic, payload) =>
      new Promise((resolve, reject) =>
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
      ),
    thingOf: (client) => things.get(client),
    close: () => new Promise((resolve) => aedes.close(() => resolve())),
  };
}
