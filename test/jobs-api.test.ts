// Group deployments ride IoT jobs: the job and its executions (IoT control plane), devices working through them (IoT
// Jobs data plane), continuity as things join and leave, and cancellation by revision, CancelDeployment and CancelJob.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CancelDeploymentCommand, GetDeploymentCommand } from '@aws-sdk/client-greengrassv2';
import {
  AddThingToThingGroupCommand,
  CancelJobCommand,
  DescribeJobCommand,
  DescribeJobExecutionCommand,
  GetJobDocumentCommand,
  InvalidRequestException,
  ListJobExecutionsForJobCommand,
  ListJobExecutionsForThingCommand,
  ListJobsCommand,
  RemoveThingFromThingGroupCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-iot';
import {
  ConflictException,
  DescribeJobExecutionCommand as DeviceDescribeJobExecutionCommand,
  GetPendingJobExecutionsCommand,
  InvalidRequestException as DeviceInvalidRequestException,
  InvalidStateTransitionException,
  ResourceNotFoundException as DeviceResourceNotFoundException,
  StartNextPendingJobExecutionCommand,
  UpdateJobExecutionCommand,
  type IoTJobsDataPlaneClient,
} from '@aws-sdk/client-iot-jobs-data-plane';
import { ManualClock } from '../src/core/clock.js';
import { STORE_KINDS } from './helpers/databases.js';
import { ACCOUNT, REGION, publishComponents, rejectsWith, uniqueName } from './helpers/greengrass.js';
import { addNewThings, deployToGroup, groupWithThings, jobsDataClient, processDetails, runNext, visibleTo } from './helpers/jobs.js';
import { startTestServer, type TestServer } from './helpers/server.js';

for (const kind of STORE_KINDS) {
  describe(`Group deployment jobs (${kind})`, () => {
    let s: TestServer;
    let data: IoTJobsDataPlaneClient;
    const clock = new ManualClock(Date.UTC(2026, 2, 1));
    before(async () => {
      s = await startTestServer(kind, { clock });
      data = jobsDataClient(s);
      await publishComponents(s, ['com.example.Hello@1.0.0']);
    });
    after(async () => {
      data.destroy();
      await s.close();
    });

    it('a deployment to a group of 50 things (some in a child group) makes a job with 50 QUEUED executions', async () => {
      const parent = await groupWithThings(s, 45);
      const child = await groupWithThings(s, 5, parent.groupName);
      const { deploymentId, jobId } = await deployToGroup(s, parent.groupArn);

      const { job } = await s.iot.send(new DescribeJobCommand({ jobId }));
      assert.equal(job!.jobId, jobId);
      assert.equal(job!.jobArn, `arn:aws:iot:${REGION}:${ACCOUNT}:job/${jobId}`);
      assert.equal(job!.status, 'IN_PROGRESS');
      assert.equal(job!.targetSelection, 'CONTINUOUS');
      assert.equal(job!.namespaceId, 'aws-gg-deployment');
      assert.deepEqual(job!.targets, [parent.groupArn]);
      assert.equal(job!.createdAt!.getTime(), clock.now());
      assert.equal(job!.completedAt, undefined);
      const { processingTargets: _none, ...counts } = job!.jobProcessDetails!;
      assert.deepEqual(counts, {
        numberOfQueuedThings: 50,
        numberOfInProgressThings: 0,
        numberOfSucceededThings: 0,
        numberOfFailedThings: 0,
        numberOfRejectedThings: 0,
        numberOfTimedOutThings: 0,
        numberOfRemovedThings: 0,
        numberOfCanceledThings: 0,
      });

      // Every thing, the child group's too, has exactly one execution; pages of 20 cover them without repeats.
      const seen: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await s.iot.send(new ListJobExecutionsForJobCommand({ jobId, maxResults: 20, nextToken }));
        for (const e of page.executionSummaries ?? []) {
          assert.equal(e.jobExecutionSummary!.status, 'QUEUED');
          assert.equal(e.jobExecutionSummary!.executionNumber, 1);
          seen.push(e.thingArn!);
        }
        nextToken = page.nextToken;
      } while (nextToken);
      const expected = [...parent.things, ...child.things].map((t) => `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${t}`).sort();
      assert.deepEqual(seen.sort(), expected);

      // The document is the device "Configuration" of this deployment.
      const doc = JSON.parse((await s.iot.send(new GetJobDocumentCommand({ jobId }))).document!);
      assert.equal(doc.deploymentId, deploymentId);
      assert.equal(doc.configurationArn, `arn:aws:greengrass:${REGION}:${ACCOUNT}:configuration:thinggroup/${parent.groupName}:1`);
      assert.deepEqual(doc.components, { 'com.example.Hello': { version: '1.0.0' } });

      // ListJobs filters.
      const byGroup = await s.iot.send(new ListJobsCommand({ thingGroupName: parent.groupName }));
      assert.deepEqual(byGroup.jobs!.map((j) => j.jobId), [jobId]);
      assert.equal(byGroup.jobs![0].status, 'IN_PROGRESS');
      assert.equal(byGroup.jobs![0].targetSelection, 'CONTINUOUS');
      assert.deepEqual((await s.iot.send(new ListJobsCommand({ thingGroupName: child.groupName }))).jobs, []);
      const inNamespace = await s.iot.send(new ListJobsCommand({ namespaceId: 'aws-gg-deployment', status: 'IN_PROGRESS' }));
      assert.ok(inNamespace.jobs!.some((j) => j.jobId === jobId));
      assert.deepEqual((await s.iot.send(new ListJobsCommand({ namespaceId: 'other' }))).jobs, []);
      assert.ok(!(await s.iot.send(new ListJobsCommand({ status: 'CANCELED' }))).jobs!.some((j) => j.jobId === jobId));
    });

    it('devices start and finish their executions through the data plane; the counts follow', async () => {
      const g = await groupWithThings(s, 3);
      const { jobId } = await deployToGroup(s, g.groupArn);
      const [a, b] = g.things;

      const pending = await data.send(new GetPendingJobExecutionsCommand({ thingName: a }));
      assert.deepEqual(pending.queuedJobs!.map((j) => j.jobId), [jobId]);
      assert.deepEqual(pending.inProgressJobs, []);
      assert.equal(pending.queuedJobs![0].queuedAt, Math.floor(clock.now() / 1000));

      const started = await data.send(new StartNextPendingJobExecutionCommand({ thingName: a, statusDetails: { step: 'download' } }));
      assert.equal(started.execution!.jobId, jobId);
      assert.equal(started.execution!.status, 'IN_PROGRESS');
      assert.equal(started.execution!.versionNumber, 2);
      assert.deepEqual(started.execution!.statusDetails, { step: 'download' });
      assert.equal(JSON.parse(started.execution!.jobDocument!).configurationArn.endsWith(`thinggroup/${g.groupName}:1`), true);
      assert.equal((await processDetails(s, jobId)).numberOfInProgressThings, 1);

      // `$next` is the IN_PROGRESS execution now.
      const next = await data.send(new DeviceDescribeJobExecutionCommand({ thingName: a, jobId: '$next', includeJobDocument: true }));
      assert.equal(next.execution!.status, 'IN_PROGRESS');
      assert.ok(next.execution!.jobDocument);

      const stale = await rejectsWith(
        data.send(new UpdateJobExecutionCommand({ thingName: a, jobId, status: 'SUCCEEDED', expectedVersion: 1 })),
        ConflictException,
      );
      assert.match(stale.message, /expectedVersion 1/);

      const done = await data.send(
        new UpdateJobExecutionCommand({
          thingName: a,
          jobId,
          status: 'SUCCEEDED',
          expectedVersion: 2,
          statusDetails: { 'detailed-deployment-status': 'SUCCESSFUL' },
          includeJobExecutionState: true,
          includeJobDocument: true,
        }),
      );
      assert.deepEqual(done.executionState, { status: 'SUCCEEDED', statusDetails: { 'detailed-deployment-status': 'SUCCESSFUL' }, versionNumber: 3 });
      assert.ok(done.jobDocument);

      await runNext(data, b, 'FAILED');
      const counts = await processDetails(s, jobId);
      assert.equal(counts.numberOfSucceededThings, 1);
      assert.equal(counts.numberOfFailedThings, 1);
      assert.equal(counts.numberOfQueuedThings, 1);
      assert.equal(counts.numberOfInProgressThings, 0);

      // A finished execution takes no more updates; the control plane shows what the device reported.
      const e = await rejectsWith(data.send(new UpdateJobExecutionCommand({ thingName: a, jobId, status: 'IN_PROGRESS' })), InvalidStateTransitionException);
      assert.match(e.message, /SUCCEEDED/);
      const described = await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: a }));
      assert.equal(described.execution!.status, 'SUCCEEDED');
      assert.deepEqual(described.execution!.statusDetails!.detailsMap, { 'detailed-deployment-status': 'SUCCESSFUL' });
      assert.equal(described.execution!.versionNumber, 3);
      assert.equal(described.execution!.thingArn, `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${a}`);

      const forThing = await s.iot.send(new ListJobExecutionsForThingCommand({ thingName: a, namespaceId: 'aws-gg-deployment' }));
      assert.deepEqual(forThing.executionSummaries!.map((x) => [x.jobId, x.jobExecutionSummary!.status]), [[jobId, 'SUCCEEDED']]);
      assert.deepEqual((await s.iot.send(new ListJobExecutionsForThingCommand({ thingName: a, namespaceId: 'other' }))).executionSummaries, []);

      // Nothing left for `a`: `$next` has no execution, StartNext starts nothing.
      assert.equal((await data.send(new DeviceDescribeJobExecutionCommand({ thingName: a, jobId: '$next' }))).execution, undefined);
      assert.equal((await data.send(new StartNextPendingJobExecutionCommand({ thingName: a }))).execution, undefined);
    });

    it('bad device requests get modelled errors naming the problem', async () => {
      const g = await groupWithThings(s, 1);
      const { jobId } = await deployToGroup(s, g.groupArn);
      const [t] = g.things;
      const notADeviceStatus = await rejectsWith(
        data.send(new UpdateJobExecutionCommand({ thingName: t, jobId, status: 'CANCELED' })),
        DeviceInvalidRequestException,
      );
      assert.match(notADeviceStatus.message, /CANCELED/);
      await rejectsWith(
        data.send(new UpdateJobExecutionCommand({ thingName: t, jobId: 'no-such-job', status: 'SUCCEEDED' })),
        DeviceResourceNotFoundException,
      );
      await rejectsWith(data.send(new GetPendingJobExecutionsCommand({ thingName: 'no-such-thing' })), DeviceResourceNotFoundException);
      await rejectsWith(s.iot.send(new DescribeJobCommand({ jobId: 'no-such-job' })), ResourceNotFoundException);
    });

    it('a thing that joins the group (or a child group) later gets an execution; one that leaves while QUEUED gets REMOVED', async () => {
      const g = await groupWithThings(s, 2);
      const child = await groupWithThings(s, 0, g.groupName);
      const { jobId } = await deployToGroup(s, g.groupArn);
      const [late] = await addNewThings(s, g.groupName, 1);
      const [lateInChild] = await addNewThings(s, child.groupName, 1);
      await s.engine.tick();
      for (const thingName of [late, lateInChild]) {
        const e = await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName }));
        assert.equal(e.execution!.status, 'QUEUED');
      }
      assert.equal(await visibleTo(data, [late, lateInChild], jobId), 2);

      await s.iot.send(new RemoveThingFromThingGroupCommand({ thingName: g.things[0], thingGroupName: g.groupName }));
      await s.engine.tick();
      assert.equal((await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: g.things[0] }))).execution!.status, 'REMOVED');
      assert.equal(await visibleTo(data, [g.things[0]], jobId), 0);
      const counts = await processDetails(s, jobId);
      assert.equal(counts.numberOfQueuedThings, 3);
      assert.equal(counts.numberOfRemovedThings, 1);

      // Coming back after REMOVED queues a new execution (executionNumber 2).
      await s.iot.send(new AddThingToThingGroupCommand({ thingName: g.things[0], thingGroupName: g.groupName }));
      await s.engine.tick();
      const again = await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: g.things[0] }));
      assert.equal(again.execution!.status, 'QUEUED');
      assert.equal(again.execution!.executionNumber, 2);

      // An IN_PROGRESS execution keeps running when its thing leaves.
      await data.send(new StartNextPendingJobExecutionCommand({ thingName: g.things[1] }));
      await s.iot.send(new RemoveThingFromThingGroupCommand({ thingName: g.things[1], thingGroupName: g.groupName }));
      await s.engine.tick();
      assert.equal((await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: g.things[1] }))).execution!.status, 'IN_PROGRESS');
    });

    it('a new revision cancels the previous job: its QUEUED executions are CANCELED, IN_PROGRESS ones keep running', async () => {
      const g = await groupWithThings(s, 3);
      const first = await deployToGroup(s, g.groupArn);
      await data.send(new StartNextPendingJobExecutionCommand({ thingName: g.things[0] }));
      const second = await deployToGroup(s, g.groupArn);

      const old = (await s.iot.send(new DescribeJobCommand({ jobId: first.jobId }))).job!;
      assert.equal(old.status, 'CANCELED');
      assert.equal(old.completedAt!.getTime(), clock.now());
      assert.equal(old.jobProcessDetails!.numberOfCanceledThings, 2);
      assert.equal(old.jobProcessDetails!.numberOfInProgressThings, 1);
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId: first.deploymentId }))).deploymentStatus, 'INACTIVE');

      const current = await processDetails(s, second.jobId);
      assert.equal(current.numberOfQueuedThings, 3);
      const pending = await data.send(new GetPendingJobExecutionsCommand({ thingName: g.things[1] }));
      assert.deepEqual(pending.queuedJobs!.map((j) => j.jobId), [second.jobId]);
      // Joining the group now reaches only the latest revision's job.
      const [late] = await addNewThings(s, g.groupName, 1);
      await s.engine.tick();
      const forLate = await s.iot.send(new ListJobExecutionsForThingCommand({ thingName: late }));
      assert.deepEqual(forLate.executionSummaries!.map((e) => e.jobId), [second.jobId]);
    });

    it('CancelDeployment cancels its job; things joining afterwards get nothing', async () => {
      const g = await groupWithThings(s, 2);
      const { deploymentId, jobId } = await deployToGroup(s, g.groupArn);
      await s.gg.send(new CancelDeploymentCommand({ deploymentId }));
      const job = (await s.iot.send(new DescribeJobCommand({ jobId }))).job!;
      assert.equal(job.status, 'CANCELED');
      assert.equal(job.forceCanceled, false);
      assert.equal(job.jobProcessDetails!.numberOfCanceledThings, 2);
      assert.equal(await visibleTo(data, g.things, jobId), 0);
      const [late] = await addNewThings(s, g.groupName, 1);
      await s.engine.tick();
      assert.deepEqual((await s.iot.send(new ListJobExecutionsForThingCommand({ thingName: late }))).executionSummaries, []);
    });

    it('IoT CancelJob with force cancels IN_PROGRESS executions too, and the deployment', async () => {
      const g = await groupWithThings(s, 2);
      const { deploymentId, jobId } = await deployToGroup(s, g.groupArn);
      await data.send(new StartNextPendingJobExecutionCommand({ thingName: g.things[0] }));
      const out = await s.iot.send(new CancelJobCommand({ jobId, force: true, reasonCode: 'OPERATOR_STOP', comment: 'stopped by hand' }));
      assert.equal(out.jobId, jobId);
      const job = (await s.iot.send(new DescribeJobCommand({ jobId }))).job!;
      assert.equal(job.status, 'CANCELED');
      assert.equal(job.forceCanceled, true);
      assert.equal(job.reasonCode, 'OPERATOR_STOP');
      assert.equal(job.comment, 'stopped by hand');
      assert.equal(job.jobProcessDetails!.numberOfCanceledThings, 2);
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId }))).deploymentStatus, 'CANCELED');
      const again = await rejectsWith(s.iot.send(new CancelJobCommand({ jobId })), InvalidRequestException);
      assert.match(again.message, /CANCELED/);
      await rejectsWith(s.iot.send(new CancelJobCommand({ jobId: uniqueName('missing') })), ResourceNotFoundException);
    });
  });
}
