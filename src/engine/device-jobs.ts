// What a device does with its job executions (IoT Jobs data plane; the MQTT jobs API will call the same functions):
// list its pending executions, describe one or `$next`, start the next, report status. A device sees only executions
// the rollout has released to it (notifiedAt set). Status changes go through the jobs core's applyDeviceUpdate, under
// the job's row lock.
import { MeadowError, invalid, notFound } from '../core/errors.js';
import { applyDeviceUpdate, isTerminal, type DeviceUpdateOptions, type Rejection, type StatusDetails } from '../core/jobs/index.js';
import type { GroupDeploymentSuccess, Job, Scope, Store, StoredJobExecution } from '../store/store.js';
import { GroupCommit } from './group-commit.js';
import { hasAbortCriteria, saveExecution, saveExecutions } from './jobs.js';

/** DescribeJobExecution's jobId for "the execution a device should work on next". */
export const NEXT_JOB_ID = '$next';

/** The most pending executions one call returns; a device works through them one at a time. */
const PENDING_LIMIT = 1000;

export interface DeviceExecution {
  job: Job;
  execution: StoredJobExecution;
}

/** A thing's released executions a device still has to work on, each list in queue order. */
export interface PendingExecutions {
  inProgress: StoredJobExecution[];
  queued: StoredJobExecution[];
}

/** Per thing, its released IN_PROGRESS and QUEUED executions (at most PENDING_LIMIT), in one query for all of them. */
export async function pendingExecutionsOf(store: Store, scope: Scope, thingNames: string[]): Promise<Map<string, PendingExecutions>> {
  const byThing = new Map<string, PendingExecutions>(thingNames.map((t) => [t, { inProgress: [], queued: [] }]));
  for (const e of await store.pendingExecutionsOfThings(scope, [...byThing.keys()])) {
    const pending = byThing.get(e.thingName)!;
    if (pending.inProgress.length + pending.queued.length >= PENDING_LIMIT) continue;
    (e.status === 'IN_PROGRESS' ? pending.inProgress : pending.queued).push(e);
  }
  return byThing;
}

/** The thing's released IN_PROGRESS and QUEUED executions, each in queue order. */
export async function pendingExecutions(store: Store, scope: Scope, thingName: string): Promise<PendingExecutions> {
  return (await pendingExecutionsOf(store, scope, [thingName])).get(thingName)!;
}

/** `$next` of a pending list: the oldest IN_PROGRESS execution, else the oldest QUEUED one (IoT `jobs-mqtt-api`). */
export function nextOf(pending: PendingExecutions): StoredJobExecution | undefined {
  return pending.inProgress[0] ?? pending.queued[0];
}

async function nextPending(store: Store, scope: Scope, thingName: string): Promise<StoredJobExecution | undefined> {
  return nextOf(await pendingExecutions(store, scope, thingName));
}

/** Reads describeForDevice may take from elsewhere than the store (the MQTT jobs API's batched and cached ones). */
export interface DeviceJobReads {
  pending?: (thingName: string) => Promise<PendingExecutions>;
  job?: (jobId: string) => Promise<Job | undefined>;
}

/** One execution as its device may see it, or `$next`; undefined when there is none (or it is not released). */
export async function describeForDevice(
  store: Store,
  scope: Scope,
  thingName: string,
  jobId: string,
  executionNumber?: number,
  reads: DeviceJobReads = {},
): Promise<DeviceExecution | undefined> {
  const execution =
    jobId !== NEXT_JOB_ID
      ? await store.getJobExecution(scope, jobId, thingName, executionNumber)
      : nextOf(await (reads.pending?.(thingName) ?? pendingExecutions(store, scope, thingName)));
  if (execution?.notifiedAt === undefined) return undefined;
  const job = await (reads.job?.(execution.jobId) ?? store.getJob(scope, execution.jobId));
  return job && { job, execution };
}

export interface DeviceStatusRequest extends DeviceUpdateOptions {
  status: string;
  statusDetails?: StatusDetails;
  executionNumber?: number;
}

/** One device's UpdateJobExecution, as it arrived. */
export interface DeviceUpdate {
  thingName: string;
  now: number;
  request: DeviceStatusRequest;
}

export type DeviceUpdateOutcome = { ok: true; found: DeviceExecution } | { ok: false; error: MeadowError };

/**
 * UpdateJobExecution of several devices for one job, in one transaction under one job lock, applied in the order
 * given; each gets its own outcome. A rejected update's error is its outcome: an update that arrives after the
 * execution's deadline is refused, but the execution's move to TIMED_OUT is kept.
 */
export async function applyDeviceUpdates(store: Store, scope: Scope, jobId: string, updates: DeviceUpdate[]): Promise<DeviceUpdateOutcome[]> {
  return store.transaction(async (tx) => {
    const job = await tx.lockJob(scope, jobId);
    if (!job) return updates.map((u) => ({ ok: false, error: executionNotFound(u.thingName, jobId, u.request.executionNumber) }));
    // A job with abort criteria may cancel other executions whenever one ends: its changes are saved (and the
    // criteria checked) one at a time, and what was read before is read again after each end. Others are read in one
    // query and written in one go at the end.
    const oneByOne = hasAbortCriteria(job);
    let known: Map<string, StoredJobExecution[]> | undefined = groupByThing(await tx.jobExecutionsOfThings(scope, jobId, updates.map((u) => u.thingName)));
    const changed = new Map<StoredJobExecution[], Map<number, StoredJobExecution>>(); // per thing's list, by execution number
    const successes: GroupDeploymentSuccess[] = [];
    const outcomes: DeviceUpdateOutcome[] = [];
    for (const { thingName, now, request: req } of updates) {
      const executions = known ? (known.get(thingName) ?? []) : await tx.jobExecutionsOfThings(scope, jobId, [thingName]);
      const e = pick(executions, req.executionNumber);
      if (e?.notifiedAt === undefined) {
        outcomes.push({ ok: false, error: executionNotFound(thingName, jobId, req.executionNumber) });
        continue;
      }
      const r = applyDeviceUpdate(e, req.status, req.statusDetails, now, job.timeoutConfig, req);
      if (r.ok || r.changed) {
        if (oneByOne) {
          executions[executions.indexOf(e)] = await saveExecution(tx, scope, job, e, r.execution);
          if (isTerminal(r.execution.status)) known = undefined;
        } else {
          executions[executions.indexOf(e)] = r.execution;
          const byNumber = changed.get(executions) ?? new Map<number, StoredJobExecution>();
          changed.set(executions, byNumber.set(r.execution.executionNumber, r.execution));
        }
      }
      // ListCoreDevices(thingGroupArn) lists the devices that completed a deployment to the group, even after they
      // leave it; the execution's SUCCEEDED is that fact, recorded with it.
      if (r.ok && r.execution.status === 'SUCCEEDED' && e.status !== 'SUCCEEDED') {
        successes.push({ thingName, groupName: job.groupName, deploymentId: job.deploymentId, at: now });
      }
      outcomes.push(r.ok ? { ok: true, found: { job, execution: r.execution } } : { ok: false, error: rejectionError(r, jobId) });
    }
    if (changed.size > 0) await saveExecutions(tx, scope, job, [...changed.values()].flatMap((byNumber) => [...byNumber.values()]));
    if (successes.length > 0) await tx.recordGroupDeploymentSuccesses(scope, successes);
    return outcomes;
  });
}

interface QueuedUpdate extends DeviceUpdate {
  scope: Scope;
  jobId: string;
}

/** Per store, the device updates waiting for their job's next batch. */
const updateQueues = new WeakMap<Store, GroupCommit<QueuedUpdate, DeviceUpdateOutcome>>();

function updateQueueOf(store: Store): GroupCommit<QueuedUpdate, DeviceUpdateOutcome> {
  let queue = updateQueues.get(store);
  if (!queue) {
    // A batch holds one job's updates of one scope (the key says which).
    queue = new GroupCommit((items) => applyDeviceUpdates(store, items[0].scope, items[0].jobId, items));
    updateQueues.set(store, queue);
  }
  return queue;
}

/**
 * UpdateJobExecution of one device. Updates that arrive together for one job share a transaction (group-commit.ts);
 * call it outside a transaction.
 */
export async function updateForDevice(
  store: Store,
  scope: Scope,
  now: number,
  thingName: string,
  jobId: string,
  req: DeviceStatusRequest,
): Promise<DeviceExecution> {
  const key = `${scope.accountId}/${scope.region}/${jobId}`;
  const outcome = await updateQueueOf(store).submit(key, { scope, jobId, thingName, now, request: req });
  if (!outcome.ok) throw outcome.error;
  return outcome.found;
}

function groupByThing(executions: StoredJobExecution[]): Map<string, StoredJobExecution[]> {
  const byThing = new Map<string, StoredJobExecution[]>();
  for (const e of executions) {
    const list = byThing.get(e.thingName);
    if (list) list.push(e);
    else byThing.set(e.thingName, [e]);
  }
  return byThing;
}

/** The execution with that number, or without one the latest. */
function pick(executions: StoredJobExecution[], executionNumber: number | undefined): StoredJobExecution | undefined {
  if (executionNumber !== undefined) return executions.find((e) => e.executionNumber === executionNumber);
  return executions.reduce<StoredJobExecution | undefined>((latest, e) => (latest && latest.executionNumber > e.executionNumber ? latest : e), undefined);
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
