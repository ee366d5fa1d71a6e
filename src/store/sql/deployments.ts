// SqlStore's queries: Deployments (revisions per target), component versions and resource tags.
import { sql } from 'kysely';
import type { ComponentVersion, Deployment, DeploymentFilter, Page, PageRequest, Scope } from '../store.js';
import type { SqlBaseClass } from './base.js';
import { page, scoped, json } from './query.js';
import { toDeployment, deviceStatusColumns, toComponentVersion, type DeploymentRow } from './rows.js';

export function withDeployments<B extends SqlBaseClass>(Base: B) {
  return class extends Base {
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
  };
}
