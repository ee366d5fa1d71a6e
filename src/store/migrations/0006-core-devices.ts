// Core devices (semantics §8.6, §8.7): the record a device's first fleet-status message creates, its installed
// components, the chunks of a chunked COMPLETE message still waiting for the rest, and which thing groups' deployments
// each device has completed (ListCoreDevices' thingGroupArn filter; kept when the device leaves the group).
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<unknown>, { keyText }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('core_devices')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    .addColumn('core_version', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('architecture', 'text', (c) => c.notNull())
    .addColumn('runtime', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('last_status_update_at', 'bigint', (c) => c.notNull())
    .addColumn('last_sequence_number', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('core_devices_pk', ['account_id', 'region', 'thing_name'])
    .execute();

  await db.schema
    .createTable('installed_components')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    .addColumn('component_name', keyText, (c) => c.notNull())
    .addColumn('component_version', 'text', (c) => c.notNull())
    .addColumn('lifecycle_state', 'text', (c) => c.notNull())
    .addColumn('lifecycle_state_details', 'text')
    // JSON list of strings.
    .addColumn('lifecycle_status_codes', 'text', (c) => c.notNull())
    .addColumn('is_root', 'integer', (c) => c.notNull())
    .addColumn('last_status_change_at', 'bigint', (c) => c.notNull())
    .addColumn('last_reported_at', 'bigint', (c) => c.notNull())
    .addColumn('last_installation_source', 'text')
    .addPrimaryKeyConstraint('installed_components_pk', ['account_id', 'region', 'thing_name', 'component_name'])
    .execute();

  await db.schema
    .createTable('core_device_status_chunks')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    .addColumn('sequence_number', 'bigint', (c) => c.notNull())
    .addColumn('chunk_id', 'integer', (c) => c.notNull())
    // JSON list of the chunk's reported components.
    .addColumn('components', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('core_device_status_chunks_pk', ['account_id', 'region', 'thing_name', 'sequence_number', 'chunk_id'])
    .execute();

  await db.schema
    .createTable('core_device_group_deployments')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    .addColumn('group_name', keyText, (c) => c.notNull())
    // The latest deployment to the group the device completed, and when.
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('succeeded_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('core_device_group_deployments_pk', ['account_id', 'region', 'thing_name', 'group_name'])
    .execute();
  await db.schema
    .createIndex('core_device_group_deployments_group')
    .on('core_device_group_deployments')
    .columns(['account_id', 'region', 'group_name', 'thing_name'])
    .execute();
}
