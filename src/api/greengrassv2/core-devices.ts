// Greengrass core devices (semantics §1.5, §2.2, §8.7): the records fleet-status messages keep
// (src/devices/mqtt/fleet-status.ts), their installed components, and the deployments delivered to them.
import { coreDeviceArn, inScope, iotJobArn, parseIotArn, thingArn } from '../../core/arn.js';
import { fromJobStatusDetails } from '../../core/device-document/index.js';
import { invalid, notFound } from '../../core/errors.js';
import type { CoreDevice, InstalledComponent } from '../../core/fleet-status/index.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import type { JobExecutionStatus } from '../../core/jobs/types.js';
import type { DeliveredGroupDeployment, Deployment, EffectiveDeploymentCursor, Store } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';

const DEFAULT_PAGE = 50;

async function getOrThrow(store: Store, ctx: RequestContext, thingName: string): Promise<CoreDevice> {
  const d = await store.getCoreDevice(ctx.scope, thingName);
  if (!d) throw notFound('coreDevice', thingName, `Core device ${thingName} does not exist (a core device appears when it first reports its status).`);
  return d;
}

function summary(d: CoreDevice) {
  return {
    coreDeviceThingName: d.thingName,
    status: d.status,
    lastStatusUpdateTimestamp: new Date(d.lastStatusUpdateAt),
    platform: d.platform,
    architecture: d.architecture,
    runtime: d.runtime,
  };
}

async function listCoreDevices(ctx: RequestContext, input: Input) {
  let groupName: string | undefined;
  if (input.thingGroupArn !== undefined) {
    const ref = parseIotArn(input.thingGroupArn);
    // A group of another account or region has no core devices here.
    if (!ref || !inScope(ref, ctx.scope)) return { coreDevices: [] };
    groupName = ref.name;
  }
  const page = await ctx.store.listCoreDevices(
    ctx.scope,
    { status: input.status, runtime: input.runtime, groupName },
    { after: decodeNextToken(ctx.operation, input.nextToken), limit: input.maxResults ?? DEFAULT_PAGE },
  );
  return { coreDevices: page.items.map(summary), nextToken: encodeNextToken(ctx.operation, page.next) };
}

async function getCoreDevice(ctx: RequestContext, input: Input) {
  const d = await getOrThrow(ctx.store, ctx, input.coreDeviceThingName);
  const tags = await ctx.store.getTags(ctx.scope, coreDeviceArn(ctx.scope, d.thingName));
  return { ...summary(d), coreVersion: d.coreVersion, tags: Object.keys(tags).length > 0 ? tags : undefined };
}

/** Removes the record, its installed components and its tags; the thing stays, and its next status message recreates it. */
async function deleteCoreDevice(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    if (!(await tx.deleteCoreDevice(ctx.scope, input.coreDeviceThingName))) await getOrThrow(tx, ctx, input.coreDeviceThingName);
    await tx.removeTags(ctx.scope, coreDeviceArn(ctx.scope, input.coreDeviceThingName), []);
  });
}

function installedComponent(c: InstalledComponent) {
  return {
    componentName: c.componentName,
    componentVersion: c.componentVersion,
    lifecycleState: c.lifecycleState,
    lifecycleStateDetails: c.lifecycleStateDetails,
    lifecycleStatusCodes: c.lifecycleStatusCodes,
    isRoot: c.isRoot,
    lastStatusChangeTimestamp: new Date(c.lastStatusChangeAt),
    lastReportedTimestamp: new Date(c.lastReportedAt),
    lastInstallationSource: c.lastInstallationSource,
  };
}

async function listInstalledComponents(ctx: RequestContext, input: Input) {
  await getOrThrow(ctx.store, ctx, input.coreDeviceThingName);
  const page = await ctx.store.listInstalledComponents(
    ctx.scope,
    input.coreDeviceThingName,
    { rootOnly: (input.topologyFilter ?? 'ROOT') === 'ROOT' },
    { after: decodeNextToken(ctx.operation, input.nextToken), limit: input.maxResults ?? DEFAULT_PAGE },
  );
  return { installedComponents: page.items.map(installedComponent), nextToken: encodeNextToken(ctx.operation, page.next) };
}

// ---- effective deployments ----

/** An EffectiveDeployment with its place in the list (newest deployment first, then by deployment id). */
interface EffectiveEntry {
  cursor: EffectiveDeploymentCursor;
  deployment: Record<string, unknown>;
}

/** Statuses that end a deployment on the device without success: they carry statusDetails (null on success, API). */
const UNSUCCESSFUL: ReadonlySet<string> = new Set<JobExecutionStatus>(['FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED']);

function fromGroupDeployment(ctx: RequestContext, { job, execution, deployment }: DeliveredGroupDeployment): EffectiveEntry {
  const report = fromJobStatusDetails(execution.statusDetails);
  return {
    cursor: { createdAt: job.createdAt, deploymentId: job.deploymentId },
    deployment: {
      deploymentId: job.deploymentId,
      // Required in the output, optional in CreateDeployment: an unnamed (or deleted) deployment shows its id.
      deploymentName: deployment?.deploymentName ?? job.deploymentId,
      iotJobId: job.jobId,
      iotJobArn: iotJobArn(ctx.scope, job.jobId),
      targetArn: job.targetArn,
      coreDeviceExecutionStatus: execution.status,
      reason: report.reason,
      creationTimestamp: new Date(job.createdAt),
      modifiedTimestamp: new Date(execution.lastUpdatedAt),
      statusDetails: UNSUCCESSFUL.has(execution.status) ? report.statusDetails : undefined,
    },
  };
}

/** One kind of delivery to a device: its entries after the cursor, in list order, at most `limit`. */
type EffectiveDeploymentSource = (ctx: RequestContext, thingName: string, after: EffectiveDeploymentCursor | undefined, limit: number) => Promise<EffectiveEntry[]>;

const groupDeployments: EffectiveDeploymentSource = async (ctx, thingName, after, limit) =>
  (await ctx.store.listDeliveredGroupDeployments(ctx.scope, thingName, after, limit)).map((d) => fromGroupDeployment(ctx, d));

/** A deployment to the thing itself, with the status its deployment shadow reported (QUEUED until it reports). */
function fromThingDeployment(d: Deployment): EffectiveEntry {
  const device = d.deviceStatus;
  const status = device?.status ?? 'QUEUED';
  return {
    cursor: { createdAt: d.createdAt, deploymentId: d.deploymentId },
    deployment: {
      deploymentId: d.deploymentId,
      deploymentName: d.deploymentName ?? d.deploymentId,
      targetArn: d.targetArn,
      coreDeviceExecutionStatus: status,
      reason: device?.detailedStatus,
      creationTimestamp: new Date(d.createdAt),
      modifiedTimestamp: new Date(device?.updatedAt ?? d.createdAt),
      statusDetails: UNSUCCESSFUL.has(status) ? device?.statusDetails : undefined,
    },
  };
}

const thingDeployments: EffectiveDeploymentSource = async (ctx, thingName, after, limit) =>
  (await ctx.store.listDeliveredThingDeployments(ctx.scope, thingArn(ctx.scope, thingName), after, limit)).map(fromThingDeployment);

/** Every way deployments reach a core device; the list merges them. */
const EFFECTIVE_DEPLOYMENT_SOURCES: EffectiveDeploymentSource[] = [groupDeployments, thingDeployments];

const listOrder = (a: EffectiveDeploymentCursor, b: EffectiveDeploymentCursor) =>
  b.createdAt - a.createdAt || (a.deploymentId < b.deploymentId ? -1 : a.deploymentId > b.deploymentId ? 1 : 0);

/** One page of the merged sources: each gives up to limit + 1 entries, so whether more follow is known. */
async function effectiveDeploymentsPage(ctx: RequestContext, thingName: string, after: EffectiveDeploymentCursor | undefined, limit: number) {
  const all = (await Promise.all(EFFECTIVE_DEPLOYMENT_SOURCES.map((source) => source(ctx, thingName, after, limit + 1)))).flat();
  all.sort((a, b) => listOrder(a.cursor, b.cursor));
  const items = all.slice(0, limit);
  return { items, next: all.length > limit ? items[items.length - 1].cursor : undefined };
}

function decodeCursor(ctx: RequestContext, token: string | undefined): EffectiveDeploymentCursor | undefined {
  const raw = decodeNextToken(ctx.operation, token);
  if (raw === undefined) return undefined;
  try {
    const c = JSON.parse(raw) as EffectiveDeploymentCursor;
    if (Number.isSafeInteger(c.createdAt) && typeof c.deploymentId === 'string') return c;
  } catch {
    // fall through
  }
  throw invalid(`The nextToken is not valid for ${ctx.operation}; pass the nextToken from a previous ${ctx.operation} response.`, [
    { name: 'nextToken', message: 'Member must be a nextToken returned by this operation' },
  ]);
}

async function listEffectiveDeployments(ctx: RequestContext, input: Input) {
  await getOrThrow(ctx.store, ctx, input.coreDeviceThingName);
  const page = await effectiveDeploymentsPage(ctx, input.coreDeviceThingName, decodeCursor(ctx, input.nextToken), input.maxResults ?? DEFAULT_PAGE);
  return {
    effectiveDeployments: page.items.map((e) => e.deployment),
    nextToken: encodeNextToken(ctx.operation, page.next && JSON.stringify(page.next)),
  };
}

export const coreDeviceHandlers: HandlerTable = {
  ListCoreDevices: listCoreDevices,
  GetCoreDevice: getCoreDevice,
  DeleteCoreDevice: deleteCoreDevice,
  ListInstalledComponents: listInstalledComponents,
  ListEffectiveDeployments: listEffectiveDeployments,
};
