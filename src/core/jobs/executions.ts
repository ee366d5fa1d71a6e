// The job execution state machine (semantics §8.4; IOTDOC `iot-jobs-lifecycle.md`, `jobs-mqtt-api.md`, `jobs-api.md`
// ErrorResponse). Pure: the MQTT and HTTP jobs APIs call these and turn a rejection into their `…/rejected` reply or
// exception; the store persists whatever execution comes back.
//
//   QUEUED ──device──> IN_PROGRESS ──device──> IN_PROGRESS (new statusDetails, optional step timer)
//   QUEUED | IN_PROGRESS ──device──> SUCCEEDED | FAILED | REJECTED          (terminal)
//   IN_PROGRESS ──service (timer ran out)──> TIMED_OUT                     (terminal)
//   QUEUED ──service (thing no longer a target)──> REMOVED                 (terminal)
//   QUEUED, or IN_PROGRESS when forced ──service (cancel, abort)──> CANCELED (terminal)
// A device may go straight from QUEUED to a terminal status: the nucleus reports FAILED for an unparsable document and
// REJECTED for a stale one without reporting IN_PROGRESS first (semantics §2.2).
import type { FieldViolation } from '../errors.js';
import { MINUTE_MS, isExpired } from './timeout.js';
import type { JobExecution, JobExecutionStatus, StatusDetails, TimeoutConfig } from './types.js';

const TERMINAL: ReadonlySet<JobExecutionStatus> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED']);

export const isTerminal = (status: JobExecutionStatus): boolean => TERMINAL.has(status);

/** What UpdateJobExecution accepts as `status` ("IN_PROGRESS, FAILED, SUCCEEDED, or REJECTED"). */
export const DEVICE_STATUSES = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** Statuses only the Jobs service sets. */
export const SERVICE_STATUSES = ['TIMED_OUT', 'REMOVED', 'CANCELED'] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

const isDeviceStatus = (s: string): s is DeviceStatus => (DEVICE_STATUSES as readonly string[]).includes(s);

/** Whether a device may move an execution from `from` to `to` (timers and versions aside). */
export function deviceMayRequest(from: JobExecutionStatus, to: string): boolean {
  return !isTerminal(from) && isDeviceStatus(to);
}

/** A freshly queued execution; the notifications doc shows new executions at versionNumber 1. */
export function queuedExecution(now: number): JobExecution {
  return { status: 'QUEUED', statusDetails: {}, queuedAt: now, lastUpdatedAt: now, versionNumber: 1 };
}

/** The `executionState` the Jobs APIs return, also inside InvalidStateTransition and VersionMismatch rejections. */
export function executionState(e: JobExecution): Pick<JobExecution, 'status' | 'statusDetails' | 'versionNumber'> {
  return { status: e.status, statusDetails: e.statusDetails, versionNumber: e.versionNumber };
}

/** Error codes of the jobs ErrorResponse (MQTT) that map to the HTTP API's exceptions of the same stem. */
export type RejectionCode = 'InvalidRequest' | 'InvalidStateTransition' | 'VersionMismatch';

export type RejectionReason =
  | 'notADeviceStatus' //     InvalidRequest: the device asked for QUEUED, TIMED_OUT, REMOVED or CANCELED
  | 'invalidStatusDetails' // InvalidRequest
  | 'invalidStepTimeout' //   InvalidRequest
  | 'terminal' //             InvalidStateTransition: the execution has already ended
  | 'timedOut' //             InvalidStateTransition: its timer ran out before this update arrived
  | 'notAllowed' //           InvalidStateTransition: the service transition does not apply to the current status
  | 'versionMismatch'; //     VersionMismatch: expectedVersion differs from versionNumber

export interface Rejection<E extends JobExecution> {
  ok: false;
  code: RejectionCode;
  reason: RejectionReason;
  message: string;
  /** The execution as it now stands, for the reply's `executionState`. */
  execution: E;
  /**
   * True when the execution itself changed although the request was rejected: an update that arrived after the
   * execution's deadline moves it to TIMED_OUT, and the caller must store that (conditionally on the old version).
   */
  changed: boolean;
}

export type TransitionResult<E extends JobExecution> = { ok: true; execution: E } | Rejection<E>;

export interface DeviceUpdateOptions {
  /** Reject with VersionMismatch unless the execution is at this version. */
  expectedVersion?: number;
  /** 1..10080 starts a step timer from now; -1 discards the current one; absent leaves it as it is. */
  stepTimeoutInMinutes?: number;
}

/** The largest step timer UpdateJobExecution accepts (7 days). */
export const MAX_STEP_TIMEOUT_MINUTES = 10080;

/**
 * UpdateJobExecution (and the status part of StartNextPendingJobExecution) as a device sends it. `statusDetails`
 * undefined keeps the current details; a map replaces them. Every accepted update, even IN_PROGRESS -> IN_PROGRESS with
 * the same details, increments versionNumber.
 *
 * Checks, in order: the request itself (InvalidRequest), the timers (an execution past its deadline times out now and
 * the update is refused), the current status (InvalidStateTransition), then expectedVersion (VersionMismatch).
 */
export function applyDeviceUpdate<E extends JobExecution>(
  execution: E,
  requestedStatus: string,
  statusDetails: StatusDetails | undefined,
  now: number,
  timeoutConfig: TimeoutConfig | undefined,
  options: DeviceUpdateOptions = {},
): TransitionResult<E> {
  if (!isDeviceStatus(requestedStatus)) {
    return reject(
      execution,
      'InvalidRequest',
      'notADeviceStatus',
      `A device can set a job execution's status only to ${DEVICE_STATUSES.join(', ')}; ${JSON.stringify(requestedStatus)} is set by the Jobs service or does not exist.`,
    );
  }
  const detailProblems = statusDetails === undefined ? [] : statusDetailsViolations(statusDetails);
  if (detailProblems.length > 0) {
    return reject(execution, 'InvalidRequest', 'invalidStatusDetails', detailProblems.map((v) => v.message).join('; '));
  }
  const step = options.stepTimeoutInMinutes;
  if (step !== undefined && !(step === -1 || (Number.isInteger(step) && step >= 1 && step <= MAX_STEP_TIMEOUT_MINUTES))) {
    return reject(
      execution,
      'InvalidRequest',
      'invalidStepTimeout',
      `stepTimeoutInMinutes must be an integer from 1 to ${MAX_STEP_TIMEOUT_MINUTES}, or -1 to discard the current step timer; got ${step}.`,
    );
  }

  if (isExpired(execution, timeoutConfig, now)) {
    const timedOut = moveTo(execution, 'TIMED_OUT', now, execution.statusDetails);
    return reject(
      timedOut,
      'InvalidStateTransition',
      'timedOut',
      `The job execution timed out before this update arrived; it is now TIMED_OUT and cannot become ${requestedStatus}.`,
      true,
    );
  }
  if (isTerminal(execution.status)) {
    return reject(
      execution,
      'InvalidStateTransition',
      'terminal',
      `The job execution is already ${execution.status}, a terminal status; it cannot become ${requestedStatus}.`,
    );
  }
  if (options.expectedVersion !== undefined && options.expectedVersion !== execution.versionNumber) {
    return reject(
      execution,
      'VersionMismatch',
      'versionMismatch',
      `expectedVersion ${options.expectedVersion} does not match the job execution's current version ${execution.versionNumber}.`,
    );
  }

  const next = moveTo(execution, requestedStatus, now, statusDetails ?? execution.statusDetails);
  if (requestedStatus === 'IN_PROGRESS') {
    // The in-progress timer starts on the first move to IN_PROGRESS and is never restarted.
    next.startedAt = execution.startedAt ?? now;
    const stepTimeoutAt = step === undefined ? execution.stepTimeoutAt : step === -1 ? undefined : now + step * MINUTE_MS;
    if (stepTimeoutAt !== undefined) next.stepTimeoutAt = stepTimeoutAt;
  }
  return { ok: true, execution: next };
}

export interface ServiceTransitionOptions {
  /** CancelJob / CancelJobExecution `force`: also cancel an IN_PROGRESS execution (otherwise only QUEUED ones). */
  force?: boolean;
  /** CancelJobExecution may set statusDetails; undefined keeps the current ones. */
  statusDetails?: StatusDetails;
}

/**
 * A change only the Jobs service makes: TIMED_OUT (an IN_PROGRESS execution's timer ran out), REMOVED (a QUEUED
 * execution's thing left the target group; an IN_PROGRESS one keeps running) or CANCELED (CancelJob, CancelJobExecution,
 * a new deployment revision or an abort; IN_PROGRESS only with `force`, as CancelJobExecution without force answers
 * InvalidStateTransition).
 */
export function applyServiceTransition<E extends JobExecution>(
  execution: E,
  to: ServiceStatus,
  now: number,
  options: ServiceTransitionOptions = {},
): TransitionResult<E> {
  const from = execution.status;
  if (isTerminal(from)) {
    return reject(execution, 'InvalidStateTransition', 'terminal', `The job execution is already ${from}, a terminal status; it cannot become ${to}.`);
  }
  const allowed =
    to === 'TIMED_OUT' ? from === 'IN_PROGRESS' : to === 'REMOVED' ? from === 'QUEUED' : from === 'QUEUED' || options.force === true;
  if (!allowed) {
    const why =
      to === 'CANCELED' ? 'cancelling an IN_PROGRESS execution needs force' : `only ${to === 'TIMED_OUT' ? 'IN_PROGRESS' : 'QUEUED'} executions can become ${to}`;
    return reject(execution, 'InvalidStateTransition', 'notAllowed', `The job execution is ${from}; ${why}.`);
  }
  return { ok: true, execution: moveTo(execution, to, now, options.statusDetails ?? execution.statusDetails) };
}

/**
 * Problems with a statusDetails map, by the model's DetailsMap rules (key 1..128 chars of `[a-zA-Z0-9:_-]`, value at
 * least one character and no control characters) plus the documented 1,024-character limit on values.
 */
export function statusDetailsViolations(details: StatusDetails): FieldViolation[] {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    return [{ name: 'statusDetails', message: 'statusDetails must be a map of string keys to string values' }];
  }
  const out: FieldViolation[] = [];
  for (const [key, value] of Object.entries(details)) {
    const at = `statusDetails.${key}`;
    const bad = (rule: string) => out.push({ name: at, message: `Value ${JSON.stringify(value)?.slice(0, 200)} at '${at}' failed to satisfy constraint: ${rule}` });
    if (!/^[a-zA-Z0-9:_-]{1,128}$/.test(key)) bad('Member key must be 1 to 128 characters from [a-zA-Z0-9:_-]');
    if (typeof value !== 'string') bad('Member must be a string');
    else if (value.length === 0) bad('Member must have length greater than or equal to 1');
    else if (Array.from(value).length > 1024) bad('Member must have length less than or equal to 1024');
    else if (!/^[^\p{C}]+$/u.test(value)) bad('Member must not contain control or other non-printable characters');
  }
  return out;
}

/** The next version of an execution in `status`; step timers end with IN_PROGRESS, so they are dropped here. */
function moveTo<E extends JobExecution>(e: E, status: JobExecutionStatus, now: number, statusDetails: StatusDetails): E {
  const { stepTimeoutAt: _dropped, ...rest } = e;
  return { ...rest, status, statusDetails, lastUpdatedAt: now, versionNumber: e.versionNumber + 1 } as E;
}

function reject<E extends JobExecution>(
  execution: E,
  code: RejectionCode,
  reason: RejectionReason,
  message: string,
  changed = false,
): Rejection<E> {
  return { ok: false, code, reason, message, execution, changed };
}
