// IoT control-plane job operations over the jobs of Greengrass group deployments (wire doc §10): describe and list
// jobs and their executions, read a job document, cancel a job. Jobs are created only by CreateDeployment.
import { iotJobArn, thingArn } from '../../core/arn.js';
import { notFound } from '../../core/errors.js';
import { approximateSecondsBeforeTimedOut } from '../../core/jobs/index.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import { cancelJob, notCancelable, processDetailsOf } from '../../engine/jobs.js';
import type { Job, Scope, Store, StoredJobExecution } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';
import { thingOrThrow } from './things.js';

const DEFAULT_JOBS_PAGE = 50;

async function jobOrThrow(store: Store, scope: Scope, jobId: string): Promise<Job> {
  const job = await store.getJob(scope, jobId);
  if (!job) throw notFound('job', jobId, `Job ${jobId} does not exist.`);
  return job;
}

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

function executionSummary(e: StoredJobExecution) {
  return {
    status: e.status,
    queuedAt: date(e.queuedAt),
    startedAt: date(e.startedAt),
    lastUpdatedAt: date(e.lastUpdatedAt),
    executionNumber: e.executionNumber,
  };
}

async function describeJob(ctx: RequestContext, input: Input) {
  const job = await jobOrThrow(ctx.store, ctx.scope, input.jobId);
  return {
    job: {
      jobArn: iotJobArn(ctx.scope, job.jobId),
      jobId: job.jobId,
      targetSelection: job.targetSelection,
      status: job.status,
      forceCanceled: job.status === 'CANCELED' ? job.forceCanceled : undefined,
      reasonCode: job.reasonCode,
      comment: job.comment,
      targets: [job.targetArn],
      description: `Greengrass deployment ${job.deploymentId}`,
      jobExecutionsRolloutConfig: job.rolloutConfig,
      abortConfig: job.abortConfig,
      timeoutConfig: job.timeoutConfig,
      createdAt: date(job.createdAt),
      lastUpdatedAt: date(job.updatedAt),
      completedAt: date(job.completedAt),
      jobProcessDetails: await processDetailsOf(ctx.store, ctx.scope, job.jobId),
      namespaceId: job.namespaceId,
      isConcurrent: false,
    },
  };
}

/** ListJobs' thingGroupId filter: the name of the group with that id, or undefined when there is none. */
async function groupNameOfId(ctx: RequestContext, id: string): Promise<string | undefined> {
  let after: string | undefined;
  do {
    const page = await ctx.store.listThingGroups(ctx.scope, {}, { after, limit: 250 });
    const found = page.items.find((g) => g.id === id);
    if (found) return found.name;
    after = page.next;
  } while (after !== undefined);
  return undefined;
}

async function listJobs(ctx: RequestContext, input: Input) {
  // Every meadow job is a continuous one on a thing group.
  if (input.targetSelection === 'SNAPSHOT') return { jobs: [] };
  let groupName: string | undefined = input.thingGroupName;
  if (input.thingGroupId !== undefined) {
    const named = await groupNameOfId(ctx, input.thingGroupId);
    if (named === undefined || (groupName !== undefined && groupName !== named)) return { jobs: [] };
    groupName = named;
  }
  const page = await ctx.store.listJobs(
    ctx.scope,
    { status: input.status, groupName, namespaceId: input.namespaceId },
    { after: decodeNextToken(ctx.operation, input.nextToken), limit: input.maxResults ?? DEFAULT_JOBS_PAGE },
  );
  const jobs = [];
  for (const job of page.items) {
    const group = await ctx.store.getThingGroup(ctx.scope, job.groupName);
    jobs.push({
      jobArn: iotJobArn(ctx.scope, job.jobId),
      jobId: job.jobId,
      thingGroupId: group?.id,
      targetSelection: job.targetSelection,
      status: job.status,
      createdAt: date(job.createdAt),
      lastUpdatedAt: date(job.updatedAt),
      completedAt: date(job.completedAt),
      isConcurrent: false,
    });
  }
  return { jobs, nextToken: encodeNextToken(ctx.operation, page.next) };
}

async function listJobExecutionsForJob(ctx: RequestContext, input: Input) {
  await jobOrThrow(ctx.store, ctx.scope, input.jobId);
  const page = await ctx.store.listJobExecutions(
    ctx.scope,
    { jobId: input.jobId, status: input.status },
    { after: decodeNextToken(ctx.operation, input.nextToken), limit: input.maxResults ?? DEFAULT_JOBS_PAGE },
  );
  return {
    executionSummaries: page.items.map((e) => ({ thingArn: thingArn(ctx.scope, e.thingName), jobExecutionSummary: executionSummary(e) })),
    nextToken: encodeNextToken(ctx.operation, page.next),
  };
}

async function listJobExecutionsForThing(ctx: RequestContext, input: Input) {
  await thingOrThrow(ctx.store, ctx.scope, input.thingName);
  const page = await ctx.store.listJobExecutions(
    ctx.scope,
    { thingName: input.thingName, status: input.status, namespaceId: input.namespaceId, jobId: input.jobId },
    { after: decodeNextToken(ctx.operation, input.nextToken), limit: input.maxResults ?? DEFAULT_JOBS_PAGE },
  );
  return {
    executionSummaries: page.items.map((e) => ({ jobId: e.jobId, jobExecutionSummary: executionSummary(e) })),
    nextToken: encodeNextToken(ctx.operation, page.next),
  };
}

async function describeJobExecution(ctx: RequestContext, input: Input) {
  const job = await jobOrThrow(ctx.store, ctx.scope, input.jobId);
  const e = await ctx.store.getJobExecution(ctx.scope, input.jobId, input.thingName, input.executionNumber);
  if (!e) throw notFound('jobExecution', input.jobId, `Thing ${input.thingName} has no execution of job ${input.jobId}.`);
  return {
    execution: {
      jobId: e.jobId,
      forceCanceled: e.status === 'CANCELED' ? job.forceCanceled : undefined,
      statusDetails: { detailsMap: e.statusDetails },
      thingArn: thingArn(ctx.scope, e.thingName),
      ...executionSummary(e),
      versionNumber: e.versionNumber,
      approximateSecondsBeforeTimedOut: approximateSecondsBeforeTimedOut(e, job.timeoutConfig, ctx.clock.now()),
    },
  };
}

async function getJobDocument(ctx: RequestContext, input: Input) {
  const job = await jobOrThrow(ctx.store, ctx.scope, input.jobId);
  return { document: job.document };
}

/**
 * CancelJob on a deployment's job cancels the deployment too when it is still ACTIVE: a continuous deployment whose
 * job no longer reaches devices is no longer active (meadow's choice; AWS documents nothing here).
 */
async function cancelJobHandler(ctx: RequestContext, input: Input) {
  return ctx.store.transaction(async (tx) => {
    const job = await tx.lockJob(ctx.scope, input.jobId);
    if (!job) throw notFound('job', input.jobId, `Job ${input.jobId} does not exist.`);
    if (job.status !== 'IN_PROGRESS') throw notCancelable(job);
    const now = ctx.clock.now();
    await cancelJob(tx, ctx.scope, job.jobId, now, { force: input.force === true, reasonCode: input.reasonCode, comment: input.comment });
    const d = await tx.getDeployment(ctx.scope, job.deploymentId);
    if (d?.status === 'ACTIVE') await tx.updateDeployment(ctx.scope, d.deploymentId, { status: 'CANCELED' });
    return { jobArn: iotJobArn(ctx.scope, job.jobId), jobId: job.jobId, description: `Greengrass deployment ${job.deploymentId}` };
  });
}

export const jobHandlers: HandlerTable = {
  DescribeJob: describeJob,
  ListJobs: listJobs,
  ListJobExecutionsForJob: listJobExecutionsForJob,
  ListJobExecutionsForThing: listJobExecutionsForThing,
  DescribeJobExecution: describeJobExecution,
  GetJobDocument: getJobDocument,
  CancelJob: cancelJobHandler,
};
