// Device shadows over the devices' MQTT endpoint (classic and named; get/update/delete with accepted/rejected, delta
// and documents) and single-thing deployments delivered through the AWSManagedGreengrassV2Deployment shadow, driven
// by real `mqtt` clients with device certificates, the AWS SDK, and the AWS IoT Device SDK v2's shadow client.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { CancelDeploymentCommand, GetDeploymentCommand, ListEffectiveDeploymentsCommand } from '@aws-sdk/client-greengrassv2';
import { AttachThingPrincipalCommand, CreateKeysAndCertificateCommand, CreateThingCommand } from '@aws-sdk/client-iot';
import type { ErrorWithSubackPacket, MqttClient } from 'mqtt';
import { iot, iotshadow, mqtt as crtMqtt } from 'aws-iot-device-sdk-v2';
import { ManualClock } from '../src/core/clock.js';
import { applyShadowUpdate, deltaOf, versionAfterDeletion, type ShadowDocument } from '../src/core/shadow/index.js';
import { STORE_KINDS } from './helpers/databases.js';
import { ACCOUNT, deploy, publishComponents, REGION, uniqueName } from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { connectRaw, eventually } from './helpers/devices.js';

interface Device {
  thingName: string;
  cert: string;
  key: string;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DEPLOYMENT_SHADOW = 'AWSManagedGreengrassV2Deployment';
const HELLO_1 = { 'com.example.Hello': { componentVersion: '1.0.0' } };
const HELLO_2 = { 'com.example.Hello': { componentVersion: '2.0.0' } };

const shadowTopic = (thing: string, shadowName?: string) => `$aws/things/${thing}/shadow${shadowName === undefined ? '' : `/name/${shadowName}`}`;
const configurationArn = (thing: string, revision: number) => `arn:aws:greengrass:${REGION}:${ACCOUNT}:configuration:thing/${thing}:${revision}`;

describe('shadow rules (pure)', () => {
  const t0 = Date.UTC(2026, 4, 1);
  const update = (current: ShadowDocument | undefined, state: Json | null, at = t0) =>
    applyShadowUpdate(current, current?.version ?? 0, { state: state as never }, at);

  it('nested objects merge key by key, arrays are replaced whole, and emptied objects disappear', () => {
    const one = update(undefined, { desired: { a: { b: 1, c: [1, 2] }, d: 'x' } }).document;
    const two = update(one, { desired: { a: { b: null, c: [3] }, d: null } }, t0 + 2000).document;
    assert.deepEqual(two.state, { desired: { a: { c: [3] } } });
    assert.deepEqual(two.metadata, { desired: { a: { c: [{ timestamp: Math.floor(t0 / 1000) + 2 }] } } });
    const three = update(two, { desired: { a: { c: null } } }).document;
    assert.deepEqual(three.state, {});
    assert.equal(three.version, 3);
  });

  it('the delta compares nested objects key by key and whole values otherwise; state null clears both sections', () => {
    const doc = update(undefined, { desired: { a: { x: 1, y: 2 }, list: [1, 2], same: true }, reported: { a: { x: 1, y: 3 }, list: [1, 2], same: true, extra: 1 } }).document;
    assert.deepEqual(deltaOf(doc)?.state, { a: { y: 2 } });
    const cleared = update(doc, null);
    assert.deepEqual(cleared.document.state, {});
    assert.equal(cleared.document.version, 2);
    assert.equal(cleared.delta, undefined);
  });

  it('a deleted version carries on for 48 hours, then versions restart', () => {
    assert.equal(versionAfterDeletion(7, t0, t0 + 48 * 3600 * 1000), 7);
    assert.equal(versionAfterDeletion(7, t0, t0 + 48 * 3600 * 1000 + 1), 0);
  });
});

for (const kind of STORE_KINDS) {
  describe(`Device shadows and thing deployments (${kind})`, () => {
    let s: TestServer;
    let caPem: string;
    const clock = new ManualClock(Date.UTC(2026, 4, 1));
    const clients: MqttClient[] = [];
    const nowSeconds = () => Math.floor(clock.now() / 1000);

    before(async () => {
      s = await startTestServer(kind, { clock });
      caPem = (await s.store.getCertificateAuthority())!.certificatePem;
      await publishComponents(s, ['com.example.Hello@1.0.0', 'com.example.Hello@2.0.0']);
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await s.close();
    });

    async function newDevice(): Promise<Device> {
      const thingName = uniqueName('core');
      await s.iot.send(new CreateThingCommand({ thingName }));
      const out = await s.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
      await s.iot.send(new AttachThingPrincipalCommand({ thingName, principal: out.certificateArn! }));
      return { thingName, cert: out.certificatePem!, key: out.keyPair!.PrivateKey! };
    }

    async function connect(d: Device): Promise<MqttClient> {
      const client = await connectRaw(s, caPem, d, d.thingName);
      clients.push(client);
      return client;
    }

    /** Every message on the topics from now on, in arrival order (subscribe first). */
    function inbox(client: MqttClient) {
      const messages: { topic: string; body: Json }[] = [];
      const waiters: (() => void)[] = [];
      client.on('message', (topic, payload) => {
        messages.push({ topic, body: JSON.parse(payload.toString()) as Json });
        waiters.splice(0).forEach((w) => w());
      });
      return {
        messages,
        /** The first message on the topic not taken yet (waiting for it if need be); it is taken. */
        async next(topic: string): Promise<Json> {
          return (await this.nextOf([topic])).body;
        },
        /** The same for the first message on any of the topics. */
        async nextOf(topics: string[]): Promise<{ topic: string; body: Json }> {
          for (;;) {
            const i = messages.findIndex((m) => topics.includes(m.topic));
            if (i >= 0) return messages.splice(i, 1)[0];
            await new Promise<void>((resolve) => waiters.push(resolve));
          }
        },
      };
    }

    type Inbox = ReturnType<typeof inbox>;

    /** A device connected and subscribed to every reply and publication of its shadow `name` (classic when undefined). */
    async function shadowDevice(d: Device, shadowName?: string): Promise<{ client: MqttClient; box: Inbox; topic: string }> {
      const client = await connect(d);
      const topic = shadowTopic(d.thingName, shadowName);
      // Replies and publications only (the device's own requests would come back under `#`).
      await client.subscribeAsync([`${topic}/+/accepted`, `${topic}/+/rejected`, `${topic}/update/delta`, `${topic}/update/documents`], { qos: 1 });
      return { client, box: inbox(client), topic };
    }

    let tokens = 0;

    /**
     * Publishes a shadow request and returns which reply came and its payload. The reply is told by its clientToken
     * (one is added when the request has none), so that what meadow published meanwhile is not taken for it.
     */
    async function call(dev: { client: MqttClient; box: Inbox; topic: string }, op: 'get' | 'update' | 'delete', payload: Json | string = {}) {
      const body = typeof payload === 'string' || 'clientToken' in payload ? payload : { ...payload, clientToken: `call-${++tokens}` };
      const token = typeof body === 'string' || typeof body.clientToken !== 'string' || body.clientToken.length > 64 ? undefined : body.clientToken;
      await dev.client.publishAsync(`${dev.topic}/${op}`, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });
      const topics = [`${dev.topic}/${op}/accepted`, `${dev.topic}/${op}/rejected`];
      for (;;) {
        const reply = await dev.box.nextOf(topics);
        if (reply.body.clientToken === token) return { outcome: reply.topic.slice(reply.topic.lastIndexOf('/') + 1), body: reply.body };
      }
    }

    async function deploymentStatus(deploymentId: string) {
      return (await s.gg.send(new GetDeploymentCommand({ deploymentId }))).deploymentStatus;
    }

    async function deviceStatus(deploymentId: string) {
      return (await s.store.getDeployment({ accountId: ACCOUNT, region: REGION }, deploymentId))!.deviceStatus;
    }

    /** The reported state the nucleus writes (semantics §8.5). */
    function nucleusReport(arn: string, status: string, details: Json = {}) {
      return { fleetConfigurationArnForStatus: arn, status, statusDetails: details, ggcVersion: '2.12.0' };
    }

    it('get of a missing shadow is rejected 404; an update is accepted with documents and delta; get shows state, delta and metadata', async () => {
      const d = await newDevice();
      const dev = await shadowDevice(d);
      const missing = await call(dev, 'get', { clientToken: 'g-1' });
      assert.equal(dev.box.messages.length, 0);
      assert.equal(missing.outcome, 'rejected');
      assert.deepEqual(missing.body, { code: 404, message: `No shadow exists with name: '${d.thingName}'`, timestamp: nowSeconds(), clientToken: 'g-1' });

      const desired = { color: 'red', lights: { on: true, level: 3 }, modes: ['a', 'b'] };
      const created = await call(dev, 'update', { state: { desired }, clientToken: 'u-1' });
      assert.equal(created.outcome, 'accepted', JSON.stringify(created.body));
      const t = nowSeconds();
      assert.deepEqual(created.body, {
        state: { desired },
        metadata: { desired: { color: { timestamp: t }, lights: { on: { timestamp: t }, level: { timestamp: t } }, modes: [{ timestamp: t }, { timestamp: t }] } },
        version: 1,
        timestamp: t,
        clientToken: 'u-1',
      });
      const documents = await dev.box.next(`${dev.topic}/update/documents`);
      assert.equal(documents.previous, undefined);
      assert.deepEqual(documents.current.state, { desired });
      assert.equal(documents.current.version, 1);
      assert.equal(documents.clientToken, 'u-1');
      const delta = await dev.box.next(`${dev.topic}/update/delta`);
      assert.deepEqual(delta.state, desired);
      assert.equal(delta.version, 1);
      assert.equal(delta.clientToken, 'u-1');

      clock.advance(5000);
      const reported = await call(dev, 'update', { state: { reported: { color: 'red', lights: { on: true, level: 1 }, modes: ['a', 'b'] } } });
      assert.equal(reported.outcome, 'accepted');
      assert.equal(reported.body.version, 2);
      const documents2 = await dev.box.next(`${dev.topic}/update/documents`);
      assert.equal(documents2.previous.version, 1);
      assert.equal(documents2.current.version, 2);

      const got = await call(dev, 'get', { clientToken: 'g-2' });
      assert.equal(got.outcome, 'accepted');
      assert.deepEqual(got.body.state.delta, { lights: { level: 3 } });
      assert.deepEqual(got.body.state.desired, desired);
      assert.equal(got.body.metadata.reported.lights.level.timestamp, nowSeconds());
      assert.equal(got.body.metadata.desired.lights.level.timestamp, nowSeconds() - 5);
      assert.equal(got.body.version, 2);
      assert.equal(got.body.clientToken, 'g-2');
      // Only the update that touched desired sent a delta.
      assert.equal(dev.box.messages.filter((m) => m.topic.endsWith('/update/delta')).length, 0);
    });

    it('named shadows: version conflict, null deletes a key, bad requests and limits, delete and the version after it', async () => {
      const d = await newDevice();
      const dev = await shadowDevice(d, 'config');
      assert.equal((await call(dev, 'update', { state: { desired: { a: 1, b: { c: 2, d: 3 } } } })).body.version, 1);

      const stale = await call(dev, 'update', { state: { desired: { a: 2 } }, version: 0, clientToken: 'stale' });
      assert.equal(stale.outcome, 'rejected');
      assert.deepEqual(stale.body, { code: 409, message: 'Version conflict', timestamp: nowSeconds(), clientToken: 'stale' });

      const removed = await call(dev, 'update', { state: { desired: { a: null, b: { c: null } } }, version: 1 });
      assert.equal(removed.outcome, 'accepted', JSON.stringify(removed.body));
      assert.equal(removed.body.version, 2);
      const got = await call(dev, 'get');
      assert.deepEqual(got.body.state.desired, { b: { d: 3 } });
      assert.deepEqual(Object.keys(got.body.metadata.desired), ['b']);
      assert.deepEqual(Object.keys(got.body.metadata.desired.b), ['d']);

      const refusals: [Json | string, number, string][] = [
        ['not json', 400, 'Invalid JSON'],
        [{ clientToken: 'x' }, 400, 'Missing required node: state'],
        [{ state: [] }, 400, 'State node must be an object'],
        [{ state: { desired: 5 } }, 400, 'Desired node must be an object'],
        [{ state: { reported: 'x' } }, 400, 'Reported node must be an object'],
        [{ state: { delta: {} } }, 400, 'State contains an invalid node'],
        [{ state: { desired: { a: 1 } }, version: 'one' }, 400, 'Invalid version'],
        [{ state: { desired: { a: 1 } }, clientToken: 'x'.repeat(65) }, 400, 'Invalid clientToken'],
        [{ state: { desired: { l1: { l2: { l3: { l4: { l5: { l6: { l7: 1 } } } } } } } } }, 400, 'JSON contains too many levels of nesting; maximum is 6'],
        [{ state: { desired: { big: 'x'.repeat(8 * 1024) } } }, 413, 'The payload exceeds the maximum size allowed'],
      ];
      for (const [payload, code, message] of refusals) {
        const r = await call(dev, 'update', payload);
        assert.equal(r.outcome, 'rejected', JSON.stringify(payload).slice(0, 80));
        assert.equal(r.body.code, code);
        assert.equal(r.body.message, message);
      }
      // Six levels are allowed; nothing refused above changed the shadow.
      const deep = await call(dev, 'update', { state: { desired: { l1: { l2: { l3: { l4: { l5: { l6: 1 } } } } } } } });
      assert.equal(deep.outcome, 'accepted');
      assert.equal(deep.body.version, 3);

      const deleted = await call(dev, 'delete', { clientToken: 'del' });
      assert.equal(deleted.outcome, 'accepted');
      assert.deepEqual(deleted.body, { version: 3, timestamp: nowSeconds(), clientToken: 'del' });
      assert.equal((await call(dev, 'get')).body.code, 404);
      const again = await call(dev, 'delete');
      assert.equal(again.outcome, 'rejected');
      assert.deepEqual([again.body.code, again.body.message], [404, "No shadow exists with name: 'config'"]);
      // Created again within 48 hours, the shadow carries its version on.
      const recreated = await call(dev, 'update', { state: { reported: { on: true } } });
      assert.equal(recreated.body.version, 4);
      assert.deepEqual((await call(dev, 'get')).body.state, { reported: { on: true } });
      // The classic shadow is another shadow.
      await dev.client.subscribeAsync(`${shadowTopic(d.thingName)}/get/+`, { qos: 1 });
      assert.equal((await call({ ...dev, topic: shadowTopic(d.thingName) }, 'get')).body.code, 404);
    });

    it("another thing's shadow is refused: SUBACK failure, and a publish closes the connection", async () => {
      const d = await newDevice();
      const other = await newDevice();
      const client = await connect(d);
      const suback = await client.subscribeAsync([`${shadowTopic(other.thingName)}/get/accepted`, `${shadowTopic(d.thingName)}/get/accepted`], { qos: 1 }).then(
        () => assert.fail('the subscription was granted'),
        (e: ErrorWithSubackPacket) => e.packet,
      );
      assert.deepEqual(suback.granted, [128, 1]);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.publish(`${shadowTopic(other.thingName, DEPLOYMENT_SHADOW)}/update`, JSON.stringify({ state: { reported: { x: 1 } } }), { qos: 1 });
      await closed;
      assert.equal(await s.store.getShadow({ accountId: ACCOUNT, region: REGION }, other.thingName, DEPLOYMENT_SHADOW), undefined);
    });

    it('a thing deployment reaches its device through the deployment shadow; IN_PROGRESS then SUCCEEDED completes it', async () => {
      const d = await newDevice();
      const dev = await shadowDevice(d, DEPLOYMENT_SHADOW);
      const { deploymentId, iotJobId } = await deploy(s, { targetArn: `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${d.thingName}`, deploymentName: 'one', components: HELLO_1 });
      assert.equal(iotJobId, undefined);

      const accepted = await dev.box.next(`${dev.topic}/update/accepted`);
      assert.equal(accepted.state.desired.desiredStatus, 'ACTIVE');
      const delta = await dev.box.next(`${dev.topic}/update/delta`);
      assert.equal(delta.state.desiredStatus, 'ACTIVE');
      assert.equal(typeof delta.state.fleetConfig, 'string');
      const document = JSON.parse(delta.state.fleetConfig);
      assert.equal(document.configurationArn, configurationArn(d.thingName, 1));
      assert.equal(document.deploymentId, deploymentId);
      assert.equal(document.deploymentName, 'one');
      assert.deepEqual(document.components, { 'com.example.Hello': { version: '1.0.0' } });
      assert.equal(document.requiredCapabilities, undefined);

      const got = await call(dev, 'get');
      assert.equal(got.body.state.desired.fleetConfig, delta.state.fleetConfig);
      assert.equal(await deploymentStatus(deploymentId!), 'ACTIVE');
      assert.equal((await deviceStatus(deploymentId!))?.status, 'QUEUED');

      // As the nucleus reports, with the shadow version for optimistic locking.
      const started = await call(dev, 'update', { state: { reported: nucleusReport(document.configurationArn, 'IN_PROGRESS') }, version: got.body.version });
      assert.equal(started.outcome, 'accepted', JSON.stringify(started.body));
      assert.equal(await deploymentStatus(deploymentId!), 'ACTIVE');
      assert.equal((await deviceStatus(deploymentId!))?.status, 'IN_PROGRESS');

      clock.advance(60_000);
      const done = await call(dev, 'update', {
        state: { reported: nucleusReport(document.configurationArn, 'SUCCEEDED', { detailedStatus: 'SUCCESSFUL', errorStack: [], errorTypes: [] }) },
        version: started.body.version,
      });
      assert.equal(done.outcome, 'accepted');
      assert.equal(await deploymentStatus(deploymentId!), 'COMPLETED');
      assert.deepEqual(await deviceStatus(deploymentId!), {
        status: 'COMPLETED',
        detailedStatus: 'SUCCESSFUL',
        failureCause: undefined,
        statusDetails: { errorStack: [], errorTypes: [] },
        updatedAt: clock.now(),
      });
      // The device's reports touch only `reported`: they publish no delta.
      assert.equal(dev.box.messages.filter((m) => m.topic.endsWith('/update/delta')).length, 0);
    });

    it('a device that reports FAILED fails its deployment, with the error details it gave', async () => {
      const d = await newDevice();
      const dev = await shadowDevice(d, DEPLOYMENT_SHADOW);
      const { deploymentId } = await deploy(s, { targetArn: `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${d.thingName}`, components: HELLO_1 });
      const document = JSON.parse((await dev.box.next(`${dev.topic}/update/delta`)).state.fleetConfig);
      const failed = await call(dev, 'update', {
        state: {
          reported: nucleusReport(document.configurationArn, 'FAILED', {
            detailedStatus: 'FAILED_ROLLBACK_COMPLETE',
            failureCause: 'com.example.Hello broke',
            errorStack: ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'],
            errorTypes: ['USER_COMPONENT_ERROR'],
          }),
        },
      });
      assert.equal(failed.outcome, 'accepted');
      assert.equal(await deploymentStatus(deploymentId!), 'FAILED');
      const status = await deviceStatus(deploymentId!);
      assert.equal(status?.status, 'FAILED');
      assert.equal(status?.detailedStatus, 'FAILED_ROLLBACK_COMPLETE');
      assert.equal(status?.failureCause, 'com.example.Hello broke');
      assert.deepEqual(status?.statusDetails, { errorStack: ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'], errorTypes: ['USER_COMPONENT_ERROR'] });
      // A report naming another thing's configuration is kept in the shadow but records nothing.
      const foreign = await call(dev, 'update', { state: { reported: nucleusReport(configurationArn('someone-else', 1), 'SUCCEEDED') } });
      assert.equal(foreign.outcome, 'accepted');
      assert.equal(await deploymentStatus(deploymentId!), 'FAILED');
    });

    it('cancel sets desiredStatus CANCELED; a new revision replaces desired; a report on an older revision updates only its device status', async () => {
      const d = await newDevice();
      const dev = await shadowDevice(d, DEPLOYMENT_SHADOW);
      const targetArn = `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${d.thingName}`;
      const first = await deploy(s, { targetArn, components: HELLO_1 });
      await dev.box.next(`${dev.topic}/update/accepted`);
      await dev.box.next(`${dev.topic}/update/delta`);

      await s.gg.send(new CancelDeploymentCommand({ deploymentId: first.deploymentId }));
      const canceled = await dev.box.next(`${dev.topic}/update/accepted`);
      assert.deepEqual(canceled.state, { desired: { desiredStatus: 'CANCELED' } });
      assert.equal((await dev.box.next(`${dev.topic}/update/delta`)).state.desiredStatus, 'CANCELED');
      assert.equal(await deploymentStatus(first.deploymentId!), 'CANCELED');
      assert.equal((await deviceStatus(first.deploymentId!))?.status, 'CANCELED'); // the device never took it up
      assert.equal((await call(dev, 'get')).body.state.desired.desiredStatus, 'CANCELED');

      clock.advance(1000);
      const second = await deploy(s, { targetArn, components: HELLO_2 });
      const delta = await dev.box.next(`${dev.topic}/update/delta`);
      assert.equal(delta.state.desiredStatus, 'ACTIVE');
      const document = JSON.parse(delta.state.fleetConfig);
      assert.equal(document.configurationArn, configurationArn(d.thingName, 2));
      assert.deepEqual(document.components, { 'com.example.Hello': { version: '2.0.0' } });
      assert.equal(await deploymentStatus(first.deploymentId!), 'CANCELED');
      await call(dev, 'update', { state: { reported: nucleusReport(document.configurationArn, 'IN_PROGRESS') } });

      clock.advance(1000);
      const third = await deploy(s, { targetArn, components: HELLO_1 });
      const thirdDocument = JSON.parse((await dev.box.next(`${dev.topic}/update/delta`)).state.fleetConfig);
      assert.equal(thirdDocument.configurationArn, configurationArn(d.thingName, 3));
      assert.equal(await deploymentStatus(second.deploymentId!), 'INACTIVE');
      assert.equal((await deviceStatus(second.deploymentId!))?.status, 'IN_PROGRESS'); // the device's word stands

      // The device finishes the revision it was running before it sees the new one.
      await call(dev, 'update', { state: { reported: nucleusReport(document.configurationArn, 'SUCCEEDED', { detailedStatus: 'SUCCESSFUL' }) } });
      assert.equal(await deploymentStatus(second.deploymentId!), 'INACTIVE');
      assert.equal((await deviceStatus(second.deploymentId!))?.status, 'COMPLETED');
      assert.equal(await deploymentStatus(third.deploymentId!), 'ACTIVE');
      assert.equal((await deviceStatus(third.deploymentId!))?.status, 'QUEUED');

      // The operator's view: once the device has reported its health it is a core device, and each revision its
      // shadow carried is an effective deployment, newest first, with the device's status (success shows COMPLETED).
      const health = {
        ggcVersion: '2.12.0', platform: 'linux', architecture: 'amd64', thing: d.thingName, overallDeviceStatus: 'HEALTHY',
        sequenceNumber: 1, timestamp: clock.now(), messageType: 'COMPLETE', trigger: 'NUCLEUS_LAUNCH', components: [],
      };
      await dev.client.publishAsync(`$aws/things/${d.thingName}/greengrassv2/health/json`, JSON.stringify(health), { qos: 1 });
      await eventually('the core device exists', async () => (await s.store.getCoreDevice({ accountId: ACCOUNT, region: REGION }, d.thingName)) !== undefined);
      const listed = (await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: d.thingName }))).effectiveDeployments!;
      assert.deepEqual(
        listed.map((e) => [e.deploymentId, e.targetArn, e.coreDeviceExecutionStatus, e.iotJobId, e.reason]),
        [
          [third.deploymentId, targetArn, 'QUEUED', undefined, undefined],
          [second.deploymentId, targetArn, 'COMPLETED', undefined, 'SUCCESSFUL'],
          [first.deploymentId, targetArn, 'CANCELED', undefined, undefined],
        ],
      );
      assert.equal(listed[1].statusDetails, undefined);
      assert.deepEqual(listed[2].statusDetails, { errorStack: [], errorTypes: [] });
    });

    it('a thing document over 7 KB goes out in the LARGE_CONFIGURATION form; GetDeploymentConfiguration serves the full one', async () => {
      const d = await newDevice();
      const dev = await shadowDevice(d, DEPLOYMENT_SHADOW);
      const merge = JSON.stringify({ text: 'y'.repeat(7 * 1024) });
      const { deploymentId } = await deploy(s, {
        targetArn: `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${d.thingName}`,
        components: { 'com.example.Hello': { componentVersion: '1.0.0', configurationUpdate: { merge } } },
      });
      const truncated = JSON.parse((await dev.box.next(`${dev.topic}/update/delta`)).state.fleetConfig);
      assert.deepEqual(truncated.requiredCapabilities, ['LARGE_CONFIGURATION']);
      assert.deepEqual(truncated.components, { 'com.example.Hello': { version: '1.0.0' } });

      const config = await dataPlaneGet(d, `/greengrass/v2/deployments/${deploymentId}/configuration?coreDeviceThingName=${d.thingName}`);
      assert.equal(config.status, 200, JSON.stringify(config.body));
      const full = await fetch(config.body.preSignedUrl);
      assert.equal(full.status, 200);
      const text = await full.text();
      assert.equal(createHash('sha256').update(text, 'utf8').digest('base64'), config.body.integrityCheck.digest);
      const fullDocument = JSON.parse(text);
      assert.equal(fullDocument.configurationArn, truncated.configurationArn);
      assert.deepEqual(fullDocument.components['com.example.Hello'].configurationUpdate.merge, JSON.parse(merge));
    });

    it('the AWS IoT Device SDK v2 shadow client gets and updates the deployment shadow', async () => {
      const d = await newDevice();
      const { deploymentId } = await deploy(s, { targetArn: `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${d.thingName}`, components: HELLO_1 });
      const config = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder(d.cert, d.key)
        .with_certificate_authority(caPem)
        .with_endpoint('127.0.0.1')
        .with_port(s.mqttPort)
        .with_client_id(d.thingName)
        .with_clean_session(true)
        .build();
      const connection = new crtMqtt.MqttClient().new_connection(config);
      await connection.connect();
      try {
        const shadow = new iotshadow.IotShadowClient(connection);
        const request = { thingName: d.thingName, shadowName: DEPLOYMENT_SHADOW };
        const gotShadow = new Promise<iotshadow.model.GetShadowResponse>((resolve, reject) => {
          void shadow.subscribeToGetNamedShadowAccepted(request, crtMqtt.QoS.AtLeastOnce, (err, res) => (err ? reject(err) : resolve(res!)));
        });
        await shadow.subscribeToGetNamedShadowRejected(request, crtMqtt.QoS.AtLeastOnce, () => undefined);
        await shadow.publishGetNamedShadow({ ...request, clientToken: 'sdk-get' }, crtMqtt.QoS.AtLeastOnce);
        const got = await gotShadow;
        assert.equal(got.clientToken, 'sdk-get');
        const desired = got.state!.desired as Json;
        assert.equal(desired.desiredStatus, 'ACTIVE');
        const document = JSON.parse(desired.fleetConfig);
        assert.equal(document.configurationArn, configurationArn(d.thingName, 1));

        const updated = new Promise<iotshadow.model.UpdateShadowResponse>((resolve, reject) => {
          void shadow.subscribeToUpdateNamedShadowAccepted(request, crtMqtt.QoS.AtLeastOnce, (err, res) => (err ? reject(err) : resolve(res!)));
        });
        await shadow.subscribeToUpdateNamedShadowRejected(request, crtMqtt.QoS.AtLeastOnce, (_err, res) => assert.fail(`update rejected: ${JSON.stringify(res)}`));
        await shadow.publishUpdateNamedShadow(
          {
            ...request,
            clientToken: 'sdk-update',
            version: got.version,
            state: { reported: nucleusReport(document.configurationArn, 'SUCCEEDED', { detailedStatus: 'SUCCESSFUL' }) },
          },
          crtMqtt.QoS.AtLeastOnce,
        );
        const accepted = await updated;
        assert.equal(accepted.clientToken, 'sdk-update');
        assert.equal(accepted.version, got.version! + 1);
        assert.equal(await deploymentStatus(deploymentId!), 'COMPLETED');
      } finally {
        await connection.disconnect();
      }
    });

    /** A GET on the devices' HTTPS data plane with the device's certificate. */
    function dataPlaneGet(d: Device, path: string): Promise<{ status: number; body: Json }> {
      return new Promise((resolve, reject) => {
        const req = httpsRequest(new URL(path, s.dataPlaneEndpoint), { ca: caPem, cert: d.cert, key: d.key, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Json }));
        });
        req.on('error', reject);
        req.end();
      });
    }
  });
}
