// The AWS IoT Jobs data plane (`iot-jobs-data`): devices list, start and report their job executions over HTTPS
// (wire doc §11). The model has no namespace parameter; meadow's only jobs are Greengrass deployment jobs in the
// `aws-gg-deployment` namespace, and the data plane serves them, so an unmodified SDK client acting as a device can
// work through its deployments. Times here are epoch seconds (longs), not timestamps.
import { thingOrThrow } from '../iot/things.js';
import { approximateSecondsBeforeTimedOut, executionState } from '../../core/jobs/index.js';
import {
  describeForDevice,
  executionNotFound,
  pendingExecutions,
  startNextForDevice,
  updateForDevice,
  type DeviceExecution,
} from '../../engine/device-jobs.js';
import type { StoredJobExecution } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : Math.floor(ms / 1000));

/** JobExecutionSummary, as the HTTP and the MQTT jobs APIs give it. */
export function summary(e: StoredJobExecution) {
  return {
    jobId: e.jobId,
    queuedAt: seconds(e.queuedAt),
    startedAt: seconds(e.startedAt),
    lastUpdatedAt: seconds(e.lastUpdatedAt),
    versionNumber: e.versionNumber,
    executionNumber: e.executionNumber,
  };
}

/** JobExecution, as the HTTP and the MQTT jobs APIs give it. */
export function execution(now: number, { job, execution: e }: DeviceExecution, includeJobDocument: boolean) {
  return {
    ...summary(e),
    thingName: e.thingName,
    status: e.status,
    statusDetails: e.statusDetails,
    approximateSecondsBeforeTimedOut: approximateSecondsBeforeTimedOut(e, job.timeoutConfig, now),
    jobDocument: includeJobDocument ? job.document : undefined,
  };
}

async function getPendingJobExecutions(ctx: RequestContext, input: Input) {
  await thingOrThrow(ctx.store, ctx.scope, input.thingName);
  const { inProgress, queued } = await pendingExecutions(ctx.store, ctx.scope, input.thingName);
  return { inProgressJobs: inProgress.map(summary), queuedJobs: queued.map(summary) };
}

async function describeJobExecution(ctx: RequestContext, input: Input) {
  await thingOrThrow(ctx.store, ctx.scope, input.thingName);
  const found = await describeForDevice(ctx.store, ctx.scope, input.thingName, input.jobId, input.executionNumber);
  if (!found) {
    // `$next` with nothing pending answers without an execution, as the MQTT `$next/get` does.
    if (input.jobId === '$next') return {};
    throw executionNotFound(input.thingName, input.jobId, input.executionNumber);
  }
  return { execution: execution(ctx.clock.now(), found, input.includeJobDocument === true) };
}

async function startNextPendingJobExecution(ctx: RequestContext, input: Input) {
  await thingOrThrow(ctx.store, ctx.scope, input.thingName);
  const started = await startNextForDevice(ctx.store, ctx.scope, ctx.clock.now(), input.thingName, input.statusDetails, input.stepTimeoutInMinutes);
  return started ? { execution: execution(ctx.clock.now(), started, true) } : {};
}

async function updateJobExecution(ctx: RequestContext, input: Input) {
  await thingOrThrow(ctx.store, ctx.scope, input.thingName);
  const { job, execution: e } = await updateForDevice(ctx.store, ctx.scope, ctx.clock.now(), input.thingName, input.jobId, {
    status: input.status,
    statusDetails: input.statusDetails,
    expectedVersion: input.expectedVersion,
    stepTimeoutInMinutes: input.stepTimeoutInMinutes,
    executionNumber: input.executionNumber,
  });
  return {
    executionState: input.includeJobExecutionState ? executionState(e) : undefined,
    jobDocument: input.includeJobDocument ? job.document : undefined,
  };
}

export const iotJobsDataHandlers: HandlerTable = {
  GetPendingJobExecutions: getPendingJobExecutions,
  DescribeJobExecution: describeJobExecution,
  StartNextPendingJobExecution: startNextPendingJobExecution,
  UpdateJobExecution: updateJobExecution,
};
