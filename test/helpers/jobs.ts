// Shared steps for the group-deployment job suites: groups full of things, a device's view through the IoT Jobs data
// plane client, and DescribeJob counts.
import { AddThingToThingGroupCommand, CreateThingCommand, DescribeJobCommand, type JobProcessDetails } from '@aws-sdk/client-iot';
import {
  GetPendingJobExecutionsCommand,
  IoTJobsDataPlaneClient,
  StartNextPendingJobExecutionCommand,
  UpdateJobExecutionCommand,
} from '@aws-sdk/client-iot-jobs-data-plane';
import { deploy, newThingGroup, uniqueName } from './greengrass.js';
import { clientConfig, type TestServer } from './server.js';

export const HELLO = { 'com.example.Hello': { componentVersion: '1.0.0' } };

export const jobsDataClient = (s: TestServer) => new IoTJobsDataPlaneClient(clientConfig(s.endpoint, s.config.region));

/** Creates things and adds them to the group, in parallel batches; returns their names in creation order. */
export async function addNewThings(s: TestServer, groupName: string, count: number, prefix = uniqueName('t')): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(
      names.slice(i, i + 25).map(async (thingName) => {
        await s.iot.send(new CreateThingCommand({ thingName }));
        await s.iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: groupName }));
      }),
    );
  }
  return names;
}

export async function groupWithThings(s: TestServer, count: number, parentGroupName?: string) {
  const groupName = uniqueName('group');
  const groupArn = await newThingGroup(s, groupName, parentGroupName);
  const things = await addNewThings(s, groupName, count);
  return { groupName, groupArn, things };
}

export async function deployToGroup(s: TestServer, targetArn: string, iotJobConfiguration?: Record<string, unknown>) {
  const out = await deploy(s, { targetArn, components: HELLO, iotJobConfiguration });
  return { deploymentId: out.deploymentId!, jobId: out.iotJobId! };
}

export async function processDetails(s: TestServer, jobId: string): Promise<JobProcessDetails> {
  return (await s.iot.send(new DescribeJobCommand({ jobId }))).job!.jobProcessDetails!;
}

/** How many of the things see the job as pending through the data plane (i.e. the rollout released it to them). */
export async function visibleTo(data: IoTJobsDataPlaneClient, things: string[], jobId: string): Promise<number> {
  const seen = await Promise.all(
    things.map(async (thingName) => {
      const out = await data.send(new GetPendingJobExecutionsCommand({ thingName }));
      return [...(out.queuedJobs ?? []), ...(out.inProgressJobs ?? [])].some((j) => j.jobId === jobId);
    }),
  );
  return seen.filter(Boolean).length;
}

/** The device takes its next job and reports the outcome, as a device would. */
export async function runNext(data: IoTJobsDataPlaneClient, thingName: string, outcome: 'SUCCEEDED' | 'FAILED' | 'REJECTED') {
  const started = await data.send(new StartNextPendingJobExecutionCommand({ thingName }));
  const jobId = started.execution!.jobId!;
  await data.send(
    new UpdateJobExecutionCommand({ thingName, jobId, status: outcome, statusDetails: { 'detailed-deployment-status': outcome === 'SUCCEEDED' ? 'SUCCESSFUL' : 'FAILED_NO_STATE_CHANGE' } }),
  );
  return jobId;
}
