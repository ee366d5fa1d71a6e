// The Store on SQL, through Kysely: one implementation for SQLite (better-sqlite3, WAL) and PostgreSQL (pg).
// Where the two differ it is a capability of the dialect (Dialect, in sql/base.ts), not an `if` on its name. The
// queries live in sql/, one file per resource; SqlStore is their sum.
import { Migrator } from 'kysely';
import { migrationProvider } from './migrations/index.js';
import { SqlBase, type Dialect } from './sql/base.js';
import { withCoreDevices } from './sql/core-devices.js';
import { withDeployments } from './sql/deployments.js';
import { withIdempotency } from './sql/idempotency.js';
import { withIdentity } from './sql/identity.js';
import { withJobs } from './sql/jobs.js';
import { withShadows } from './sql/shadows.js';
import { withThings } from './sql/things.js';
import type { Store } from './store.js';

export type { Dialect } from './sql/base.js';

const SqlQueries = withCoreDevices(withJobs(withShadows(withIdempotency(withDeployments(withIdentity(withThings(SqlBase)))))));

export class SqlStore extends SqlQueries implements Store {
  /** Brings the database's schema up to date (migrations/) and opens the store on it. */
  static async open(dialect: Dialect): Promise<SqlStore> {
    const migrator = new Migrator({ db: dialect.db, provider: migrationProvider(dialect.migrations) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
    }
    return new SqlStore(dialect);
  }
}
