// What a device does with its job executions (IoT Jobs data plane; the MQTT jobs API will call the same functions):
// list its pending executions, describe one or `$next`, start the next, report status. A device sees only executions
// the rollout has released to it (notifiedAt set). Status changes go through the jobs core's applyDeviceUpdate, under
// the job's row lock.
import { MeadowError, invalid, notFound } from '../core/errors.js';
import { applyDeviceUpdate, type DeviceUpdateOptions, type Rejection, type StatusDetails } from '../core/jobs/index.js';
import type { Job, Scope, Store, StoredJobExecution } from '../store/store.js';
import { saveExecution } from './jobs.js';

/** DescribeJobExecution's jobId for "the execution a device should work on next". */
export const NEXT_JOB_ID = '$next';

/** The most pending executions one call returns; a device works through them one at a time. */
const PENDING_LIMIT = 1000;

export interface DeviceExecution {
  job: Job;
  execution: StoredJobExecution;
}

/** The thing's released IN_PROGRESS and QUEUED executions, each in queue order. */
export async function pendingExecutions(
  store: Store,
  scope: Scope,
  thingName: string,
): Promise<{ inProgress: StoredJobExecution[]; queued: StoredJobExecution[] }> {
  const page = await store.listJobExecutions(
    scope,
    { thingName, statuses: ['IN_PROGRESS', 'QUEUED'], releasedOnly: true },
    { limit: PENDING_LIMIT },
  );
  return {
    inProgress: page.items.filter((e) => e.status === 'IN_PROGRESS'),
    queued: page.items.filter((e) => e.status === 'QUEUED'),
  };
}

/** `$next` of a pending list: the oldest IN_PROGRESS execution, else the oldest QUEUED one (IoT `jobs-mqtt-api`). */
export function nextOf(pending: { inProgress: StoredJobExecution[]; queued: StoredJobExecution[] }): StoredJobExecution | undefined {
  return pending.inProgress[0] ?? pending.queued[0];
}

async function nextPending(store: Store, scope: Scope, thingName: string): Promise<StoredJobExecution | undefined> {
  return nextOf(await pendingExecutions(store, scope, thingName));
}

/** One execution as its device may see it, or `$next`; undefined when there is none (or it is not released). */
export async function describeForDevice(
  store: Store,
  scope: Scope,
  thingName: string,
  jobId: string,
  executionNumber?: number,
): Promise<DeviceExecution | undefined> {
  const execution =
    jobId === NEXT_JOB_ID ? await nextPending(store, scope, thingName) : await store.getJobExecution(scope, jobId, thingName, executionNumber);
  if (execution?.notifiedAt === undefined) return undefined;
  const job = await store.getJob(scope, execution.jobId);
  return job && { job, execution };
}

export interface DeviceStatusRequest extends DeviceUpdateOptions {
  status: string;
  statusDetails?: StatusDetails;
  executionNumber?: number;
}

/**
 * UpdateJobExecution. A rejected update throws the matching error after its transaction: an update that arrives
 * after the execution's deadline is refused, but the execution's move to TIMED_OUT is kept.
 */
export async function updateForDevice(
  store: Store,
  scope: Scope,
  now: number,
  thingName: string,
  jobId: string,
  req: DeviceStatusRequest,
): Promise<DeviceExecution> {
  const outcome = await store.transaction(async (tx) => {
    const job = await tx.lockJob(scope, jobId);
    const e = job && (await tx.getJobExecution(scope, jobId, thingName, req.executionNumber));
    if (!job || e?.notifiedAt === undefined) throw executionNotFound(thingName, jobId, req.executionNumber);
    const r = applyDeviceUpdate(e, req.status, req.statusDetails, now, job.timeoutConfig, req);
    if (r.ok || r.changed) await saveExecution(tx, scope, job, e, r.execution);
    // ListCoreDevices(thingGroupArn) lists the devices that completed a deployment to the group, even after they
    // leave it; the execution's SUCCEEDED is that fact, recorded with it.
    if (r.ok && r.execution.status === 'SUCCEEDED' && e.status !== 'SUCCEEDED') {
      await tx.recordGroupDeploymentSuccess(scope, thingName, job.groupName, job.deploymentId, now);
    }
    return r.ok ? { job, execution: r.execution } : r;
  });
  if ('ok' in outcome) throw rejectionError(outcome, jobId);
  return outcome;
}

/**
 * StartNextPendingJobExecution: the thing's IN_PROGRESS execution as it is, else its oldest QUEUED one moved to
 * IN_PROGRESS with the given details and step timer; undefined when nothing is pending.
 */
export async function startNextForDevice(
  store: Store,
  scope: Scope,
  now: number,
  thingName: string,
  statusDetails: StatusDetails | undefined,
  stepTimeoutInMinutes: number | undefined,
): Promise<DeviceExecution | undefined> {
  const outcome = await store.transaction(async (tx) => {
    const candidate = await nextPending(tx, scope, thingName);
    if (!candidate) return undefined;
    const job = (await tx.lockJob(scope, candidate.jobId))!;
    const e = (await tx.getJobExecution(scope, candidate.jobId, thingName, candidate.executionNumber))!;
    if (e.status !== 'QUEUED') return { job, execution: e }; // IN_PROGRESS already (or it ended meanwhile)
    const r = applyDeviceUpdate(e, 'IN_PROGRESS', statusDetails, now, job.timeoutConfig, { stepTimeoutInMinutes });
    if (r.ok) await saveExecution(tx, scope, job, e, r.execution);
    return r.ok ? { job, execution: r.execution } : r;
  });
  if (outcome && 'ok' in outcome) throw rejectionError(outcome, candidateJobId(outcome));
  return outcome;
}

const candidateJobId = (r: Rejection<StoredJobExecution>) => r.execution.jobId;

export function executionNotFound(thingName: string, jobId: string, executionNumber?: number): MeadowError {
  const which = executionNumber === undefined ? '' : ` with executionNumber ${executionNumber}`;
  return notFound('jobExecution', jobId, `Thing ${thingName} has no execution of job ${jobId}${which}.`);
}

/** The jobs core's rejection as the data plane's error. */
function rejectionError(r: Rejection<StoredJobExecution>, jobId: string): MeadowError {
  switch (r.code) {
    case 'InvalidRequest':
      return invalid(r.message);
    case 'VersionMismatch':
      return new MeadowError('VersionConflict', r.message, { resourceType: 'jobExecution', resourceId: jobId });
    case 'InvalidStateTransition':
      return new MeadowError('Conflict', r.message, { resourceId: jobId, errorShape: 'InvalidStateTransitionException' });
  }
}
