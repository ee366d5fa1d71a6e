// The devices' MQTT endpoint: mutual TLS with device certificates from CreateKeysAndCertificate, the thing binding
// (client id = thing name, only its own topics), and the IoT Jobs MQTT API with its notifications, driven by a real
// `mqtt` client and the engine on a ManualClock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AddThingToThingGroupCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DescribeJobExecutionCommand,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import type { ErrorWithSubackPacket, MqttClient } from 'mqtt';
import { ManualClock } from '../src/core/clock.js';
import { STORE_KINDS } from './helpers/databases.js';
import { newThingGroup, publishComponents, uniqueName } from './helpers/greengrass.js';
import { deployToGroup } from './helpers/jobs.js';
import { connectRaw } from './helpers/devices.js';
import { startTestServer, type TestServer } from './helpers/server.js';

interface Device {
  thingName: string;
  certificateId: string;
  certificateArn: string;
  cert: string;
  key: string;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

for (const kind of STORE_KINDS) {
  describe(`MQTT device endpoint (${kind})`, () => {
    let s: TestServer;
    let caPem: string;
    const clock = new ManualClock(Date.UTC(2026, 3, 1));
    const clients: MqttClient[] = [];

    before(async () => {
      s = await startTestServer(kind, { clock });
      caPem = (await s.store.getCertificateAuthority())!.certificatePem;
      await publishComponents(s, ['com.example.Hello@1.0.0']);
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await s.close();
    });

    /** A thing with an ACTIVE certificate attached (unless attach is false). */
    async function newDevice(opts: { attach?: boolean; thingName?: string } = {}): Promise<Device> {
      const thingName = opts.thingName ?? uniqueName('device');
      await s.iot.send(new CreateThingCommand({ thingName }));
      const out = await s.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
      if (opts.attach !== false) await s.iot.send(new AttachThingPrincipalCommand({ thingName, principal: out.certificateArn! }));
      return { thingName, certificateId: out.certificateId!, certificateArn: out.certificateArn!, cert: out.certificatePem!, key: out.keyPair!.PrivateKey! };
    }

    async function connect(d: Device, clientId = d.thingName): Promise<MqttClient> {
      const client = await connectRaw(s, caPem, d, clientId);
      clients.push(client);
      return client;
    }

    /** The CONNACK refusal code of a connection attempt that must fail. */
    async function refusedWith(d: Device, clientId?: string): Promise<number> {
      try {
        await connect(d, clientId);
      } catch (e) {
        return (e as { code: number }).code;
      }
      assert.fail('the connection was accepted');
    }

    /** The next message on a topic, subscribing first. */
    async function nextMessage(client: MqttClient, topic: string): Promise<Json> {
      const received = new Promise<Json>((resolve) => {
        const onMessage = (t: string, payload: Buffer) => {
          if (t !== topic) return;
          client.off('message', onMessage);
          resolve(JSON.parse(payload.toString()) as Json);
        };
        client.on('message', onMessage);
      });
      return received;
    }

    /** Publishes a jobs API request and returns which reply came ('accepted' | 'rejected') and its payload. */
    async function request(client: MqttClient, topic: string, payload: Json): Promise<{ outcome: string; body: Json }> {
      await client.subscribeAsync([`${topic}/accepted`, `${topic}/rejected`], { qos: 1 });
      const reply = new Promise<{ outcome: string; body: Json }>((resolve) => {
        const onMessage = (t: string, body: Buffer) => {
          if (t !== `${topic}/accepted` && t !== `${topic}/rejected`) return;
          client.off('message', onMessage);
          resolve({ outcome: t.slice(topic.length + 1), body: JSON.parse(body.toString()) as Json });
        };
        client.on('message', onMessage);
      });
      await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
      return reply;
    }

    it('a device connects with its certificate and its thing name as client id, and lists its (no) jobs', async () => {
      const d = await newDevice();
      const client = await connect(d);
      const { outcome, body } = await request(client, `$aws/things/${d.thingName}/jobs/get`, { clientToken: 'tok-1' });
      assert.equal(outcome, 'accepted');
      assert.deepEqual(body.inProgressJobs, []);
      assert.deepEqual(body.queuedJobs, []);
      assert.equal(body.clientToken, 'tok-1');
      assert.equal(body.timestamp, Math.floor(clock.now() / 1000));
    });

    it('a client id other than the certificate thing is refused (identifier rejected)', async () => {
      const d = await newDevice();
      const other = await newDevice();
      assert.equal(await refusedWith(d, other.thingName), 2);
      assert.equal(await refusedWith(d, 'not-a-thing'), 2);
    });

    it('a certificate shared by more than 250 things admits each of them as client id, and refuses others', async () => {
      const shared = await newDevice();
      const prefix = uniqueName('shared');
      const names = Array.from({ length: 260 }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
      for (let i = 0; i < names.length; i += 20) {
        await Promise.all(
          names.slice(i, i + 20).map(async (thingName) => {
            await s.iot.send(new CreateThingCommand({ thingName }));
            await s.iot.send(new AttachThingPrincipalCommand({ thingName, principal: shared.certificateArn }));
          }),
        );
      }
      for (const thingName of [names[0], names[259], shared.thingName]) {
        const client = await connect(shared, thingName);
        const { outcome } = await request(client, `$aws/things/${thingName}/jobs/get`, { clientToken: 'shared' });
        assert.equal(outcome, 'accepted', thingName);
      }
      assert.equal(await refusedWith(shared, `${prefix}-260`), 2);
    });

    it('INACTIVE, REVOKED and unattached certificates are refused (not authorized)', async () => {
      const inactive = await newDevice();
      await s.iot.send(new UpdateCertificateCommand({ certificateId: inactive.certificateId, newStatus: 'INACTIVE' }));
      assert.equal(await refusedWith(inactive), 5);
      const revoked = await newDevice();
      await s.iot.send(new UpdateCertificateCommand({ certificateId: revoked.certificateId, newStatus: 'REVOKED' }));
      assert.equal(await refusedWith(revoked), 5);
      const unattached = await newDevice({ attach: false });
      assert.equal(await refusedWith(unattached), 5);
    });

    it("another thing's topics: SUBACK failure for the subscription, a publish closes the connection", async () => {
      const d = await newDevice();
      const other = await newDevice();
      const client = await connect(d);
      // mqtt.js rejects a SUBSCRIBE with any refused filter; the SUBACK's return codes come with the error.
      const suback = await client
        .subscribeAsync([`$aws/things/${other.thingName}/jobs/notify`, `$aws/things/${d.thingName}/jobs/notify`, '$aws/things/+/jobs/notify', '#'], { qos: 1 })
        .then(
          () => assert.fail('the subscription was granted'),
          (e: ErrorWithSubackPacket) => e.packet,
        );
      assert.deepEqual(suback.granted, [128, 1, 128, 128]);
      assert.equal(client.connected, true);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.publish(`$aws/things/${other.thingName}/jobs/get`, '{}', { qos: 1 });
      await closed;
      assert.equal(client.connected, false);
    });

    it('a group deployment reaches the device: notify, $next/get with the document, IN_PROGRESS, SUCCEEDED; a wrong transition is rejected', async () => {
      const groupName = uniqueName('group');
      const groupArn = await newThingGroup(s, groupName);
      const d = await newDevice();
      await s.iot.send(new AddThingToThingGroupCommand({ thingGroupName: groupName, thingName: d.thingName }));
      const jobs = `$aws/things/${d.thingName}/jobs`;
      const client = await connect(d);
      await client.subscribeAsync([`${jobs}/notify-namespace-aws-gg-deployment`, `${jobs}/notify-next-namespace-aws-gg-deployment`], { qos: 1 });
      const listed = nextMessage(client, `${jobs}/notify-namespace-aws-gg-deployment`);
      const nextNotified = nextMessage(client, `${jobs}/notify-next-namespace-aws-gg-deployment`);

      const { deploymentId, jobId } = await deployToGroup(s, groupArn);
      const list = await listed;
      assert.deepEqual(
        list.jobs.QUEUED.map((j: Json) => [j.jobId, j.executionNumber, j.versionNumber]),
        [[jobId, 1, 1]],
      );
      assert.equal(list.jobs.IN_PROGRESS, undefined);
      assert.equal((await nextNotified).execution.jobId, jobId);

      // As the nucleus asks for its next job.
      const next = await request(client, `${jobs}/$next/namespace-aws-gg-deployment/get`, { jobId: '$next', thingName: d.thingName, includeJobDocument: true });
      assert.equal(next.outcome, 'accepted');
      const e = next.body.execution;
      assert.equal(e.jobId, jobId);
      assert.equal(e.status, 'QUEUED');
      assert.equal(e.versionNumber, 1);
      assert.equal(e.executionNumber, 1);
      assert.equal(typeof e.queuedAt, 'number');
      assert.match(e.jobDocument.configurationArn, new RegExp(`^arn:aws:greengrass:us-east-1:123456789012:configuration:thinggroup/${groupName}:1$`));
      assert.deepEqual(Object.keys(e.jobDocument.components), ['com.example.Hello']);
      assert.equal(e.jobDocument.components['com.example.Hello'].version, '1.0.0');
      assert.equal(e.jobDocument.deploymentId, deploymentId);

      // As the nucleus reports: extra jobId/thingName members are tolerated.
      const update = `${jobs}/${jobId}/namespace-aws-gg-deployment/update`;
      const started = await request(client, update, { status: 'IN_PROGRESS', statusDetails: {}, jobId, thingName: d.thingName, includeJobExecutionState: true });
      assert.equal(started.outcome, 'accepted', JSON.stringify(started.body));
      assert.deepEqual(started.body.executionState, { status: 'IN_PROGRESS', statusDetails: {}, versionNumber: 2 });
      const done = await request(client, update, {
        status: 'SUCCEEDED',
        statusDetails: { 'detailed-deployment-status': 'SUCCESSFUL' },
        expectedVersion: 2,
        clientToken: 'done-1',
      });
      assert.equal(done.outcome, 'accepted', JSON.stringify(done.body));
      assert.equal(done.body.clientToken, 'done-1');
      const described = await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: d.thingName }));
      assert.equal(described.execution!.status, 'SUCCEEDED');
      assert.deepEqual(described.execution!.statusDetails?.detailsMap, { 'detailed-deployment-status': 'SUCCESSFUL' });

      // Nothing is pending now, and SUCCEEDED is final.
      assert.deepEqual((await request(client, `${jobs}/$next/namespace-aws-gg-deployment/get`, {})).body.execution, undefined);
      const again = await request(client, update, { status: 'IN_PROGRESS', clientToken: 'again' });
      assert.equal(again.outcome, 'rejected');
      assert.equal(again.body.code, 'InvalidStateTransition');
      assert.equal(again.body.clientToken, 'again');
      assert.equal(again.body.executionState.status, 'SUCCEEDED');
      assert.match(again.body.message, /SUCCEEDED/);
      const serviceStatus = await request(client, update, { status: 'QUEUED' });
      assert.equal(serviceStatus.body.code, 'InvalidRequest');
      const unknown = await request(client, `${jobs}/no-such-job/get`, {});
      assert.equal(unknown.outcome, 'rejected');
      assert.equal(unknown.body.code, 'ResourceNotFound');
    });
  });
}
