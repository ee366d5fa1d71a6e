// In-progress timeouts (semantics §8.3/§8.4; IoT `TimeoutConfig`, `jobs-configurations-details` "Timers for job
// timeouts"). Two timers bound an IN_PROGRESS execution:
// - the job's in-progress timer, `inProgressTimeoutInMinutes` counted from when the execution entered IN_PROGRESS
//   (QUEUED executions never time out);
// - an optional step timer a device sets with `stepTimeoutInMinutes`, which "can't exceed the in-progress timer's
//   absolute bound".
// The execution times out at the earlier of the two. It counts as expired from that instant on (now >= deadline), so
// a scheduler that sleeps until the deadline finds it expired when it wakes.
import type { JobExecution, TimeoutConfig } from './types.js';

export const MINUTE_MS = 60_000;

/** When an IN_PROGRESS execution times out; undefined when it is not IN_PROGRESS or no timer applies. */
export function timeoutAt(execution: JobExecution, timeoutConfig: TimeoutConfig | undefined): number | undefined {
  if (execution.status !== 'IN_PROGRESS') return undefined;
  const minutes = timeoutConfig?.inProgressTimeoutInMinutes;
  const inProgressDeadline =
    minutes !== undefined && execution.startedAt !== undefined ? execution.startedAt + minutes * MINUTE_MS : undefined;
  return earlier(inProgressDeadline, execution.stepTimeoutAt);
}

export function isExpired(execution: JobExecution, timeoutConfig: TimeoutConfig | undefined, now: number): boolean {
  const deadline = timeoutAt(execution, timeoutConfig);
  return deadline !== undefined && now >= deadline;
}

/** The executions (of one job) whose timer has run out at `now`; each should become TIMED_OUT. */
export function expiredExecutions<E extends JobExecution>(
  executions: readonly E[],
  now: number,
  timeoutConfig: TimeoutConfig | undefined,
): E[] {
  return executions.filter((e) => isExpired(e, timeoutConfig, now));
}

/** The earliest deadline among the executions, for a scheduler to sleep until; undefined when none is running a timer. */
export function nextTimeoutAt(executions: readonly JobExecution[], timeoutConfig: TimeoutConfig | undefined): number | undefined {
  let next: number | undefined;
  for (const e of executions) next = earlier(next, timeoutAt(e, timeoutConfig));
  return next;
}

/**
 * The Jobs APIs' `approximateSecondsBeforeTimedOut`: whole seconds left, rounded up so that it reads 0 only once the
 * execution is due; undefined when no timer runs.
 */
export function approximateSecondsBeforeTimedOut(
  execution: JobExecution,
  timeoutConfig: TimeoutConfig | undefined,
  now: number,
): number | undefined {
  const deadline = timeoutAt(execution, timeoutConfig);
  return deadline === undefined ? undefined : Math.max(0, Math.ceil((deadline - now) / 1000));
}

function earlier(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
