// Core devices and fleet status: real devices (mutual-TLS MQTT with certificates from CreateKeysAndCertificate)
// publish health messages and run group deployments over the jobs MQTT API; the Greengrass V2 SDK (and the AWS CLI)
// read ListCoreDevices, GetCoreDevice, ListInstalledComponents, ListEffectiveDeployments, DeleteCoreDevice.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  DeleteCoreDeviceCommand,
  GetCoreDeviceCommand,
  ListCoreDevicesCommand,
  ListEffectiveDeploymentsCommand,
  ListInstalledComponentsCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  ValidationException,
  type GetCoreDeviceCommandOutput,
  type InstalledComponent,
} from '@aws-sdk/client-greengrassv2';
import { AddThingToThingGroupCommand, RemoveThingFromThingGroupCommand } from '@aws-sdk/client-iot';
import type { MqttClient } from 'mqtt';
import { connectDevice } from '../src/agent/protocol/connect.js';
import { DeploymentJobsClient } from '../src/agent/protocol/jobs-client.js';
import { ManualClock } from '../src/core/clock.js';
import { AWS_CLI, awsCliEnv } from './helpers/aws-cli.js';
import { STORE_KINDS } from './helpers/databases.js';
import { endpointOf, eventually, provisionDevices } from './helpers/devices.js';
import { ACCOUNT, REGION, newThingGroup, publishComponents, rejectsWith, uniqueName } from './helpers/greengrass.js';
import { deployToGroup } from './helpers/jobs.js';
import { startTestServer, type TestServer } from './helpers/server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const coreDeviceArn = (thing: string) => `arn:aws:greengrass:${REGION}:${ACCOUNT}:coreDevices:${thing}`;

/** A nucleus-shaped component status. */
function component(componentName: string, version: string, status = 'RUNNING', isRoot = true, extra: Json = {}): Json {
  return { componentName, version, fleetConfigArns: [], isRoot, status, componentStatusDetails: null, ...extra };
}

for (const kind of STORE_KINDS) {
  describe(`core devices and fleet status (${kind})`, () => {
    let s: TestServer;
    const clock = new ManualClock(Date.UTC(2026, 4, 1));
    const clients: MqttClient[] = [];

    before(async () => {
      s = await startTestServer(kind, { clock });
      await publishComponents(s, ['com.example.Hello@1.0.0']);
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await s.close();
    });

    /** A thing with an ACTIVE certificate, connected over MQTT as itself; sequence numbers count up per device. */
    async function newDevice() {
      const [identity] = await provisionDevices(await endpointOf(s), 1, { prefix: uniqueName('core') });
      const thingName = identity.thingName;
      const client = await connectDevice(identity, { reconnectPeriod: 0 });
      clients.push(client);
      let sequenceNumber = 0;
      const topic = `$aws/things/${thingName}/greengrassv2/health/json`;
      // The device's side of the jobs MQTT API (updates only: the test says what to report).
      const jobs = new DeploymentJobsClient(client, thingName, { onJob: () => undefined });
      await jobs.start();
      return {
        thingName,
        client,
        jobs,
        /** A health message as the nucleus sends it; `seq` overrides the running sequence number. */
        message(fields: Json = {}): Json {
          return {
            ggcVersion: '2.12.0',
            platform: 'linux',
            architecture: 'amd64',
            thing: thingName,
            overallDeviceStatus: 'HEALTHY',
            sequenceNumber: fields.sequenceNumber ?? ++sequenceNumber,
            timestamp: clock.now(),
            messageType: 'COMPLETE',
            trigger: 'NUCLEUS_LAUNCH',
            components: [],
            ...fields,
          };
        },
        async publish(payload: Json | string) {
          await client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
        },
        /**
         * Publishes and waits until the device's record shows this message's core version (a marker); the messages
         * of one device are applied in order, so everything it published before has been dealt with too.
         */
        async report(fields: Json = {}) {
          const marker = `2.12.${Math.floor(Math.random() * 1e9)}`;
          await this.publish(this.message({ ...fields, ggcVersion: marker }));
          let got: GetCoreDeviceCommandOutput | undefined;
          await eventually(`status message ${marker} of ${thingName} is applied`, async () => {
            got = await s.gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: thingName })).catch(() => undefined);
            return got?.coreVersion === marker;
          });
          return got!;
        },
      };
    }

    async function installed(thingName: string, topologyFilter?: 'ROOT' | 'ALL'): Promise<InstalledComponent[]> {
      const out = await s.gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: thingName, topologyFilter }));
      return out.installedComponents ?? [];
    }
    const names = (list: InstalledComponent[]) => list.map((c) => `${c.componentName}@${c.componentVersion}:${c.lifecycleState}`);

    async function listedCoreDevices(input: { status?: 'HEALTHY' | 'UNHEALTHY'; thingGroupArn?: string } = {}): Promise<string[]> {
      const out: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await s.gg.send(new ListCoreDevicesCommand({ ...input, nextToken, maxResults: 2 }));
        out.push(...(page.coreDevices ?? []).map((d) => d.coreDeviceThingName!));
        nextToken = page.nextToken;
      } while (nextToken);
      return out;
    }

    it('the first status message creates the core device: ListCoreDevices, GetCoreDevice, tags on its ARN', async () => {
      const unknown = uniqueName('never-reported');
      await rejectsWith(s.gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: unknown })), ResourceNotFoundException);
      await rejectsWith(s.gg.send(new TagResourceCommand({ resourceArn: coreDeviceArn(unknown), tags: { a: 'b' } })), ResourceNotFoundException);

      const d = await newDevice();
      clock.advance(1000);
      const got = await d.report({ platform: 'linux', architecture: 'aarch64' });
      assert.equal(got.coreDeviceThingName, d.thingName);
      assert.equal(got.status, 'HEALTHY');
      assert.equal(got.platform, 'linux');
      assert.equal(got.architecture, 'aarch64');
      assert.equal(got.runtime, 'aws_nucleus_classic');
      assert.equal(got.lastStatusUpdateTimestamp?.getTime(), clock.now());
      assert.equal(got.tags, undefined);

      const listed = await s.gg.send(new ListCoreDevicesCommand({}));
      const entry = listed.coreDevices!.find((c) => c.coreDeviceThingName === d.thingName);
      assert.deepEqual(
        { ...entry, lastStatusUpdateTimestamp: entry?.lastStatusUpdateTimestamp?.getTime() },
        { coreDeviceThingName: d.thingName, status: 'HEALTHY', platform: 'linux', architecture: 'aarch64', runtime: 'aws_nucleus_classic', lastStatusUpdateTimestamp: clock.now() },
      );
      assert.ok((await listedCoreDevices({ status: 'HEALTHY' })).includes(d.thingName));

      await s.gg.send(new TagResourceCommand({ resourceArn: coreDeviceArn(d.thingName), tags: { site: 'lab' } }));
      assert.deepEqual((await s.gg.send(new ListTagsForResourceCommand({ resourceArn: coreDeviceArn(d.thingName) }))).tags, { site: 'lab' });
      assert.deepEqual((await s.gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: d.thingName }))).tags, { site: 'lab' });
    });

    it('UNHEALTHY comes from overallDeviceStatus, and the status filter follows it', async () => {
      const d = await newDevice();
      await d.report({ overallDeviceStatus: 'UNHEALTHY', components: [component('com.example.Broken', '1.0.0', 'BROKEN', true, { componentStatusDetails: { statusCodes: ['RUN_ERROR'], statusReason: 'exited 1' } })] });
      assert.ok((await listedCoreDevices({ status: 'UNHEALTHY' })).includes(d.thingName));
      assert.ok(!(await listedCoreDevices({ status: 'HEALTHY' })).includes(d.thingName));
      const [broken] = await installed(d.thingName);
      assert.equal(broken.lifecycleState, 'BROKEN');
      assert.deepEqual(broken.lifecycleStatusCodes, ['RUN_ERROR']);
      assert.equal(broken.lifecycleStateDetails, 'exited 1');

      await d.report({ overallDeviceStatus: 'HEALTHY', components: [component('com.example.Broken', '1.0.0', 'RUNNING')] });
      assert.ok((await listedCoreDevices({ status: 'HEALTHY' })).includes(d.thingName));
      assert.ok(!(await listedCoreDevices({ status: 'UNHEALTHY' })).includes(d.thingName));
    });

    it('a message with an older sequence number than the newest seen is ignored', async () => {
      const d = await newDevice();
      await d.report({ sequenceNumber: 10, components: [component('com.example.A', '1.0.0')] });
      // Older: would make the device UNHEALTHY and replace its components if it were applied.
      await d.publish(d.message({ sequenceNumber: 9, overallDeviceStatus: 'UNHEALTHY', components: [component('com.example.Old', '0.1.0')] }));
      const got = await d.report({ sequenceNumber: 11, messageType: 'PARTIAL', components: [] });
      assert.equal(got.status, 'HEALTHY');
      assert.deepEqual(names(await installed(d.thingName)), ['com.example.A@1.0.0:RUNNING']);
    });

    it('COMPLETE replaces the component list, PARTIAL upserts; ROOT (default) and ALL topologies; timestamps', async () => {
      const d = await newDevice();
      const t0 = clock.now();
      await d.report({
        components: [
          component('com.example.App', '1.0.0'),
          component('com.example.Lib', '1.0.0', 'RUNNING', false),
          component('aws.greengrass.Nucleus', '2.12.0', 'FINISHED', false),
          component('com.example.Gone', '1.0.0'),
        ],
      });
      assert.deepEqual(names(await installed(d.thingName)), ['com.example.App@1.0.0:RUNNING', 'com.example.Gone@1.0.0:RUNNING']);
      assert.deepEqual(names(await installed(d.thingName, 'ALL')), [
        'aws.greengrass.Nucleus@2.12.0:FINISHED',
        'com.example.App@1.0.0:RUNNING',
        'com.example.Gone@1.0.0:RUNNING',
        'com.example.Lib@1.0.0:RUNNING',
      ]);

      clock.advance(60_000);
      await d.report({ messageType: 'PARTIAL', trigger: 'COMPONENT_STATUS_CHANGE', components: [component('com.example.App', '1.0.0', 'ERRORED'), component('com.example.New', '2.0.0')] });
      const afterPartial = await installed(d.thingName, 'ALL');
      assert.deepEqual(names(afterPartial), [
        'aws.greengrass.Nucleus@2.12.0:FINISHED',
        'com.example.App@1.0.0:ERRORED',
        'com.example.Gone@1.0.0:RUNNING',
        'com.example.Lib@1.0.0:RUNNING',
        'com.example.New@2.0.0:RUNNING',
      ]);
      const app = afterPartial.find((c) => c.componentName === 'com.example.App')!;
      assert.equal(app.lastStatusChangeTimestamp?.getTime(), clock.now());
      assert.equal(app.lastReportedTimestamp?.getTime(), clock.now());
      assert.equal(app.isRoot, true);
      const lib = afterPartial.find((c) => c.componentName === 'com.example.Lib')!;
      assert.equal(lib.lastReportedTimestamp?.getTime(), t0);

      clock.advance(60_000);
      await d.report({
        trigger: 'CADENCE',
        components: [component('com.example.App', '1.0.0', 'ERRORED'), component('com.example.Lib', '1.0.0', 'RUNNING', false)],
      });
      const afterComplete = await installed(d.thingName, 'ALL');
      assert.deepEqual(names(afterComplete), ['com.example.App@1.0.0:ERRORED', 'com.example.Lib@1.0.0:RUNNING']);
      const unchanged = afterComplete.find((c) => c.componentName === 'com.example.App')!;
      assert.equal(unchanged.lastStatusChangeTimestamp?.getTime(), clock.now() - 60_000, 'same version and state: no status change');
      assert.equal(unchanged.lastReportedTimestamp?.getTime(), clock.now());

      const page1 = await s.gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: d.thingName, topologyFilter: 'ALL', maxResults: 1 }));
      assert.deepEqual(names(page1.installedComponents!), ['com.example.App@1.0.0:ERRORED']);
      const page2 = await s.gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: d.thingName, topologyFilter: 'ALL', maxResults: 1, nextToken: page1.nextToken }));
      assert.deepEqual(names(page2.installedComponents!), ['com.example.Lib@1.0.0:RUNNING']);
      assert.equal(page2.nextToken, undefined);
    });

    it('a chunked COMPLETE message replaces the list only once all its chunks arrived', async () => {
      const d = await newDevice();
      await d.report({ sequenceNumber: 1, components: [component('com.example.Old', '1.0.0')] });
      await d.report({ sequenceNumber: 2, chunkInfo: { chunkId: 1, totalChunks: 2 }, components: [component('com.example.B', '1.0.0')] });
      assert.deepEqual(names(await installed(d.thingName)), ['com.example.Old@1.0.0:RUNNING'], 'half a message replaces nothing');
      await d.report({ sequenceNumber: 2, chunkInfo: { chunkId: 0, totalChunks: 2 }, components: [component('com.example.A', '1.0.0')] });
      assert.deepEqual(names(await installed(d.thingName)), ['com.example.A@1.0.0:RUNNING', 'com.example.B@1.0.0:RUNNING']);

      // A chunk set left incomplete is dropped once a newer message arrives.
      await d.report({ sequenceNumber: 3, chunkInfo: { chunkId: 0, totalChunks: 2 }, components: [component('com.example.C', '1.0.0')] });
      await d.report({ sequenceNumber: 4, messageType: 'PARTIAL', components: [component('com.example.D', '1.0.0')] });
      await d.publish(d.message({ sequenceNumber: 3, chunkInfo: { chunkId: 1, totalChunks: 2 }, components: [component('com.example.E', '1.0.0')] }));
      await d.report({ sequenceNumber: 5, messageType: 'PARTIAL', components: [] });
      assert.deepEqual(names(await installed(d.thingName)), ['com.example.A@1.0.0:RUNNING', 'com.example.B@1.0.0:RUNNING', 'com.example.D@1.0.0:RUNNING']);
    });

    it('status messages of many devices arriving at once are applied together, each to its own device and in its order', async () => {
      const devices = await Promise.all(Array.from({ length: 12 }, () => newDevice()));
      // Published without waiting: a COMPLETE list (two chunks for the first device), a PARTIAL upsert, then a stale one.
      await Promise.all(
        devices.map(async (d, i) => {
          const own = component(`com.example.Own${i}`, '1.0.0');
          if (i === 0) {
            await d.publish(d.message({ sequenceNumber: 1, chunkInfo: { chunkId: 0, totalChunks: 2 }, components: [own] }));
            await d.publish(d.message({ sequenceNumber: 1, chunkInfo: { chunkId: 1, totalChunks: 2 }, components: [component('com.example.Second', '1.0.0')] }));
          } else {
            await d.publish(d.message({ sequenceNumber: 1, components: [own] }));
          }
          await d.publish(d.message({ sequenceNumber: 2, messageType: 'PARTIAL', components: [component('com.example.Shared', '2.0.0', 'ERRORED', false)] }));
          await d.publish(d.message({ sequenceNumber: 1, messageType: 'PARTIAL', components: [component('com.example.Stale', '1.0.0')] }));
        }),
      );
      for (const [i, d] of devices.entries()) {
        const got = await d.report({ sequenceNumber: 3, messageType: 'PARTIAL', components: [] });
        assert.equal(got.coreDeviceThingName, d.thingName);
        const expected = [`com.example.Own${i}@1.0.0:RUNNING`, ...(i === 0 ? ['com.example.Second@1.0.0:RUNNING'] : []), 'com.example.Shared@2.0.0:ERRORED'];
        assert.deepEqual(names(await installed(d.thingName, 'ALL')), expected, d.thingName);
      }
    });

    it('DeleteCoreDevice removes the record and its components; the next status message recreates it', async () => {
      const d = await newDevice();
      await d.report({ sequenceNumber: 50, components: [component('com.example.App', '1.0.0')] });
      await s.gg.send(new TagResourceCommand({ resourceArn: coreDeviceArn(d.thingName), tags: { k: 'v' } }));
      await s.gg.send(new DeleteCoreDeviceCommand({ coreDeviceThingName: d.thingName }));
      await rejectsWith(s.gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: d.thingName })), ResourceNotFoundException);
      await rejectsWith(s.gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: d.thingName })), ResourceNotFoundException);
      await rejectsWith(s.gg.send(new DeleteCoreDeviceCommand({ coreDeviceThingName: d.thingName })), ResourceNotFoundException);
      assert.ok(!(await listedCoreDevices()).includes(d.thingName));

      // A reinstalled device may start counting again: the deleted record no longer holds its old sequence.
      const again = await d.report({ sequenceNumber: 1, messageType: 'PARTIAL', components: [component('com.example.Other', '1.0.0')] });
      assert.equal(again.coreDeviceThingName, d.thingName);
      assert.equal(again.tags, undefined, 'tags went with the deleted record');
      assert.deepEqual(names(await installed(d.thingName)), ['com.example.Other@1.0.0:RUNNING']);
    });

    it('malformed status messages are dropped; the connection and the server carry on', async () => {
      const d = await newDevice();
      await d.report({ components: [component('com.example.App', '1.0.0')] });
      await d.publish('not json');
      await d.publish(JSON.stringify([1, 2]));
      await d.publish(d.message({ overallDeviceStatus: 'SICK' }));
      await d.publish(d.message({ components: [{ componentName: 'x' }] }));
      await d.publish(d.message({ thing: 'someone-else' }));
      await d.publish(d.message({ chunkInfo: { chunkId: 3, totalChunks: 2 } }));
      await d.publish(d.message({ sequenceNumber: -1 }));
      const got = await d.report({ messageType: 'PARTIAL', components: [] });
      assert.equal(got.status, 'HEALTHY');
      assert.equal(d.client.connected, true);
      assert.deepEqual(names(await installed(d.thingName)), ['com.example.App@1.0.0:RUNNING']);
    });

    it("a thing publishing on another thing's health topic is disconnected and creates nothing", async () => {
      const d = await newDevice();
      const victim = uniqueName('victim');
      const closed = new Promise<void>((resolve) => d.client.once('close', () => resolve()));
      d.client.publish(`$aws/things/${victim}/greengrassv2/health/json`, JSON.stringify(d.message({ thing: victim })), { qos: 1 });
      await closed;
      await rejectsWith(s.gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: victim })), ResourceNotFoundException);
    });

    it('group deployments over the jobs MQTT API show in ListEffectiveDeployments; ListCoreDevices(thingGroupArn) keeps a device that left', async () => {
      const groupName = uniqueName('fleet');
      const groupArn = await newThingGroup(s, groupName);
      const ok = await newDevice();
      const failing = await newDevice();
      for (const d of [ok, failing]) {
        await s.iot.send(new AddThingToThingGroupCommand({ thingGroupName: groupName, thingName: d.thingName }));
        await d.report({ components: [component('aws.greengrass.Nucleus', '2.12.0', 'FINISHED', false)] });
      }
      await rejectsWith(s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: uniqueName('nobody') })), ResourceNotFoundException);
      assert.deepEqual((await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: ok.thingName }))).effectiveDeployments, []);

      clock.advance(1000);
      const first = await deployToGroup(s, groupArn);
      const firstCreated = clock.now();

      // Released, not started yet: QUEUED.
      let listed = (await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: ok.thingName }))).effectiveDeployments!;
      assert.deepEqual(
        listed.map((e) => [e.deploymentId, e.coreDeviceExecutionStatus]),
        [[first.deploymentId, 'QUEUED']],
      );

      clock.advance(1000);
      assert.equal((await ok.jobs.update(first.jobId, 'IN_PROGRESS')).accepted, true);
      listed = (await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: ok.thingName }))).effectiveDeployments!;
      assert.equal(listed[0].coreDeviceExecutionStatus, 'IN_PROGRESS');
      assert.equal(listed[0].statusDetails, undefined);
      clock.advance(1000);
      assert.equal((await ok.jobs.update(first.jobId, 'SUCCEEDED', { 'detailed-deployment-status': 'SUCCESSFUL' })).accepted, true);
      listed = (await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: ok.thingName }))).effectiveDeployments!;
      assert.equal(listed.length, 1);
      const e = listed[0];
      assert.equal(e.deploymentId, first.deploymentId);
      assert.equal(e.deploymentName, first.deploymentId, 'an unnamed deployment shows its id');
      assert.equal(e.iotJobId, first.jobId);
      assert.equal(e.iotJobArn, `arn:aws:iot:${REGION}:${ACCOUNT}:job/${first.jobId}`);
      assert.equal(e.targetArn, groupArn);
      assert.equal(e.coreDeviceExecutionStatus, 'SUCCEEDED');
      assert.equal(e.reason, 'SUCCESSFUL');
      assert.equal(e.statusDetails, undefined);
      assert.equal(e.creationTimestamp?.getTime(), firstCreated);
      assert.equal(e.modifiedTimestamp?.getTime(), clock.now());

      // The device's status message after the deployment moves the installation source, unchanged roots included.
      await ok.report({
        messageType: 'PARTIAL',
        trigger: 'THING_GROUP_DEPLOYMENT',
        components: [component('com.example.Hello', '1.0.0')],
        deploymentInformation: {
          status: 'SUCCEEDED',
          deploymentId: first.deploymentId,
          fleetConfigurationArnForStatus: `arn:aws:greengrass:${REGION}:${ACCOUNT}:configuration:thinggroup/${groupName}:1`,
          statusDetails: { detailedStatus: 'SUCCESSFUL' },
          unchangedRootComponents: ['aws.greengrass.Nucleus'],
        },
      });
      const sources = Object.fromEntries((await installed(ok.thingName, 'ALL')).map((c) => [c.componentName, c.lastInstallationSource]));
      assert.deepEqual(sources, { 'aws.greengrass.Nucleus': first.deploymentId, 'com.example.Hello': first.deploymentId });

      // The other device fails the deployment: the error stack and types come from its job status details.
      assert.equal((await failing.jobs.update(first.jobId, 'IN_PROGRESS')).accepted, true);
      const failed = await failing.jobs.update(first.jobId, 'FAILED', {
          'detailed-deployment-status': 'FAILED_ROLLBACK_COMPLETE',
          'deployment-failure-cause': 'com.example.Hello broke',
          'deployment-error-stack': JSON.stringify(['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN']),
          'deployment-error-types': JSON.stringify(['USER_COMPONENT_ERROR']),
      });
      assert.equal(failed.accepted, true);
      const [f] = (await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: failing.thingName }))).effectiveDeployments!;
      assert.equal(f.coreDeviceExecutionStatus, 'FAILED');
      assert.equal(f.reason, 'FAILED_ROLLBACK_COMPLETE');
      assert.deepEqual(f.statusDetails, { errorStack: ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'], errorTypes: ['USER_COMPONENT_ERROR'] });

      // Only the device that completed a deployment to the group is listed for it, also after it leaves the group.
      assert.deepEqual(await listedCoreDevices({ thingGroupArn: groupArn }), [ok.thingName]);
      await s.iot.send(new RemoveThingFromThingGroupCommand({ thingGroupName: groupName, thingName: ok.thingName }));
      assert.deepEqual(await listedCoreDevices({ thingGroupArn: groupArn }), [ok.thingName]);
      assert.deepEqual(await listedCoreDevices({ thingGroupArn: await newThingGroup(s) }), []);
      assert.deepEqual(await listedCoreDevices({ thingGroupArn: `arn:aws:iot:${REGION}:999999999999:thinggroup/${groupName}` }), []);

      // A new revision: the failing device gets it too and succeeds; its list is newest first and pages.
      clock.advance(1000);
      const second = await deployToGroup(s, groupArn);
      assert.equal((await failing.jobs.update(second.jobId, 'IN_PROGRESS')).accepted, true);
      assert.equal((await failing.jobs.update(second.jobId, 'SUCCEEDED')).accepted, true);
      const page1 = await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: failing.thingName, maxResults: 1 }));
      assert.deepEqual(
        page1.effectiveDeployments!.map((x) => [x.deploymentId, x.coreDeviceExecutionStatus]),
        [[second.deploymentId, 'SUCCEEDED']],
      );
      assert.ok(page1.nextToken);
      const page2 = await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: failing.thingName, maxResults: 1, nextToken: page1.nextToken }));
      assert.deepEqual(
        page2.effectiveDeployments!.map((x) => [x.deploymentId, x.coreDeviceExecutionStatus]),
        [[first.deploymentId, 'FAILED']],
      );
      assert.equal(page2.nextToken, undefined);
      assert.deepEqual(await listedCoreDevices({ thingGroupArn: groupArn }), [failing.thingName, ok.thingName].sort());
      const badToken = await rejectsWith(
        s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: failing.thingName, nextToken: 'garbage' })),
        ValidationException,
      );
      assert.match(badToken.message, /nextToken/);
    });

    it('the AWS CLI lists and gets core devices', async () => {
      const d = await newDevice();
      await d.report({ overallDeviceStatus: 'UNHEALTHY' });
      const home = mkdtempSync(join(tmpdir(), 'meadow-cli-home-'));
      try {
        const run = promisify(execFile);
        const aws = async (...args: string[]) =>
          JSON.parse((await run(AWS_CLI, [...args, '--endpoint-url', s.endpoint, '--output', 'json'], { env: awsCliEnv(home) })).stdout) as Json;
        const listed = await aws('greengrassv2', 'list-core-devices', '--status', 'UNHEALTHY');
        const entry = listed.coreDevices.find((c: Json) => c.coreDeviceThingName === d.thingName);
        assert.equal(entry.status, 'UNHEALTHY');
        assert.ok(!Number.isNaN(Date.parse(entry.lastStatusUpdateTimestamp)));
        // CLI 2.9 (Debian's) predates `runtime` and the summary's platform fields: it prints only what its model knows.
        const got = await aws('greengrassv2', 'get-core-device', '--core-device-thing-name', d.thingName);
        assert.equal(got.coreVersion.startsWith('2.12.'), true);
        assert.equal(got.platform, 'linux');
        assert.equal(got.architecture, 'amd64');
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });
  });
}
