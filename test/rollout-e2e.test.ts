// Rollouts end to end: group deployments reaching devices played by real `mqtt` clients over mutual TLS, each running
// the agent's DeploymentJobsClient (the nucleus's jobs protocol), with the rollout engine on a ManualClock.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancelDeploymentCommand,
  CreateDeploymentCommand,
  GetDeploymentCommand,
  GreengrassV2Client,
  ListEffectiveDeploymentsCommand,
  ResourceNotFoundException,
  type EffectiveDeployment,
} from '@aws-sdk/client-greengrassv2';
import {
  AddThingToThingGroupCommand,
  CreateThingGroupCommand,
  DescribeCACertificateCommand,
  DescribeCertificateCommand,
  DescribeJobCommand,
  DescribeJobExecutionCommand,
  IoTClient,
  ListJobExecutionsForThingCommand,
  paginateListJobExecutionsForJob,
  RemoveThingFromThingGroupCommand,
  type JobExecutionSummaryForJob,
} from '@aws-sdk/client-iot';
import { iotjobs, mqtt as crtMqtt } from 'aws-iot-device-sdk-v2';
import { connectDevice, identityFromBundle } from '../src/agent/protocol/connect.js';
import type { DeploymentJob } from '../src/agent/protocol/jobs-client.js';
import { ManualClock, systemClock } from '../src/core/clock.js';
import { provisionDevice } from '../src/devices/provision.js';
import { createDatabase, STORE_KINDS } from './helpers/databases.js';
import {
  endpointOf,
  eventually,
  freePort,
  ignore,
  outcome,
  provisionDevices,
  runDevices,
  sdkV2Connection,
  startOnly,
  succeedAndReportStatus,
  type DeviceEndpoint,
  type Fleet,
  type Respond,
} from './helpers/devices.js';
import { deploy, newThingGroup, publishComponents } from './helpers/greengrass.js';
import { deployToGroup, processDetails } from './helpers/jobs.js';
import { spawnMeadow } from './helpers/process.js';
import { clientConfig, startTestServer, TEST_CREDENTIALS, type TestServer } from './helpers/server.js';

const MINUTE = 60_000;

for (const kind of STORE_KINDS) {
  describe(`Rollouts to devices over MQTT (${kind})`, () => {
    let s: TestServer;
    let endpoint: DeviceEndpoint;
    const clock = new ManualClock(Date.UTC(2026, 3, 1));
    const fleets: Fleet[] = [];

    before(async () => {
      s = await startTestServer(kind, { clock });
      endpoint = await endpointOf(s);
      await publishComponents(s, ['com.example.Hello@1.0.0', 'com.example.Hello@2.0.0']);
    });
    after(async () => {
      await Promise.all(fleets.map((f) => f.stop()));
      await s?.close();
    });

    /** A new thing group of `count` connected devices. */
    async function fleetInGroup(count: number, respond?: (thingName: string, index: number) => Respond, devicesPerCertificate = 1) {
      const groupName = `fleet-${fleets.length}-${Math.random().toString(36).slice(2, 8)}`;
      const groupArn = await newThingGroup(s, groupName);
      const devices = await provisionDevices(endpoint, count, { groupName, devicesPerCertificate });
      const fleet = await runDevices(devices, { clock, respond });
      fleets.push(fleet);
      return { groupName, groupArn, fleet };
    }

    async function executionsOf(jobId: string): Promise<JobExecutionSummaryForJob[]> {
      const all: JobExecutionSummaryForJob[] = [];
      for await (const page of paginateListJobExecutionsForJob({ client: s.iot, pageSize: 100 }, { jobId })) all.push(...(page.executionSummaries ?? []));
      return all;
    }

    /** ListEffectiveDeployments of a thing, once its status message has made it a core device. */
    async function effectiveDeployments(thingName: string): Promise<EffectiveDeployment[]> {
      let found: EffectiveDeployment[] = [];
      await eventually(`${thingName} is a core device`, async () => {
        try {
          found = (await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: thingName }))).effectiveDeployments ?? [];
          return true;
        } catch (e) {
          if (e instanceof ResourceNotFoundException) return false;
          throw e;
        }
      });
      return found;
    }

    it('a group deployment reaches 200 devices, and every execution SUCCEEDS', async () => {
      // Ten things per certificate keeps provisioning to seconds (see provisionDevices).
      const { groupArn, fleet } = await fleetInGroup(200, () => succeedAndReportStatus, 10);
      const { deploymentId, jobId } = await deployToGroup(s, groupArn);
      await eventually('every device reported', async () => (await processDetails(s, jobId)).numberOfSucceededThings === 200);
      assert.deepEqual(fleet.errors(), []);
      const details = await processDetails(s, jobId);
      assert.equal(details.numberOfSucceededThings, 200);
      assert.equal(details.numberOfQueuedThings, 0);
      assert.equal(details.numberOfInProgressThings, 0);
      const executions = await executionsOf(jobId);
      assert.equal(executions.length, 200);
      assert.ok(executions.every((e) => e.jobExecutionSummary?.status === 'SUCCEEDED'));
      assert.deepEqual(new Set(executions.map((e) => e.thingArn!.split('/').pop())), new Set(fleet.devices.map((d) => d.thingName)));
      for (const d of fleet.devices) assert.deepEqual(d.receivedJobIds(), [jobId], d.thingName);
      // Each device, a core device from its status message on, lists the deployment as effective and SUCCEEDED.
      for (let i = 0; i < fleet.devices.length; i += 25) {
        await Promise.all(
          fleet.devices.slice(i, i + 25).map(async (d) => {
            const listed = await effectiveDeployments(d.thingName);
            assert.deepEqual(
              listed.map((e) => [e.deploymentId, e.coreDeviceExecutionStatus, e.reason, e.iotJobId]),
              [[deploymentId, 'SUCCEEDED', 'SUCCESSFUL', jobId]],
              d.thingName,
            );
          }),
        );
      }
    });

    /** The Hello version a job's document deploys. */
    const helloVersion = (job: DeploymentJob) => (job.jobDocument.components as Record<string, { version: string }>)['com.example.Hello'].version;
    /** Succeeds at deployments of Hello 2.0.0 and leaves others QUEUED. */
    const onlyV2: Respond = (d, job) => (helloVersion(job) === '2.0.0' ? outcome('SUCCEEDED')(d, job) : ignore(d, job));
    const HELLO_V2 = { 'com.example.Hello': { componentVersion: '2.0.0' } };

    async function executionOf(jobId: string, thingName: string) {
      return (await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName }))).execution!;
    }

    it('a device joining the group gets the latest deployment over MQTT; one leaving while QUEUED gets REMOVED and is told', async () => {
      const { groupName, groupArn, fleet } = await fleetInGroup(1, () => onlyV2);
      const [stayer] = fleet.devices;
      const first = await deployToGroup(s, groupArn); // Hello 1.0.0: left QUEUED by the device
      await eventually('the member got revision 1', () => stayer.receivedJobIds().length === 1);
      const latest = (await deploy(s, { targetArn: groupArn, components: HELLO_V2 })).iotJobId!;
      await eventually('the member got both', () => stayer.receivedJobIds().length === 2);
      assert.deepEqual(stayer.receivedJobIds(), [first.jobId, latest]);

      const [identity] = await provisionDevices(endpoint, 1);
      const joinerFleet = await runDevices([identity], { clock });
      fleets.push(joinerFleet);
      const [joiner] = joinerFleet.devices;
      await joiner.sync();
      assert.deepEqual(joiner.receivedJobIds(), []);
      await s.iot.send(new AddThingToThingGroupCommand({ thingGroupName: groupName, thingName: joiner.thingName }));
      await s.engine.tick();
      await eventually('the joiner succeeded', async () => (await executionOf(latest, joiner.thingName)).status === 'SUCCEEDED');
      assert.deepEqual(joiner.receivedJobIds(), [latest]);
      assert.equal(helloVersion(joiner.received[0].job), '2.0.0');
      assert.equal(joiner.received[0].job.jobDocument.configurationArn, `arn:aws:greengrass:us-east-1:123456789012:configuration:thinggroup/${groupName}:2`);

      // A member whose execution is still QUEUED leaves: REMOVED, and the device sees it leave its pending list.
      const leaverFleet = await runDevices(await provisionDevices(endpoint, 1, { groupName }), { clock, respond: () => ignore });
      fleets.push(leaverFleet);
      const [leaver] = leaverFleet.devices;
      await s.engine.tick();
      await eventually('the leaver got the latest', () => leaver.receivedJobIds().includes(latest));
      await s.iot.send(new RemoveThingFromThingGroupCommand({ thingGroupName: groupName, thingName: leaver.thingName }));
      await s.engine.tick();
      assert.equal((await executionOf(latest, leaver.thingName)).status, 'REMOVED');
      await eventually('the leaver was told', () => leaver.gone.includes(latest));
      await leaver.sync();
      assert.deepEqual(leaver.receivedJobIds(), [latest]);
      assert.deepEqual(fleet.errors(), []);
    });

    it('a new revision supersedes: devices are told, old QUEUED executions CANCELED, the new job delivered', async () => {
      // Device 0 has started revision 1 when revision 2 comes; the others still hold it QUEUED.
      const { groupArn, fleet } = await fleetInGroup(5, (_, i) => (d, job) => (helloVersion(job) === '2.0.0' ? outcome('SUCCEEDED')(d, job) : i === 0 ? startOnly(d, job) : ignore(d, job)));
      const old = await deployToGroup(s, groupArn);
      await eventually('revision 1 reached all', () => fleet.receivedCount(old.jobId) === 5);
      const [busy, ...waiting] = fleet.devices;
      await eventually('device 0 started', async () => (await executionOf(old.jobId, busy.thingName)).status === 'IN_PROGRESS');

      const { iotJobId: newJobId } = await deploy(s, { targetArn: groupArn, components: HELLO_V2 });
      await eventually('the waiting devices ran revision 2', async () => (await processDetails(s, newJobId!)).numberOfSucceededThings === 4);
      for (const d of waiting) {
        assert.deepEqual(d.gone, [old.jobId], d.thingName);
        assert.deepEqual(d.receivedJobIds(), [old.jobId, newJobId], d.thingName);
        assert.equal((await executionOf(old.jobId, d.thingName)).status, 'CANCELED');
      }
      // The started one keeps its execution (a revision cancels without force), finishes it, then gets revision 2.
      assert.deepEqual(busy.gone, []);
      assert.deepEqual(busy.receivedJobIds(), [old.jobId]);
      assert.equal((await busy.report(old.jobId, 'SUCCEEDED')).accepted, true);
      await eventually('device 0 ran revision 2', async () => (await processDetails(s, newJobId!)).numberOfSucceededThings === 5);
      const oldJob = (await s.iot.send(new DescribeJobCommand({ jobId: old.jobId }))).job!;
      assert.equal(oldJob.status, 'CANCELED');
      assert.equal(oldJob.jobProcessDetails!.numberOfCanceledThings, 4);
      assert.equal(oldJob.jobProcessDetails!.numberOfSucceededThings, 1);
      assert.deepEqual(fleet.errors(), []);
    });

    it('CancelDeployment: released devices are told, and nothing more is delivered', async () => {
      const { groupArn, fleet } = await fleetInGroup(10, () => ignore, 5);
      const { deploymentId, jobId } = await deployToGroup(s, groupArn, { jobExecutionsRolloutConfig: { maximumPerMinute: 4 } });
      await eventually('the first 4 were offered it', () => fleet.receivedCount(jobId) === 4);
      const released = fleet.devices.filter((d) => d.receivedJobIds().includes(jobId));
      await s.gg.send(new CancelDeploymentCommand({ deploymentId }));
      await eventually('the released devices were told', () => released.every((d) => d.gone.includes(jobId)));
      clock.advance(3 * MINUTE);
      await s.engine.tick();
      await fleet.sync();
      assert.equal(fleet.receivedCount(jobId), 4);
      const details = await processDetails(s, jobId);
      assert.equal(details.numberOfCanceledThings, 10);
      assert.equal(details.numberOfQueuedThings, 0);
    });

    /**
     * Drives the clock minute by minute and returns how many devices received the job in each minute-long window
     * since the deployment, checking just before each minute that nothing more has arrived.
     */
    async function receivedPerMinute(fleet: Fleet, jobId: string, deployedAt: number, minutes: number): Promise<number[]> {
      for (let m = 1; m <= minutes; m++) {
        const before = fleet.receivedCount(jobId);
        clock.advance(MINUTE - 1);
        await s.engine.tick();
        await fleet.sync();
        assert.equal(fleet.receivedCount(jobId), before, `nothing more before minute ${m}`);
        clock.advance(1);
        await s.engine.tick();
        await fleet.sync();
      }
      const perWindow = Array.from({ length: minutes + 1 }, () => 0);
      for (const d of fleet.devices) for (const r of d.received) if (r.job.jobId === jobId) perWindow[Math.floor((r.at - deployedAt) / MINUTE)]++;
      return perWindow;
    }

    it('maximumPerMinute: devices receive exactly the rate per minute', async () => {
      const { groupArn, fleet } = await fleetInGroup(35, undefined, 5);
      const deployedAt = clock.now();
      const { jobId } = await deployToGroup(s, groupArn, { jobExecutionsRolloutConfig: { maximumPerMinute: 10 } });
      await fleet.sync();
      assert.deepEqual(await receivedPerMinute(fleet, jobId, deployedAt, 4), [10, 10, 10, 5, 0]);
      await eventually('all succeeded', async () => (await processDetails(s, jobId)).numberOfSucceededThings === 35);
    });

    it('exponentialRate: devices receive at the rising rate', async () => {
      // base 4, factor 2, every 12 notified: 4/min until 12 notified, 8/min until 24, 16/min after; a minute's grant
      // that crosses a threshold continues at the higher rate (see src/core/jobs/rollout.ts).
      const { groupArn, fleet } = await fleetInGroup(40, () => ignore, 5);
      const deployedAt = clock.now();
      const { jobId } = await deployToGroup(s, groupArn, {
        jobExecutionsRolloutConfig: { exponentialRate: { baseRatePerMinute: 4, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 12 } } },
      });
      await fleet.sync();
      assert.deepEqual(await receivedPerMinute(fleet, jobId, deployedAt, 4), [4, 4, 8, 16, 8]);
    });

    it('an abort criterion fires at the execution that meets it, not one before, and devices are told', async () => {
      const { groupArn, fleet } = await fleetInGroup(8, () => ignore);
      const { deploymentId, jobId } = await deployToGroup(s, groupArn, {
        abortConfig: { criteriaList: [{ failureType: 'FAILED', action: 'CANCEL', thresholdPercentage: 50, minNumberOfExecutedThings: 4 }] },
      });
      await eventually('all were offered it', () => fleet.receivedCount(jobId) === 8);
      const [d0, d1, d2, d3, running, ...queued] = fleet.devices;
      assert.equal((await running.report(jobId, 'IN_PROGRESS')).accepted, true);
      const run = async (d: typeof d0, final: 'SUCCEEDED' | 'FAILED') => {
        assert.equal((await d.report(jobId, 'IN_PROGRESS')).accepted, true);
        assert.equal((await d.report(jobId, final)).accepted, true);
      };
      await run(d0, 'SUCCEEDED');
      await run(d1, 'FAILED');
      await run(d2, 'FAILED'); // 2 of 3 failed, but fewer than 4 finished
      assert.equal((await s.iot.send(new DescribeJobCommand({ jobId }))).job!.status, 'IN_PROGRESS');
      await fleet.sync();
      assert.deepEqual(fleet.devices.flatMap((d) => d.gone), []);
      await run(d3, 'SUCCEEDED'); // 2 of 4 = 50%: met
      const job = (await s.iot.send(new DescribeJobCommand({ jobId }))).job!;
      assert.equal(job.status, 'CANCELED');
      assert.equal(job.reasonCode, 'ABORT_CRITERIA_MET_FAILED');
      assert.equal(job.jobProcessDetails!.numberOfCanceledThings, 3);
      assert.equal(job.jobProcessDetails!.numberOfInProgressThings, 1);
      await eventually('the queued devices were told', () => queued.every((d) => d.gone.includes(jobId)));
      assert.deepEqual(running.gone, []);
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId }))).deploymentStatus, 'FAILED');
      // The running device may still finish.
      assert.equal((await running.report(jobId, 'SUCCEEDED')).accepted, true);
    });

    it('inProgressTimeoutInMinutes: executions time out, devices are told, and late updates are rejected', async () => {
      const { groupArn, fleet } = await fleetInGroup(2, () => startOnly);
      const { jobId } = await deployToGroup(s, groupArn, { timeoutConfig: { inProgressTimeoutInMinutes: 5 } });
      const [swept, late] = fleet.devices;
      await eventually('both started', async () => (await processDetails(s, jobId)).numberOfInProgressThings === 2);
      clock.advance(5 * MINUTE - 1);
      await s.engine.tick();
      await fleet.sync();
      assert.deepEqual(fleet.devices.flatMap((d) => d.gone), []);
      clock.advance(1);
      // `late` reports before any sweep: refused, and timed out there and then.
      const refused = await late.report(jobId, 'SUCCEEDED');
      assert.equal(refused.accepted, false);
      assert.equal(refused.accepted === false && refused.code, 'InvalidStateTransition');
      assert.equal(refused.accepted === false && refused.executionState?.status, 'TIMED_OUT');
      await s.engine.tick();
      await eventually('the swept device was told', () => swept.gone.includes(jobId));
      const afterSweep = await swept.report(jobId, 'SUCCEEDED');
      assert.equal(afterSweep.accepted === false && afterSweep.code, 'InvalidStateTransition');
      assert.equal(afterSweep.accepted === false && afterSweep.executionState?.status, 'TIMED_OUT');
      assert.equal((await processDetails(s, jobId)).numberOfTimedOutThings, 2);
    });

    it('MQTT 5 is not spoken: its CONNECT is refused (unacceptable protocol version) and other connections carry on', async () => {
      const { fleet } = await fleetInGroup(1, () => ignore);
      const [identity] = await provisionDevices(endpoint, 1);
      const refused = await connectDevice(identity, { protocolVersion: 5, reconnectPeriod: 0 }).then(
        (c) => {
          void c.endAsync(true);
          assert.fail('an MQTT 5 connection was accepted');
        },
        (e: Error & { code?: number }) => e,
      );
      // aedes answers as an MQTT 3.1.1 server must (3.1.1 §3.1.2.2): CONNACK return code 1, then it disconnects.
      assert.equal(refused.code, 1, refused.message);
      assert.match(refused.message, /Unacceptable protocol version/);
      // The same device over MQTT 3.1.1 is fine, and so is the connection that was open all along.
      const v4 = await connectDevice(identity, { reconnectPeriod: 0 });
      await v4.endAsync(true);
      await fleet.sync();
      assert.equal(fleet.devices[0].client.connected, true);
    });

    it('the AWS IoT Device SDK v2 (IotJobsClient) as a peer: subscribes, starts the next pending job, updates it to SUCCEEDED', async () => {
      const groupName = `sdk-${Math.random().toString(36).slice(2, 8)}`;
      const groupArn = await newThingGroup(s, groupName);
      const [d] = await provisionDevices(endpoint, 1, { groupName });
      const { jobId } = await deployToGroup(s, groupArn);
      const connection = await sdkV2Connection(d, s.mqttPort);
      try {
        const jobs = new iotjobs.IotJobsClient(connection);
        const reply = <T>(subscribe: (handler: (err?: iotjobs.IotJobsError, response?: T) => void) => Promise<unknown>) =>
          new Promise<T>((resolve, reject) => {
            void subscribe((err, response) => (err ? reject(err) : resolve(response!))).catch(reject);
          });
        const rejected = (subscribe: (handler: (err?: iotjobs.IotJobsError, r?: iotjobs.model.RejectedErrorResponse) => void) => Promise<unknown>) =>
          subscribe((_err, r) => assert.fail(`rejected: ${JSON.stringify(r)}`));
        const who = { thingName: d.thingName };

        const pendingReply = reply<iotjobs.model.GetPendingJobExecutionsResponse>((h) => jobs.subscribeToGetPendingJobExecutionsAccepted(who, crtMqtt.QoS.AtLeastOnce, h));
        await rejected((h) => jobs.subscribeToGetPendingJobExecutionsRejected(who, crtMqtt.QoS.AtLeastOnce, h));
        await jobs.publishGetPendingJobExecutions(who, crtMqtt.QoS.AtLeastOnce);
        const pending = await pendingReply;
        assert.deepEqual(pending.queuedJobs?.map((j) => j.jobId), [jobId]);

        const startedReply = reply<iotjobs.model.StartNextJobExecutionResponse>((h) => jobs.subscribeToStartNextPendingJobExecutionAccepted(who, crtMqtt.QoS.AtLeastOnce, h));
        await rejected((h) => jobs.subscribeToStartNextPendingJobExecutionRejected(who, crtMqtt.QoS.AtLeastOnce, h));
        await jobs.publishStartNextPendingJobExecution({ ...who, statusDetails: { step: 'downloading' } }, crtMqtt.QoS.AtLeastOnce);
        const started = await startedReply;
        assert.equal(started.execution?.jobId, jobId);
        assert.equal(started.execution?.status, 'IN_PROGRESS');
        assert.equal((started.execution?.jobDocument as { deploymentId?: string })?.deploymentId !== undefined, true);

        const updates = { ...who, jobId };
        const updatedReply = reply<iotjobs.model.UpdateJobExecutionResponse>((h) => jobs.subscribeToUpdateJobExecutionAccepted(updates, crtMqtt.QoS.AtLeastOnce, h));
        await rejected((h) => jobs.subscribeToUpdateJobExecutionRejected(updates, crtMqtt.QoS.AtLeastOnce, h));
        await jobs.publishUpdateJobExecution(
          { ...updates, status: iotjobs.model.JobStatus.SUCCEEDED, statusDetails: { 'detailed-deployment-status': 'SUCCESSFUL' }, expectedVersion: started.execution!.versionNumber, includeJobExecutionState: true },
          crtMqtt.QoS.AtLeastOnce,
        );
        const updated = await updatedReply;
        assert.equal(updated.executionState?.status, 'SUCCEEDED');
        assert.equal((await executionOf(jobId, d.thingName)).status, 'SUCCEEDED');
      } finally {
        await connection.disconnect();
      }
    });

    it('a device provisioned with `meadow provision` connects from its bundle and runs its deployment', async () => {
      const groupName = `bundle-${Math.random().toString(36).slice(2, 8)}`;
      const groupArn = await newThingGroup(s, groupName);
      const outDir = join(s.config.dataDir, `bundle-${groupName}`);
      await provisionDevice({
        endpoint: s.endpoint,
        region: s.config.region,
        credentials: TEST_CREDENTIALS,
        thingName: `${groupName}-core`,
        thingGroupName: groupName,
        outDir,
        iotDataEndpoint: `127.0.0.1:${s.mqttPort}`,
        dataPlaneEndpoint: s.dataPlaneEndpoint,
      });
      const identity = identityFromBundle(outDir);
      assert.equal(identity.thingName, `${groupName}-core`);
      const fleet = await runDevices([{ ...identity, certificateId: '' }], { clock });
      fleets.push(fleet);
      const { jobId } = await deployToGroup(s, groupArn);
      await eventually('it succeeded', async () => (await executionOf(jobId, identity.thingName)).status === 'SUCCEEDED');
      assert.deepEqual(fleet.devices[0].receivedJobIds(), [jobId]);
    });
  });
}

for (const kind of STORE_KINDS) {
  describe(`Restarts mid-rollout (${kind})`, () => {
    /** A data directory and (for PostgreSQL) a database that outlive the servers started on them. */
    async function durableData() {
      const dataDir = mkdtempSync(join(tmpdir(), 'meadow-restart-'));
      const db = kind === 'postgres' ? await createDatabase() : undefined;
      return {
        dataDir,
        databaseUrl: db?.url,
        async drop() {
          await db?.drop();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    }

    it('meadow killed with SIGKILL mid-rollout and restarted: every device ends with exactly one SUCCEEDED execution', async () => {
      const data = await durableData();
      const mqttPort = await freePort();
      const env = {
        MEADOW_DATA_DIR: data.dataDir,
        ...(data.databaseUrl ? { MEADOW_DATABASE_URL: data.databaseUrl } : {}),
        MEADOW_MQTT_PORT: String(mqttPort),
        MEADOW_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        MEADOW_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      };
      let meadow = await spawnMeadow(env);
      let iotClient = new IoTClient(clientConfig(meadow.endpoint));
      const gg = new GreengrassV2Client(clientConfig(meadow.endpoint));
      let fleet: Fleet | undefined;
      try {
        await publishComponents({ gg }, ['com.example.Hello@1.0.0']);
        const groupName = 'restart-fleet';
        const { thingGroupArn } = await iotClient.send(new CreateThingGroupCommand({ thingGroupName: groupName }));
        const provisioned = await provisionDevices({ iot: iotClient, mqtt: `127.0.0.1:${mqttPort}`, caPem: '' }, 30, { groupName, devicesPerCertificate: 5 });
        const { certificateDescription } = await iotClient.send(new DescribeCertificateCommand({ certificateId: provisioned[0].certificateId }));
        const ca = await iotClient.send(new DescribeCACertificateCommand({ certificateId: certificateDescription!.caCertificateId! }));
        const devices = provisioned.map((d) => ({ ...d, caPem: ca.certificateDescription!.certificatePem! }));

        // A third succeed at once; a third start and wait; a third take the job and wait before starting. The waits
        // end while meadow is down, so those reports meet a dead connection and must go through after the restart.
        let resume!: () => void;
        const restarted = new Promise<void>((resolve) => (resume = resolve));
        fleet = await runDevices(devices, {
          clock: systemClock,
          respond: (_, i) => (i < 10 ? outcome('SUCCEEDED') : i < 20 ? outcome('SUCCEEDED', () => restarted) : async (d, job) => {
            await restarted;
            return outcome('SUCCEEDED')(d, job);
          }),
        });
        const { iotJobId: jobId } = await gg.send(new CreateDeploymentCommand({ targetArn: thingGroupArn, components: { 'com.example.Hello': { componentVersion: '1.0.0' } } }));
        const counts = async () => (await iotClient.send(new DescribeJobCommand({ jobId }))).job!.jobProcessDetails!;
        await eventually('mid-rollout: 10 succeeded, 10 in progress, 10 offered', async () => {
          const c = await counts();
          return c.numberOfSucceededThings === 10 && c.numberOfInProgressThings === 10 && fleet!.receivedCount(jobId!) === 30;
        });

        const exited = new Promise((resolve) => meadow.child.once('exit', resolve));
        meadow.child.kill('SIGKILL');
        await exited;
        await eventually('the devices saw the connection drop', () => fleet!.devices.every((d) => !d.client.connected));
        resume();
        iotClient.destroy();
        meadow = await spawnMeadow(env);
        iotClient = new IoTClient(clientConfig(meadow.endpoint));

        await eventually('all 30 succeeded after the restart', async () => (await counts()).numberOfSucceededThings === 30, 30_000);
        // The server records a SUCCEEDED before its reply reaches the device: wait for every device's last reply.
        await eventually('every device got the reply to its SUCCEEDED', () => fleet!.devices.every((d) => d.replies.at(-1)?.status === 'SUCCEEDED'));
        assert.deepEqual(fleet.errors(), []);
        const executions: JobExecutionSummaryForJob[] = [];
        for await (const page of paginateListJobExecutionsForJob({ client: iotClient }, { jobId })) executions.push(...(page.executionSummaries ?? []));
        assert.equal(executions.length, 30);
        assert.ok(executions.every((e) => e.jobExecutionSummary?.status === 'SUCCEEDED' && e.jobExecutionSummary.executionNumber === 1));
        assert.equal(new Set(executions.map((e) => e.thingArn)).size, 30);
        for (const d of fleet.devices) {
          assert.deepEqual(d.receivedJobIds(), [jobId], `${d.thingName} was offered the job once`);
          const own = await iotClient.send(new ListJobExecutionsForThingCommand({ thingName: d.thingName }));
          assert.deepEqual(own.executionSummaries?.map((e) => [e.jobId, e.jobExecutionSummary?.status]), [[jobId, 'SUCCEEDED']], d.thingName);
          // Its last report was taken, or (sent twice across the restart) found the execution SUCCEEDED already.
          const last = d.replies.at(-1)!;
          assert.ok(last.reply.accepted || last.reply.executionState?.status === 'SUCCEEDED', `${d.thingName}: ${JSON.stringify(last.reply)}`);
        }
      } finally {
        await fleet?.stop();
        iotClient.destroy();
        gg.destroy();
        await meadow.stop();
        await data.drop();
      }
    });

    it('a server restarted mid-rollout (same clock time) releases no faster than the rate over the window spanning the restart', async () => {
      const clock = new ManualClock(Date.UTC(2026, 5, 1));
      const data = await durableData();
      const mqttPort = await freePort();
      const start = () => startTestServer(kind, { clock, dataOf: data, config: { mqttPort } });
      let s = await start();
      let fleet: Fleet | undefined;
      try {
        await publishComponents(s, ['com.example.Hello@1.0.0']);
        const groupName = 'paced-fleet';
        const groupArn = await newThingGroup(s, groupName);
        const devices = await provisionDevices(await endpointOf(s), 25, { groupName, devicesPerCertificate: 5 });
        fleet = await runDevices(devices, { clock, respond: () => ignore });
        const deployedAt = clock.now();
        const { jobId } = await deployToGroup(s, groupArn, { jobExecutionsRolloutConfig: { maximumPerMinute: 10 } });
        await fleet.sync();
        assert.equal(fleet.receivedCount(jobId), 10);
        clock.advance(30_000);
        await s.engine.tick();

        await s.close();
        s = await start();
        await eventually('the devices reconnected', () => fleet!.devices.every((d) => d.client.connected));
        await s.engine.tick();
        await fleet.sync();
        assert.equal(fleet.receivedCount(jobId), 10, 'nothing more right after the restart');
        clock.advance(30_000 - 1);
        await s.engine.tick();
        await fleet.sync();
        assert.equal(fleet.receivedCount(jobId), 10, 'nothing more within the first minute');
        clock.advance(1);
        await s.engine.tick();
        await fleet.sync();
        clock.advance(MINUTE);
        await s.engine.tick();
        await fleet.sync();
        const perWindow = [0, 0, 0];
        for (const d of fleet.devices) for (const r of d.received) if (r.job.jobId === jobId) perWindow[Math.floor((r.at - deployedAt) / MINUTE)]++;
        assert.deepEqual(perWindow, [10, 10, 5]);
        assert.deepEqual(fleet.errors(), []);
      } finally {
        await fleet?.stop();
        await s.close();
        await data.drop();
      }
    });
  });
}
