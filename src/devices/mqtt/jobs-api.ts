// The IoT Jobs MQTT API for devices (IoT `jobs-mqtt-api`, `jobs-comm-notifications`), on the engine's device-side
// functions (src/engine/device-jobs.ts), which hold every state rule. Requests arrive on a thing's
// `$aws/things/<thing>/jobs/...` topics; replies go to the request topic + `/accepted` or `/rejected`, notifications to
// `notify` and `notify-next` (each also in the Greengrass namespace form). Times are epoch seconds, as on AWS.
import DataLoader from 'dataloader';
import { execution, summary } from '../../api/iot-jobs-data/index.js';
import type { Clock } from '../../core/clock.js';
import { MeadowError } from '../../core/errors.js';
import { executionState } from '../../core/jobs/index.js';
import {
  describeForDevice,
  executionNotFound,
  NEXT_JOB_ID,
  nextOf,
  pendingExecutionsOf,
  startNextForDevice,
  updateForDevice,
  type DeviceExecution,
  type DeviceJobReads,
  type PendingExecutions,
} from '../../engine/device-jobs.js';
import type { Job, Scope, Store } from '../../store/store.js';
import { notifyTopics, parseJobsRequest, type JobsRequest } from './topics.js';

/** A ListNotification names at most this many pending executions (IoT `jobs-comm-notifications`). */
const LIST_NOTIFICATION_LIMIT = 15;

/** Things whose notifications are worked out together (one query for their pending lists). */
const NOTIFY_BATCH = 500;

type Publish = (topic: string, payload: object) => Promise<void>;

export interface JobsApiDeps {
  store: Store;
  scope: Scope;
  clock: Clock;
  publish: Publish;
  log: { error(obj: object, msg: string): void };
}

/** The error codes of the jobs MQTT API's ErrorResponse. */
type ErrorCode = 'InvalidTopic' | 'InvalidJson' | 'InvalidRequest' | 'InvalidStateTransition' | 'ResourceNotFound' | 'VersionMismatch' | 'InternalError';

class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly withState = false,
  ) {
    super(message);
  }
}

type Payload = Record<string, unknown>;

/**
 * A JobExecution as the MQTT API gives it: the HTTP API's, with the job document as a JSON object rather than a
 * string (the nucleus reads `jobDocument` as a map).
 */
function mqttExecution(now: number, found: DeviceExecution, includeJobDocument: boolean) {
  const e = execution(now, found, false);
  return includeJobDocument ? { ...e, jobDocument: parsedDocument(found.job) } : e;
}

/** A job's document as JSON, parsed once per job object (a fan-out sends one job's document to every device). */
const parsedDocuments = new WeakMap<Job, unknown>();
function parsedDocument(job: Job): unknown {
  if (!parsedDocuments.has(job)) parsedDocuments.set(job, JSON.parse(job.document));
  return parsedDocuments.get(job);
}

/** Jobs whose documents are kept at once (the newest ones read). */
const KEPT_JOBS = 100;

export class MqttJobsApi {
  /** Per thing, the jobId (with execution number) last announced on notify-next, so it is announced when it changes. */
  private readonly lastNext = new Map<string, string>();
  /** Things whose executions changed since their last notification; sent in batches, one batch at a time. */
  private readonly toNotify = new Set<string>();
  private notifying = false;
  /**
   * Pending-list reads that many devices make at once are batched per turn of the event loop: a fan-out's thousands
   * of `$next` requests read their pending lists in a few queries (nothing is cached beyond the batch).
   */
  private readonly pending: DataLoader<string, PendingExecutions>;
  /**
   * Jobs as read, by id, for what a device is told of them: the document and timeoutConfig, which never change once
   * a job exists (its status does, and is not taken from here).
   */
  private readonly jobs = new Map<string, Promise<Job | undefined>>();

  constructor(private readonly deps: JobsApiDeps) {
    const perTurn = { cache: false, maxBatchSize: NOTIFY_BATCH, batchScheduleFn: (run: () => void) => setImmediate(run) };
    this.pending = new DataLoader(async (things) => {
      const byThing = await pendingExecutionsOf(deps.store, deps.scope, [...things]);
      return things.map((t) => byThing.get(t)!);
    }, perTurn);
  }

  /** How a describe reads: pending lists batched, jobs from memory. */
  private readonly reads: DeviceJobReads = { pending: (thing) => this.pending.load(thing), job: (jobId) => this.jobContent(jobId) };

  private jobContent(jobId: string): Promise<Job | undefined> {
    let job = this.jobs.get(jobId);
    if (!job) {
      if (this.jobs.size >= KEPT_JOBS) this.jobs.clear();
      job = this.deps.store.getJob(this.deps.scope, jobId);
      this.jobs.set(jobId, job);
      // Not kept when it is not there (yet) or the read failed.
      job.then((j) => j ?? this.jobs.delete(jobId), () => this.jobs.delete(jobId));
    }
    return job;
  }

  private get seconds() {
    return Math.floor(this.deps.clock.now() / 1000);
  }

  /** Serves a device's publish if it is a jobs API request (anything else on its topics is left alone). */
  async handle(thingName: string, topic: string, raw: Buffer): Promise<void> {
    const request = parseJobsRequest(thingName, topic);
    if (!request) return;
    let payload: Payload = {};
    try {
      payload = parsePayload(raw);
      const reply = await this.serve(thingName, request, payload);
      await this.deps.publish(`${topic}/accepted`, { ...reply, timestamp: this.seconds, clientToken: token(payload) });
    } catch (e) {
      const err = e instanceof RequestError ? e : fromDomainError(e);
      const rejection: Payload = { code: err.code, message: err.message, timestamp: this.seconds, clientToken: token(payload) };
      if (err.withState && request.kind === 'update') {
        const current = await describeForDevice(this.deps.store, this.deps.scope, thingName, request.jobId, optionalNumber(payload, 'executionNumber'), this.reads);
        if (current) rejection.executionState = executionState(current.execution);
      }
      await this.deps.publish(`${topic}/rejected`, rejection);
    }
  }

  private async serve(thingName: string, request: JobsRequest, p: Payload): Promise<Payload> {
    const { store, scope, clock } = this.deps;
    switch (request.kind) {
      case 'getPending': {
        const { inProgress, queued } = await this.pending.load(thingName);
        return { inProgressJobs: inProgress.map(summary), queuedJobs: queued.map(summary) };
      }
      case 'describe': {
        const executionNumber = optionalNumber(p, 'executionNumber');
        const found = await describeForDevice(store, scope, thingName, request.jobId, executionNumber, this.reads);
        if (!found) {
          if (request.jobId === NEXT_JOB_ID) return {}; // nothing pending: no `execution`
          throw new RequestError('ResourceNotFound', executionNotFound(thingName, request.jobId, executionNumber).message);
        }
        // Over MQTT includeJobDocument defaults to true (IoT `jobs-mqtt-api`, DescribeJobExecution).
        return { execution: mqttExecution(clock.now(), found, optionalBoolean(p, 'includeJobDocument') ?? true) };
      }
      case 'startNext': {
        const started = await startNextForDevice(store, scope, clock.now(), thingName, optionalDetails(p), optionalNumber(p, 'stepTimeoutInMinutes'));
        return started ? { execution: mqttExecution(clock.now(), started, true) } : {};
      }
      case 'update': {
        const status = p.status;
        if (typeof status !== 'string') throw new RequestError('InvalidRequest', 'status is required and must be a string.');
        const includeState = optionalBoolean(p, 'includeJobExecutionState');
        const includeDocument = optionalBoolean(p, 'includeJobDocument');
        const { job, execution: e } = await updateForDevice(store, scope, clock.now(), thingName, request.jobId, {
          status,
          statusDetails: optionalDetails(p),
          expectedVersion: optionalNumber(p, 'expectedVersion'),
          stepTimeoutInMinutes: optionalNumber(p, 'stepTimeoutInMinutes'),
          executionNumber: optionalNumber(p, 'executionNumber'),
        });
        return {
          ...(includeState ? { executionState: executionState(e) } : {}),
          ...(includeDocument ? { jobDocument: JSON.parse(job.document) as unknown } : {}),
        };
      }
    }
  }

  /**
   * Tells a connected thing, soon, its pending list (notify) and, if its next execution changed, that (notify-next).
   * Changes that come while a thing's notification waits are told in that one notification (it reads the state
   * when it goes out, so the device hears the latest; one after another per thing, never out of order).
   */
  notify(thingName: string): void {
    this.toNotify.add(thingName);
    if (this.notifying) return;
    this.notifying = true;
    setImmediate(() => void this.sendWaitingNotifications());
  }

  /** Forgets what a thing was told (it disconnected), so it is told its next execution afresh. */
  forget(thingName: string): void {
    this.lastNext.delete(thingName);
  }

  private async sendWaitingNotifications(): Promise<void> {
    while (this.toNotify.size > 0) {
      const batch: string[] = [];
      for (const thing of this.toNotify) {
        this.toNotify.delete(thing);
        if (batch.push(thing) >= NOTIFY_BATCH) break;
      }
      try {
        await this.sendNotifications(batch);
      } catch (err) {
        this.deps.log.error({ err, things: batch.length }, 'MQTT jobs notifications failed');
      }
    }
    this.notifying = false;
  }

  private async sendNotifications(things: string[]): Promise<void> {
    const { store, scope, clock } = this.deps;
    const pendingOf = await pendingExecutionsOf(store, scope, things);
    const sends: Promise<void>[] = [];
    for (const thingName of things) {
      const pending = pendingOf.get(thingName)!;
      const topics = notifyTopics(thingName);
      // Sorted IN_PROGRESS first, then QUEUED, each in queue order; at most LIST_NOTIFICATION_LIMIT in all.
      const listed = [...pending.inProgress, ...pending.queued].slice(0, LIST_NOTIFICATION_LIMIT);
      const byStatus: Record<string, ReturnType<typeof summary>[]> = {};
      for (const e of listed) (byStatus[e.status] ??= []).push(summary(e));
      const list = { timestamp: this.seconds, jobs: byStatus };
      for (const topic of topics.list) sends.push(this.deps.publish(topic, list));

      // notify-next only when the announcement changes (the fleet hot path).
      const nextExecution = nextOf(pending);
      const key = nextExecution ? `${nextExecution.jobId}#${nextExecution.executionNumber}` : '';
      if (this.lastNext.get(thingName) === key) continue;
      const job = nextExecution && (await this.jobContent(nextExecution.jobId));
      this.lastNext.set(thingName, key);
      const nextPayload = job && nextExecution ? { timestamp: this.seconds, execution: mqttExecution(clock.now(), { job, execution: nextExecution }, true) } : { timestamp: this.seconds };
      for (const topic of topics.next) sends.push(this.deps.publish(topic, nextPayload));
    }
    await Promise.all(sends);
  }
}

function parsePayload(raw: Buffer): Payload {
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new RequestError('InvalidJson', 'The request payload is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RequestError('InvalidJson', 'The request payload must be a JSON object.');
  return value as Payload;
}

const token = (p: Payload) => (typeof p.clientToken === 'string' ? p.clientToken : undefined);

function optionalNumber(p: Payload, field: string): number | undefined {
  const v = p[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new RequestError('InvalidRequest', `${field} must be an integer.`);
  return v;
}

function optionalBoolean(p: Payload, field: string): boolean | undefined {
  const v = p[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new RequestError('InvalidRequest', `${field} must be true or false.`);
  return v;
}

/** statusDetails: a map of strings to strings (the jobs core checks its size and lengths). */
function optionalDetails(p: Payload): Record<string, string> | undefined {
  const v = p.statusDetails;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new RequestError('InvalidRequest', 'statusDetails must be an object whose values are strings.');
  }
  return v as Record<string, string>;
}

/** The engine's errors as the ErrorResponse codes; executionState accompanies the two that concern the state. */
function fromDomainError(e: unknown): RequestError {
  if (!(e instanceof MeadowError)) return new RequestError('InternalError', 'The request could not be processed.');
  switch (e.kind) {
    case 'Invalid':
      return new RequestError('InvalidRequest', e.message);
    case 'NotFound':
      return new RequestError('ResourceNotFound', e.message);
    case 'VersionConflict':
      return new RequestError('VersionMismatch', e.message, true);
    case 'Conflict':
      return new RequestError('InvalidStateTransition', e.message, true);
    default:
      return new RequestError('InternalError', e.message);
  }
}
