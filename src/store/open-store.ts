import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { postgresDialect } from './postgres-dialect.js';
import { SqlStore } from './sql-store.js';
import { sqliteDialect } from './sqlite-dialect.js';
import type { Store } from './store.js';

/** PostgreSQL when a postgres:// URL is given, else SQLite in the data directory. */
export async function openStore(opts: { databaseUrl?: string; dataDir: string }): Promise<Store> {
  if (opts.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
      throw new Error(`MEADOW_DATABASE_URL must be a postgres:// URL, got '${opts.databaseUrl}'`);
    }
    return SqlStore.open(postgresDialect(opts.databaseUrl));
  }
  mkdirSync(opts.dataDir, { recursive: true });
  return SqlStore.open(sqliteDialect(join(opts.dataDir, 'meadow.db')));
}
