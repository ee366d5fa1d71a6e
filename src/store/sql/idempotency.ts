// SqlStore's queries: Client tokens of idempotent requests: claimed, completed with their response, or released.
import type { Scope, TokenClaim, TokenKey } from '../store.js';
import type { SqlBaseClass } from './base.js';
import { scoped, parse } from './query.js';

export function withIdempotency<B extends SqlBaseClass>(Base: B) {
  return class extends Base {
    async claimToken(s: Scope, key: TokenKey, requestHash: string, now: number, ttlMs: number, staleMs: number): Promise<TokenClaim> {
      const where = <Q extends { where: Function }>(q: Q) =>
        (q as any)
          .$call(scoped(s))
          .where('operation', '=', key.operation)
          .where('token', '=', key.token) as Q;
      for (let attempt = 0; attempt < 3; attempt++) {
        const inserted = await this.db
          .insertInto('idempotency_tokens')
          .values({
            account_id: s.accountId,
            region: s.region,
            operation: key.operation,
            token: key.token,
            request_hash: requestHash,
            state: 'IN_PROGRESS',
            response: null,
            created_at: now,
          })
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { state: 'claimed' };

        const row = await where(this.db.selectFrom('idempotency_tokens').selectAll()).executeTakeFirst();
        if (!row) continue; // released in between; try to insert again
        const age = now - Number(row.created_at);
        const expired = row.state === 'DONE' ? age > ttlMs : age > staleMs;
        if (!expired) {
          return row.state === 'DONE'
            ? { state: 'done', requestHash: row.request_hash, response: JSON.parse(row.response ?? 'null') }
            : { state: 'in-progress' };
        }
        // An expired entry is taken over only if nobody else took it over first.
        const taken = await where(
          this.db
            .updateTable('idempotency_tokens')
            .set({ state: 'IN_PROGRESS', request_hash: requestHash, response: null, created_at: now }),
        )
          .where('state', '=', row.state)
          .where('created_at', '=', row.created_at)
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) === 1) return { state: 'claimed' };
      }
      return { state: 'in-progress' };
    }

    async completeToken(s: Scope, key: TokenKey, response: unknown, now: number): Promise<void> {
      await this.db
        .updateTable('idempotency_tokens')
        .set({ state: 'DONE', response: JSON.stringify(response), created_at: now })
        .$call(scoped(s))
        .where('operation', '=', key.operation)
        .where('token', '=', key.token)
        .execute();
    }

    async releaseToken(s: Scope, key: TokenKey): Promise<void> {
      await this.db
        .deleteFrom('idempotency_tokens')
        .$call(scoped(s))
        .where('operation', '=', key.operation)
        .where('token', '=', key.token)
        .where('state', '=', 'IN_PROGRESS')
        .execute();
    }
  };
}
