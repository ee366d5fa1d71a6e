// Rollout pacing, abort criteria and in-progress timeouts of group-deployment jobs, driven by a ManualClock and the
// rollout worker's tick(); and two workers on one PostgreSQL database releasing no more than the rate allows.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetDeploymentCommand } from '@aws-sdk/client-greengrassv2';
import { DescribeJobCommand, DescribeJobExecutionCommand } from '@aws-sdk/client-iot';
import {
  InvalidStateTransitionException,
  StartNextPendingJobExecutionCommand,
  UpdateJobExecutionCommand,
  type IoTJobsDataPlaneClient,
} from '@aws-sdk/client-iot-jobs-data-plane';
import { ManualClock } from '../src/core/clock.js';
import { RolloutWorker } from '../src/engine/rollout-worker.js';
import { openStore } from '../src/store/open-store.js';
import { STORE_KINDS } from './helpers/databases.js';
import { publishComponents, rejectsWith } from './helpers/greengrass.js';
import { addNewThings, deployToGroup, groupWithThings, jobsDataClient, processDetails, runNext, visibleTo } from './helpers/jobs.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const MINUTE = 60_000;

for (const kind of STORE_KINDS) {
  describe(`Job rollouts, aborts and timeouts (${kind})`, () => {
    let s: TestServer;
    let data: IoTJobsDataPlaneClient;
    const clock = new ManualClock(Date.UTC(2026, 3, 1));
    before(async () => {
      s = await startTestServer(kind, { clock });
      data = jobsDataClient(s);
      await publishComponents(s, ['com.example.Hello@1.0.0']);
    });
    after(async () => {
      data.destroy();
      await s.close();
    });

    it('maximumPerMinute 10 over 100 things: exactly 10 more become visible per minute, none in between', async () => {
      const g = await groupWithThings(s, 100);
      const { jobId } = await deployToGroup(s, g.groupArn, { jobExecutionsRolloutConfig: { maximumPerMinute: 10 } });
      assert.equal(await visibleTo(data, g.things, jobId), 10);
      assert.equal((await processDetails(s, jobId)).numberOfQueuedThings, 100); // held back, but queued
      for (let minute = 1; minute <= 10; minute++) {
        clock.advance(MINUTE - 1);
        await s.engine.tick();
        assert.equal(await visibleTo(data, g.things, jobId), minute * 10, `just before minute ${minute}`);
        clock.advance(1);
        await s.engine.tick();
        assert.equal(await visibleTo(data, g.things, jobId), Math.min(100, (minute + 1) * 10), `at minute ${minute}`);
      }
    });

    it('exponentialRate raises the rate as things are notified (the IoT worked example, scaled down)', async () => {
      // IoT's example: base 50, factor 2, every 1000 notified -> 50, 100, 200, 400 per minute. Here: base 5, factor
      // 2, every 20 notified -> 5/min until 20 notified, 10/min until 40, 20/min after. A minute's grant that crosses
      // a threshold continues at the higher rate: at 15 notified, 5 more reach 20, then 5 more at 10/min (25).
      const g = await groupWithThings(s, 60);
      const { jobId } = await deployToGroup(s, g.groupArn, {
        jobExecutionsRolloutConfig: { exponentialRate: { baseRatePerMinute: 5, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 20 } } },
      });
      const seen = [await visibleTo(data, g.things, jobId)];
      for (let minute = 1; minute <= 6; minute++) {
        clock.advance(MINUTE);
        await s.engine.tick();
        seen.push(await visibleTo(data, g.things, jobId));
      }
      assert.deepEqual(seen, [5, 10, 15, 25, 35, 55, 60]);
    });

    it('a thing joining a rate-limited job later is notified at once', async () => {
      const g = await groupWithThings(s, 5);
      const { jobId } = await deployToGroup(s, g.groupArn, { jobExecutionsRolloutConfig: { maximumPerMinute: 1 } });
      const [late] = await addNewThings(s, g.groupName, 1);
      await s.engine.tick();
      assert.equal(await visibleTo(data, [late], jobId), 1);
      assert.equal(await visibleTo(data, g.things, jobId), 1);
    });

    it('an abort criterion fires at the exact execution that meets it, not one before; the deployment FAILS', async () => {
      const g = await groupWithThings(s, 8);
      const { deploymentId, jobId } = await deployToGroup(s, g.groupArn, {
        abortConfig: { criteriaList: [{ failureType: 'FAILED', action: 'CANCEL', thresholdPercentage: 50, minNumberOfExecutedThings: 4 }] },
      });
      const [t0, t1, t2, t3, t4] = g.things;
      await data.send(new StartNextPendingJobExecutionCommand({ thingName: t4 })); // running when the job aborts
      await runNext(data, t0, 'SUCCEEDED');
      await runNext(data, t1, 'FAILED');
      await runNext(data, t2, 'FAILED'); // 2 of 3 failed (67%), but fewer than 4 have finished: no check yet
      let job = (await s.iot.send(new DescribeJobCommand({ jobId }))).job!;
      assert.equal(job.status, 'IN_PROGRESS');
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId }))).deploymentStatus, 'ACTIVE');

      await runNext(data, t3, 'SUCCEEDED'); // 2 of 4 failed = 50%: met
      job = (await s.iot.send(new DescribeJobCommand({ jobId }))).job!;
      assert.equal(job.status, 'CANCELED');
      assert.equal(job.reasonCode, 'ABORT_CRITERIA_MET_FAILED');
      assert.match(job.comment!, /2 of 4/);
      assert.equal(job.jobProcessDetails!.numberOfCanceledThings, 3);
      assert.equal(job.jobProcessDetails!.numberOfInProgressThings, 1);
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId }))).deploymentStatus, 'FAILED');
      assert.equal(await visibleTo(data, g.things.slice(5), jobId), 0);
    });

    it('an IN_PROGRESS execution past inProgressTimeoutInMinutes becomes TIMED_OUT; the device is refused after', async () => {
      const g = await groupWithThings(s, 2);
      const { jobId } = await deployToGroup(s, g.groupArn, { timeoutConfig: { inProgressTimeoutInMinutes: 5 } });
      const [swept, late] = g.things;
      const started = await data.send(new StartNextPendingJobExecutionCommand({ thingName: swept }));
      assert.equal(started.execution!.approximateSecondsBeforeTimedOut, 300);
      await data.send(new StartNextPendingJobExecutionCommand({ thingName: late }));

      clock.advance(5 * MINUTE - 1);
      await s.engine.tick();
      assert.equal((await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: swept }))).execution!.status, 'IN_PROGRESS');
      clock.advance(1);
      // The device of `late` reports before any sweep: refused, and its execution times out there and then.
      const refused = await rejectsWith(
        data.send(new UpdateJobExecutionCommand({ thingName: late, jobId, status: 'SUCCEEDED' })),
        InvalidStateTransitionException,
      );
      assert.match(refused.message, /timed out/);
      await s.engine.tick();
      for (const thingName of [swept, late]) {
        assert.equal((await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName }))).execution!.status, 'TIMED_OUT', thingName);
      }
      await rejectsWith(data.send(new UpdateJobExecutionCommand({ thingName: swept, jobId, status: 'SUCCEEDED' })), InvalidStateTransitionException);
      assert.equal((await processDetails(s, jobId)).numberOfTimedOutThings, 2);
    });

    if (kind === 'postgres') {
      it('two workers on one database tick concurrently without releasing more than allowed', async () => {
        const otherStore = await openStore({ databaseUrl: s.config.databaseUrl, dataDir: s.config.dataDir });
        const other = new RolloutWorker({ store: otherStore, clock, scope: { accountId: s.config.accountId, region: s.config.region } });
        try {
          const g = await groupWithThings(s, 40);
          const { jobId } = await deployToGroup(s, g.groupArn, { jobExecutionsRolloutConfig: { maximumPerMinute: 10 } });
          for (let minute = 1; minute <= 3; minute++) {
            clock.advance(MINUTE);
            // (Other tests' jobs may release in these ticks too, so the count is taken from what devices see.)
            await Promise.all([s.engine.tick(), other.tick(), s.engine.tick(), other.tick()]);
            assert.equal(await visibleTo(data, g.things, jobId), 10 * (minute + 1), `minute ${minute}`);
            assert.equal((await processDetails(s, jobId)).numberOfQueuedThings, 40);
          }
          // A thing joining is given exactly one execution, whichever worker sees it first.
          const [late] = await addNewThings(s, g.groupName, 1);
          const consumed = await Promise.all([s.engine.tick(), other.tick()]);
          assert.equal(consumed.reduce((n, r) => n + r.membershipChanges, 0), 1);
          const e = await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: late }));
          assert.equal(e.execution!.executionNumber, 1);
          assert.equal((await processDetails(s, jobId)).numberOfQueuedThings, 41);
        } finally {
          await other.stop();
          await otherStore.close();
        }
      });
    }
  });
}
