// PostgreSQL on pg: several meadow processes may share one database.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Dialect } from './sql-store.js';
import type { Database } from './schema.js';

// An arbitrary, fixed key for the advisory lock that orders writers of the membership log.
const MEMBERSHIP_LOG_LOCK = 0x6d656164; // "mead"

const INT8_OID = 20;

export function postgresDialect(connectionString: string): Dialect {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    // Connections stay open once made: a busy server would otherwise close and reopen them in every lull (a new
    // backend costs milliseconds), and their number is bounded by max anyway.
    idleTimeoutMillis: 0,
    // BIGINT columns hold epoch milliseconds and sequence numbers, all well inside 2^53.
    types: { getTypeParser: (oid: number, format?: any) => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) } as any,
  });
  // An idle client that loses its connection (a restart, an administrator's kill) emits 'error' on the pool;
  // unhandled, that would end the process. The pool drops the client and the next query gets a new one.
  pool.on('error', (err) => process.emitWarning(`PostgreSQL connection lost: ${err.message}`));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    name: 'postgres',
    db,
    migrations: {
      autoIncrementKey: (table, column) => table.addColumn(column, 'bigserial', (c) => c.primaryKey()),
      keyText: sql`text collate "C"`,
    },
    async lockMembershipLog(trx) {
      await sql`select pg_advisory_xact_lock(${MEMBERSHIP_LOG_LOCK})`.execute(trx);
    },
    mayRetry(error) {
      // deadlock_detected, serialization_failure
      const code = (error as { code?: unknown } | null)?.code;
      return code === '40P01' || code === '40001';
    },
    refreshStatistics(table) {
      // Autovacuum would analyze it too, but only on its next round (a minute or more); until then plans are bad.
      sql`analyze ${sql.table(table)}`.execute(db).catch((err: Error) => process.emitWarning(`ANALYZE ${table} failed: ${err.message}`));
    },
    destroy: () => db.destroy(),
  };
}
