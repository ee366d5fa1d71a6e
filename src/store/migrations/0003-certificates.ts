import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

// Device identity: meadow's certificate authority, the certificates it issued, and which things they are attached to.
export async function up(db: Kysely<unknown>, { keyText }: MigrationContext): Promise<void> {
  // One row per installation (name 'default'), shared by every process on the database.
  await db.schema
    .createTable('certificate_authority')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('certificate_pem', 'text', (c) => c.notNull())
    .addColumn('private_key_pem', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('certificates')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('certificate_id', keyText, (c) => c.notNull())
    .addColumn('certificate_pem', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('ca_certificate_id', 'text')
    .addColumn('not_before', 'bigint', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('customer_version', 'integer', (c) => c.notNull())
    .addColumn('generation_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_modified_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('certificates_pk', ['account_id', 'region', 'certificate_id'])
    .execute();

  await db.schema
    .createTable('thing_principals')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('thing_name', keyText, (c) => c.notNull())
    .addColumn('principal', keyText, (c) => c.notNull())
    .addColumn('principal_type', 'text', (c) => c.notNull())
    .addColumn('attached_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('thing_principals_pk', ['account_id', 'region', 'thing_name', 'principal'])
    .execute();
  await db.schema
    .createIndex('thing_principals_principal')
    .on('thing_principals')
    .columns(['account_id', 'region', 'principal', 'thing_name'])
    .execute();
}
