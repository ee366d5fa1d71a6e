// SqlStore's queries: IoT jobs (rollouts) and their executions: release, pacing reads, timeouts, the rollout cursor.
import { sql, type SelectQueryBuilder } from 'kysely';
import type { JobExecutionStatus } from '../../core/jobs/types.js';
import type { Database } from '../schema.js';
import type {
  Job,
  JobChange,
  JobExecutionFilter,
  JobFilter,
  Page,
  PageRequest,
  RolloutProgress,
  Scope,
  StoredJobExecution,
} from '../store.js';
import type { SqlBaseClass } from './base.js';
import { chunks, page, scoped, json, parse, IN_LIST_LIMIT } from './query.js';
import { toJob, toExecution, executionRow, type JobRow } from './rows.js';

/**
 * Inserting this many rows in one transaction refreshes the table's planner statistics after the commit: PostgreSQL plans a
 * table that grew from nearly empty as if it were still tiny and picks indexes that read every row (a rollout to
 * 10,000 devices spent seconds in such scans until autovacuum's ANALYZE came round).
 */
const BULK_ROWS = 1000;

type ExecutionQuery = SelectQueryBuilder<Database, 'job_executions', Database['job_executions']>;

export function withJobs<B extends SqlBaseClass>(Base: B) {
  return class extends Base {
  /** Executions inserted through this store (a transaction's own store: in that transaction). */
  private executionsInserted = 0;

    async insertJob(s: Scope, j: Job): Promise<void> {
      await this.db
        .insertInto('jobs')
        .values({
          account_id: s.accountId,
          region: s.region,
          job_id: j.jobId,
          deployment_id: j.deploymentId,
          target_arn: j.targetArn,
          group_name: j.groupName,
          namespace_id: j.namespaceId,
          target_selection: j.targetSelection,
          status: j.status,
          document: j.document,
          full_document: j.fullDocument,
          rollout_config: json(j.rolloutConfig),
          abort_config: json(j.abortConfig),
          timeout_config: json(j.timeoutConfig),
          created_at: j.createdAt,
          updated_at: j.updatedAt,
          completed_at: j.completedAt ?? null,
          reason_code: j.reasonCode ?? null,
          comment: j.comment ?? null,
          force_canceled: j.forceCanceled ? 1 : 0,
        })
        .execute();
    }

    async getJob(s: Scope, jobId: string): Promise<Job | undefined> {
      const r = await this.db
        .selectFrom('jobs')
        .selectAll()
        .$call(scoped(s))
        .where('job_id', '=', jobId)
        .executeTakeFirst();
      return r && toJob(r as JobRow);
    }

    async lockJob(s: Scope, jobId: string): Promise<Job | undefined> {
      if (this.dialect.name === 'postgres') {
        // SELECT ... FOR UPDATE locks the row without writing a new version of it: the no-op UPDATE below left one
        // dead version per job-execution update, and a job's row soon had tens of thousands of them to walk.
        const r = await this.db.selectFrom('jobs').selectAll().$call(scoped(s)).where('job_id', '=', jobId).forUpdate().executeTakeFirst();
        return r && toJob(r as JobRow);
      }
      // A write that changes nothing still takes SQLite's database lock until commit.
      await this.db
        .updateTable('jobs')
        .set({ updated_at: sql`updated_at` })
        .$call(scoped(s))
        .where('job_id', '=', jobId)
        .execute();
      return this.getJob(s, jobId);
    }

    async updateJob(s: Scope, jobId: string, c: JobChange): Promise<void> {
      const set: Partial<Record<keyof Database['jobs'], unknown>> = {};
      if (c.status !== undefined) set.status = c.status;
      if (c.updatedAt !== undefined) set.updated_at = c.updatedAt;
      if (c.completedAt !== undefined) set.completed_at = c.completedAt;
      if (c.reasonCode !== undefined) set.reason_code = c.reasonCode;
      if (c.comment !== undefined) set.comment = c.comment;
      if (c.forceCanceled !== undefined) set.force_canceled = c.forceCanceled ? 1 : 0;
      await this.db
        .updateTable('jobs')
        .set(set as any)
        .$call(scoped(s))
        .where('job_id', '=', jobId)
        .execute();
    }

    async listJobs(s: Scope, f: JobFilter, p: PageRequest): Promise<Page<Job>> {
      let q = this.db
        .selectFrom('jobs')
        .selectAll()
        .$call(scoped(s))
        .orderBy('seq', 'desc')
        .limit(p.limit + 1);
      if (f.status !== undefined) q = q.where('status', '=', f.status);
      if (f.groupName !== undefined) q = q.where('group_name', '=', f.groupName);
      if (f.namespaceId !== undefined) q = q.where('namespace_id', '=', f.namespaceId);
      if (p.after !== undefined) q = q.where('seq', '<', Number(p.after));
      const rows = (await q.execute()) as JobRow[];
      const result = page(rows, p.limit, (r) => String(r.seq));
      return { items: result.items.map(toJob), next: result.next };
    }

    async inProgressJobsOfGroups(s: Scope, groupNames: string[]): Promise<Job[]> {
      if (groupNames.length === 0) return [];
      const rows = await this.db
        .selectFrom('jobs')
        .selectAll()
        .$call(scoped(s))
        .where('group_name', 'in', groupNames)
        .where('status', '=', 'IN_PROGRESS')
        .orderBy('seq')
        .execute();
      return (rows as JobRow[]).map(toJob);
    }

    async jobsWithUnreleasedExecutions(s: Scope): Promise<string[]> {
      const rows = await this.db
        .selectFrom('job_executions as e')
        .innerJoin('jobs as j', (join) =>
          join.onRef('j.account_id', '=', 'e.account_id').onRef('j.region', '=', 'e.region').onRef('j.job_id', '=', 'e.job_id'),
        )
        .select('e.job_id')
        .distinct()
        .where('e.account_id', '=', s.accountId)
        .where('e.region', '=', s.region)
        .where('e.status', '=', 'QUEUED')
        .where('e.notified_at', 'is', null)
        .where('j.status', '=', 'IN_PROGRESS')
        .orderBy('e.job_id')
        .execute();
      return rows.map((r) => r.job_id);
    }

    async insertJobExecutions(s: Scope, executions: StoredJobExecution[]): Promise<void> {
      for (const batch of chunks(executions, IN_LIST_LIMIT)) {
        await this.db
          .insertInto('job_executions')
          .values(batch.map((e) => executionRow(s, e)))
          .execute();
      }
      const before = this.inTransaction ? this.executionsInserted : 0;
      this.executionsInserted = before + executions.length;
      if (before < BULK_ROWS && this.executionsInserted >= BULK_ROWS) this.afterCommit(() => this.dialect.refreshStatistics('job_executions'));
    }

    async getJobExecution(s: Scope, jobId: string, thingName: string, executionNumber?: number): Promise<StoredJobExecution | undefined> {
      let q = this.db
        .selectFrom('job_executions')
        .selectAll()
        .$call(scoped(s))
        .where('job_id', '=', jobId)
        .where('thing_name', '=', thingName)
        .orderBy('execution_number', 'desc')
        .limit(1);
      if (executionNumber !== undefined) q = q.where('execution_number', '=', executionNumber);
      const r = await q.executeTakeFirst();
      return r && toExecution(r);
    }

    async jobExecutionsOfThings(s: Scope, jobId: string, thingNames: string[]): Promise<StoredJobExecution[]> {
      return this.executionsOfThings(s, thingNames, (q) => q.where('job_id', '=', jobId));
    }

    async pendingExecutionsOfThings(s: Scope, thingNames: string[]): Promise<StoredJobExecution[]> {
      return this.executionsOfThings(s, thingNames, (q) =>
        q
          .where('status', 'in', ['IN_PROGRESS', 'QUEUED'])
          .where('notified_at', 'is not', null)
          .orderBy('thing_name')
          .orderBy('queued_at')
          .orderBy('job_id')
          .orderBy('execution_number'),
      );
    }

    /** Executions of many things, one query per IN-list chunk, narrowed by `where`. */
    private async executionsOfThings(s: Scope, thingNames: string[], where: (q: ExecutionQuery) => ExecutionQuery): Promise<StoredJobExecution[]> {
      const rows: StoredJobExecution[] = [];
      for (const names of chunks(thingNames, IN_LIST_LIMIT)) {
        const q = this.db.selectFrom('job_executions').selectAll().$call(scoped(s)).where('thing_name', 'in', names);
        for (const r of await where(q).execute()) rows.push(toExecution(r));
      }
      return rows;
    }

    async replaceJobExecution(s: Scope, e: StoredJobExecution, expectedVersion: number): Promise<boolean> {
      const { account_id: _a, region: _r, job_id: _j, thing_name: _t, execution_number: _n, ...set } = executionRow(s, e);
      const res = await this.db
        .updateTable('job_executions')
        .set(set)
        .$call(scoped(s))
        .where('job_id', '=', e.jobId)
        .where('thing_name', '=', e.thingName)
        .where('execution_number', '=', e.executionNumber)
        .where('version_number', '=', expectedVersion)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    }

    async replaceJobExecutions(s: Scope, executions: StoredJobExecution[]): Promise<number> {
      let stored = 0;
      for (const batch of chunks(executions, IN_LIST_LIMIT)) {
        // An upsert is the one multi-row write both databases share; every row exists, so each conflicts and updates.
        const res = await this.db
          .insertInto('job_executions')
          .values(batch.map((e) => executionRow(s, e)))
          .onConflict((oc) =>
            oc
              .columns(['account_id', 'region', 'job_id', 'thing_name', 'execution_number'])
              .doUpdateSet((eb) => ({
                status: eb.ref('excluded.status'),
                status_details: eb.ref('excluded.status_details'),
                queued_at: eb.ref('excluded.queued_at'),
                started_at: eb.ref('excluded.started_at'),
                last_updated_at: eb.ref('excluded.last_updated_at'),
                version_number: eb.ref('excluded.version_number'),
                notified_at: eb.ref('excluded.notified_at'),
                rate_limited: eb.ref('excluded.rate_limited'),
                step_timeout_at: eb.ref('excluded.step_timeout_at'),
                timeout_at: eb.ref('excluded.timeout_at'),
              }))
              .where('job_executions.version_number', '<', (eb) => eb.ref('excluded.version_number')),
          )
          .executeTakeFirst();
        stored += Number(res.numInsertedOrUpdatedRows ?? 0);
      }
      return stored;
    }

    async listJobExecutions(s: Scope, f: JobExecutionFilter, p: PageRequest): Promise<Page<StoredJobExecution>> {
      let q = this.db
        .selectFrom('job_executions as e')
        .selectAll('e')
        .where('e.account_id', '=', s.accountId)
        .where('e.region', '=', s.region)
        .limit(p.limit + 1);
      if (f.jobId !== undefined) q = q.where('e.job_id', '=', f.jobId);
      if (f.thingName !== undefined) q = q.where('e.thing_name', '=', f.thingName);
      if (f.status !== undefined) q = q.where('e.status', '=', f.status);
      if (f.statuses !== undefined) q = q.where('e.status', 'in', f.statuses);
      if (f.releasedOnly) q = q.where('e.notified_at', 'is not', null);
      if (f.namespaceId !== undefined) {
        const ns = f.namespaceId;
        q = q.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('jobs as j')
              .select('j.job_id')
              .whereRef('j.account_id', '=', 'e.account_id')
              .whereRef('j.region', '=', 'e.region')
              .whereRef('j.job_id', '=', 'e.job_id')
              .where('j.namespace_id', '=', ns),
          ),
        );
      }
      // Keyset pagination on a unique ordering; the cursor is that ordering's key of the last row, as JSON.
      const byJob = f.jobId !== undefined;
      const keyOf = (e: StoredJobExecution): (string | number)[] =>
        byJob ? [e.thingName, e.executionNumber] : [e.queuedAt, e.jobId, e.executionNumber];
      q = byJob
        ? q.orderBy('e.thing_name').orderBy('e.execution_number')
        : q.orderBy('e.queued_at').orderBy('e.job_id').orderBy('e.execution_number');
      if (p.after !== undefined) {
        const k = JSON.parse(p.after) as any[];
        q = byJob
          ? q.where((eb) => eb.or([eb('e.thing_name', '>', k[0]), eb.and([eb('e.thing_name', '=', k[0]), eb('e.execution_number', '>', k[1])])]))
          : q.where((eb) =>
              eb.or([
                eb('e.queued_at', '>', k[0]),
                eb.and([eb('e.queued_at', '=', k[0]), eb('e.job_id', '>', k[1])]),
                eb.and([eb('e.queued_at', '=', k[0]), eb('e.job_id', '=', k[1]), eb('e.execution_number', '>', k[2])]),
              ]),
            );
      }
      const rows = (await q.execute()).map(toExecution);
      return page(rows, p.limit, (e) => JSON.stringify(keyOf(e)));
    }

    async jobExecutionStatusCounts(s: Scope, jobId: string): Promise<Partial<Record<JobExecutionStatus, number>>> {
      const rows = await this.db
        .selectFrom('job_executions')
        .select(['status', (eb) => eb.fn.countAll().as('n')])
        .$call(scoped(s))
        .where('job_id', '=', jobId)
        .groupBy('status')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    }

    async rolloutProgress(s: Scope, jobId: string, windowStart: number): Promise<RolloutProgress> {
      const base = this.db
        .selectFrom('job_executions')
        .$call(scoped(s))
        .where('job_id', '=', jobId);
      const counts = await base
        .select([
          (eb) => eb.fn.count('notified_at').as('notified'),
          (eb) => eb.fn.sum(eb.case().when('status', '=', 'SUCCEEDED').then(1).else(0).end()).as('succeeded'),
        ])
        .executeTakeFirstOrThrow();
      const recent = await base
        .select('notified_at')
        .where('rate_limited', '=', 1)
        .where('notified_at', '>', windowStart)
        .execute();
      return {
        notificationTimes: recent.map((r) => Number(r.notified_at)),
        notifiedCount: Number(counts.notified ?? 0),
        succeededCount: Number(counts.succeeded ?? 0),
      };
    }

    async unreleasedExecutions(s: Scope, jobId: string, limit: number): Promise<StoredJobExecution[]> {
      const rows = await this.db
        .selectFrom('job_executions')
        .selectAll()
        .$call(scoped(s))
        .where('job_id', '=', jobId)
        .where('status', '=', 'QUEUED')
        .where('notified_at', 'is', null)
        .orderBy('queued_at')
        .orderBy('thing_name')
        .limit(limit)
        .execute();
      return rows.map(toExecution);
    }

    async markReleased(s: Scope, jobId: string, executions: Pick<StoredJobExecution, 'thingName' | 'executionNumber'>[], at: number): Promise<number> {
      // One statement per execution number (almost always just 1) and IN-list chunk, not one per execution.
      const byNumber = new Map<number, string[]>();
      for (const e of executions) {
        const things = byNumber.get(e.executionNumber);
        if (things) things.push(e.thingName);
        else byNumber.set(e.executionNumber, [e.thingName]);
      }
      let released = 0;
      for (const [executionNumber, thingNames] of byNumber) {
        for (const names of chunks(thingNames, IN_LIST_LIMIT)) {
          const res = await this.db
            .updateTable('job_executions')
            .set({ notified_at: at })
            .$call(scoped(s))
            .where('job_id', '=', jobId)
            .where('execution_number', '=', executionNumber)
            .where('thing_name', 'in', names)
            .where('notified_at', 'is', null)
            .executeTakeFirst();
          released += Number(res.numUpdatedRows);
        }
      }
      return released;
    }

    async dueTimeouts(s: Scope, now: number, limit: number): Promise<StoredJobExecution[]> {
      const rows = await this.db
        .selectFrom('job_executions')
        .selectAll()
        .$call(scoped(s))
        .where('status', '=', 'IN_PROGRESS')
        .where('timeout_at', '<=', now)
        .orderBy('timeout_at')
        .limit(limit)
        .execute();
      return rows.map(toExecution);
    }

    async earliestTimeoutAt(s: Scope): Promise<number | undefined> {
      const r = await this.db
        .selectFrom('job_executions')
        .select((eb) => eb.fn.min('timeout_at').as('at'))
        .$call(scoped(s))
        .where('status', '=', 'IN_PROGRESS')
        .executeTakeFirst();
      return r?.at == null ? undefined : Number(r.at);
    }

    async lockRolloutCursor(s: Scope, consumer: string): Promise<number> {
      // Insert-or-touch: either way the row is written, so its lock is held until commit.
      const r = await this.db
        .insertInto('rollout_cursors')
        .values({ account_id: s.accountId, region: s.region, consumer, position: 0 })
        .onConflict((oc) => oc.columns(['account_id', 'region', 'consumer']).doUpdateSet({ position: sql`rollout_cursors.position` }))
        .returning('position')
        .executeTakeFirstOrThrow();
      return Number(r.position);
    }

    async setRolloutCursor(s: Scope, consumer: string, position: number): Promise<void> {
      await this.db
        .updateTable('rollout_cursors')
        .set({ position })
        .$call(scoped(s))
        .where('consumer', '=', consumer)
        .execute();
    }

    async holdMembershipLog(_s: Scope): Promise<void> {
      await this.dialect.lockMembershipLog(this.db);
    }
  };
}
