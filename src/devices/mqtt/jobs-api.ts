// The IoT Jobs MQTT API for devices (IoT `jobs-mqtt-api`, `jobs-comm-notifications`), on the engine's device-side
// functions (src/engine/device-jobs.ts), which hold every state rule. Requests arrive on a thing's
// `$aws/things/<thing>/jobs/...` topics; replies go to the request topic + `/accepted` or `/rejected`, notifications to
// `notify` and `notify-next` (each also in the Greengrass namespace form). Times are epoch seconds, as on AWS.
import { execution, summary } from '../../api/iot-jobs-data/index.js';
import type { Clock } from '../../core/clock.js';
import { MeadowError } from '../../core/errors.js';
import { executionState } from '../../core/jobs/index.js';
import {
  describeForDevice,
  executionNotFound,
  NEXT_JOB_ID,
  nextOf,
  pendingExecutions,
  startNextForDevice,
  updateForDevice,
  type DeviceExecution,
} from '../../engine/device-jobs.js';
import type { Scope, Store } from '../../store/store.js';
import { notifyTopics, parseJobsRequest, type JobsRequest } from './topics.js';

/** A ListNotification names at most this many pending executions (IoT `jobs-comm-notifications`). */
const LIST_NOTIFICATION_LIMIT = 15;

type Publish = (topic: string, payload: object) => Promise<void>;

export interface JobsApiDeps {
  store: Store;
  scope: Scope;
  clock: Clock;
  publish: Publish;
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
  return includeJobDocument ? { ...e, jobDocument: JSON.parse(found.job.document) as unknown } : e;
}

export class MqttJobsApi {
  /** Per thing, the jobId (with execution number) last announced on notify-next, so it is announced when it changes. */
  private readonly lastNext = new Map<string, string>();
  /** Notifications of one thing go out one after another, in the order of the changes. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly deps: JobsApiDeps) {}

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
        const current = await describeForDevice(this.deps.store, this.deps.scope, thingName, request.jobId, optionalNumber(payload, 'executionNumber'));
        if (current) rejection.executionState = executionState(current.execution);
      }
      await this.deps.publish(`${topic}/rejected`, rejection);
    }
  }

  private async serve(thingName: string, request: JobsRequest, p: Payload): Promise<Payload> {
    const { store, scope, clock } = this.deps;
    switch (request.kind) {
      case 'getPending': {
        const { inProgress, queued } = await pendingExecutions(store, scope, thingName);
        return { inProgressJobs: inProgress.map(summary), queuedJobs: queued.map(summary) };
      }
      case 'describe': {
        const executionNumber = optionalNumber(p, 'executionNumber');
        const found = await describeForDevice(store, scope, thingName, request.jobId, executionNumber);
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

  /** Tells a connected thing its pending list (notify) and, if its next execution changed, that (notify-next). */
  notify(thingName: string): Promise<void> {
    const run = (this.queues.get(thingName) ?? Promise.resolve()).then(() => this.sendNotifications(thingName));
    const settled = run.catch(() => undefined);
    this.queues.set(thingName, settled);
    void settled.then(() => {
      if (this.queues.get(thingName) === settled) this.queues.delete(thingName);
    });
    return run;
  }

  /** Forgets what a thing was told (it disconnected), so it is told its next execution afresh. */
  forget(thingName: string): void {
    this.lastNext.delete(thingName);
  }

  private async sendNotifications(thingName: string): Promise<void> {
    const { store, scope, clock } = this.deps;
    const topics = notifyTopics(thingName);
    const pending = await pendingExecutions(store, scope, thingName);
    // Sorted IN_PROGRESS first, then QUEUED, each in queue order; at most LIST_NOTIFICATION_LIMIT in all.
    const listed = [...pending.inProgress, ...pending.queued].slice(0, LIST_NOTIFICATION_LIMIT);
    const jobs: Record<string, ReturnType<typeof summary>[]> = {};
    for (const e of listed) (jobs[e.status] ??= []).push(summary(e));
    const list = { timestamp: this.seconds, jobs };
    for (const topic of topics.list) await this.deps.publish(topic, list);

    // $next from the list just read; its job is read only when the announcement changes (the fleet hot path).
    const nextExecution = nextOf(pending);
    const key = nextExecution ? `${nextExecution.jobId}#${nextExecution.executionNumber}` : '';
    if (this.lastNext.get(thingName) === key) return;
    const job = nextExecution && (await store.getJob(scope, nextExecution.jobId));
    const next = job && nextExecution && { job, execution: nextExecution };
    this.lastNext.set(thingName, key);
    const nextPayload = next ? { timestamp: this.seconds, execution: mqttExecution(clock.now(), next, true) } : { timestamp: this.seconds };
    for (const topic of topics.next) await this.deps.publish(topic, nextPayload);
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
