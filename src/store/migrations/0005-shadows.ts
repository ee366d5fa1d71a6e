// Device shadows (classic and named, per thing) and, on the deployments row, the status a thing reports for a
// deployment sent to it through its deployment shadow (semantics §1.4, §8.5).
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<unknown>, { keyText }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('shadows')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    // '' is the classic shadow.
    .addColumn('shadow_name', keyText, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    // Set while the shadow does not exist; the row stays so a shadow created again carries the version on.
    .addColumn('deleted_at', 'bigint')
    .addPrimaryKeyConstraint('shadows_pk', ['account_id', 'region', 'thing_name', 'shadow_name'])
    .execute();

  for (const [name, type] of [
    ['device_status', 'text'],
    ['device_detailed_status', 'text'],
    ['device_failure_cause', 'text'],
    ['device_status_details', 'text'],
    ['device_status_updated_at', 'bigint'],
  ] as const) {
    await db.schema.alterTable('deployments').addColumn(name, type).execute();
  }
}
