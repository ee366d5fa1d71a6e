// What every part of SqlStore stands on: the dialect, the connection (the database's, or a transaction's), and
// transactions themselves. The queries are added by the parts in this folder, one resource each (sql-store.ts).
import type { Kysely, Transaction } from 'kysely';
import type { MigrationContext } from '../migrations/index.js';
import type { Database } from '../schema.js';
import type { Store } from '../store.js';
import type { Db } from './query.js';

/** Where SQLite and PostgreSQL differ: capabilities, not `if`s on the database's name. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  readonly db: Kysely<Database>;
  readonly migrations: MigrationContext;
  /**
   * Serializes writers of the membership log inside a transaction, so that log order is commit order and a
   * reader polling `seq > last` can never skip a change committed late. SQLite has one writer already.
   */
  lockMembershipLog(trx: Kysely<Database>): Promise<void>;
  /** Whether a failed transaction was aborted by the database's concurrency control and may simply be run again. */
  mayRetry(error: unknown): boolean;
  /** After a bulk insert: brings the planner's statistics of the table up to date (in the background). */
  refreshStatistics(table: keyof Database): void;
  destroy(): Promise<void>;
}

/** Runs of a transaction that the database aborted for concurrency (deadlock, serialization) before giving up. */
const TRANSACTION_ATTEMPTS = 3;

export class SqlBase {
  constructor(
    protected readonly dialect: Dialect,
    protected readonly db: Db = dialect.db,
    protected readonly inTransaction = false,
    /** Callbacks to run once the transaction this store belongs to has committed (undefined outside one). */
    private readonly commitHooks?: (() => void)[],
  ) {}

  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this as unknown as Store);
    // The whole store (this class with every part's queries), on the transaction's connection.
    const Same = this.constructor as new (...args: ConstructorParameters<typeof SqlBase>) => Store;
    for (let attempt = 1; ; attempt++) {
      const hooks: (() => void)[] = [];
      try {
        const result = await this.db.transaction().execute((trx: Transaction<Database>) => fn(new Same(this.dialect, trx, true, hooks)));
        for (const hook of hooks) hook();
        return result;
      } catch (e) {
        // A transaction the database chose to abort (a deadlock between two processes) is run again from the start:
        // nothing of it was kept, and the caller should not see the database's scheduling as a failure.
        if (attempt >= TRANSACTION_ATTEMPTS || !this.dialect.mayRetry(e)) throw e;
      }
    }
  }

  /** A transaction whose callback gets this store's own class (its connection and helpers), not only the Store interface. */
  protected ownTransaction<T>(fn: (tx: this) => Promise<T>): Promise<T> {
    return this.transaction((tx) => fn(tx as unknown as this));
  }

  afterCommit(fn: () => void): void {
    if (this.commitHooks) this.commitHooks.push(fn);
    else fn();
  }

  async close(): Promise<void> {
    await this.dialect.destroy();
  }
}

/** What each part extends (TypeScript's mixin pattern: a part is a function from a class to a subclass). */
export type SqlBaseClass = new (...args: any[]) => SqlBase;
