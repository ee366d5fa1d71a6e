// SqlStore's queries: Things, thing groups (with their hierarchy) and group membership, with its change log.
import { sql } from 'kysely';
import type { MembershipChange, Page, PageRequest, Scope, Thing, ThingGroup } from '../store.js';
import type { SqlBaseClass } from './base.js';
import { page, scoped } from './query.js';
import { toThing, toGroup } from './rows.js';

function matchesAttributes(t: Thing, f: { attributeName?: string; attributeValue?: string; usePrefixAttributeValue?: boolean }): boolean {
  if (f.attributeName === undefined) return true;
  const v = t.attributes[f.attributeName];
  if (v === undefined) return false;
  if (f.attributeValue === undefined) return true;
  return f.usePrefixAttributeValue ? v.startsWith(f.attributeValue) : v === f.attributeValue;
}

export function withThings<B extends SqlBaseClass>(Base: B) {
  return class extends Base {
    async getThing(s: Scope, name: string): Promise<Thing | undefined> {
      const r = await this.db
        .selectFrom('things')
        .selectAll()
        .$call(scoped(s))
        .where('name', '=', name)
        .executeTakeFirst();
      return r && toThing(r);
    }

    async putThing(s: Scope, t: Thing): Promise<void> {
      const row = {
        account_id: s.accountId,
        region: s.region,
        name: t.name,
        thing_id: t.id,
        thing_type_name: t.thingTypeName ?? null,
        attributes: JSON.stringify(t.attributes),
        version: t.version,
        created_at: t.createdAt,
      };
      await this.db
        .insertInto('things')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['account_id', 'region', 'name']).doUpdateSet({
            thing_type_name: row.thing_type_name,
            attributes: row.attributes,
            version: row.version,
          }),
        )
        .execute();
    }

    async deleteThing(s: Scope, name: string): Promise<void> {
      await this.db
        .deleteFrom('things')
        .$call(scoped(s))
        .where('name', '=', name)
        .execute();
    }

    async listThings(
      s: Scope,
      f: { thingTypeName?: string; attributeName?: string; attributeValue?: string; usePrefixAttributeValue?: boolean },
      p: PageRequest,
    ): Promise<Page<Thing>> {
      // Attribute filters are applied here rather than in SQL: attributes are a JSON column with no portable index.
      const wanted: Thing[] = [];
      let after = p.after;
      for (;;) {
        let q = this.db
          .selectFrom('things')
          .selectAll()
          .$call(scoped(s))
          .orderBy('name')
          .limit(500);
        if (f.thingTypeName !== undefined) q = q.where('thing_type_name', '=', f.thingTypeName);
        if (after !== undefined) q = q.where('name', '>', after);
        const rows = await q.execute();
        for (const r of rows) {
          const t = toThing(r);
          if (matchesAttributes(t, f)) wanted.push(t);
          if (wanted.length > p.limit) return page(wanted, p.limit, (x) => x.name);
        }
        if (rows.length < 500) return page(wanted, p.limit, (x) => x.name);
        after = rows[rows.length - 1].name;
      }
    }

    async getThingGroup(s: Scope, name: string): Promise<ThingGroup | undefined> {
      const r = await this.db
        .selectFrom('thing_groups')
        .selectAll()
        .$call(scoped(s))
        .where('name', '=', name)
        .executeTakeFirst();
      return r && toGroup(r);
    }

    async putThingGroup(s: Scope, g: ThingGroup): Promise<void> {
      const row = {
        account_id: s.accountId,
        region: s.region,
        name: g.name,
        group_id: g.id,
        parent_name: g.parentName ?? null,
        description: g.description ?? null,
        attributes: JSON.stringify(g.attributes),
        version: g.version,
        created_at: g.createdAt,
      };
      await this.db
        .insertInto('thing_groups')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['account_id', 'region', 'name']).doUpdateSet({
            description: row.description,
            attributes: row.attributes,
            version: row.version,
          }),
        )
        .execute();
    }

    async deleteThingGroup(s: Scope, name: string): Promise<void> {
      await this.db
        .deleteFrom('thing_groups')
        .$call(scoped(s))
        .where('name', '=', name)
        .execute();
    }

    async listThingGroups(s: Scope, f: { parentName?: string | null; namePrefix?: string }, p: PageRequest): Promise<Page<ThingGroup>> {
      let q = this.db
        .selectFrom('thing_groups')
        .selectAll()
        .$call(scoped(s))
        .orderBy('name')
        .limit(p.limit + 1);
      if (f.parentName === null) q = q.where('parent_name', 'is', null);
      else if (f.parentName !== undefined) q = q.where('parent_name', '=', f.parentName);
      if (f.namePrefix) q = q.where('name', '>=', f.namePrefix).where('name', '<', f.namePrefix + '\u{10FFFF}');
      if (p.after !== undefined) q = q.where('name', '>', p.after);
      const rows = await q.execute();
      return page(rows.map(toGroup), p.limit, (g) => g.name);
    }

    async listChildGroupNames(s: Scope, parentName: string): Promise<string[]> {
      const rows = await this.db
        .selectFrom('thing_groups')
        .select('name')
        .$call(scoped(s))
        .where('parent_name', '=', parentName)
        .orderBy('name')
        .execute();
      return rows.map((r) => r.name);
    }

    async groupAndDescendantNames(s: Scope, name: string): Promise<string[]> {
      const r = await sql<{ name: string }>`
        with recursive tree(name) as (
          select name from thing_groups where account_id = ${s.accountId} and region = ${s.region} and name = ${name}
          union
          select g.name from thing_groups g join tree t on g.parent_name = t.name
          where g.account_id = ${s.accountId} and g.region = ${s.region}
        )
        select name from tree order by name`.execute(this.db);
      return r.rows.map((x) => x.name);
    }

    async ancestorsOf(s: Scope, name: string): Promise<ThingGroup[]> {
      const chain: ThingGroup[] = [];
      let current = await this.getThingGroup(s, name);
      // Hierarchies are at most 7 deep, so walking up one row at a time is cheap.
      while (current?.parentName) {
        const parent = await this.getThingGroup(s, current.parentName);
        if (!parent) break;
        chain.unshift(parent);
        current = parent;
      }
      return chain;
    }

    async listGroupNamesOfThing(s: Scope, thingName: string): Promise<string[]> {
      const rows = await this.db
        .selectFrom('thing_group_members')
        .select('group_name')
        .$call(scoped(s))
        .where('thing_name', '=', thingName)
        .execute();
      // Sorted here: an ORDER BY group_name leads SQLite to walk the primary key (by group) instead of the thing index.
      return rows.map((r) => r.group_name).sort(); // group names are ASCII: UTF-16 order is code point order
    }

    async listThingNamesInGroups(s: Scope, groupNames: string[], p: PageRequest): Promise<Page<string>> {
      if (groupNames.length === 0) return { items: [] };
      let q = this.db
        .selectFrom('thing_group_members')
        .select('thing_name')
        .distinct()
        .$call(scoped(s))
        .where('group_name', 'in', groupNames)
        .orderBy('thing_name')
        .limit(p.limit + 1);
      if (p.after !== undefined) q = q.where('thing_name', '>', p.after);
      const rows = await q.execute();
      return page(
        rows.map((r) => r.thing_name),
        p.limit,
        (n) => n,
      );
    }

    async addThingToGroup(s: Scope, thingName: string, groupName: string, at: number): Promise<boolean> {
      return this.ownTransaction(async (tx) => {
        await tx.dialect.lockMembershipLog(tx.db);
        const res = await tx.db
          .insertInto('thing_group_members')
          .values({ account_id: s.accountId, region: s.region, group_name: groupName, thing_name: thingName, added_at: at })
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst();
        if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false;
        await tx.logMembership(s, thingName, groupName, 'ADDED', at);
        return true;
      });
    }

    async removeThingFromGroup(s: Scope, thingName: string, groupName: string, at: number): Promise<boolean> {
      return this.ownTransaction(async (tx) => {
        await tx.dialect.lockMembershipLog(tx.db);
        const res = await tx.db
          .deleteFrom('thing_group_members')
          .$call(scoped(s))
          .where('group_name', '=', groupName)
          .where('thing_name', '=', thingName)
          .executeTakeFirst();
        if (Number(res.numDeletedRows) === 0) return false;
        await tx.logMembership(s, thingName, groupName, 'REMOVED', at);
        return true;
      });
    }

    private async logMembership(s: Scope, thingName: string, groupName: string, change: string, at: number) {
      await this.db
        .insertInto('membership_changes')
        .values({ account_id: s.accountId, region: s.region, thing_name: thingName, group_name: groupName, change, at })
        .execute();
    }

    async membershipChangesAfter(s: Scope, seq: number, limit: number): Promise<MembershipChange[]> {
      const rows = await this.db
        .selectFrom('membership_changes')
        .selectAll()
        .$call(scoped(s))
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        seq: Number(r.seq),
        thingName: r.thing_name,
        groupName: r.group_name,
        change: r.change as MembershipChange['change'],
        at: Number(r.at),
      }));
    }
  };
}
