// SqlStore's queries: Device shadows (classic and named).
import { sql } from 'kysely';
import type { Scope, StoredShadow } from '../store.js';
import type { SqlBaseClass } from './base.js';
import { scoped } from './query.js';
import { toShadow } from './rows.js';

export function withShadows<B extends SqlBaseClass>(Base: B) {
  return class extends Base {
    async getShadow(s: Scope, thingName: string, shadowName: string): Promise<StoredShadow | undefined> {
      const r = await this.db
        .selectFrom('shadows')
        .selectAll()
        .$call(scoped(s))
        .where('thing_name', '=', thingName)
        .where('shadow_name', '=', shadowName)
        .executeTakeFirst();
      return r && toShadow(r);
    }

    async lockShadow(s: Scope, thingName: string, shadowName: string): Promise<StoredShadow> {
      await this.db
        .insertInto('shadows')
        .values({
          account_id: s.accountId,
          region: s.region,
          thing_name: thingName,
          shadow_name: shadowName,
          state: '{}',
          metadata: '{}',
          version: 0,
          created_at: 0,
          updated_at: 0,
          deleted_at: 0,
        })
        .onConflict((oc) => oc.columns(['account_id', 'region', 'thing_name', 'shadow_name']).doNothing())
        .execute();
      // A write that changes nothing still locks the row (PostgreSQL) or the database (SQLite) until commit.
      await this.db
        .updateTable('shadows')
        .set({ version: sql`version` })
        .$call(scoped(s))
        .where('thing_name', '=', thingName)
        .where('shadow_name', '=', shadowName)
        .execute();
      return (await this.getShadow(s, thingName, shadowName))!;
    }

    async putShadow(s: Scope, sh: StoredShadow): Promise<void> {
      await this.db
        .updateTable('shadows')
        .set({
          state: JSON.stringify(sh.state),
          metadata: JSON.stringify(sh.metadata),
          version: sh.version,
          created_at: sh.createdAt,
          updated_at: sh.updatedAt,
          deleted_at: sh.deletedAt ?? null,
        })
        .$call(scoped(s))
        .where('thing_name', '=', sh.thingName)
        .where('shadow_name', '=', sh.shadowName)
        .execute();
    }
  };
}
