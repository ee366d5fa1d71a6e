// The rollout worker: everything about group-deployment jobs that happens because time passed or the registry
// changed, not because of a request (semantics §1.2, §8.4).
// - Continuity: it follows the membership log (its position kept in a table row, so a restart resumes where it
//   stopped) and gives a thing that joins a deployed group, or one of its descendants, a QUEUED execution of the
//   group's IN_PROGRESS job; a thing that leaves while its execution is still QUEUED gets it REMOVED.
// - Pacing: it releases held-back executions as each job's rollout rate allows.
// - Timeouts: IN_PROGRESS executions past their deadline become TIMED_OUT.
// `tick()` does all of that for `clock.now()`; `start()` runs it on a timer, waking when work falls due and polling
// for membership changes other processes make. Several processes may run workers on one PostgreSQL database: every
// change happens in a transaction under the job's row lock (and the log position under its own), so nothing is
// released or changed twice.
import type { Clock } from '../core/clock.js';
import { applyServiceTransition, isExpired, queuedExecution } from '../core/jobs/index.js';
import type { MembershipChange, Scope, Store } from '../store/store.js';
import { executionsChanged } from './execution-events.js';
import { releaseDue, saveExecution } from './jobs.js';

/** The row of rollout_cursors that holds the worker's position in the membership log. */
const MEMBERSHIP_CONSUMER = 'rollout-membership';
const MEMBERSHIP_BATCH = 100;
const TIMEOUT_BATCH = 100;
/** How often the timer loop looks for work nobody told it about (membership changes, other processes' jobs). */
export const DEFAULT_POLL_MS = 1000;
/** The shortest sleep of the timer loop, so that a failing tick does not spin. */
const MIN_SLEEP_MS = 20;

export interface TickResult {
  /** Membership changes consumed. */
  membershipChanges: number;
  /** Executions released to their devices. */
  released: number;
  timedOut: number;
  /** When work is next due (a rollout slot frees, a timer runs out); undefined when nothing is scheduled. */
  nextDueAt?: number;
}

export interface RolloutWorkerOptions {
  store: Store;
  clock: Clock;
  scope: Scope;
  pollMs?: number;
  onError?: (err: unknown) => void;
}

export class RolloutWorker {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly scope: Scope;
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Ticks of one worker run one after another. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: RolloutWorkerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.scope = opts.scope;
    this.pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  }

  /** Does all work due at clock.now(). */
  tick(): Promise<TickResult> {
    const next = this.last.then(() => this.runTick());
    this.last = next.catch(() => undefined);
    return next;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.last;
  }

  private schedule(delayMs: number) {
    if (!this.running) return;
    this.timer = setTimeout(async () => {
      let wait = this.pollMs;
      try {
        const r = await this.tick();
        if (r.nextDueAt !== undefined) wait = Math.min(wait, r.nextDueAt - this.clock.now());
      } catch (e) {
        this.opts.onError?.(e);
      }
      this.schedule(Math.max(MIN_SLEEP_MS, wait));
    }, delayMs);
    this.timer.unref();
  }

  private async runTick(): Promise<TickResult> {
    const now = this.clock.now();
    const membershipChanges = await this.consumeMembership(now);
    const { released, nextReleaseAt } = await this.releaseAll(now);
    const timedOut = await this.sweepTimeouts(now);
    const nextTimeout = await this.store.earliestTimeoutAt(this.scope);
    const due = [nextReleaseAt, nextTimeout].filter((t): t is number => t !== undefined);
    return { membershipChanges, released, timedOut, nextDueAt: due.length > 0 ? Math.min(...due) : undefined };
  }

  private async consumeMembership(now: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.store.transaction(async (tx) => {
        const position = await tx.lockRolloutCursor(this.scope, MEMBERSHIP_CONSUMER);
        const changes = await tx.membershipChangesAfter(this.scope, position, MEMBERSHIP_BATCH);
        for (const c of changes) await this.applyMembershipChange(tx, c, now);
        if (changes.length > 0) await tx.setRolloutCursor(this.scope, MEMBERSHIP_CONSUMER, changes[changes.length - 1].seq);
        return changes.length;
      });
      total += n;
      if (n < MEMBERSHIP_BATCH) return total;
    }
  }

  /**
   * Brings one thing's executions in line with its membership now (not with the change alone: a later change in
   * the log may already have undone it). Jobs reach a group and all its descendants, so the jobs concerned are
   * those of the changed group and of its ancestors.
   */
  private async applyMembershipChange(tx: Store, c: MembershipChange, now: number): Promise<void> {
    const ancestors = await tx.ancestorsOf(this.scope, c.groupName);
    const jobs = await tx.inProgressJobsOfGroups(this.scope, [c.groupName, ...ancestors.map((g) => g.name)]);
    if (jobs.length === 0) return;
    const groupsOfThing = new Set(await tx.listGroupNamesOfThing(this.scope, c.thingName));
    for (const found of jobs) {
      const job = await tx.lockJob(this.scope, found.jobId);
      if (job?.status !== 'IN_PROGRESS') continue;
      const reached = (await tx.groupAndDescendantNames(this.scope, job.groupName)).some((g) => groupsOfThing.has(g));
      const latest = await tx.getJobExecution(this.scope, job.jobId, c.thingName);
      if (reached && (latest === undefined || latest.status === 'REMOVED')) {
        // Things that join after the job was created are notified at once, outside the rollout rate.
        await tx.insertJobExecutions(this.scope, [
          {
            ...queuedExecution(now),
            jobId: job.jobId,
            thingName: c.thingName,
            executionNumber: (latest?.executionNumber ?? 0) + 1,
            notifiedAt: now,
            rateLimited: false,
          },
        ]);
        executionsChanged(tx, this.scope, [c.thingName]);
      } else if (!reached && latest?.status === 'QUEUED') {
        const moved = applyServiceTransition(latest, 'REMOVED', now);
        if (moved.ok) await saveExecution(tx, this.scope, job, latest, moved.execution);
      }
    }
  }

  private async releaseAll(now: number): Promise<{ released: number; nextReleaseAt?: number }> {
    let released = 0;
    let nextReleaseAt: number | undefined;
    for (const jobId of await this.store.jobsWithUnreleasedExecutions(this.scope)) {
      await this.store.transaction(async (tx) => {
        const r = await releaseDue(tx, this.scope, jobId, now);
        released += r.released;
        if (r.nextAt !== undefined) nextReleaseAt = Math.min(nextReleaseAt ?? r.nextAt, r.nextAt);
      });
    }
    return { released, nextReleaseAt };
  }

  private async sweepTimeouts(now: number): Promise<number> {
    let timedOut = 0;
    for (;;) {
      const due = await this.store.dueTimeouts(this.scope, now, TIMEOUT_BATCH);
      const before = timedOut;
      for (const candidate of due) {
        timedOut += await this.store.transaction(async (tx) => {
          const job = await tx.lockJob(this.scope, candidate.jobId);
          const e = await tx.getJobExecution(this.scope, candidate.jobId, candidate.thingName, candidate.executionNumber);
          if (!job || !e || !isExpired(e, job.timeoutConfig, now)) return 0; // another process got there first
          const moved = applyServiceTransition(e, 'TIMED_OUT', now);
          if (!moved.ok) return 0;
          await saveExecution(tx, this.scope, job, e, moved.execution);
          return 1;
        });
      }
      // A full batch of which none could time out would come back the same: stop rather than spin.
      if (due.length < TIMEOUT_BATCH || timedOut === before) return timedOut;
    }
  }
}
