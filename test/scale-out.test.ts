// Scale-out mode: meadow processes on one PostgreSQL database with device traffic through an external Mosquitto
// (MEADOW_MQTT_URL), configured from the documented example (docs/mosquitto/). The broker checks (ACL, bridge topics)
// run on every store kind; the two-process rollout runs where PostgreSQL is available (STORE_KINDS).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateDeploymentCommand, GreengrassV2Client } from '@aws-sdk/client-greengrassv2';
import {
  AddThingToThingGroupCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeCertificateCommand,
  IoTClient,
  paginateListJobExecutionsForJob,
} from '@aws-sdk/client-iot';
import mqtt, { type MqttClient } from 'mqtt';
import { connectDevice } from '../src/agent/protocol/connect.js';
import { certificateSigningRequest, generateKeyPair, type KeyPairPem } from '../src/devices/identity/certificates.js';
import { deviceRequestPatterns } from '../src/devices/mqtt/external-broker.js';
import { parseJobsRequest } from '../src/devices/mqtt/topics.js';
import { parseShadowRequestTopic } from '../src/devices/mqtt/shadow-api.js';
import { fleetStatusTopic } from '../src/core/device-topics.js';
import { createDatabase, STORE_KINDS } from './helpers/databases.js';
import { eventually, runDevices, type Fleet, type ProvisionedDevice, type SimulatedDevice } from './helpers/devices.js';
import { publishComponents } from './helpers/greengrass.js';
import { deviceCertificate, startPrivateMosquitto, type PrivateMosquitto } from './helpers/mosquitto.js';
import { spawnMeadow, type MeadowProcess } from './helpers/process.js';
import { clientConfig, startTestServer, TEST_CREDENTIALS, type TestServer } from './helpers/server.js';

const REQUEST_ROOT = 'meadow/requests/';
const FLEET = 1000;

/** MQTT topic-filter matching (MQTT 3.1.1 §4.7), for checking which topics the request filters cover. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

const serviceClient = (m: PrivateMosquitto) =>
  mqtt.connectAsync(`mqtt://127.0.0.1:${m.servicePort}`, { username: 'meadow', password: m.servicePassword, protocolVersion: 4, reconnectPeriod: 0 });

describe('scale-out: the documented Mosquitto configuration', () => {
  let m: PrivateMosquitto;
  let keys: KeyPairPem;
  before(async () => {
    m = await startPrivateMosquitto();
    keys = await generateKeyPair();
  });
  after(async () => m?.stop());

  const device = (thingName: string, commonName = thingName) =>
    connectDevice(
      { thingName, certificatePem: deviceCertificate(m.ca, keys, commonName), privateKeyPem: keys.privateKeyPem, caPem: m.ca.certificatePem, endpoint: `127.0.0.1:${m.devicePort}` },
      { reconnectPeriod: 0 },
    );

  it('bridges exactly the request topics meadow serves, and no reply or notification topic', () => {
    const bridged = [...m.config.matchAll(/^topic (\S+) out 1 \$aws\/things\/ meadow\/requests\/$/gm)].map((x) => x[1]);
    assert.deepEqual([...bridged].sort(), [...deviceRequestPatterns()].sort());
    const requests = [
      'jobs/get',
      'jobs/start-next',
      'jobs/$next/get',
      'jobs/job-1/get',
      'jobs/job-1/update',
      'jobs/namespace-aws-gg-deployment/get',
      'jobs/namespace-aws-gg-deployment/start-next',
      'jobs/$next/namespace-aws-gg-deployment/get',
      'jobs/job-1/namespace-aws-gg-deployment/update',
      'shadow/get',
      'shadow/update',
      'shadow/delete',
      'shadow/name/AWSManagedGreengrassV2Deployment/update',
      'shadow/name/s1/get',
      'shadow/name/s1/delete',
    ].map((t) => `$aws/things/t1/${t}`);
    const notRequests = ['jobs/get/accepted', 'jobs/notify', 'jobs/notify-next-namespace-aws-gg-deployment', 'jobs/$next/namespace-aws-gg-deployment/get/accepted', 'jobs/job-1/namespace-aws-gg-deployment/update/rejected', 'shadow/update/delta', 'shadow/name/s1/update/documents', 'shadow/get/accepted'].map(
      (t) => `$aws/things/t1/${t}`,
    );
    const covered = (topic: string) => deviceRequestPatterns().some((p) => matches(`$aws/things/${p}`, topic));
    for (const t of requests) {
      assert.ok(parseJobsRequest('t1', t) ?? parseShadowRequestTopic('t1', t), `${t} is a request`);
      assert.ok(covered(t), `${t} reaches meadow`);
    }
    assert.ok(covered(fleetStatusTopic('t1')));
    for (const t of notRequests) assert.ok(!covered(t), `${t} does not come back to meadow`);
  });

  it("lets a device use its own topics only, never another thing's", async () => {
    const svc = await serviceClient(m);
    const a = await device('scale-thing-a');
    const b = await device('scale-thing-b');
    try {
      const seen: string[] = [];
      svc.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
      await svc.subscribeAsync([`$share/meadow/${REQUEST_ROOT}#`, '$aws/things/#'], { qos: 1 });

      // Another thing's topics: Mosquitto grants the subscription (it checks read access per message) but delivers
      // nothing from them; a publish there reaches nobody, nor does one to the bridged request prefix.
      const aSeen: string[] = [];
      a.on('message', (topic, payload) => aSeen.push(`${topic} ${payload.toString()}`));
      await a.subscribeAsync(['$aws/things/scale-thing-b/jobs/notify', '$aws/things/#', `${REQUEST_ROOT}#`, '$aws/things/scale-thing-a/jobs/notify'], { qos: 1 });
      const bSeen: string[] = [];
      b.on('message', (topic, payload) => bSeen.push(`${topic} ${payload.toString()}`));
      await b.subscribeAsync('$aws/things/scale-thing-b/#', { qos: 1 });
      await a.publishAsync('$aws/things/scale-thing-b/jobs/$next/get', 'forged', { qos: 1 });
      await a.publishAsync(`${REQUEST_ROOT}scale-thing-b/jobs/$next/get`, 'forged', { qos: 1 });
      await svc.publishAsync('$aws/things/scale-thing-b/jobs/notify', 'for b', { qos: 1 });
      // Its own topics work both ways: its request reaches meadow (directly and bridged), meadow's message reaches it.
      await a.publishAsync('$aws/things/scale-thing-a/jobs/$next/get', 'mine', { qos: 1 });
      await svc.publishAsync('$aws/things/scale-thing-a/jobs/notify', 'for a', { qos: 1 });
      await eventually('a got its own notification', () => aSeen.includes('$aws/things/scale-thing-a/jobs/notify for a'));
      await eventually('b got its own notification', () => bSeen.includes('$aws/things/scale-thing-b/jobs/notify for b'));
      await eventually('the own request reached meadow twice (direct and bridged)', () => seen.filter((x) => x.endsWith(' mine')).length === 2);
      assert.ok(seen.includes(`${REQUEST_ROOT}scale-thing-a/jobs/$next/get mine`));
      // A last message through each path, so anything wrongly delivered before it has arrived by now.
      await a.publishAsync('$aws/things/scale-thing-a/jobs/$next/get', 'last', { qos: 1 });
      await svc.publishAsync('$aws/things/scale-thing-a/jobs/notify', 'last', { qos: 1 });
      await eventually('the last messages arrived', () => aSeen.some((x) => x.endsWith(' last')) && seen.filter((x) => x.endsWith('$next/get last')).length === 2);
      assert.deepEqual(seen.filter((x) => x.includes('forged')), []);
      assert.deepEqual(aSeen.filter((x) => x.includes('scale-thing-b') || x.startsWith(REQUEST_ROOT)), []);
      assert.deepEqual(bSeen.filter((x) => x.includes('scale-thing-a') || x.includes('forged')), []);
    } finally {
      await Promise.all([a.endAsync(true), b.endAsync(true), svc.endAsync(true)]);
    }
  });

  it('refuses a device certificate from another CA', async () => {
    const otherKeys = await generateKeyPair();
    const { selfSignedCaCertificate } = await import('../src/devices/identity/certificates.js');
    const otherCa = { certificatePem: selfSignedCaCertificate(otherKeys, 'other', new Date(Date.now() - 60_000), new Date(Date.now() + 86_400_000)), privateKeyPem: otherKeys.privateKeyPem };
    const attempt = connectDevice(
      { thingName: 'scale-thing-a', certificatePem: deviceCertificate(otherCa, keys, 'scale-thing-a'), privateKeyPem: keys.privateKeyPem, caPem: m.ca.certificatePem, endpoint: `127.0.0.1:${m.devicePort}` },
      { reconnectPeriod: 0, connectTimeout: 5000 },
    );
    await assert.rejects(attempt);
  });
});

for (const kind of STORE_KINDS) {
  describe(`CreateCertificateFromCsr (${kind})`, () => {
    let s: TestServer;
    before(async () => (s = await startTestServer(kind)));
    after(async () => s?.close());

    it("issues a device certificate with the CSR's subject, which the embedded broker admits for the attached thing", async () => {
      const keys = await generateKeyPair();
      const thingName = 'csr-thing-1';
      await s.iot.send(new CreateThingCommand({ thingName }));
      const cert = await s.iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: certificateSigningRequest(keys, thingName), setAsActive: true }));
      const x509 = new X509Certificate(cert.certificatePem!);
      assert.equal(x509.subject, `CN=${thingName}`);
      assert.ok(x509.checkPrivateKey(createPrivateKey(keys.privateKeyPem)));
      assert.equal(cert.certificateId, createHash('sha256').update(x509.raw).digest('hex'));
      const described = await s.iot.send(new DescribeCertificateCommand({ certificateId: cert.certificateId }));
      assert.equal(described.certificateDescription?.status, 'ACTIVE');
      await s.iot.send(new AttachThingPrincipalCommand({ thingName, principal: cert.certificateArn! }));
      const caPem = (await s.store.getCertificateAuthority())!.certificatePem;
      const client = await connectDevice({ thingName, certificatePem: cert.certificatePem!, privateKeyPem: keys.privateKeyPem, caPem, endpoint: `127.0.0.1:${s.mqttPort}` }, { reconnectPeriod: 0 });
      await client.endAsync(true);
      // Without setAsActive the certificate is INACTIVE, as CreateKeysAndCertificate's.
      const inactive = await s.iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: certificateSigningRequest(keys, 'other') }));
      const d2 = await s.iot.send(new DescribeCertificateCommand({ certificateId: inactive.certificateId }));
      assert.equal(d2.certificateDescription?.status, 'INACTIVE');
    });

    it('refuses a CSR it cannot sign with InvalidRequestException naming the field', async () => {
      const ec = readFileSync(new URL('./fixtures/ec-p256.csr', import.meta.url), 'utf8');
      for (const [csr, says] of [
        [ec, /RSA keys \(2048 bits or more\) only/],
        ['not a csr', /not a PEM certificate signing request/],
      ] as const) {
        await assert.rejects(s.iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: csr })), (e: Error) => {
          assert.equal(e.name, 'InvalidRequestException');
          assert.match(e.message, /certificateSigningRequest/);
          assert.match(e.message, says);
          return true;
        });
      }
    });
  });
}

for (const kind of STORE_KINDS.filter((k) => k === 'postgres')) {
  describe(`scale-out: two meadow processes on ${kind} behind Mosquitto`, () => {
    let m: PrivateMosquitto;
    let db: Awaited<ReturnType<typeof createDatabase>>;
    let a: MeadowProcess;
    let b: MeadowProcess;
    let fleet: Fleet | undefined;
    const dataDirs: string[] = [];

    before(async () => {
      m = await startPrivateMosquitto();
      db = await createDatabase();
      const env = (name: string) => {
        const dataDir = mkdtempSync(join(tmpdir(), `meadow-scale-${name}-`));
        dataDirs.push(dataDir);
        return {
          MEADOW_DATA_DIR: dataDir,
          MEADOW_DATABASE_URL: db.url,
          MEADOW_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          MEADOW_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
          MEADOW_CA_CERT_FILE: m.caCertFile,
          MEADOW_CA_KEY_FILE: m.caKeyFile,
          MEADOW_MQTT_URL: `mqtt://127.0.0.1:${m.servicePort}`,
          MEADOW_MQTT_USERNAME: 'meadow',
          MEADOW_MQTT_PASSWORD: m.servicePassword,
          MEADOW_MQTT_REQUEST_ROOT: REQUEST_ROOT,
        };
      };
      [a, b] = await Promise.all([spawnMeadow(env('a')), spawnMeadow(env('b'))]);
    });

    after(async () => {
      await fleet?.stop();
      await Promise.all([a?.stop(), b?.stop()]);
      await db?.drop();
      await m?.stop();
      for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
    });

    it(`rolls a deployment out to ${FLEET} devices through Mosquitto while one process is killed, each device SUCCEEDED once`, async () => {
      assert.equal(a.mqttPort, m.servicePort, 'the process reports the external broker');
      const iotA = new IoTClient(clientConfig(a.endpoint));
      const iotB = new IoTClient(clientConfig(b.endpoint));
      const ggA = new GreengrassV2Client(clientConfig(a.endpoint));
      const observer = await serviceClient(m);
      try {
        await publishComponents({ gg: ggA }, ['com.example.ScaleOut@1.0.0']);
        const groupName = `scale-out-${Date.now()}`;
        const { thingGroupArn } = await iotA.send(new CreateThingGroupCommand({ thingGroupName: groupName }));

        // Things with their own certificate (CN = thing name, from a CSR; one key pair for the whole fleet, which
        // saves generating a thousand RSA keys), registered through process A. (Registering through both processes
        // at once once met an InternalFailure in CI that has not been reproduced since; being looked into — run
        // with MEADOW_TEST_SERVER_LOGS=1 to see the servers' logs. This test is about the rollout, not registration.)
        const keys = await generateKeyPair();
        const devices: ProvisionedDevice[] = [];
        const names = Array.from({ length: FLEET }, (_, i) => `scale-dev-${String(i).padStart(4, '0')}`);
        for (let i = 0; i < names.length; i += 50) {
          devices.push(
            ...(await Promise.all(
              names.slice(i, i + 50).map(async (thingName) => {
                await iotA.send(new CreateThingCommand({ thingName }));
                const cert = await iotA.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: certificateSigningRequest(keys, thingName), setAsActive: true }));
                await iotA.send(new AttachThingPrincipalCommand({ thingName, principal: cert.certificateArn! }));
                await iotA.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: groupName }));
                return {
                  thingName,
                  certificateId: cert.certificateId!,
                  certificatePem: cert.certificatePem!,
                  privateKeyPem: keys.privateKeyPem,
                  caPem: m.ca.certificatePem,
                  endpoint: `127.0.0.1:${m.devicePort}`,
                };
              }),
            )),
          );
        }

        // Every update reply, counted per clientToken: until the kill, each request is answered by exactly one process.
        const replies = new Map<string, number>();
        let counting = true;
        observer.on('message', (_topic, payload) => {
          if (!counting) return;
          const token = (JSON.parse(payload.toString()) as { clientToken?: string }).clientToken;
          if (token) replies.set(token, (replies.get(token) ?? 0) + 1);
        });
        await observer.subscribeAsync(['$aws/things/+/jobs/+/namespace-aws-gg-deployment/update/accepted', '$aws/things/+/jobs/+/namespace-aws-gg-deployment/update/rejected'], { qos: 1 });

        // Devices take 0.2 to 2 s to apply a deployment, so the rollout is still under way when a process dies.
        const applyMs = (index: number) => 200 + ((index * 7919) % 1800);
        const succeeded = (d: SimulatedDevice) => d.replies.some((r) => r.status === 'SUCCEEDED');
        fleet = await runDevices(devices, {
          connectConcurrency: 100,
          respond: (_thing, index) => async (d, job) => {
            await d.report(job.jobId, 'IN_PROGRESS');
            await new Promise((r) => setTimeout(r, applyMs(index)));
            return d.report(job.jobId, 'SUCCEEDED');
          },
        });
        const started = Date.now();
        const created = await ggA.send(
          new CreateDeploymentCommand({ targetArn: thingGroupArn, deploymentName: 'scale-out', components: { 'com.example.ScaleOut': { componentVersion: '1.0.0' } } }),
        );
        const jobId = created.iotJobId!;

        // Kill the process that created the deployment (and sends its notifications) in the middle of the rollout.
        await eventually('a quarter of the fleet succeeded', () => fleet!.devices.filter(succeeded).length >= FLEET / 4, 60_000);
        a.child.kill('SIGKILL');
        counting = false;
        const atKill = fleet.devices.filter(succeeded).length;
        const offeredAtKill = fleet.devices.filter((d) => d.received.length > 0).length;
        assert.ok(atKill < FLEET, `the kill came in the middle (${atKill} of ${FLEET} had succeeded)`);
        const perRequest = [...replies.values()];
        assert.ok(perRequest.length >= atKill, 'update replies were observed');
        assert.equal(Math.max(...perRequest), 1, 'each request was answered by one process');

        // A request in flight to the killed process, or a notification it had yet to send, is lost; devices ask
        // again (docs/scale-out.md), and the surviving process answers.
        const retry = setInterval(() => {
          for (const d of fleet!.devices) if (!succeeded(d)) d.jobs.retry();
        }, 2000);
        try {
          await eventually('every device succeeded', () => fleet!.devices.every(succeeded), 90_000);
        } finally {
          clearInterval(retry);
        }
        const elapsed = Date.now() - started;

        // The server's record: one execution per thing, each SUCCEEDED, execution number 1.
        const executions = [];
        for await (const page of paginateListJobExecutionsForJob({ client: iotB, pageSize: 250 }, { jobId })) executions.push(...(page.executionSummaries ?? []));
        assert.equal(executions.length, FLEET);
        assert.equal(new Set(executions.map((e) => e.thingArn)).size, FLEET);
        assert.deepEqual([...new Set(executions.map((e) => e.jobExecutionSummary?.status))], ['SUCCEEDED']);
        assert.deepEqual([...new Set(executions.map((e) => e.jobExecutionSummary?.executionNumber))], [1]);
        // Each device was offered the job once, and worked without errors.
        assert.deepEqual(
          fleet.devices.filter((d) => d.received.length !== 1).map((d) => `${d.thingName}: ${d.received.length}`),
          [],
        );
        assert.deepEqual(fleet.errors(), []);
        process.stdout.write(`# scale-out: ${FLEET} devices SUCCEEDED in ${elapsed} ms; at the kill ${offeredAtKill} had the job, ${atKill} had succeeded\n`);
      } finally {
        iotA.destroy();
        iotB.destroy();
        ggA.destroy();
        await observer.endAsync(true);
      }
    });
  });
}
