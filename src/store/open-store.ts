import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';

/** PostgreSQL when a postgres:// URL is given, else SQLite in the data directory (only that driver is loaded). */
export async function openStore(opts: { databaseUrl?: string; dataDir: string }): Promise<Store> {
  if (opts.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
      throw new Error(`MEADOW_DATABASE_URL must be a postgres:// URL, got '${opts.databaseUrl}'`);
    }
    const { postgresDialect } = await import('./postgres-dialect.js');
    return SqlStore.open(postgresDialect(opts.databaseUrl));
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const { sqliteDialect } = await import('./sqlite-dialect.js');
  return SqlStore.open(sqliteDialect(join(opts.dataDir, 'meadow.db')));
}
