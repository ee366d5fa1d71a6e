// SqlStore's queries: Core devices and their installed components (fleet status), and the deployments delivered to them.
import type { ExpressionBuilder } from 'kysely';
import type { Database } from '../schema.js';
import type {
  CoreDevice,
  CoreDeviceFilter,
  DeliveredGroupDeployment,
  Deployment,
  EffectiveDeploymentCursor,
  GroupDeploymentSuccess,
  InstalledComponent,
  Page,
  PageRequest,
  Scope,
} from '../store.js';
import type { SqlBaseClass } from './base.js';
import { chunks, page, scoped, parse, IN_LIST_LIMIT } from './query.js';
import {
  toDeployment,
  toJob,
  toExecution,
  toCoreDevice,
  coreDeviceRow,
  toInstalledComponent,
  installedComponentRow,
  type DeploymentRow,
  type JobRow,
} from './rows.js';

export function withCoreDevices<B extends SqlBaseClass>(Base: B) {
  return class extends Base {
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
      return this.ownTransaction(async ({ db }) => {
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
      await this.ownTransaction(async ({ db }) => {
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
  };
}
