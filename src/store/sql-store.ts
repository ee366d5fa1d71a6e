// The Store on SQL, through Kysely: one implementation for SQLite (better-sqlite3, WAL) and PostgreSQL (pg).
// Where the two differ it is a capability of the dialect (see Dialect below), not an `if` on its name.
import { Kysely, Migrator, sql, type ExpressionBuilder, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import type {
  Certificate,
  ComponentVersion,
  Deployment,
  DeploymentFilter,
  MembershipChange,
  Page,
  PageRequest,
  Scope,
  Store,
  StoredCertificateAuthority,
  Thing,
  ThingGroup,
  ThingPrincipal,
  TokenClaim,
  TokenKey,
  // jobs (rollouts)
  Job,
  JobChange,
  JobExecutionFilter,
  JobFilter,
  RolloutProgress,
  StoredJobExecution,
  // shadows and thing deployments
  DeviceDeploymentStatus,
  StoredShadow,
  // core devices (fleet status)
  CoreDevice,
  CoreDeviceFilter,
  DeliveredGroupDeployment,
  GroupDeploymentSuccess,
  EffectiveDeploymentCursor,
  InstalledComponent,
} from './store.js';
import type { JobExecutionStatus } from '../core/jobs/types.js';
import { migrationProvider, type MigrationContext } from './migrations/index.js';

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

type Db = Kysely<Database>;
type ExecutionQuery = SelectQueryBuilder<Database, 'job_executions', Database['job_executions']>;

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
const parse = <T>(v: string | null): T | undefined => (v === null ? undefined : (JSON.parse(v) as T));
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/**
 * Inserting this many rows in one transaction refreshes the table's planner statistics after the commit: PostgreSQL plans a
 * table that grew from nearly empty as if it were still tiny and picks indexes that read every row (a rollout to
 * 10,000 devices spent seconds in such scans until autovacuum's ANALYZE came round).
 */
const BULK_ROWS = 1000;

/** Runs of a transaction that the database aborted for concurrency (deadlock, serialization) before giving up. */
const TRANSACTION_ATTEMPTS = 3;

/** Rows or keys per statement: inserts and IN lists stay far below both databases' bound-parameter limits. */
const IN_LIST_LIMIT = 500;

function* chunks<T>(items: T[], size: number): Iterable<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function page<T>(rows: T[], limit: number, cursor: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursor(items[items.length - 1]) };
}

/** Every row belongs to one account and region; every query says which (`.$call(scoped(s))`). */
function scoped(s: Scope) {
  return <QB extends { where: (...args: any[]) => any }>(qb: QB): QB =>
    qb.where('account_id', '=', s.accountId).where('region', '=', s.region) as QB;
}

function toThing(r: Database['things']): Thing {
  return {
    name: r.name,
    id: r.thing_id,
    thingTypeName: opt(r.thing_type_name),
    attributes: JSON.parse(r.attributes),
    version: r.version,
    createdAt: Number(r.created_at),
  };
}

function toGroup(r: Database['thing_groups']): ThingGroup {
  return {
    name: r.name,
    id: r.group_id,
    parentName: opt(r.parent_name),
    description: opt(r.description),
    attributes: JSON.parse(r.attributes),
    version: r.version,
    createdAt: Number(r.created_at),
  };
}

type DeploymentRow = Omit<Database['deployments'], 'seq'> & { seq: number };

function toDeployment(r: DeploymentRow): Deployment {
  return {
    deploymentId: r.deployment_id,
    targetArn: r.target_arn,
    revision: r.revision,
    deploymentName: opt(r.deployment_name),
    status: r.status as Deployment['status'],
    isLatest: r.is_latest === 1,
    iotJobId: opt(r.iot_job_id),
    iotJobArn: opt(r.iot_job_arn),
    parentTargetArn: opt(r.parent_target_arn),
    components: parse(r.components),
    deploymentPolicies: parse(r.deployment_policies),
    iotJobConfiguration: parse(r.iot_job_configuration),
    createdAt: Number(r.created_at),
    deviceStatus: toDeviceStatus(r),
  };
}

function toDeviceStatus(r: DeploymentRow): DeviceDeploymentStatus | undefined {
  if (r.device_status === null || r.device_status_updated_at === null) return undefined;
  return {
    status: r.device_status as DeviceDeploymentStatus['status'],
    detailedStatus: opt(r.device_detailed_status),
    failureCause: opt(r.device_failure_cause),
    statusDetails: parse(r.device_status_details) ?? { errorStack: [], errorTypes: [] },
    updatedAt: Number(r.device_status_updated_at),
  };
}

function deviceStatusColumns(d: DeviceDeploymentStatus | undefined) {
  return {
    device_status: d?.status ?? null,
    device_detailed_status: d?.detailedStatus ?? null,
    device_failure_cause: d?.failureCause ?? null,
    device_status_details: json(d?.statusDetails),
    device_status_updated_at: d?.updatedAt ?? null,
  };
}

function toShadow(r: Database['shadows']): StoredShadow {
  return {
    thingName: r.thing_name,
    shadowName: r.shadow_name,
    state: JSON.parse(r.state),
    metadata: JSON.parse(r.metadata),
    version: Number(r.version),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    deletedAt: r.deleted_at === null ? undefined : Number(r.deleted_at),
  };
}

export class SqlStore implements Store {
  /** Executions inserted through this store (a transaction's own store: in that transaction). */
  private executionsInserted = 0;

  constructor(
    private readonly dialect: Dialect,
    private readonly db: Db = dialect.db,
    private readonly inTransaction = false,
    /** Callbacks to run once the transaction this store belongs to has committed (undefined outside one). */
    private readonly commitHooks?: (() => void)[],
  ) {}

  static async open(dialect: Dialect): Promise<SqlStore> {
    const migrator = new Migrator({ db: dialect.db, provider: migrationProvider(dialect.migrations) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
    }
    return new SqlStore(dialect);
  }

  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    for (let attempt = 1; ; attempt++) {
      const hooks: (() => void)[] = [];
      try {
        const result = await this.db.transaction().execute((trx: Transaction<Database>) => fn(new SqlStore(this.dialect, trx, true, hooks)));
        for (const hook of hooks) hook();
        return result;
      } catch (e) {
        // A transaction the database chose to abort (a deadlock between two processes) is run again from the start:
        // nothing of it was kept, and the caller should not see the database's scheduling as a failure.
        if (attempt >= TRANSACTION_ATTEMPTS || !this.dialect.mayRetry(e)) throw e;
      }
    }
  }

  afterCommit(fn: () => void): void {
    if (this.commitHooks) this.commitHooks.push(fn);
    else fn();
  }

  async close(): Promise<void> {
    await this.dialect.destroy();
  }

  // ---- things ----

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

  // ---- thing groups ----

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

  // ---- membership ----

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
    return this.transaction(async (tx) => {
      const self = tx as SqlStore;
      await self.dialect.lockMembershipLog(self.db);
      const res = await self.db
        .insertInto('thing_group_members')
        .values({ account_id: s.accountId, region: s.region, group_name: groupName, thing_name: thingName, added_at: at })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await self.logMembership(s, thingName, groupName, 'ADDED', at);
      return true;
    });
  }

  async removeThingFromGroup(s: Scope, thingName: string, groupName: string, at: number): Promise<boolean> {
    return this.transaction(async (tx) => {
      const self = tx as SqlStore;
      await self.dialect.lockMembershipLog(self.db);
      const res = await self.db
        .deleteFrom('thing_group_members')
        .$call(scoped(s))
        .where('group_name', '=', groupName)
        .where('thing_name', '=', thingName)
        .executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) return false;
      await self.logMembership(s, thingName, groupName, 'REMOVED', at);
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

  // ---- deployments ----

  async nextRevision(s: Scope, targetArn: string): Promise<number> {
    const r = await this.db
      .insertInto('deployment_targets')
      .values({ account_id: s.accountId, region: s.region, target_arn: targetArn, last_revision: 1 })
      .onConflict((oc) =>
        oc.columns(['account_id', 'region', 'target_arn']).doUpdateSet({ last_revision: sql`deployment_targets.last_revision + 1` }),
      )
      .returning('last_revision')
      .executeTakeFirstOrThrow();
    return r.last_revision;
  }

  async lockTarget(s: Scope, targetArn: string): Promise<void> {
    // A write that changes nothing still locks the row (PostgreSQL) or the database (SQLite) until commit.
    await this.db
      .updateTable('deployment_targets')
      .set({ last_revision: sql`last_revision` })
      .$call(scoped(s))
      .where('target_arn', '=', targetArn)
      .execute();
  }

  async latestDeploymentFor(s: Scope, targetArn: string): Promise<Deployment | undefined> {
    const r = await this.db
      .selectFrom('deployments')
      .selectAll()
      .$call(scoped(s))
      .where('target_arn', '=', targetArn)
      .where('is_latest', '=', 1)
      .executeTakeFirst();
    return r && toDeployment(r);
  }

  async insertDeployment(s: Scope, d: Deployment): Promise<void> {
    await this.db
      .insertInto('deployments')
      .values({
        account_id: s.accountId,
        region: s.region,
        deployment_id: d.deploymentId,
        target_arn: d.targetArn,
        revision: d.revision,
        deployment_name: d.deploymentName ?? null,
        status: d.status,
        is_latest: d.isLatest ? 1 : 0,
        iot_job_id: d.iotJobId ?? null,
        iot_job_arn: d.iotJobArn ?? null,
        parent_target_arn: d.parentTargetArn ?? null,
        components: json(d.components),
        deployment_policies: json(d.deploymentPolicies),
        iot_job_configuration: json(d.iotJobConfiguration),
        created_at: d.createdAt,
        ...deviceStatusColumns(d.deviceStatus),
      })
      .execute();
  }

  async getDeployment(s: Scope, deploymentId: string): Promise<Deployment | undefined> {
    const r = await this.db
      .selectFrom('deployments')
      .selectAll()
      .$call(scoped(s))
      .where('deployment_id', '=', deploymentId)
      .executeTakeFirst();
    return r && toDeployment(r);
  }

  async updateDeployment(s: Scope, deploymentId: string, change: Partial<Pick<Deployment, 'status' | 'isLatest' | 'deviceStatus'>>): Promise<void> {
    const set: { status?: string; is_latest?: number } & Partial<ReturnType<typeof deviceStatusColumns>> = {};
    if (change.status !== undefined) set.status = change.status;
    if (change.isLatest !== undefined) set.is_latest = change.isLatest ? 1 : 0;
    if (change.deviceStatus !== undefined) Object.assign(set, deviceStatusColumns(change.deviceStatus));
    await this.db
      .updateTable('deployments')
      .set(set)
      .$call(scoped(s))
      .where('deployment_id', '=', deploymentId)
      .execute();
  }

  async getDeploymentRevision(s: Scope, targetArn: string, revision: number): Promise<Deployment | undefined> {
    const r = await this.db
      .selectFrom('deployments')
      .selectAll()
      .$call(scoped(s))
      .where('target_arn', '=', targetArn)
      .where('revision', '=', revision)
      .executeTakeFirst();
    return r && toDeployment(r);
  }

  async deleteDeployment(s: Scope, deploymentId: string): Promise<void> {
    await this.db
      .deleteFrom('deployments')
      .$call(scoped(s))
      .where('deployment_id', '=', deploymentId)
      .execute();
  }

  async listDeployments(s: Scope, f: DeploymentFilter, p: PageRequest): Promise<Page<Deployment>> {
    let q = this.db
      .selectFrom('deployments')
      .selectAll()
      .$call(scoped(s))
      .orderBy('seq', 'desc')
      .limit(p.limit + 1);
    if (f.latestOnly) q = q.where('is_latest', '=', 1);
    if (f.targetArn !== undefined) q = q.where('target_arn', '=', f.targetArn);
    if (f.parentTargetArn !== undefined) q = q.where('parent_target_arn', '=', f.parentTargetArn);
    if (p.after !== undefined) q = q.where('seq', '<', Number(p.after));
    const rows = (await q.execute()) as DeploymentRow[];
    const result = page(rows, p.limit, (r) => String(r.seq));
    return { items: result.items.map(toDeployment), next: result.next };
  }

  // ---- tags ----

  async getTags(s: Scope, resourceArn: string): Promise<Record<string, string>> {
    const rows = await this.db
      .selectFrom('resource_tags')
      .select(['tag_key', 'tag_value'])
      .$call(scoped(s))
      .where('resource_arn', '=', resourceArn)
      .orderBy('tag_key')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.tag_key, r.tag_value]));
  }

  async putTags(s: Scope, resourceArn: string, tags: Record<string, string>): Promise<void> {
    const rows = Object.entries(tags).map(([k, v]) => ({
      account_id: s.accountId,
      region: s.region,
      resource_arn: resourceArn,
      tag_key: k,
      tag_value: v,
    }));
    if (rows.length === 0) return;
    await this.db
      .insertInto('resource_tags')
      .values(rows)
      .onConflict((oc) => oc.columns(['account_id', 'region', 'resource_arn', 'tag_key']).doUpdateSet({ tag_value: sql`excluded.tag_value` }))
      .execute();
  }

  async removeTags(s: Scope, resourceArn: string, keys: string[]): Promise<void> {
    let q = this.db
      .deleteFrom('resource_tags')
      .$call(scoped(s))
      .where('resource_arn', '=', resourceArn);
    if (keys.length > 0) q = q.where('tag_key', 'in', keys);
    await q.execute();
  }

  // ---- components ----

  async insertComponentVersion(s: Scope, c: ComponentVersion): Promise<boolean> {
    const res = await this.db
      .insertInto('component_versions')
      .values({
        account_id: s.accountId,
        region: s.region,
        name: c.name,
        version: c.version,
        recipe: c.recipe,
        state: c.state,
        message: c.message ?? null,
        errors: json(c.errors),
        created_at: c.createdAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async getComponentVersion(s: Scope, name: string, version: string): Promise<ComponentVersion | undefined> {
    const r = await this.db
      .selectFrom('component_versions')
      .selectAll()
      .$call(scoped(s))
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    return r && toComponentVersion(r);
  }

  async listVersionsOfComponent(s: Scope, name: string): Promise<ComponentVersion[]> {
    const rows = await this.db
      .selectFrom('component_versions')
      .selectAll()
      .$call(scoped(s))
      .where('name', '=', name)
      .execute();
    return rows.map(toComponentVersion);
  }

  async listComponentNames(s: Scope, p: PageRequest): Promise<Page<string>> {
    let q = this.db
      .selectFrom('component_versions')
      .select('name')
      .distinct()
      .$call(scoped(s))
      .orderBy('name')
      .limit(p.limit + 1);
    if (p.after !== undefined) q = q.where('name', '>', p.after);
    const rows = await q.execute();
    return page(
      rows.map((r) => r.name),
      p.limit,
      (n) => n,
    );
  }

  async deleteComponentVersion(s: Scope, name: string, version: string): Promise<void> {
    await this.db
      .deleteFrom('component_versions')
      .$call(scoped(s))
      .where('name', '=', name)
      .where('version', '=', version)
      .execute();
  }

  // ---- device identity (certificates) ----

  // ---- shadows ----

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

  async getCertificateAuthority(): Promise<StoredCertificateAuthority | undefined> {
    const r = await this.db.selectFrom('certificate_authority').selectAll().where('name', '=', 'default').executeTakeFirst();
    return r && { certificatePem: r.certificate_pem, privateKeyPem: r.private_key_pem, createdAt: Number(r.created_at) };
  }

  async insertCertificateAuthorityIfAbsent(ca: StoredCertificateAuthority): Promise<void> {
    await this.db
      .insertInto('certificate_authority')
      .values({ name: 'default', certificate_pem: ca.certificatePem, private_key_pem: ca.privateKeyPem, created_at: ca.createdAt })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async insertCertificate(s: Scope, c: Certificate): Promise<void> {
    await this.db.insertInto('certificates').values(certificateRow(s, c)).execute();
  }

  async getCertificate(s: Scope, certificateId: string): Promise<Certificate | undefined> {
    const r = await this.db
      .selectFrom('certificates')
      .selectAll()
      .$call(scoped(s))
      .where('certificate_id', '=', certificateId)
      .executeTakeFirst();
    return r && toCertificate(r);
  }

  async lockCertificate(s: Scope, certificateId: string): Promise<Certificate | undefined> {
    // As lockTarget: a write that changes nothing locks the row (PostgreSQL) or the database (SQLite).
    await this.db
      .updateTable('certificates')
      .set({ status: sql`status` })
      .$call(scoped(s))
      .where('certificate_id', '=', certificateId)
      .execute();
    return this.getCertificate(s, certificateId);
  }

  async updateCertificate(s: Scope, c: Certificate): Promise<void> {
    const { account_id, region, certificate_id, ...change } = certificateRow(s, c);
    await this.db
      .updateTable('certificates')
      .set(change)
      .where('account_id', '=', account_id)
      .where('region', '=', region)
      .where('certificate_id', '=', certificate_id)
      .execute();
  }

  async deleteCertificate(s: Scope, certificateId: string): Promise<void> {
    await this.db
      .deleteFrom('certificates')
      .$call(scoped(s))
      .where('certificate_id', '=', certificateId)
      .execute();
  }

  async listCertificates(s: Scope, order: 'ascending' | 'descending', p: PageRequest): Promise<Page<Certificate>> {
    const dir = order === 'ascending' ? 'asc' : 'desc';
    let q = this.db
      .selectFrom('certificates')
      .selectAll()
      .$call(scoped(s))
      .orderBy('created_at', dir)
      .orderBy('certificate_id', dir)
      .limit(p.limit + 1);
    if (p.after !== undefined) {
      // The cursor is `createdAt:id` of the last certificate returned.
      const [at, id] = p.after.split(':');
      const cmp = order === 'ascending' ? '>' : '<';
      q = q.where((eb) => eb.or([eb('created_at', cmp, Number(at)), eb.and([eb('created_at', '=', Number(at)), eb('certificate_id', cmp, id)])]));
    }
    const rows = await q.execute();
    return page(rows.map(toCertificate), p.limit, (c) => `${c.createdAt}:${c.id}`);
  }

  async attachThingPrincipal(s: Scope, a: ThingPrincipal): Promise<void> {
    await this.db
      .insertInto('thing_principals')
      .values({ account_id: s.accountId, region: s.region, thing_name: a.thingName, principal: a.principal, principal_type: a.type, attached_at: a.attachedAt })
      .onConflict((oc) => oc.columns(['account_id', 'region', 'thing_name', 'principal']).doUpdateSet({ principal_type: a.type }))
      .execute();
  }

  async detachThingPrincipal(s: Scope, thingName: string, principal: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('thing_principals')
      .$call(scoped(s))
      .where('thing_name', '=', thingName)
      .where('principal', '=', principal)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async listPrincipalsOfThing(s: Scope, thingName: string, p: PageRequest): Promise<Page<ThingPrincipal>> {
    let q = this.db
      .selectFrom('thing_principals')
      .selectAll()
      .$call(scoped(s))
      .where('thing_name', '=', thingName)
      .orderBy('principal')
      .limit(p.limit + 1);
    if (p.after !== undefined) q = q.where('principal', '>', p.after);
    const rows = await q.execute();
    return page(rows.map(toThingPrincipal), p.limit, (a) => a.principal);
  }

  async listThingsOfPrincipal(s: Scope, principal: string, p: PageRequest): Promise<Page<ThingPrincipal>> {
    let q = this.db
      .selectFrom('thing_principals')
      .selectAll()
      .$call(scoped(s))
      .where('principal', '=', principal)
      .orderBy('thing_name')
      .limit(p.limit + 1);
    if (p.after !== undefined) q = q.where('thing_name', '>', p.after);
    const rows = await q.execute();
    return page(rows.map(toThingPrincipal), p.limit, (a) => a.thingName);
  }

  async getThingPrincipal(s: Scope, thingName: string, principal: string): Promise<ThingPrincipal | undefined> {
    const row = await this.db
      .selectFrom('thing_principals')
      .selectAll()
      .$call(scoped(s))
      .where('thing_name', '=', thingName)
      .where('principal', '=', principal)
      .executeTakeFirst();
    return row && toThingPrincipal(row);
  }

  // ---- idempotency ----

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
  // ---- jobs (rollouts) ----

  async insertJob(s: Scope, j: Job): Promise<void> {
    await this.db
      .insertInto('jobs')
      .values({
        account_id: s.accountId,
        region: s.region,
        job_id: j.jobId,
        deployment_id: j.deploymentId,
        target_arn: j.targetArn,
        group_name: j.groupName,
        namespace_id: j.namespaceId,
        target_selection: j.targetSelection,
        status: j.status,
        document: j.document,
        full_document: j.fullDocument,
        rollout_config: json(j.rolloutConfig),
        abort_config: json(j.abortConfig),
        timeout_config: json(j.timeoutConfig),
        created_at: j.createdAt,
        updated_at: j.updatedAt,
        completed_at: j.completedAt ?? null,
        reason_code: j.reasonCode ?? null,
        comment: j.comment ?? null,
        force_canceled: j.forceCanceled ? 1 : 0,
      })
      .execute();
  }

  async getJob(s: Scope, jobId: string): Promise<Job | undefined> {
    const r = await this.db
      .selectFrom('jobs')
      .selectAll()
      .$call(scoped(s))
      .where('job_id', '=', jobId)
      .executeTakeFirst();
    return r && toJob(r as JobRow);
  }

  async lockJob(s: Scope, jobId: string): Promise<Job | undefined> {
    if (this.dialect.name === 'postgres') {
      // SELECT ... FOR UPDATE locks the row without writing a new version of it: the no-op UPDATE below left one
      // dead version per job-execution update, and a job's row soon had tens of thousands of them to walk.
      const r = await this.db.selectFrom('jobs').selectAll().$call(scoped(s)).where('job_id', '=', jobId).forUpdate().executeTakeFirst();
      return r && toJob(r as JobRow);
    }
    // A write that changes nothing still takes SQLite's database lock until commit.
    await this.db
      .updateTable('jobs')
      .set({ updated_at: sql`updated_at` })
      .$call(scoped(s))
      .where('job_id', '=', jobId)
      .execute();
    return this.getJob(s, jobId);
  }

  async updateJob(s: Scope, jobId: string, c: JobChange): Promise<void> {
    const set: Partial<Record<keyof Database['jobs'], unknown>> = {};
    if (c.status !== undefined) set.status = c.status;
    if (c.updatedAt !== undefined) set.updated_at = c.updatedAt;
    if (c.completedAt !== undefined) set.completed_at = c.completedAt;
    if (c.reasonCode !== undefined) set.reason_code = c.reasonCode;
    if (c.comment !== undefined) set.comment = c.comment;
    if (c.forceCanceled !== undefined) set.force_canceled = c.forceCanceled ? 1 : 0;
    await this.db
      .updateTable('jobs')
      .set(set as any)
      .$call(scoped(s))
      .where('job_id', '=', jobId)
      .execute();
  }

  async listJobs(s: Scope, f: JobFilter, p: PageRequest): Promise<Page<Job>> {
    let q = this.db
      .selectFrom('jobs')
      .selectAll()
      .$call(scoped(s))
      .orderBy('seq', 'desc')
      .limit(p.limit + 1);
    if (f.status !== undefined) q = q.where('status', '=', f.status);
    if (f.groupName !== undefined) q = q.where('group_name', '=', f.groupName);
    if (f.namespaceId !== undefined) q = q.where('namespace_id', '=', f.namespaceId);
    if (p.after !== undefined) q = q.where('seq', '<', Number(p.after));
    const rows = (await q.execute()) as JobRow[];
    const result = page(rows, p.limit, (r) => String(r.seq));
    return { items: result.items.map(toJob), next: result.next };
  }

  async inProgressJobsOfGroups(s: Scope, groupNames: string[]): Promise<Job[]> {
    if (groupNames.length === 0) return [];
    const rows = await this.db
      .selectFrom('jobs')
      .selectAll()
      .$call(scoped(s))
      .where('group_name', 'in', groupNames)
      .where('status', '=', 'IN_PROGRESS')
      .orderBy('seq')
      .execute();
    return (rows as JobRow[]).map(toJob);
  }

  async jobsWithUnreleasedExecutions(s: Scope): Promise<string[]> {
    const rows = await this.db
      .selectFrom('job_executions as e')
      .innerJoin('jobs as j', (join) =>
        join.onRef('j.account_id', '=', 'e.account_id').onRef('j.region', '=', 'e.region').onRef('j.job_id', '=', 'e.job_id'),
      )
      .select('e.job_id')
      .distinct()
      .where('e.account_id', '=', s.accountId)
      .where('e.region', '=', s.region)
      .where('e.status', '=', 'QUEUED')
      .where('e.notified_at', 'is', null)
      .where('j.status', '=', 'IN_PROGRESS')
      .orderBy('e.job_id')
      .execute();
    return rows.map((r) => r.job_id);
  }

  async insertJobExecutions(s: Scope, executions: StoredJobExecution[]): Promise<void> {
    for (const batch of chunks(executions, IN_LIST_LIMIT)) {
      await this.db
        .insertInto('job_executions')
        .values(batch.map((e) => executionRow(s, e)))
        .execute();
    }
    const before = this.inTransaction ? this.executionsInserted : 0;
    this.executionsInserted = before + executions.length;
    if (before < BULK_ROWS && this.executionsInserted >= BULK_ROWS) this.afterCommit(() => this.dialect.refreshStatistics('job_executions'));
  }

  async getJobExecution(s: Scope, jobId: string, thingName: string, executionNumber?: number): Promise<StoredJobExecution | undefined> {
    let q = this.db
      .selectFrom('job_executions')
      .selectAll()
      .$call(scoped(s))
      .where('job_id', '=', jobId)
      .where('thing_name', '=', thingName)
      .orderBy('execution_number', 'desc')
      .limit(1);
    if (executionNumber !== undefined) q = q.where('execution_number', '=', executionNumber);
    const r = await q.executeTakeFirst();
    return r && toExecution(r);
  }

  async jobExecutionsOfThings(s: Scope, jobId: string, thingNames: string[]): Promise<StoredJobExecution[]> {
    return this.executionsOfThings(s, thingNames, (q) => q.where('job_id', '=', jobId));
  }

  async pendingExecutionsOfThings(s: Scope, thingNames: string[]): Promise<StoredJobExecution[]> {
    return this.executionsOfThings(s, thingNames, (q) =>
      q
        .where('status', 'in', ['IN_PROGRESS', 'QUEUED'])
        .where('notified_at', 'is not', null)
        .orderBy('thing_name')
        .orderBy('queued_at')
        .orderBy('job_id')
        .orderBy('execution_number'),
    );
  }

  /** Executions of many things, one query per IN-list chunk, narrowed by `where`. */
  private async executionsOfThings(s: Scope, thingNames: string[], where: (q: ExecutionQuery) => ExecutionQuery): Promise<StoredJobExecution[]> {
    const rows: StoredJobExecution[] = [];
    for (const names of chunks(thingNames, IN_LIST_LIMIT)) {
      const q = this.db.selectFrom('job_executions').selectAll().$call(scoped(s)).where('thing_name', 'in', names);
      for (const r of await where(q).execute()) rows.push(toExecution(r));
    }
    return rows;
  }

  async replaceJobExecution(s: Scope, e: StoredJobExecution, expectedVersion: number): Promise<boolean> {
    const { account_id: _a, region: _r, job_id: _j, thing_name: _t, execution_number: _n, ...set } = executionRow(s, e);
    const res = await this.db
      .updateTable('job_executions')
      .set(set)
      .$call(scoped(s))
      .where('job_id', '=', e.jobId)
      .where('thing_name', '=', e.thingName)
      .where('execution_number', '=', e.executionNumber)
      .where('version_number', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async replaceJobExecutions(s: Scope, executions: StoredJobExecution[]): Promise<number> {
    let stored = 0;
    for (const batch of chunks(executions, IN_LIST_LIMIT)) {
      // An upsert is the one multi-row write both databases share; every row exists, so each conflicts and updates.
      const res = await this.db
        .insertInto('job_executions')
        .values(batch.map((e) => executionRow(s, e)))
        .onConflict((oc) =>
          oc
            .columns(['account_id', 'region', 'job_id', 'thing_name', 'execution_number'])
            .doUpdateSet((eb) => ({
              status: eb.ref('excluded.status'),
              status_details: eb.ref('excluded.status_details'),
              queued_at: eb.ref('excluded.queued_at'),
              started_at: eb.ref('excluded.started_at'),
              last_updated_at: eb.ref('excluded.last_updated_at'),
              version_number: eb.ref('excluded.version_number'),
              notified_at: eb.ref('excluded.notified_at'),
              rate_limited: eb.ref('excluded.rate_limited'),
              step_timeout_at: eb.ref('excluded.step_timeout_at'),
              timeout_at: eb.ref('excluded.timeout_at'),
            }))
            .where('job_executions.version_number', '<', (eb) => eb.ref('excluded.version_number')),
        )
        .executeTakeFirst();
      stored += Number(res.numInsertedOrUpdatedRows ?? 0);
    }
    return stored;
  }

  async listJobExecutions(s: Scope, f: JobExecutionFilter, p: PageRequest): Promise<Page<StoredJobExecution>> {
    let q = this.db
      .selectFrom('job_executions as e')
      .selectAll('e')
      .where('e.account_id', '=', s.accountId)
      .where('e.region', '=', s.region)
      .limit(p.limit + 1);
    if (f.jobId !== undefined) q = q.where('e.job_id', '=', f.jobId);
    if (f.thingName !== undefined) q = q.where('e.thing_name', '=', f.thingName);
    if (f.status !== undefined) q = q.where('e.status', '=', f.status);
    if (f.statuses !== undefined) q = q.where('e.status', 'in', f.statuses);
    if (f.releasedOnly) q = q.where('e.notified_at', 'is not', null);
    if (f.namespaceId !== undefined) {
      const ns = f.namespaceId;
      q = q.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('jobs as j')
            .select('j.job_id')
            .whereRef('j.account_id', '=', 'e.account_id')
            .whereRef('j.region', '=', 'e.region')
            .whereRef('j.job_id', '=', 'e.job_id')
            .where('j.namespace_id', '=', ns),
        ),
      );
    }
    // Keyset pagination on a unique ordering; the cursor is that ordering's key of the last row, as JSON.
    const byJob = f.jobId !== undefined;
    const keyOf = (e: StoredJobExecution): (string | number)[] =>
      byJob ? [e.thingName, e.executionNumber] : [e.queuedAt, e.jobId, e.executionNumber];
    q = byJob
      ? q.orderBy('e.thing_name').orderBy('e.execution_number')
      : q.orderBy('e.queued_at').orderBy('e.job_id').orderBy('e.execution_number');
    if (p.after !== undefined) {
      const k = JSON.parse(p.after) as any[];
      q = byJob
        ? q.where((eb) => eb.or([eb('e.thing_name', '>', k[0]), eb.and([eb('e.thing_name', '=', k[0]), eb('e.execution_number', '>', k[1])])]))
        : q.where((eb) =>
            eb.or([
              eb('e.queued_at', '>', k[0]),
              eb.and([eb('e.queued_at', '=', k[0]), eb('e.job_id', '>', k[1])]),
              eb.and([eb('e.queued_at', '=', k[0]), eb('e.job_id', '=', k[1]), eb('e.execution_number', '>', k[2])]),
            ]),
          );
    }
    const rows = (await q.execute()).map(toExecution);
    return page(rows, p.limit, (e) => JSON.stringify(keyOf(e)));
  }

  async jobExecutionStatusCounts(s: Scope, jobId: string): Promise<Partial<Record<JobExecutionStatus, number>>> {
    const rows = await this.db
      .selectFrom('job_executions')
      .select(['status', (eb) => eb.fn.countAll().as('n')])
      .$call(scoped(s))
      .where('job_id', '=', jobId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  async rolloutProgress(s: Scope, jobId: string, windowStart: number): Promise<RolloutProgress> {
    const base = this.db
      .selectFrom('job_executions')
      .$call(scoped(s))
      .where('job_id', '=', jobId);
    const counts = await base
      .select([
        (eb) => eb.fn.count('notified_at').as('notified'),
        (eb) => eb.fn.sum(eb.case().when('status', '=', 'SUCCEEDED').then(1).else(0).end()).as('succeeded'),
      ])
      .executeTakeFirstOrThrow();
    const recent = await base
      .select('notified_at')
      .where('rate_limited', '=', 1)
      .where('notified_at', '>', windowStart)
      .execute();
    return {
      notificationTimes: recent.map((r) => Number(r.notified_at)),
      notifiedCount: Number(counts.notified ?? 0),
      succeededCount: Number(counts.succeeded ?? 0),
    };
  }

  async unreleasedExecutions(s: Scope, jobId: string, limit: number): Promise<StoredJobExecution[]> {
    const rows = await this.db
      .selectFrom('job_executions')
      .selectAll()
      .$call(scoped(s))
      .where('job_id', '=', jobId)
      .where('status', '=', 'QUEUED')
      .where('notified_at', 'is', null)
      .orderBy('queued_at')
      .orderBy('thing_name')
      .limit(limit)
      .execute();
    return rows.map(toExecution);
  }

  async markReleased(s: Scope, jobId: string, executions: Pick<StoredJobExecution, 'thingName' | 'executionNumber'>[], at: number): Promise<number> {
    // One statement per execution number (almost always just 1) and IN-list chunk, not one per execution.
    const byNumber = new Map<number, string[]>();
    for (const e of executions) {
      const things = byNumber.get(e.executionNumber);
      if (things) things.push(e.thingName);
      else byNumber.set(e.executionNumber, [e.thingName]);
    }
    let released = 0;
    for (const [executionNumber, thingNames] of byNumber) {
      for (const names of chunks(thingNames, IN_LIST_LIMIT)) {
        const res = await this.db
          .updateTable('job_executions')
          .set({ notified_at: at })
          .$call(scoped(s))
          .where('job_id', '=', jobId)
          .where('execution_number', '=', executionNumber)
          .where('thing_name', 'in', names)
          .where('notified_at', 'is', null)
          .executeTakeFirst();
        released += Number(res.numUpdatedRows);
      }
    }
    return released;
  }

  async dueTimeouts(s: Scope, now: number, limit: number): Promise<StoredJobExecution[]> {
    const rows = await this.db
      .selectFrom('job_executions')
      .selectAll()
      .$call(scoped(s))
      .where('status', '=', 'IN_PROGRESS')
      .where('timeout_at', '<=', now)
      .orderBy('timeout_at')
      .limit(limit)
      .execute();
    return rows.map(toExecution);
  }

  async earliestTimeoutAt(s: Scope): Promise<number | undefined> {
    const r = await this.db
      .selectFrom('job_executions')
      .select((eb) => eb.fn.min('timeout_at').as('at'))
      .$call(scoped(s))
      .where('status', '=', 'IN_PROGRESS')
      .executeTakeFirst();
    return r?.at == null ? undefined : Number(r.at);
  }

  async lockRolloutCursor(s: Scope, consumer: string): Promise<number> {
    // Insert-or-touch: either way the row is written, so its lock is held until commit.
    const r = await this.db
      .insertInto('rollout_cursors')
      .values({ account_id: s.accountId, region: s.region, consumer, position: 0 })
      .onConflict((oc) => oc.columns(['account_id', 'region', 'consumer']).doUpdateSet({ position: sql`rollout_cursors.position` }))
      .returning('position')
      .executeTakeFirstOrThrow();
    return Number(r.position);
  }

  async setRolloutCursor(s: Scope, consumer: string, position: number): Promise<void> {
    await this.db
      .updateTable('rollout_cursors')
      .set({ position })
      .$call(scoped(s))
      .where('consumer', '=', consumer)
      .execute();
  }

  async holdMembershipLog(_s: Scope): Promise<void> {
    await this.dialect.lockMembershipLog(this.db);
  }

  // ---- core devices (fleet status) ----

  async getCoreDevice(s: Scope, thingName: string): Promise<CoreDevice | undefined> {
    const r = await this.db
      .selectFrom('core_devices')
      .selectAll()
      .$call(scoped(s))
      .where('thing_name', '=', thingName)
      .executeTakeFirst();
    return r && toCoreDevice(r);
  }

  async getCoreDevices(s: Scope, thingNames: string[]): Promise<CoreDevice[]> {
    const devices: CoreDevice[] = [];
    for (const names of chunks(thingNames, IN_LIST_LIMIT)) {
      const rows = await this.db.selectFrom('core_devices').selectAll().$call(scoped(s)).where('thing_name', 'in', names).execute();
      devices.push(...rows.map(toCoreDevice));
    }
    return devices;
  }

  async putCoreDevices(s: Scope, devices: CoreDevice[]): Promise<void> {
    for (const batch of chunks(devices, IN_LIST_LIMIT)) {
      await this.db
        .insertInto('core_devices')
        .values(batch.map((d) => coreDeviceRow(s, d)))
        .onConflict((oc) =>
          oc.columns(['account_id', 'region', 'thing_name']).doUpdateSet((eb) => ({
            core_version: eb.ref('excluded.core_version'),
            platform: eb.ref('excluded.platform'),
            architecture: eb.ref('excluded.architecture'),
            runtime: eb.ref('excluded.runtime'),
            status: eb.ref('excluded.status'),
            last_status_update_at: eb.ref('excluded.last_status_update_at'),
            last_sequence_number: eb.ref('excluded.last_sequence_number'),
            created_at: eb.ref('excluded.created_at'),
          })),
        )
        .execute();
    }
  }

  async deleteCoreDevice(s: Scope, thingName: string): Promise<boolean> {
    return this.transaction(async (tx) => {
      const db = (tx as SqlStore).db;
      for (const table of ['installed_components', 'core_device_status_chunks'] as const) {
        await db.deleteFrom(table).$call(scoped(s)).where('thing_name', '=', thingName).execute();
      }
      const res = await db.deleteFrom('core_devices').$call(scoped(s)).where('thing_name', '=', thingName).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  async listCoreDevices(s: Scope, f: CoreDeviceFilter, p: PageRequest): Promise<Page<CoreDevice>> {
    let q = this.db
      .selectFrom('core_devices')
      .selectAll()
      .$call(scoped(s))
      .orderBy('thing_name')
      .limit(p.limit + 1);
    if (f.status !== undefined) q = q.where('status', '=', f.status);
    if (f.runtime !== undefined) q = q.where('runtime', '=', f.runtime);
    if (f.groupName !== undefined) {
      const deployedTo = this.db
        .selectFrom('core_device_group_deployments')
        .select('thing_name')
        .$call(scoped(s))
        .where('group_name', '=', f.groupName);
      q = q.where('thing_name', 'in', deployedTo);
    }
    if (p.after !== undefined) q = q.where('thing_name', '>', p.after);
    const rows = await q.execute();
    return page(rows.map(toCoreDevice), p.limit, (d) => d.thingName);
  }

  async installedComponentsOf(s: Scope, thingNames: string[]): Promise<Map<string, InstalledComponent[]>> {
    const byThing = new Map<string, InstalledComponent[]>(thingNames.map((t) => [t, []]));
    for (const names of chunks(thingNames, IN_LIST_LIMIT)) {
      const rows = await this.db
        .selectFrom('installed_components')
        .selectAll()
        .$call(scoped(s))
        .where('thing_name', 'in', names)
        .orderBy('thing_name')
        .orderBy('component_name')
        .execute();
      for (const r of rows) byThing.get(r.thing_name)!.push(toInstalledComponent(r));
    }
    return byThing;
  }

  async replaceInstalledComponents(s: Scope, byThing: Map<string, InstalledComponent[]>): Promise<void> {
    await this.transaction(async (tx) => {
      const db = (tx as SqlStore).db;
      for (const names of chunks([...byThing.keys()], IN_LIST_LIMIT)) {
        await db.deleteFrom('installed_components').$call(scoped(s)).where('thing_name', 'in', names).execute();
      }
      const rows = [...byThing].flatMap(([thingName, components]) => components.map((c) => installedComponentRow(s, thingName, c)));
      for (const batch of chunks(rows, 200)) await db.insertInto('installed_components').values(batch).execute();
    });
  }

  async listInstalledComponents(s: Scope, thingName: string, f: { rootOnly: boolean }, p: PageRequest): Promise<Page<InstalledComponent>> {
    let q = this.db
      .selectFrom('installed_components')
      .selectAll()
      .$call(scoped(s))
      .where('thing_name', '=', thingName)
      .orderBy('component_name')
      .limit(p.limit + 1);
    if (f.rootOnly) q = q.where('is_root', '=', 1);
    if (p.after !== undefined) q = q.where('component_name', '>', p.after);
    const rows = await q.execute();
    return page(rows.map(toInstalledComponent), p.limit, (c) => c.componentName);
  }

  async putStatusChunk(s: Scope, thingName: string, sequenceNumber: number, chunkId: number, components: unknown): Promise<void> {
    const row = { account_id: s.accountId, region: s.region, thing_name: thingName, sequence_number: sequenceNumber, chunk_id: chunkId, components: JSON.stringify(components) };
    await this.db
      .insertInto('core_device_status_chunks')
      .values(row)
      .onConflict((oc) => oc.columns(['account_id', 'region', 'thing_name', 'sequence_number', 'chunk_id']).doUpdateSet({ components: row.components }))
      .execute();
  }

  async statusChunks(s: Scope, thingName: string, sequenceNumber: number): Promise<{ chunkId: number; components: unknown }[]> {
    const rows = await this.db
      .selectFrom('core_device_status_chunks')
      .select(['chunk_id', 'components'])
      .$call(scoped(s))
      .where('thing_name', '=', thingName)
      .where('sequence_number', '=', sequenceNumber)
      .orderBy('chunk_id')
      .execute();
    return rows.map((r) => ({ chunkId: Number(r.chunk_id), components: JSON.parse(r.components) as unknown }));
  }

  async thingsWithStatusChunks(s: Scope, thingNames: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const names of chunks(thingNames, IN_LIST_LIMIT)) {
      const rows = await this.db.selectFrom('core_device_status_chunks').select('thing_name').distinct().$call(scoped(s)).where('thing_name', 'in', names).execute();
      for (const r of rows) found.add(r.thing_name);
    }
    return found;
  }

  async deleteStatusChunks(s: Scope, thingName: string, throughSequenceNumber: number): Promise<void> {
    await this.db
      .deleteFrom('core_device_status_chunks')
      .$call(scoped(s))
      .where('thing_name', '=', thingName)
      .where('sequence_number', '<=', throughSequenceNumber)
      .execute();
  }

  async recordGroupDeploymentSuccesses(s: Scope, successes: GroupDeploymentSuccess[]): Promise<void> {
    // The newest success of a thing in a group is the one kept (a batch may hold two of one thing).
    const latest = new Map(successes.map((x) => [`${x.thingName}\n${x.groupName}`, x]));
    for (const batch of chunks([...latest.values()], IN_LIST_LIMIT)) {
      await this.db
        .insertInto('core_device_group_deployments')
        .values(batch.map((x) => ({ account_id: s.accountId, region: s.region, thing_name: x.thingName, group_name: x.groupName, deployment_id: x.deploymentId, succeeded_at: x.at })))
        .onConflict((oc) =>
          oc.columns(['account_id', 'region', 'thing_name', 'group_name']).doUpdateSet((eb) => ({
            deployment_id: eb.ref('excluded.deployment_id'),
            succeeded_at: eb.ref('excluded.succeeded_at'),
          })),
        )
        .execute();
    }
  }

  async listDeliveredThingDeployments(s: Scope, thingArn: string, after: EffectiveDeploymentCursor | undefined, limit: number): Promise<Deployment[]> {
    let q = this.db
      .selectFrom('deployments')
      .selectAll()
      .$call(scoped(s))
      .where('target_arn', '=', thingArn)
      .orderBy('created_at', 'desc')
      .orderBy('deployment_id')
      .limit(limit);
    if (after !== undefined) {
      q = q.where((eb) =>
        eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('deployment_id', '>', after.deploymentId)])]),
      );
    }
    return ((await q.execute()) as DeploymentRow[]).map(toDeployment);
  }

  async listDeliveredGroupDeployments(s: Scope, thingName: string, after: EffectiveDeploymentCursor | undefined, limit: number): Promise<DeliveredGroupDeployment[]> {
    // Released, not REMOVED executions; of several executions of one job (the thing left and rejoined), the latest.
    const delivered = (eb: ExpressionBuilder<Database & { e: Database['job_executions'] }, 'e'>) =>
      eb.and([eb('e.notified_at', 'is not', null), eb('e.status', '!=', 'REMOVED')]);
    let q = this.db
      .selectFrom('job_executions as e')
      .innerJoin('jobs as j', (join) => join.onRef('j.account_id', '=', 'e.account_id').onRef('j.region', '=', 'e.region').onRef('j.job_id', '=', 'e.job_id'))
      .selectAll('e')
      .where('e.account_id', '=', s.accountId)
      .where('e.region', '=', s.region)
      .where('e.thing_name', '=', thingName)
      .where(delivered)
      .where((eb) =>
        eb(
          'e.execution_number',
          '=',
          eb
            .selectFrom('job_executions as later')
            .select((b) => b.fn.max('later.execution_number').as('n'))
            .whereRef('later.account_id', '=', 'e.account_id')
            .whereRef('later.region', '=', 'e.region')
            .whereRef('later.job_id', '=', 'e.job_id')
            .whereRef('later.thing_name', '=', 'e.thing_name')
            .where('later.notified_at', 'is not', null)
            .where('later.status', '!=', 'REMOVED'),
        ),
      )
      .orderBy('j.created_at', 'desc')
      .orderBy('j.deployment_id')
      .limit(limit);
    if (after !== undefined) {
      q = q.where((eb) =>
        eb.or([eb('j.created_at', '<', after.createdAt), eb.and([eb('j.created_at', '=', after.createdAt), eb('j.deployment_id', '>', after.deploymentId)])]),
      );
    }
    const executions = (await q.execute()).map(toExecution);
    if (executions.length === 0) return [];
    const jobIds = [...new Set(executions.map((e) => e.jobId))];
    const jobs = new Map(
      (await this.db.selectFrom('jobs').selectAll().$call(scoped(s)).where('job_id', 'in', jobIds).execute()).map((r) => [r.job_id, toJob(r as JobRow)]),
    );
    const deploymentIds = [...new Set([...jobs.values()].map((j) => j.deploymentId))];
    const deployments = new Map(
      (await this.db.selectFrom('deployments').selectAll().$call(scoped(s)).where('deployment_id', 'in', deploymentIds).execute()).map((r) => [
        r.deployment_id,
        toDeployment(r as DeploymentRow),
      ]),
    );
    return executions.map((execution) => {
      const job = jobs.get(execution.jobId)!;
      return { job, execution, deployment: deployments.get(job.deploymentId) };
    });
  }

}

function toComponentVersion(r: Database['component_versions']): ComponentVersion {
  return {
    name: r.name,
    version: r.version,
    recipe: r.recipe,
    state: r.state as ComponentVersion['state'],
    message: opt(r.message),
    errors: parse(r.errors),
    createdAt: Number(r.created_at),
  };
}

function matchesAttributes(t: Thing, f: { attributeName?: string; attributeValue?: string; usePrefixAttributeValue?: boolean }): boolean {
  if (f.attributeName === undefined) return true;
  const v = t.attributes[f.attributeName];
  if (v === undefined) return false;
  if (f.attributeValue === undefined) return true;
  return f.usePrefixAttributeValue ? v.startsWith(f.attributeValue) : v === f.attributeValue;
}

// ---- jobs (rollouts) ----

type JobRow = Omit<Database['jobs'], 'seq'> & { seq: number };

function toJob(r: JobRow): Job {
  return {
    jobId: r.job_id,
    deploymentId: r.deployment_id,
    targetArn: r.target_arn,
    groupName: r.group_name,
    namespaceId: r.namespace_id,
    targetSelection: r.target_selection as Job['targetSelection'],
    status: r.status as Job['status'],
    document: r.document,
    fullDocument: r.full_document,
    rolloutConfig: parse(r.rollout_config),
    abortConfig: parse(r.abort_config),
    timeoutConfig: parse(r.timeout_config),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    completedAt: r.completed_at === null ? undefined : Number(r.completed_at),
    reasonCode: opt(r.reason_code),
    comment: opt(r.comment),
    forceCanceled: r.force_canceled === 1,
  };
}

const optNumber = (v: number | null) => (v === null ? undefined : Number(v));

function toExecution(r: Database['job_executions']): StoredJobExecution {
  const e: StoredJobExecution = {
    jobId: r.job_id,
    thingName: r.thing_name,
    executionNumber: Number(r.execution_number),
    status: r.status as JobExecutionStatus,
    statusDetails: JSON.parse(r.status_details),
    queuedAt: Number(r.queued_at),
    lastUpdatedAt: Number(r.last_updated_at),
    versionNumber: Number(r.version_number),
    rateLimited: r.rate_limited === 1,
  };
  // Optional members are left out rather than set to undefined, as the jobs core builds them.
  const startedAt = optNumber(r.started_at);
  if (startedAt !== undefined) e.startedAt = startedAt;
  const stepTimeoutAt = optNumber(r.step_timeout_at);
  if (stepTimeoutAt !== undefined) e.stepTimeoutAt = stepTimeoutAt;
  const notifiedAt = optNumber(r.notified_at);
  if (notifiedAt !== undefined) e.notifiedAt = notifiedAt;
  const timeoutAt = optNumber(r.timeout_at);
  if (timeoutAt !== undefined) e.timeoutAt = timeoutAt;
  return e;
}

function executionRow(s: Scope, e: StoredJobExecution): Database['job_executions'] {
  return {
    account_id: s.accountId,
    region: s.region,
    job_id: e.jobId,
    thing_name: e.thingName,
    execution_number: e.executionNumber,
    status: e.status,
    status_details: JSON.stringify(e.statusDetails),
    queued_at: e.queuedAt,
    started_at: e.startedAt ?? null,
    last_updated_at: e.lastUpdatedAt,
    version_number: e.versionNumber,
    notified_at: e.notifiedAt ?? null,
    rate_limited: e.rateLimited ? 1 : 0,
    step_timeout_at: e.stepTimeoutAt ?? null,
    timeout_at: e.timeoutAt ?? null,
  };
}

// ---- device identity (certificates) ----

function certificateRow(s: Scope, c: Certificate): Database['certificates'] {
  return {
    account_id: s.accountId,
    region: s.region,
    certificate_id: c.id,
    certificate_pem: c.pem,
    status: c.status,
    ca_certificate_id: c.caCertificateId ?? null,
    not_before: c.notBefore,
    not_after: c.notAfter,
    customer_version: c.customerVersion,
    generation_id: c.generationId,
    created_at: c.createdAt,
    last_modified_at: c.lastModifiedAt,
  };
}

function toCertificate(r: Database['certificates']): Certificate {
  return {
    id: r.certificate_id,
    pem: r.certificate_pem,
    status: r.status as Certificate['status'],
    caCertificateId: opt(r.ca_certificate_id),
    notBefore: Number(r.not_before),
    notAfter: Number(r.not_after),
    customerVersion: r.customer_version,
    generationId: r.generation_id,
    createdAt: Number(r.created_at),
    lastModifiedAt: Number(r.last_modified_at),
  };
}

function toThingPrincipal(r: Database['thing_principals']): ThingPrincipal {
  return { thingName: r.thing_name, principal: r.principal, type: r.principal_type as ThingPrincipal['type'], attachedAt: Number(r.attached_at) };
}

// ---- core devices (fleet status) ----

function toCoreDevice(r: Database['core_devices']): CoreDevice {
  const d: CoreDevice = {
    thingName: r.thing_name,
    coreVersion: r.core_version,
    platform: r.platform,
    architecture: r.architecture,
    runtime: r.runtime,
    status: r.status as CoreDevice['status'],
    lastStatusUpdateAt: Number(r.last_status_update_at),
    createdAt: Number(r.created_at),
  };
  if (r.last_sequence_number !== null) d.lastSequenceNumber = Number(r.last_sequence_number);
  return d;
}

function coreDeviceRow(s: Scope, d: CoreDevice): Database['core_devices'] {
  return {
    account_id: s.accountId,
    region: s.region,
    thing_name: d.thingName,
    core_version: d.coreVersion,
    platform: d.platform,
    architecture: d.architecture,
    runtime: d.runtime,
    status: d.status,
    last_status_update_at: d.lastStatusUpdateAt,
    last_sequence_number: d.lastSequenceNumber ?? null,
    created_at: d.createdAt,
  };
}

function toInstalledComponent(r: Database['installed_components']): InstalledComponent {
  const c: InstalledComponent = {
    componentName: r.component_name,
    componentVersion: r.component_version,
    lifecycleState: r.lifecycle_state as InstalledComponent['lifecycleState'],
    lifecycleStatusCodes: JSON.parse(r.lifecycle_status_codes) as string[],
    isRoot: r.is_root === 1,
    lastStatusChangeAt: Number(r.last_status_change_at),
    lastReportedAt: Number(r.last_reported_at),
  };
  if (r.lifecycle_state_details !== null) c.lifecycleStateDetails = r.lifecycle_state_details;
  if (r.last_installation_source !== null) c.lastInstallationSource = r.last_installation_source;
  return c;
}

function installedComponentRow(s: Scope, thingName: string, c: InstalledComponent): Database['installed_components'] {
  return {
    account_id: s.accountId,
    region: s.region,
    thing_name: thingName,
    component_name: c.componentName,
    component_version: c.componentVersion,
    lifecycle_state: c.lifecycleState,
    lifecycle_state_details: c.lifecycleStateDetails ?? null,
    lifecycle_status_codes: JSON.stringify(c.lifecycleStatusCodes),
    is_root: c.isRoot ? 1 : 0,
    last_status_change_at: c.lastStatusChangeAt,
    last_reported_at: c.lastReportedAt,
    last_installation_source: c.lastInstallationSource ?? null,
  };
}
