// SQLite on better-sqlite3: one file in the data directory, WAL journal. One process owns it.
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Dialect } from './sql-store.js';
import type { Database } from './schema.js';

export function sqliteDialect(file: string): Dialect {
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a committed transaction survives a process crash; only an OS crash or power loss
  // can take back the last commits. See docs/storage.md.
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return {
    name: 'sqlite',
    db,
    migrations: {
      autoIncrementKey: (table, column) => table.addColumn(column, 'integer', (c) => c.primaryKey().autoIncrement()),
      keyText: 'text', // SQLite compares text with BINARY (code point) collation by default
    },
    async lockMembershipLog() {
      // A SQLite database has a single writer; transactions already serialize.
    },
    destroy: () => db.destroy(),
  };
}
