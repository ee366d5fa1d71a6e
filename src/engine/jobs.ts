// The IoT job of a group deployment (semantics §1.2, §8.1, §8.4): created with the deployment, cancelled with it or
// by a newer revision, aborted by its abort criteria. The rules themselves live in src/core/jobs (state machine,
// rollout pacing, abort, timeouts); this module applies them to the store, always inside the caller's transaction
// and always after taking the job's row lock (Store.lockJob), so that two processes never change one job at once.
import { thingGroupArn, parseIotArn } from '../core/arn.js';
import { prepareDelivery } from '../core/device-document/index.js';
import { MeadowError, invalid, notFound } from '../core/errors.js';
import {
  ROLLOUT_WINDOW_MS,
  applyServiceTransition,
  evaluateAbort,
  isTerminal,
  jobProcessDetails,
  queuedExecution,
  rolloutAllowance,
  timeoutAt,
  type JobExecutionStatus,
  type JobProcessDetails,
} from '../core/jobs/index.js';
import type { Deployment, Job, Scope, Store, StoredJobExecution } from '../store/store.js';
import { executionsChanged } from './execution-events.js';

import { GREENGRASS_JOB_NAMESPACE } from '../core/jobs/index.js';
export { GREENGRASS_JOB_NAMESPACE };

/** Executions handled per statement batch when a job releases or cancels many at once. */
const BATCH = 500;

/** DeploymentIoTJobConfiguration as the Greengrass API takes it; its members have IoT's names and shapes. */
interface IotJobConfiguration {
  jobExecutionsRolloutConfig?: Job['rolloutConfig'];
  abortConfig?: Job['abortConfig'];
  timeoutConfig?: Job['timeoutConfig'];
}

/**
 * Creates the job of a new group deployment with a QUEUED execution for every thing in the group and its descendant
 * groups, and releases the first ones at once (all of them when no rollout rate applies). Thing deployments have no
 * job (they ride the deployment shadow), so this does nothing for them.
 */
export async function createDeploymentJob(tx: Store, scope: Scope, d: Deployment, now: number): Promise<Job | undefined> {
  const target = parseIotArn(d.targetArn);
  if (target?.kind !== 'thinggroup' || d.iotJobId === undefined) return undefined;
  const delivery = prepareDelivery(d, scope); // throws the caller's validation error when too large to deliver
  const config = (d.iotJobConfiguration ?? {}) as IotJobConfiguration;
  const job: Job = {
    jobId: d.iotJobId,
    deploymentId: d.deploymentId,
    targetArn: thingGroupArn(scope, target.name),
    groupName: target.name,
    namespaceId: GREENGRASS_JOB_NAMESPACE,
    targetSelection: 'CONTINUOUS',
    status: 'IN_PROGRESS',
    document: delivery.documentJson,
    fullDocument: delivery.full.json,
    rolloutConfig: config.jobExecutionsRolloutConfig,
    abortConfig: config.abortConfig,
    timeoutConfig: config.timeoutConfig,
    createdAt: now,
    updatedAt: now,
    forceCanceled: false,
  };
  await tx.insertJob(scope, job);
  await tx.lockJob(scope, job.jobId);

  // No membership change may commit while the members are read: one that commits later is in the log after this
  // job exists, so the rollout worker applies it; one that committed earlier is in what is read here.
  await tx.holdMembershipLog(scope);
  const groups = await tx.groupAndDescendantNames(scope, target.name);
  let after: string | undefined;
  do {
    const page = await tx.listThingNamesInGroups(scope, groups, { after, limit: BATCH });
    await tx.insertJobExecutions(
      scope,
      page.items.map((thingName) => ({ ...queuedExecution(now), jobId: job.jobId, thingName, executionNumber: 1, rateLimited: true })),
    );
    after = page.next;
  } while (after !== undefined);

  await releaseDue(tx, scope, job.jobId, now);
  return job;
}

/**
 * Releases (sets notifiedAt on) as many held-back executions as the job's rollout rate allows at `now`. Returns how
 * many it released, and when more can go out (undefined when nothing is left to release).
 */
export async function releaseDue(tx: Store, scope: Scope, jobId: string, now: number): Promise<{ released: number; nextAt?: number }> {
  const job = await tx.lockJob(scope, jobId);
  if (job?.status !== 'IN_PROGRESS') return { released: 0 };
  let released = 0;
  for (;;) {
    const progress = await tx.rolloutProgress(scope, jobId, now - ROLLOUT_WINDOW_MS);
    const allowance = rolloutAllowance({ config: job.rolloutConfig, jobStartedAt: job.createdAt, now, ...progress });
    const waiting = await tx.unreleasedExecutions(scope, jobId, Math.min(allowance.allowedNow, BATCH));
    if (waiting.length === 0) {
      const more = allowance.allowedNow === 0 && (await tx.unreleasedExecutions(scope, jobId, 1)).length > 0;
      return { released, nextAt: more ? allowance.nextAt : undefined };
    }
    released += await tx.markReleased(scope, jobId, waiting, now);
    executionsChanged(tx, scope, waiting.map((e) => e.thingName));
  }
}

export interface CancelOptions {
  /** Also cancel IN_PROGRESS executions (IoT CancelJob `force`). */
  force?: boolean;
  reasonCode?: string;
  comment?: string;
}

/**
 * Cancels a job: it becomes CANCELED and its QUEUED executions (released or not) CANCELED; IN_PROGRESS ones only with
 * force. Returns the job as it now stands; a job that has already ended is left alone and returned as it is.
 */
export async function cancelJob(tx: Store, scope: Scope, jobId: string, now: number, opts: CancelOptions = {}): Promise<Job> {
  const job = await tx.lockJob(scope, jobId);
  if (!job) throw notFound('job', jobId, `Job ${jobId} does not exist.`);
  if (job.status !== 'IN_PROGRESS') return job;
  const change = {
    status: 'CANCELED' as const,
    updatedAt: now,
    completedAt: now,
    reasonCode: opts.reasonCode,
    comment: opts.comment,
    forceCanceled: opts.force === true,
  };
  await tx.updateJob(scope, jobId, change);
  const statuses: JobExecutionStatus[] = opts.force ? ['QUEUED', 'IN_PROGRESS'] : ['QUEUED'];
  let after: string | undefined;
  do {
    const page = await tx.listJobExecutions(scope, { jobId, statuses }, { after, limit: BATCH });
    for (const e of page.items) {
      const moved = applyServiceTransition(e, 'CANCELED', now, { force: opts.force });
      if (moved.ok) await saveExecution(tx, scope, job, e, moved.execution);
    }
    after = page.next;
  } while (after !== undefined);
  return { ...job, ...change };
}

/** The job of a deployment, if it has one. */
export async function jobOfDeployment(tx: Store, scope: Scope, d: Deployment): Promise<Job | undefined> {
  return d.iotJobId === undefined ? undefined : tx.getJob(scope, d.iotJobId);
}

/** The execution as it is stored: with its timeout deadline worked out again. */
function withDeadline(job: Job, e: StoredJobExecution): StoredJobExecution {
  const { timeoutAt: _old, ...rest } = e;
  const deadline = timeoutAt(rest, job.timeoutConfig);
  return deadline === undefined ? rest : { ...rest, timeoutAt: deadline };
}

/** Whether the job's abort criteria must be checked each time one of its executions ends. */
export const hasAbortCriteria = (job: Job): boolean => (job.abortConfig?.criteriaList?.length ?? 0) > 0;

/**
 * Stores a new version of an execution over the one it was made from (conditionally on that one's version), with
 * its timeout deadline worked out again; then, if it ended, checks the job's abort criteria.
 * The caller holds the job's lock. Returns the execution as stored.
 */
export async function saveExecution(tx: Store, scope: Scope, job: Job, before: StoredJobExecution, after: StoredJobExecution): Promise<StoredJobExecution> {
  const next = withDeadline(job, after);
  if (!(await tx.replaceJobExecution(scope, next, before.versionNumber))) {
    // Every writer holds the job's lock, so this means a writer that did not: a bug, not a race to report.
    throw new MeadowError('Internal', `Job execution ${job.jobId}/${before.thingName} changed under its job's lock.`);
  }
  if (next.notifiedAt !== undefined) executionsChanged(tx, scope, [next.thingName]); // its device knows of it
  if (isTerminal(next.status) && !isTerminal(before.status)) await abortIfCriteriaMet(tx, scope, job, next.lastUpdatedAt);
  return next;
}

/**
 * Stores new versions of many executions of a job without abort criteria in one go (a batch of device updates; a
 * job with abort criteria goes through saveExecution, one execution at a time). The caller holds the job's lock.
 */
export async function saveExecutions(tx: Store, scope: Scope, job: Job, executions: StoredJobExecution[]): Promise<StoredJobExecution[]> {
  if (hasAbortCriteria(job)) throw new MeadowError('Internal', `Job ${job.jobId} has abort criteria; its executions are saved one at a time.`);
  const stored = executions.map((e) => withDeadline(job, e));
  if ((await tx.replaceJobExecutions(scope, stored)) !== stored.length) {
    throw new MeadowError('Internal', `Executions of job ${job.jobId} changed under its job's lock.`);
  }
  executionsChanged(tx, scope, stored.filter((e) => e.notifiedAt !== undefined).map((e) => e.thingName));
  return stored;
}

/** Executions per status, as DescribeJob reports them. */
export async function processDetailsOf(store: Store, scope: Scope, jobId: string): Promise<JobProcessDetails> {
  const counts = await store.jobExecutionStatusCounts(scope, jobId);
  return jobProcessDetails(expand(counts));
}

function* expand(counts: Partial<Record<JobExecutionStatus, number>>): Iterable<{ status: JobExecutionStatus }> {
  for (const [status, n] of Object.entries(counts) as [JobExecutionStatus, number][]) {
    for (let i = 0; i < n; i++) yield { status };
  }
}

/**
 * Abort criteria, checked after every execution that ends: the job is CANCELED with the criterion's reason, its
 * QUEUED executions CANCELED (IN_PROGRESS ones keep running), and its deployment FAILED (semantics §2.1, §8.4).
 */
async function abortIfCriteriaMet(tx: Store, scope: Scope, job: Job, now: number): Promise<void> {
  const current = await tx.lockJob(scope, job.jobId);
  if (current?.status !== 'IN_PROGRESS' || !hasAbortCriteria(current)) return;
  const decision = evaluateAbort(current.abortConfig!.criteriaList!, await processDetailsOf(tx, scope, job.jobId));
  if (!decision) return;
  await cancelJob(tx, scope, job.jobId, now, { reasonCode: decision.reasonCode, comment: decision.comment });
  const d = await tx.getDeployment(scope, current.deploymentId);
  if (d?.status === 'ACTIVE') await tx.updateDeployment(scope, d.deploymentId, { status: 'FAILED' });
}

/** An IoT CancelJob of a job that has already ended. */
export function notCancelable(job: Job): MeadowError {
  return invalid(`Job ${job.jobId} is ${job.status}; only an IN_PROGRESS job can be canceled.`);
}
