// The store's transactions on PostgreSQL, where several meadow processes share the database: a transaction that the
// database aborts to break a deadlock is run again, so callers (and API clients) never see that as a failure.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postgresDialect } from '../src/store/postgres-dialect.js';
import { SqlStore } from '../src/store/sql-store.js';
import { createDatabase, STORE_KINDS } from './helpers/databases.js';

const scope = { accountId: '123456789012', region: 'us-east-1' };

if (STORE_KINDS.includes('postgres')) {
  describe('store transactions (postgres)', () => {
    let db: { url: string; drop: () => Promise<void> };
    let store: SqlStore;
    before(async () => {
      db = await createDatabase();
      store = await SqlStore.open(postgresDialect(db.url));
    });
    after(async () => {
      await store.close();
      await db.drop();
    });

    it('runs again a transaction the database aborted to break a deadlock; both commit', async () => {
      // Two transactions lock two rows in opposite orders, each waiting for the other to hold its first row.
      let attempts = 0;
      let holding = 0;
      let bothHolding!: () => void;
      const barrier = new Promise<void>((resolve) => (bothHolding = resolve));
      const lockInOrder = (first: string, second: string) =>
        store.transaction(async (tx) => {
          attempts++;
          await tx.lockRolloutCursor(scope, first);
          if (++holding === 2) bothHolding();
          await barrier;
          await tx.lockRolloutCursor(scope, second);
          await tx.setRolloutCursor(scope, first, attempts);
          return first;
        });
      const results = await Promise.all([lockInOrder('a', 'b'), lockInOrder('b', 'a')]);
      assert.deepEqual(results, ['a', 'b']);
      assert.equal(attempts, 3, 'one of the two ran twice');
    });
  });
}
