// IoT Jobs rules (src/core/jobs): pure functions, so no server here. Times are epoch ms on a made-up clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_MAXIMUM_PER_MINUTE,
  JOB_EXECUTION_STATUSES,
  ROLLOUT_WINDOW_MS,
  applyDeviceUpdate,
  applyServiceTransition,
  approximateSecondsBeforeTimedOut,
  deviceMayRequest,
  evaluateAbort,
  executionState,
  expiredExecutions,
  isTerminal,
  jobProcessDetails,
  nextTimeoutAt,
  queuedExecution,
  rolloutAllowance,
  rolloutRatePerMinute,
  timeoutAt,
  type AbortCriteria,
  type JobExecution,
  type JobExecutionStatus,
  type JobProcessDetails,
  type Rejection,
  type RolloutConfig,
  type RolloutInput,
  type TransitionResult,
} from '../src/core/jobs/index.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** An execution carrying identity fields, to show they survive every transition. */
type Exec = JobExecution & { jobId: string; thingName: string };
const queued = (at = T0): Exec => ({ ...queuedExecution(at), jobId: 'job-1', thingName: 'core-1' });

function accepted<E extends JobExecution>(r: TransitionResult<E>): E {
  assert.ok(r.ok, r.ok ? '' : `expected the change to be accepted, got ${r.code}/${r.reason}: ${r.message}`);
  return r.execution;
}
function rejected<E extends JobExecution>(r: TransitionResult<E>): Rejection<E> {
  assert.ok(!r.ok, `expected a rejection, got status ${r.ok && r.execution.status}`);
  return r;
}
/** Walks an execution to `status` the way devices and the service would. */
function executionIn(status: JobExecutionStatus, at = T0): Exec {
  const q = queued(at);
  if (status === 'QUEUED') return q;
  if (status === 'REMOVED' || status === 'CANCELED') return accepted(applyServiceTransition(q, status, at + 1));
  const running = accepted(applyDeviceUpdate(q, 'IN_PROGRESS', undefined, at + 1, undefined));
  if (status === 'IN_PROGRESS') return running;
  if (status === 'TIMED_OUT') return accepted(applyServiceTransition(running, 'TIMED_OUT', at + 2));
  return accepted(applyDeviceUpdate(running, status, undefined, at + 2, undefined));
}

describe('job execution states', () => {
  const TERMINAL: JobExecutionStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED'];

  it('treats SUCCEEDED, FAILED, TIMED_OUT, REJECTED, REMOVED and CANCELED as terminal, QUEUED and IN_PROGRESS as not', () => {
    assert.deepEqual(JOB_EXECUTION_STATUSES.filter(isTerminal), TERMINAL);
  });

  it('queues a new execution at versionNumber 1 with no statusDetails', () => {
    assert.deepEqual(queuedExecution(T0), { status: 'QUEUED', statusDetails: {}, queuedAt: T0, lastUpdatedAt: T0, versionNumber: 1 });
  });

  it('lets a device ask only for IN_PROGRESS, SUCCEEDED, FAILED or REJECTED, and only while QUEUED or IN_PROGRESS', () => {
    for (const from of JOB_EXECUTION_STATUSES) {
      for (const to of JOB_EXECUTION_STATUSES) {
        const expected = (from === 'QUEUED' || from === 'IN_PROGRESS') && ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'].includes(to);
        assert.equal(deviceMayRequest(from, to), expected, `${from} -> ${to}`);
      }
    }
  });
});

describe('applyDeviceUpdate', () => {
  it('QUEUED -> IN_PROGRESS starts the execution: version 2, startedAt and lastUpdatedAt = now, details kept', () => {
    const q = { ...queued(), statusDetails: { step: 'queued' } };
    const e = accepted(applyDeviceUpdate(q, 'IN_PROGRESS', undefined, T0 + 5000, undefined));
    assert.deepEqual(e, { ...q, status: 'IN_PROGRESS', startedAt: T0 + 5000, lastUpdatedAt: T0 + 5000, versionNumber: 2 });
  });

  it('IN_PROGRESS -> IN_PROGRESS replaces statusDetails, keeps startedAt and bumps the version every time', () => {
    const running = executionIn('IN_PROGRESS');
    const once = accepted(applyDeviceUpdate(running, 'IN_PROGRESS', { progress: '50%', phase: 'download' }, T0 + MIN, undefined));
    assert.deepEqual(once.statusDetails, { progress: '50%', phase: 'download' });
    assert.equal(once.startedAt, running.startedAt);
    assert.equal(once.versionNumber, running.versionNumber + 1);
    // Same status, same details: still a change, still a new version.
    const twice = accepted(applyDeviceUpdate(once, 'IN_PROGRESS', { progress: '50%', phase: 'download' }, T0 + 2 * MIN, undefined));
    assert.equal(twice.versionNumber, once.versionNumber + 1);
    assert.equal(twice.lastUpdatedAt, T0 + 2 * MIN);
    // A new map replaces the old one rather than merging into it.
    const replaced = accepted(applyDeviceUpdate(twice, 'IN_PROGRESS', { progress: '90%' }, T0 + 3 * MIN, undefined));
    assert.deepEqual(replaced.statusDetails, { progress: '90%' });
  });

  for (const end of ['SUCCEEDED', 'FAILED', 'REJECTED'] as const) {
    it(`QUEUED -> ${end} directly (the nucleus reports stale or unparsable deployments without IN_PROGRESS)`, () => {
      const e = accepted(applyDeviceUpdate(queued(), end, { 'detailed-deployment-status': 'REJECTED' }, T0 + 10, undefined));
      assert.equal(e.status, end);
      assert.equal(e.startedAt, undefined);
      assert.equal(e.versionNumber, 2);
      assert.deepEqual(e.statusDetails, { 'detailed-deployment-status': 'REJECTED' });
    });

    it(`IN_PROGRESS -> ${end}`, () => {
      const running = executionIn('IN_PROGRESS');
      const e = accepted(applyDeviceUpdate(running, end, undefined, T0 + MIN, { inProgressTimeoutInMinutes: 10 }));
      assert.equal(e.status, end);
      assert.equal(e.startedAt, running.startedAt);
      assert.equal(e.versionNumber, running.versionNumber + 1);
      assert.equal(e.jobId, 'job-1');
      assert.equal(e.thingName, 'core-1');
    });
  }

  for (const status of ['QUEUED', 'TIMED_OUT', 'REMOVED', 'CANCELED', 'SUCCESS', ''] as const) {
    it(`refuses a device's request for ${JSON.stringify(status)} as InvalidRequest and leaves the execution alone`, () => {
      const running = executionIn('IN_PROGRESS');
      const r = rejected(applyDeviceUpdate(running, status, undefined, T0 + MIN, undefined));
      assert.equal(r.code, 'InvalidRequest');
      assert.equal(r.reason, 'notADeviceStatus');
      assert.match(r.message, /IN_PROGRESS, SUCCEEDED, FAILED, REJECTED/);
      assert.equal(r.execution, running);
      assert.equal(r.changed, false);
    });
  }

  for (const from of ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED'] as const) {
    it(`refuses every device status once the execution is ${from} (InvalidStateTransition, current state attached)`, () => {
      const ended = executionIn(from);
      for (const to of ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED']) {
        const r = rejected(applyDeviceUpdate(ended, to, { a: 'b' }, T0 + MIN, undefined));
        assert.equal(r.code, 'InvalidStateTransition');
        assert.equal(r.reason, 'terminal');
        assert.match(r.message, new RegExp(`already ${from}.*cannot become ${to}`));
        assert.deepEqual(executionState(r.execution), { status: from, statusDetails: ended.statusDetails, versionNumber: ended.versionNumber });
        assert.equal(r.changed, false);
      }
    });
  }

  it('checks expectedVersion: VersionMismatch with the current state when it differs, accepted when it matches', () => {
    const running = executionIn('IN_PROGRESS'); // version 2
    const r = rejected(applyDeviceUpdate(running, 'SUCCEEDED', undefined, T0 + MIN, undefined, { expectedVersion: 1 }));
    assert.equal(r.code, 'VersionMismatch');
    assert.equal(r.execution.versionNumber, 2);
    assert.match(r.message, /expectedVersion 1 .* current version 2/);
    assert.equal(accepted(applyDeviceUpdate(running, 'SUCCEEDED', undefined, T0 + MIN, undefined, { expectedVersion: 2 })).versionNumber, 3);
  });

  it('reports a terminal execution as InvalidStateTransition even when expectedVersion is also stale', () => {
    const r = rejected(applyDeviceUpdate(executionIn('SUCCEEDED'), 'IN_PROGRESS', undefined, T0 + MIN, undefined, { expectedVersion: 1 }));
    assert.equal(r.code, 'InvalidStateTransition');
  });

  describe('after the in-progress timer ran out', () => {
    const timeout = { inProgressTimeoutInMinutes: 10 };
    const running = accepted(applyDeviceUpdate(queued(), 'IN_PROGRESS', { phase: 'install' }, T0, timeout)); // times out at T0 + 10 min

    it('accepts an update 1 ms before the deadline', () => {
      assert.equal(accepted(applyDeviceUpdate(running, 'SUCCEEDED', undefined, T0 + 10 * MIN - 1, timeout)).status, 'SUCCEEDED');
    });

    it('at the deadline, refuses the update and hands back the TIMED_OUT execution to store', () => {
      const r = rejected(applyDeviceUpdate(running, 'SUCCEEDED', { result: 'ok' }, T0 + 10 * MIN, timeout));
      assert.equal(r.code, 'InvalidStateTransition');
      assert.equal(r.reason, 'timedOut');
      assert.equal(r.changed, true);
      assert.equal(r.execution.status, 'TIMED_OUT');
      assert.equal(r.execution.versionNumber, running.versionNumber + 1);
      assert.equal(r.execution.lastUpdatedAt, T0 + 10 * MIN);
      assert.deepEqual(r.execution.statusDetails, { phase: 'install' }, "the late update's details are not applied");
      assert.equal(r.execution.thingName, 'core-1');
    });

    it('the stored TIMED_OUT execution then refuses updates as terminal', () => {
      const r = rejected(applyDeviceUpdate(running, 'SUCCEEDED', undefined, T0 + 11 * MIN, timeout));
      const again = rejected(applyDeviceUpdate(r.execution, 'SUCCEEDED', undefined, T0 + 12 * MIN, timeout));
      assert.equal(again.reason, 'terminal');
      assert.equal(again.changed, false);
    });

    it('never times out a QUEUED execution: the timer starts at IN_PROGRESS', () => {
      const q = queued(T0);
      const e = accepted(applyDeviceUpdate(q, 'IN_PROGRESS', undefined, T0 + 60 * MIN, timeout));
      assert.equal(e.startedAt, T0 + 60 * MIN);
      assert.equal(timeoutAt(e, timeout), T0 + 70 * MIN);
    });

    it('does not restart the timer on later IN_PROGRESS updates', () => {
      const later = accepted(applyDeviceUpdate(running, 'IN_PROGRESS', { phase: 'verify' }, T0 + 9 * MIN, timeout));
      assert.equal(timeoutAt(later, timeout), T0 + 10 * MIN);
    });
  });

  describe('statusDetails rules', () => {
    const running = executionIn('IN_PROGRESS');
    const refuse = (details: Record<string, unknown>, key: string, rule: RegExp) => {
      const r = rejected(applyDeviceUpdate(running, 'IN_PROGRESS', details as Record<string, string>, T0 + MIN, undefined));
      assert.equal(r.code, 'InvalidRequest');
      assert.equal(r.reason, 'invalidStatusDetails');
      assert.match(r.message, new RegExp(`at 'statusDetails\\.${key}'`));
      assert.match(r.message, rule);
      assert.equal(r.execution, running);
    };

    it('accepts the nucleus keys and values of exactly 1024 characters (counted as code points)', () => {
      const e = accepted(
        applyDeviceUpdate(running, 'FAILED', {
          'detailed-deployment-status': 'FAILED_ROLLBACK_COMPLETE',
          'deployment-error-stack': JSON.stringify(['DEPLOYMENT_FAILURE', 'COMPONENT_BROKEN']),
          'key:with_all-chars09': 'x'.repeat(1024),
          emoji: '🙂'.repeat(1024),
        }, T0 + MIN, undefined),
      );
      assert.equal(e.status, 'FAILED');
    });

    it('refuses a value of 1025 characters', () => refuse({ long: 'x'.repeat(1025) }, 'long', /less than or equal to 1024/));
    it('refuses an empty value', () => refuse({ empty: '' }, 'empty', /greater than or equal to 1/));
    it('refuses control characters in a value', () => refuse({ nl: 'a\nb' }, 'nl', /control/));
    it('refuses a non-string value', () => refuse({ n: 5 }, 'n', /must be a string/));
    it('refuses a key outside [a-zA-Z0-9:_-]', () => refuse({ 'has space': 'v' }, 'has space', /key/));
    it('refuses a key longer than 128 characters', () => refuse({ ['k'.repeat(129)]: 'v' }, 'k{129}', /1 to 128/));
  });

  describe('step timers', () => {
    it("follow the IoT guide's 20-minute example: 12:12, then 12:15, then capped at the in-progress bound 12:20", () => {
      const timeout = { inProgressTimeoutInMinutes: 20 };
      const start = accepted(applyDeviceUpdate(queued(), 'IN_PROGRESS', undefined, T0, timeout));
      assert.equal(timeoutAt(start, timeout), T0 + 20 * MIN);
      const at1205 = accepted(applyDeviceUpdate(start, 'IN_PROGRESS', undefined, T0 + 5 * MIN, timeout, { stepTimeoutInMinutes: 7 }));
      assert.equal(timeoutAt(at1205, timeout), T0 + 12 * MIN);
      const at1210 = accepted(applyDeviceUpdate(at1205, 'IN_PROGRESS', undefined, T0 + 10 * MIN, timeout, { stepTimeoutInMinutes: 5 }));
      assert.equal(timeoutAt(at1210, timeout), T0 + 15 * MIN);
      const at1213 = accepted(applyDeviceUpdate(at1210, 'IN_PROGRESS', undefined, T0 + 13 * MIN, timeout, { stepTimeoutInMinutes: 9 }));
      assert.equal(at1213.stepTimeoutAt, T0 + 22 * MIN);
      assert.equal(timeoutAt(at1213, timeout), T0 + 20 * MIN);
    });

    it('run without any job timeout, survive updates that do not mention them, and are discarded by -1', () => {
      const start = accepted(applyDeviceUpdate(queued(), 'IN_PROGRESS', undefined, T0, undefined, { stepTimeoutInMinutes: 3 }));
      assert.equal(timeoutAt(start, undefined), T0 + 3 * MIN);
      const kept = accepted(applyDeviceUpdate(start, 'IN_PROGRESS', { p: '1' }, T0 + MIN, undefined));
      assert.equal(timeoutAt(kept, undefined), T0 + 3 * MIN);
      const discarded = accepted(applyDeviceUpdate(kept, 'IN_PROGRESS', undefined, T0 + 2 * MIN, undefined, { stepTimeoutInMinutes: -1 }));
      assert.equal(discarded.stepTimeoutAt, undefined);
      assert.equal(timeoutAt(discarded, undefined), undefined);
      // A step timer that ran out times the execution out like the in-progress timer does.
      const r = rejected(applyDeviceUpdate(kept, 'SUCCEEDED', undefined, T0 + 3 * MIN, undefined));
      assert.equal(r.reason, 'timedOut');
    });

    it('end with the execution', () => {
      const start = accepted(applyDeviceUpdate(queued(), 'IN_PROGRESS', undefined, T0, undefined, { stepTimeoutInMinutes: 3 }));
      const done = accepted(applyDeviceUpdate(start, 'SUCCEEDED', undefined, T0 + MIN, undefined));
      assert.equal(done.stepTimeoutAt, undefined);
      assert.equal(timeoutAt(done, undefined), undefined);
    });

    for (const bad of [0, -2, 10081, 1.5, Number.NaN]) {
      it(`refuse stepTimeoutInMinutes ${bad} as InvalidRequest (1..10080 or -1)`, () => {
        const r = rejected(applyDeviceUpdate(queued(), 'IN_PROGRESS', undefined, T0, undefined, { stepTimeoutInMinutes: bad }));
        assert.equal(r.code, 'InvalidRequest');
        assert.equal(r.reason, 'invalidStepTimeout');
        assert.match(r.message, /1 to 10080, or -1/);
      });
    }

    it('accept the limits 1 and 10080', () => {
      for (const ok of [1, 10080]) {
        const e = accepted(applyDeviceUpdate(queued(), 'IN_PROGRESS', undefined, T0, undefined, { stepTimeoutInMinutes: ok }));
        assert.equal(e.stepTimeoutAt, T0 + ok * MIN);
      }
    });
  });
});

describe('applyServiceTransition', () => {
  it('TIMED_OUT applies to IN_PROGRESS only', () => {
    const running = executionIn('IN_PROGRESS');
    const e = accepted(applyServiceTransition(running, 'TIMED_OUT', T0 + MIN));
    assert.deepEqual([e.status, e.versionNumber, e.lastUpdatedAt], ['TIMED_OUT', running.versionNumber + 1, T0 + MIN]);
    const r = rejected(applyServiceTransition(queued(), 'TIMED_OUT', T0 + MIN));
    assert.deepEqual([r.code, r.reason], ['InvalidStateTransition', 'notAllowed']);
    assert.match(r.message, /only IN_PROGRESS executions can become TIMED_OUT/);
  });

  it('REMOVED applies to QUEUED only: an IN_PROGRESS execution keeps running when its thing leaves the group', () => {
    const e = accepted(applyServiceTransition(queued(), 'REMOVED', T0 + MIN));
    assert.deepEqual([e.status, e.versionNumber], ['REMOVED', 2]);
    const r = rejected(applyServiceTransition(executionIn('IN_PROGRESS'), 'REMOVED', T0 + MIN));
    assert.equal(r.reason, 'notAllowed');
    assert.match(r.message, /only QUEUED executions can become REMOVED/);
  });

  it('CANCELED applies to QUEUED, and to IN_PROGRESS only with force', () => {
    assert.equal(accepted(applyServiceTransition(queued(), 'CANCELED', T0 + MIN)).status, 'CANCELED');
    const running = executionIn('IN_PROGRESS');
    const r = rejected(applyServiceTransition(running, 'CANCELED', T0 + MIN));
    assert.equal(r.code, 'InvalidStateTransition');
    assert.match(r.message, /needs force/);
    const forced = accepted(applyServiceTransition(running, 'CANCELED', T0 + MIN, { force: true, statusDetails: { why: 'new revision' } }));
    assert.deepEqual([forced.status, forced.statusDetails], ['CANCELED', { why: 'new revision' }]);
  });

  it('changes nothing that has already ended', () => {
    for (const from of ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED'] as const) {
      for (const to of ['TIMED_OUT', 'REMOVED', 'CANCELED'] as const) {
        const r = rejected(applyServiceTransition(executionIn(from), to, T0 + MIN, { force: true }));
        assert.equal(r.reason, 'terminal', `${from} -> ${to}`);
      }
    }
  });
});

describe('timeouts', () => {
  const timeout = { inProgressTimeoutInMinutes: 10 };
  const startedAt = (t: number, thingName: string): Exec => ({ ...accepted(applyDeviceUpdate(queued(), 'IN_PROGRESS', undefined, t, timeout)), thingName });

  it('timeoutAt is startedAt + inProgressTimeoutInMinutes, and undefined when not IN_PROGRESS or without a timer', () => {
    assert.equal(timeoutAt(startedAt(T0, 'a'), timeout), T0 + 10 * MIN);
    assert.equal(timeoutAt(startedAt(T0, 'a'), undefined), undefined);
    assert.equal(timeoutAt(startedAt(T0, 'a'), {}), undefined);
    assert.equal(timeoutAt(queued(), timeout), undefined);
    assert.equal(timeoutAt(executionIn('SUCCEEDED'), timeout), undefined);
  });

  it('expiredExecutions picks exactly those whose deadline is <= now', () => {
    const all = [startedAt(T0, 'a'), startedAt(T0 + 1, 'b'), queued(T0 - 60 * MIN), executionIn('FAILED', T0 - 60 * MIN)];
    assert.deepEqual(expiredExecutions(all, T0 + 10 * MIN - 1, timeout), []);
    assert.deepEqual(expiredExecutions(all, T0 + 10 * MIN, timeout).map((e) => e.thingName), ['a']);
    assert.deepEqual(expiredExecutions(all, T0 + 10 * MIN + 1, timeout).map((e) => e.thingName), ['a', 'b']);
    assert.deepEqual(expiredExecutions(all, T0 + 100 * MIN, undefined), []);
  });

  it('nextTimeoutAt is the earliest deadline, for a scheduler to sleep until', () => {
    assert.equal(nextTimeoutAt([startedAt(T0 + 5, 'a'), startedAt(T0 + 2, 'b'), queued()], timeout), T0 + 2 + 10 * MIN);
    assert.equal(nextTimeoutAt([queued()], timeout), undefined);
  });

  it('approximateSecondsBeforeTimedOut rounds up and reaches 0 only at the deadline', () => {
    const e = startedAt(T0, 'a');
    assert.equal(approximateSecondsBeforeTimedOut(e, timeout, T0), 600);
    assert.equal(approximateSecondsBeforeTimedOut(e, timeout, T0 + 999), 600);
    assert.equal(approximateSecondsBeforeTimedOut(e, timeout, T0 + 1000), 599);
    assert.equal(approximateSecondsBeforeTimedOut(e, timeout, T0 + 10 * MIN - 1), 1);
    assert.equal(approximateSecondsBeforeTimedOut(e, timeout, T0 + 10 * MIN), 0);
    assert.equal(approximateSecondsBeforeTimedOut(e, timeout, T0 + 20 * MIN), 0);
    assert.equal(approximateSecondsBeforeTimedOut(queued(), timeout, T0), undefined);
    assert.equal(approximateSecondsBeforeTimedOut(e, undefined, T0), undefined);
  });
});

describe('rollout pacing', () => {
  const input = (config: RolloutConfig | undefined, over: Partial<RolloutInput> = {}): RolloutInput => ({
    config,
    jobStartedAt: T0,
    now: T0,
    notificationTimes: [],
    notifiedCount: 0,
    succeededCount: 0,
    ...over,
  });

  /** The most notifications in any 60-second span [a, a + 60 s). */
  function busiestWindow(times: number[]): number {
    const sorted = [...times].sort((a, b) => a - b);
    let best = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while (j < sorted.length && sorted[j] < sorted[i] + ROLLOUT_WINDOW_MS) j++;
      best = Math.max(best, j - i);
    }
    return best;
  }

  /**
   * A scheduler that notifies whatever is allowed, then sleeps until nextAt (or until its next wake-up tick, if it
   * has one), for `durationMs`. Returns the notification times.
   */
  function simulate(config: RolloutConfig, durationMs: number, pending: number, tickMs?: number): number[] {
    const times: number[] = [];
    let now = T0;
    while (now < T0 + durationMs && times.length < pending) {
      const a = rolloutAllowance(input(config, { now, notificationTimes: times, notifiedCount: times.length }));
      const n = Math.min(a.allowedNow, pending - times.length);
      for (let i = 0; i < n; i++) times.push(now);
      if (n > 0) continue;
      assert.ok(a.nextAt > now, 'nextAt must lie in the future when nothing is allowed');
      now = tickMs ? now + tickMs : a.nextAt;
    }
    return times;
  }

  it('imposes no limit without a rollout config, or with an empty one', () => {
    for (const config of [undefined, {}]) {
      assert.deepEqual(rolloutAllowance(input(config, { notificationTimes: Array(5000).fill(T0) })), {
        ratePerMinute: undefined,
        allowedNow: Infinity,
        nextAt: T0,
      });
    }
  });

  it('does not limit things that joined a continuous job after it was created', () => {
    const full = Array(100).fill(T0);
    assert.equal(rolloutAllowance(input({ maximumPerMinute: 100 }, { notificationTimes: full })).allowedNow, 0);
    assert.equal(rolloutAllowance(input({ maximumPerMinute: 100 }, { notificationTimes: full, addedAfterJobCreation: true })).allowedNow, Infinity);
  });

  it('notifies nobody before the job starts', () => {
    const a = rolloutAllowance(input({ maximumPerMinute: 100 }, { now: T0 - 1 }));
    assert.deepEqual([a.allowedNow, a.nextAt], [0, T0]);
  });

  it('maximumPerMinute counts a sliding 60 s window: a slot frees exactly 60 s after its notification', () => {
    const config = { maximumPerMinute: 100 };
    const times = [...Array(60).fill(T0), ...Array(40).fill(T0 + 30_000)];
    const at = (now: number) => rolloutAllowance(input(config, { now, notificationTimes: times, notifiedCount: 100 }));
    assert.deepEqual(at(T0 + 45_000), { ratePerMinute: 100, allowedNow: 0, nextAt: T0 + 60_000 });
    assert.equal(at(T0 + 59_999).allowedNow, 0);
    assert.equal(at(T0 + 60_000).allowedNow, 60);
    assert.equal(at(T0 + 89_999).allowedNow, 60);
    assert.equal(at(T0 + 90_000).allowedNow, 100);
    // Order of the history does not matter.
    assert.equal(rolloutAllowance(input(config, { now: T0 + 45_000, notificationTimes: [...times].reverse() })).nextAt, T0 + 60_000);
  });

  it('a 10-minute rollout at 100/min notifies exactly 1000, never more than 100 in any 60 s', () => {
    const times = simulate({ maximumPerMinute: 100 }, 10 * MIN, 5000);
    assert.equal(times.length, 1000);
    assert.equal(busiestWindow(times), 100);
  });

  it('stays within 100 in any 60 s when the scheduler wakes at odd moments', () => {
    for (const tick of [7_000, 13_000, 59_999, 61_000]) {
      const times = simulate({ maximumPerMinute: 100 }, 10 * MIN, 5000, tick);
      assert.ok(busiestWindow(times) <= 100, `tick ${tick}: ${busiestWindow(times)} in one window`);
      assert.ok(times.length <= 1000, `tick ${tick}: ${times.length} in ten minutes`);
    }
  });

  it("exponential rate follows the IoT guide's example: base 50, ×2 every 1000 notified -> 50, 100, 200, 400", () => {
    const config = { exponentialRate: { baseRatePerMinute: 50, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 1000 } } };
    const rates = [0, 999, 1000, 1999, 2000, 2999, 3000].map((n) => rolloutRatePerMinute(config, n, 0));
    assert.deepEqual(rates, [50, 50, 100, 100, 200, 200, 400]);
  });

  it('numberOfSucceededThings raises the rate by successes; with both criteria, whichever is further ahead counts', () => {
    const bySuccess = { exponentialRate: { baseRatePerMinute: 50, incrementFactor: 2, rateIncreaseCriteria: { numberOfSucceededThings: 1000 } } };
    assert.equal(rolloutRatePerMinute(bySuccess, 9000, 999), 50);
    assert.equal(rolloutRatePerMinute(bySuccess, 9000, 1000), 100);
    const both = { exponentialRate: { baseRatePerMinute: 50, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 1000, numberOfSucceededThings: 500 } } };
    assert.equal(rolloutRatePerMinute(both, 1000, 0), 100);
    assert.equal(rolloutRatePerMinute(both, 1000, 1000), 200);
  });

  it(`caps the exponential rate at maximumPerMinute, or at ${DEFAULT_MAXIMUM_PER_MINUTE} without one`, () => {
    const exponentialRate = { baseRatePerMinute: 50, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 1000 } };
    assert.equal(rolloutRatePerMinute({ exponentialRate }, 4000, 0), 800);
    assert.equal(rolloutRatePerMinute({ exponentialRate }, 5000, 0), 1000);
    assert.equal(rolloutRatePerMinute({ exponentialRate }, 1_000_000_000, 0), 1000);
    assert.equal(rolloutRatePerMinute({ exponentialRate, maximumPerMinute: 300 }, 2000, 0), 200);
    assert.equal(rolloutRatePerMinute({ exponentialRate, maximumPerMinute: 300 }, 3000, 0), 300);
    assert.equal(rolloutRatePerMinute({ exponentialRate: { ...exponentialRate, baseRatePerMinute: 500 }, maximumPerMinute: 100 }, 0, 0), 100);
  });

  it('rounds fractional rates down, computing them exactly (100 × 1.7² is 289, not 288.99…)', () => {
    const rate = (base: number, factor: number, k: number) =>
      rolloutRatePerMinute({ exponentialRate: { baseRatePerMinute: base, incrementFactor: factor, rateIncreaseCriteria: { numberOfNotifiedThings: 1 } } }, k, 0);
    assert.deepEqual([0, 1, 2, 3].map((k) => rate(10, 1.5, k)), [10, 15, 22, 33]);
    assert.equal(rate(100, 1.7, 2), 289);
    assert.equal(rate(100, 1.1, 3), 133);
    assert.equal(rate(7, 1, 500), 7, 'factor 1 never raises the rate');
  });

  it('a grant that crosses a notified-threshold continues at the higher rate', () => {
    const config = { exponentialRate: { baseRatePerMinute: 50, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 1000 } } };
    const a = rolloutAllowance(input(config, { notifiedCount: 990 }));
    // 10 at 50/min reach 1000 notified; from there 100/min applies to the whole window.
    assert.deepEqual(a, { ratePerMinute: 50, allowedNow: 100, nextAt: T0 });
    // With 45 already in the window, only 5 more fit at 50/min before the threshold is out of reach.
    assert.equal(rolloutAllowance(input(config, { notifiedCount: 900, notificationTimes: Array(45).fill(T0) })).allowedNow, 5);
  });

  it('paces an exponential rollout minute by minute, and several thresholds pass in one minute once the rate outgrows them', () => {
    // ×2 every 30 notified: 10/min until 30, 20/min until 60, 40/min until 90, ... At minute 4 the rate (40, then
    // 80, 160, …) outruns the 30-notification steps, so it climbs to the 1000 cap within that minute.
    const config = { exponentialRate: { baseRatePerMinute: 10, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 30 } } };
    const times = simulate(config, 5 * MIN, 100_000);
    const perMinute = [0, 1, 2, 3, 4].map((m) => times.filter((t) => t >= T0 + m * MIN && t < T0 + (m + 1) * MIN).length);
    assert.deepEqual(perMinute, [10, 10, 20, 40, 1000]);
    assert.equal(busiestWindow(times), 1000);
  });
});

describe('evaluateAbort', () => {
  const counts = (c: Partial<JobProcessDetails>): JobProcessDetails => ({ ...jobProcessDetails([]), ...c });
  const criterion = (failureType: AbortCriteria['failureType'], minNumberOfExecutedThings: number, thresholdPercentage: number): AbortCriteria => ({
    failureType,
    action: 'CANCEL',
    minNumberOfExecutedThings,
    thresholdPercentage,
  });
  // The IoT guide's example.
  const guide = [criterion('FAILED', 100, 20), criterion('TIMED_OUT', 200, 50)];

  it('does not check a criterion before minNumberOfExecutedThings executions completed', () => {
    assert.equal(evaluateAbort(guide, counts({ numberOfFailedThings: 99 })), undefined);
    const d = evaluateAbort(guide, counts({ numberOfFailedThings: 99, numberOfSucceededThings: 1 }));
    assert.equal(d?.criterionIndex, 0);
  });

  it('fires at exactly the threshold, not below it', () => {
    assert.equal(evaluateAbort(guide, counts({ numberOfFailedThings: 19, numberOfSucceededThings: 81 })), undefined);
    const d = evaluateAbort(guide, counts({ numberOfFailedThings: 20, numberOfSucceededThings: 80 }));
    assert.deepEqual(
      d && { index: d.criterionIndex, failed: d.failedCount, executed: d.executedCount, pct: d.percentage, type: d.criterion.failureType },
      { index: 0, failed: 20, executed: 100, pct: 20, type: 'FAILED' },
    );
  });

  it('fires on the execution that completes the count, not one before (min 100: the 100th)', () => {
    // Executions complete one by one, every third one failing: 33 failed of the first 99, then the 100th succeeds.
    const outcomes = Array.from({ length: 150 }, (_, i) => (i % 3 === 2 ? 'FAILED' : 'SUCCEEDED') as JobExecutionStatus);
    let firedAt: number | undefined;
    for (let n = 1; n <= outcomes.length && firedAt === undefined; n++) {
      if (evaluateAbort(guide, jobProcessDetails(outcomes.slice(0, n).map((status) => ({ status }))))) firedAt = n;
    }
    assert.equal(firedAt, 100);
  });

  it('fires on the failure that lifts the share to the threshold (min 10, 50%: the 20th execution)', () => {
    const list = [criterion('FAILED', 10, 50)];
    // Ten successes, then only failures: 9 of 19 is 47%, 10 of 20 is 50%.
    assert.equal(evaluateAbort(list, counts({ numberOfSucceededThings: 10, numberOfFailedThings: 9 })), undefined);
    assert.equal(evaluateAbort(list, counts({ numberOfSucceededThings: 10, numberOfFailedThings: 10 }))?.executedCount, 20);
  });

  it('checks criteria in list order and reports the first one met', () => {
    // FAILED 5% misses the first criterion; TIMED_OUT 100 of 200 meets the second.
    const second = evaluateAbort(guide, counts({ numberOfTimedOutThings: 100, numberOfFailedThings: 10, numberOfSucceededThings: 90 }));
    assert.deepEqual([second?.criterionIndex, second?.criterion.failureType, second?.failedCount, second?.executedCount], [1, 'TIMED_OUT', 100, 200]);
    // Both met: the first wins.
    const both = evaluateAbort(guide, counts({ numberOfTimedOutThings: 100, numberOfFailedThings: 60, numberOfSucceededThings: 40 }));
    assert.equal(both?.criterionIndex, 0);
  });

  it('ALL counts FAILED + REJECTED + TIMED_OUT; each other type only itself', () => {
    const c = counts({ numberOfFailedThings: 1, numberOfRejectedThings: 1, numberOfTimedOutThings: 1, numberOfSucceededThings: 7 });
    assert.equal(evaluateAbort([criterion('ALL', 10, 30)], c)?.failedCount, 3);
    assert.equal(evaluateAbort([criterion('ALL', 10, 30.01)], c), undefined);
    for (const type of ['FAILED', 'REJECTED', 'TIMED_OUT'] as const) {
      assert.equal(evaluateAbort([criterion(type, 10, 10)], c)?.failedCount, 1);
      assert.equal(evaluateAbort([criterion(type, 10, 10.01)], c), undefined);
    }
  });

  it('leaves REMOVED, CANCELED, QUEUED and IN_PROGRESS executions out of both counts', () => {
    const c = counts({ numberOfFailedThings: 5, numberOfSucceededThings: 4, numberOfRemovedThings: 50, numberOfCanceledThings: 50, numberOfQueuedThings: 50, numberOfInProgressThings: 50 });
    assert.equal(evaluateAbort([criterion('FAILED', 10, 1)], c), undefined, 'only 9 executions completed');
    const d = evaluateAbort([criterion('FAILED', 9, 55.55)], c);
    assert.deepEqual([d?.failedCount, d?.executedCount], [5, 9]);
  });

  it('compares two-decimal thresholds exactly', () => {
    assert.ok(evaluateAbort([criterion('FAILED', 1, 33.33)], counts({ numberOfFailedThings: 1, numberOfSucceededThings: 2 })));
    assert.equal(evaluateAbort([criterion('FAILED', 1, 33.34)], counts({ numberOfFailedThings: 1, numberOfSucceededThings: 2 })), undefined);
    // 357 of 2500 is exactly 14.28%.
    assert.ok(evaluateAbort([criterion('FAILED', 1, 14.28)], counts({ numberOfFailedThings: 357, numberOfSucceededThings: 2143 })));
    assert.equal(evaluateAbort([criterion('FAILED', 1, 14.28)], counts({ numberOfFailedThings: 356, numberOfSucceededThings: 2144 })), undefined);
    assert.equal(evaluateAbort([criterion('FAILED', 1, 100)], counts({ numberOfFailedThings: 99, numberOfSucceededThings: 1 })), undefined);
    assert.ok(evaluateAbort([criterion('FAILED', 1, 100)], counts({ numberOfFailedThings: 100 })));
  });

  it('gives a reasonCode and comment that fit CancelJob’s constraints', () => {
    const d = evaluateAbort(guide, counts({ numberOfFailedThings: 25, numberOfSucceededThings: 75 }))!;
    assert.match(d.reasonCode, /^[\p{Lu}\p{N}_]{1,128}$/u);
    assert.ok(d.comment.length <= 2028);
    assert.match(d.comment, /25 of 100 completed executions ended FAILED \(25%\).*20%.*criteriaList\[0\]/);
  });

  it('never fires without criteria', () => {
    assert.equal(evaluateAbort(undefined, counts({ numberOfFailedThings: 100 })), undefined);
    assert.equal(evaluateAbort([], counts({ numberOfFailedThings: 100 })), undefined);
  });
});

describe('jobProcessDetails', () => {
  it('counts executions per status under DescribeJob’s names, zeros included', () => {
    const statuses: JobExecutionStatus[] = ['QUEUED', 'QUEUED', 'IN_PROGRESS', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'CANCELED'];
    assert.deepEqual(jobProcessDetails(statuses.map((status) => ({ status }))), {
      numberOfQueuedThings: 2,
      numberOfInProgressThings: 1,
      numberOfSucceededThings: 3,
      numberOfFailedThings: 1,
      numberOfRejectedThings: 1,
      numberOfTimedOutThings: 1,
      numberOfRemovedThings: 0,
      numberOfCanceledThings: 1,
    });
  });

  it('follows executions through their transitions', () => {
    const running = executionIn('IN_PROGRESS');
    const done = accepted(applyDeviceUpdate(running, 'SUCCEEDED', undefined, T0 + MIN, undefined));
    assert.equal(jobProcessDetails([running]).numberOfInProgressThings, 1);
    assert.deepEqual([jobProcessDetails([done]).numberOfInProgressThings, jobProcessDetails([done]).numberOfSucceededThings], [0, 1]);
  });
});
