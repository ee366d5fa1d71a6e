// SQLite on better-sqlite3: one file in the data directory, WAL journal. One process owns it.
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Dialect } from './sql-store.js';
import type { Database } from './schema.js';

/**
 * Kysely prepares every query anew; preparing costs more than running most of meadow's queries. Statements are
 * reusable, so keep them by SQL text (queries are built from a fixed set of shapes, so the cache stays small).
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sql: string) {
      let st = statements.get(sql);
      if (!st) {
        if (statements.size >= 1000) statements.clear();
        statements.set(sql, (st = database.prepare(sql)));
      }
      return st as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
    close: () => database.close(),
  };
}

export function sqliteDialect(file: string): Dialect {
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a committed transaction survives a process crash; only an OS crash or power loss
  // can take back the last commits. See docs/storage.md.
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
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
    mayRetry() {
      return false; // one connection, one writer: SQLite does not abort a transaction for another's sake
    },
    refreshStatistics() {
      // Without statistics SQLite prefers the index with the most equality terms, which is the right one here.
    },
    destroy: () => db.destroy(),
  };
}
