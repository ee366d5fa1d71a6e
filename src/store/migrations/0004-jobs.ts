// IoT jobs of group deployments (semantics §8.1, §8.4): one job per deployment revision to a thing group, one
// execution per thing it reaches, and the position of the rollout worker in the membership log.
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<unknown>, { autoIncrementKey, keyText }: MigrationContext): Promise<void> {
  await autoIncrementKey(db.schema.createTable('jobs'), 'seq')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('job_id', keyText, (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('target_arn', 'text', (c) => c.notNull())
    .addColumn('group_name', keyText, (c) => c.notNull())
    .addColumn('namespace_id', 'text', (c) => c.notNull())
    .addColumn('target_selection', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    // What devices receive (possibly the LARGE_CONFIGURATION form) and the full document behind it.
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('full_document', 'text', (c) => c.notNull())
    .addColumn('rollout_config', 'text')
    .addColumn('abort_config', 'text')
    .addColumn('timeout_config', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addColumn('reason_code', 'text')
    .addColumn('comment', 'text')
    .addColumn('force_canceled', 'integer', (c) => c.notNull())
    .addUniqueConstraint('jobs_id', ['account_id', 'region', 'job_id'])
    .execute();
  await db.schema.createIndex('jobs_group').on('jobs').columns(['account_id', 'region', 'group_name', 'status']).execute();
  await db.schema.createIndex('jobs_deployment').on('jobs').columns(['account_id', 'region', 'deployment_id']).execute();

  await db.schema
    .createTable('job_executions')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('job_id', keyText, (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    .addColumn('execution_number', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_details', 'text', (c) => c.notNull())
    .addColumn('queued_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('last_updated_at', 'bigint', (c) => c.notNull())
    .addColumn('version_number', 'bigint', (c) => c.notNull())
    // When the rollout released the execution to its device; NULL while the rollout rate holds it back.
    .addColumn('notified_at', 'bigint')
    // 1 when the release counts against the job's rollout rate (things in the group when the job was created).
    .addColumn('rate_limited', 'integer', (c) => c.notNull())
    .addColumn('step_timeout_at', 'bigint')
    // When an IN_PROGRESS execution times out (earlier of the in-progress and step timers); NULL otherwise.
    .addColumn('timeout_at', 'bigint')
    .addPrimaryKeyConstraint('job_executions_pk', ['account_id', 'region', 'job_id', 'thing_name', 'execution_number'])
    .execute();
  await db.schema
    .createIndex('job_executions_job_status')
    .on('job_executions')
    .columns(['account_id', 'region', 'job_id', 'status', 'notified_at'])
    .execute();
  await db.schema.createIndex('job_executions_thing').on('job_executions').columns(['account_id', 'region', 'thing_name', 'status']).execute();
  await db.schema.createIndex('job_executions_timeout').on('job_executions').columns(['account_id', 'region', 'timeout_at']).execute();

  await db.schema
    .createTable('rollout_cursors')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('position', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('rollout_cursors_pk', ['account_id', 'region', 'consumer'])
    .execute();
}
