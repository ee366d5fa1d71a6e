// The fleet benchmark's baseline: a bare aedes broker over mutual TLS, with no meadow logic (no authorization, no
// store, no jobs). It answers every request a client publishes on `bare/<client>/req` with one message on
// `bare/<client>/res`, and on the parent's word pushes messages to every connected client on `bare/<client>/push`.
// The benchmark drives the same number of clients through the same number of messages as a meadow fan-out, so
// the difference is meadow's own work.
// Usage (a child process with an IPC channel): BARE_MQTT_PORT=... BARE_CLIENT_CA_FILE=... node --import tsx bench/bare-broker.ts
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import { Aedes, type Client } from 'aedes';
import { certificateAuthorityFrom, generateCertificateAuthority } from '../src/devices/identity/ca.js';
import { deviceEndpointTls } from '../src/devices/identity/server-tls.js';

const size = Number(process.env.BARE_PAYLOAD_BYTES || 600);
const payload = Buffer.from(JSON.stringify({ pad: 'x'.repeat(Math.max(0, size - 10)) }));

const generated = await generateCertificateAuthority(Date.now());
const ca = certificateAuthorityFrom(generated.certificatePem, generated.privateKeyPem, 'database', Date.now());
const tls = await deviceEndpointTls(ca, '127.0.0.1');
// Clients present the certificates meadow issued them; this broker's own server certificate comes from its own CA.
tls.ca = [readFileSync(process.env.BARE_CLIENT_CA_FILE!, 'utf8')];

// The same delivery setting as meadow's broker (src/devices/mqtt/aedes-adapter.ts): aedes's default queue overflows the
// stack under a fan-out of this size.
const aedes = await Aedes.createBroker({ concurrency: 1_000_000 });
const clients = new Set<string>();
aedes.on('clientReady', (c: Client) => clients.add(c.id));
aedes.on('clientDisconnect', (c: Client) => clients.delete(c.id));
const publish = (topic: string) =>
  new Promise<void>((resolve) => aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, () => resolve()));
aedes.on('publish', (packet, client) => {
  if (!client || !packet.topic.endsWith('/req')) return;
  void publish(`bare/${client.id}/res`);
});

const server = createServer(tls, (socket) => aedes.handle(socket));
server.listen(Number(process.env.BARE_MQTT_PORT), '127.0.0.1', () => process.send!({ listening: true, caPem: ca.certificatePem }));
process.on('message', (m: { push?: number }) => {
  if (!m.push) return;
  void (async () => {
    for (let i = 0; i < m.push!; i++) for (const id of clients) void publish(`bare/${id}/push`);
  })();
});
process.on('SIGTERM', () => {
  server.close();
  aedes.close(() => process.exit(0));
});
