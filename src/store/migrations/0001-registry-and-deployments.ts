import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<unknown>, { autoIncrementKey, keyText }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('things')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('name', keyText, (c) => c.notNull())
    .addColumn('thing_id', 'text', (c) => c.notNull())
    .addColumn('thing_type_name', 'text')
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('things_pk', ['account_id', 'region', 'name'])
    .execute();

  await db.schema
    .createTable('thing_groups')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('name', keyText, (c) => c.notNull())
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('parent_name', keyText)
    .addColumn('description', 'text')
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('thing_groups_pk', ['account_id', 'region', 'name'])
    .execute();
  await db.schema.createIndex('thing_groups_parent').on('thing_groups').columns(['account_id', 'region', 'parent_name']).execute();

  await db.schema
    .createTable('thing_group_members')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('group_name', keyText, (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('thing_group_members_pk', ['account_id', 'region', 'group_name', 'thing_name'])
    .execute();
  await db.schema
    .createIndex('thing_group_members_thing')
    .on('thing_group_members')
    .columns(['account_id', 'region', 'thing_name'])
    .execute();

  await autoIncrementKey(db.schema.createTable('membership_changes'), 'seq')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    .addColumn('group_name', keyText, (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('deployment_targets')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('target_arn', 'text', (c) => c.notNull())
    .addColumn('last_revision', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('deployment_targets_pk', ['account_id', 'region', 'target_arn'])
    .execute();

  await autoIncrementKey(db.schema.createTable('deployments'), 'seq')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('target_arn', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('deployment_name', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('is_latest', 'integer', (c) => c.notNull())
    .addColumn('iot_job_id', 'text')
    .addColumn('iot_job_arn', 'text')
    .addColumn('parent_target_arn', 'text')
    .addColumn('components', 'text')
    .addColumn('deployment_policies', 'text')
    .addColumn('iot_job_configuration', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('deployments_id', ['account_id', 'region', 'deployment_id'])
    .addUniqueConstraint('deployments_revision', ['account_id', 'region', 'target_arn', 'revision'])
    .execute();
  await db.schema.createIndex('deployments_target').on('deployments').columns(['account_id', 'region', 'target_arn', 'seq']).execute();
  await db.schema.createIndex('deployments_latest').on('deployments').columns(['account_id', 'region', 'is_latest', 'seq']).execute();
  // At most one latest revision per target, enforced by the database; also the index latestDeploymentFor reads.
  await db.schema
    .createIndex('deployments_latest_per_target')
    .on('deployments')
    .columns(['account_id', 'region', 'target_arn'])
    .unique()
    .where(sql.ref('is_latest'), '=', 1)
    .execute();

  await db.schema
    .createTable('resource_tags')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('resource_arn', 'text', (c) => c.notNull())
    .addColumn('tag_key', keyText, (c) => c.notNull())
    .addColumn('tag_value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('resource_tags_pk', ['account_id', 'region', 'resource_arn', 'tag_key'])
    .execute();

  await db.schema
    .createTable('idempotency_tokens')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('response', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_tokens_pk', ['account_id', 'region', 'operation', 'token'])
    .execute();
}
