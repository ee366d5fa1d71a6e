// Versioned migrations, run in name order by Kysely's Migrator (which takes a lock on PostgreSQL, so
// several meadow processes starting at once migrate the database exactly once).
import type { ColumnDataType, CreateTableBuilder, Expression, Kysely, Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-registry-and-deployments.js';
import * as m0002 from './0002-components.js';
// device identity (certificates)
import * as m0003 from './0003-certificates.js';
// jobs (rollouts)
import * as m0004 from './0004-jobs.js';
// shadows and thing deployments' device status
import * as m0005 from './0005-shadows.js';
// core devices (fleet status)
import * as m0006 from './0006-core-devices.js';

export interface MigrationContext {
  /** Adds an auto-incrementing integer primary key: INTEGER AUTOINCREMENT on SQLite, BIGSERIAL on PostgreSQL. */
  autoIncrementKey<T extends string>(table: CreateTableBuilder<T, never>, column: string): CreateTableBuilder<T, never>;
  /**
   * Text that sorts and compares by code point, whatever the database's collation, so that names page and
   * prefix-filter the same way on SQLite (BINARY) and on any PostgreSQL (`COLLATE "C"`).
   */
  keyText: ColumnDataType | Expression<unknown>;
}

type MeadowMigration = { up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> };

const ALL: Record<string, MeadowMigration> = {
  '0001-registry-and-deployments': m0001,
  '0002-components': m0002,
  // device identity (certificates)
  '0003-certificates': m0003,
  // jobs (rollouts)
  '0004-jobs': m0004,
  // shadows and thing deployments' device status
  '0005-shadows': m0005,
  // core devices (fleet status)
  '0006-core-devices': m0006,
};

export function migrationProvider(ctx: MigrationContext): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(ALL)) out[name] = { up: (db) => m.up(db, ctx) };
      return out;
    },
  };
}
