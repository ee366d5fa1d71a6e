// Greengrass V2 deployment operations (semantics §1.1, §2.1, §9).
import { randomUUID } from 'node:crypto';
import { deploymentArn, inScope, iotJobArn, parseIotArn } from '../../core/arn.js';
import { checkCreateDeployment } from '../../core/deployment-request.js';
import { assertDeletable, cancel, deviceStatusWhenWithdrawn, queuedDeviceStatus, supersededStatus } from '../../core/deployment-status.js';
import { conflict, invalidFields, notFound } from '../../core/errors.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import { cancelJob, createDeploymentJob } from '../../engine/jobs.js';
import { cancelThingDeployment, deliverThingDeployment, lockDeploymentShadow, targetThing } from '../../engine/thing-deployments.js';
import type { Deployment, Scope, Store } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';
import { idempotent } from '../idempotency.js';
import { assertDeployable } from './deployable.js';

const DEFAULT_PAGE = 50;

async function assertTargetExists(store: Store, scope: Scope, arn: string, member: 'targetArn' | 'parentTargetArn') {
  const ref = parseIotArn(arn);
  const exists =
    ref &&
    inScope(ref, scope) &&
    (ref.kind === 'thing' ? await store.getThing(scope, ref.name) : await store.getThingGroup(scope, ref.name));
  if (!exists) {
    const what = ref?.kind === 'thing' ? 'Thing' : 'Thing group';
    throw notFound(ref?.kind === 'thing' ? 'thing' : 'thingGroup', arn, `${what} ${arn} (${member}) does not exist in ${scope.region} for account ${scope.accountId}.`);
  }
}

async function getOrThrow(store: Store, scope: Scope, id: string): Promise<Deployment> {
  const d = await store.getDeployment(scope, id);
  if (!d) throw notFound('deployment', id, `Deployment ${id} does not exist.`);
  return d;
}

/**
 * Reads a deployment under its target's lock, which CreateDeployment also holds while it replaces the latest
 * revision: status changes to one target's deployments then happen one at a time, so two concurrent cancels
 * cannot both succeed and a cancel cannot be lost under a new revision.
 */
async function getLockedOrThrow(tx: Store, scope: Scope, id: string): Promise<Deployment> {
  const seen = await getOrThrow(tx, scope, id);
  await tx.lockTarget(scope, seen.targetArn);
  return getOrThrow(tx, scope, id); // read again: it may have changed while we waited for the lock
}

function summary(d: Deployment) {
  return {
    targetArn: d.targetArn,
    revisionId: String(d.revision),
    deploymentId: d.deploymentId,
    deploymentName: d.deploymentName,
    creationTimestamp: new Date(d.createdAt),
    deploymentStatus: d.status,
    isLatestForTarget: d.isLatest,
    parentTargetArn: d.parentTargetArn,
  };
}

async function createDeployment(ctx: RequestContext, input: Input) {
  const violations = checkCreateDeployment(input);
  if (violations.length > 0) throw invalidFields(violations);
  const { scope } = ctx;
  return idempotent(ctx, input, async (tx) => {
    await assertTargetExists(tx, scope, input.targetArn, 'targetArn');
    if (input.parentTargetArn !== undefined) await assertTargetExists(tx, scope, input.parentTargetArn, 'parentTargetArn');
    await assertDeployable(tx, scope, input.targetArn, input.components ?? {});

    // Taking the revision locks the target, so the latest revision read next cannot change under us.
    const revision = await tx.nextRevision(scope, input.targetArn);
    const thingName = targetThing({ targetArn: input.targetArn as string });
    // A thing's deployments change status under its deployment shadow's lock (engine/thing-deployments.ts).
    if (thingName !== undefined) await lockDeploymentShadow(tx, scope, thingName);
    let previous = await tx.latestDeploymentFor(scope, input.targetArn);
    if (previous?.parentTargetArn && input.parentTargetArn && previous.parentTargetArn !== input.parentTargetArn) {
      throw conflict(
        'deployment',
        previous.deploymentId,
        `Thing group ${input.targetArn} already receives subdeployments of ${previous.parentTargetArn}; it cannot take one of ${input.parentTargetArn}.`,
      );
    }
    const now = ctx.clock.now();
    if (previous?.iotJobId) {
      // The previous revision's job is CANCELED (semantics §8.1); its lock is taken before the deployment row, the
      // order every job change follows, and the deployment is read again in case an abort just failed it.
      await cancelJob(tx, scope, previous.iotJobId, now, { comment: `Replaced by revision ${revision} of the deployment to ${input.targetArn}.` });
      previous = await tx.getDeployment(scope, previous.deploymentId);
    }
    if (previous) {
      await tx.updateDeployment(scope, previous.deploymentId, {
        isLatest: false,
        status: supersededStatus(previous.status),
        deviceStatus: deviceStatusWhenWithdrawn(previous.deviceStatus, now),
      });
    }

    const deploymentId = randomUUID();
    // Group targets ride an IoT job; a single thing gets its deployments through its shadow instead.
    const iotJobId = parseIotArn(input.targetArn)!.kind === 'thinggroup' ? randomUUID() : undefined;
    const deployment: Deployment = {
      deploymentId,
      targetArn: input.targetArn,
      revision,
      deploymentName: input.deploymentName,
      status: 'ACTIVE',
      isLatest: true,
      iotJobId,
      iotJobArn: iotJobId && iotJobArn(scope, iotJobId),
      parentTargetArn: input.parentTargetArn,
      components: input.components,
      deploymentPolicies: input.deploymentPolicies,
      iotJobConfiguration: input.iotJobConfiguration,
      createdAt: now,
      deviceStatus: thingName === undefined ? undefined : queuedDeviceStatus(now),
    };
    await tx.insertDeployment(scope, deployment);
    // A group deployment's job and its executions commit with the deployment.
    await createDeploymentJob(tx, scope, deployment, now);
    // A thing deployment's shadow write commits with it too (the device hears of it once committed).
    await deliverThingDeployment(tx, scope, deployment, now);
    if (input.tags) await tx.putTags(scope, deploymentArn(scope, deploymentId), input.tags);
    return { deploymentId, iotJobId, iotJobArn: iotJobId && iotJobArn(scope, iotJobId) };
  });
}

async function getDeployment(ctx: RequestContext, input: Input) {
  const d = await getOrThrow(ctx.store, ctx.scope, input.deploymentId);
  const tags = await ctx.store.getTags(ctx.scope, deploymentArn(ctx.scope, d.deploymentId));
  return {
    ...summary(d),
    iotJobId: d.iotJobId,
    iotJobArn: d.iotJobArn,
    components: d.components,
    deploymentPolicies: d.deploymentPolicies,
    iotJobConfiguration: d.iotJobConfiguration,
    tags: Object.keys(tags).length > 0 ? tags : undefined,
  };
}

async function listDeployments(ctx: RequestContext, input: Input) {
  const page = await ctx.store.listDeployments(
    ctx.scope,
    { targetArn: input.targetArn, parentTargetArn: input.parentTargetArn, latestOnly: (input.historyFilter ?? 'LATEST_ONLY') === 'LATEST_ONLY' },
    { after: decodeNextToken(ctx.operation, input.nextToken), limit: input.maxResults ?? DEFAULT_PAGE },
  );
  return { deployments: page.items.map(summary), nextToken: encodeNextToken(ctx.operation, page.next) };
}

async function cancelDeployment(ctx: RequestContext, input: Input) {
  return ctx.store.transaction(async (tx) => {
    let d = await getLockedOrThrow(tx, ctx.scope, input.deploymentId);
    const thingName = targetThing(d);
    if (thingName !== undefined) {
      // Read again under the shadow's lock: the device may just have ended the deployment.
      await lockDeploymentShadow(tx, ctx.scope, thingName);
      d = await getOrThrow(tx, ctx.scope, d.deploymentId);
    }
    if (d.iotJobId) {
      // Job lock before the deployment row (the order every job change follows); read again after it, as an abort
      // may have failed the deployment meanwhile. QUEUED executions are CANCELED, IN_PROGRESS ones keep running.
      await tx.lockJob(ctx.scope, d.iotJobId);
      d = await getOrThrow(tx, ctx.scope, d.deploymentId);
    }
    const status = cancel(d);
    if (d.iotJobId) await cancelJob(tx, ctx.scope, d.iotJobId, ctx.clock.now(), { comment: `Deployment ${d.deploymentId} was canceled.` });
    const deviceStatus = await cancelThingDeployment(tx, ctx.scope, d, ctx.clock.now());
    await tx.updateDeployment(ctx.scope, d.deploymentId, { status, deviceStatus });
    return { message: `Deployment ${d.deploymentId} (revision ${d.revision} for ${d.targetArn}) is canceled.` };
  });
}

async function deleteDeployment(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    const d = await getLockedOrThrow(tx, ctx.scope, input.deploymentId);
    assertDeletable(d);
    await tx.deleteDeployment(ctx.scope, d.deploymentId);
    await tx.removeTags(ctx.scope, deploymentArn(ctx.scope, d.deploymentId), []);
  });
}

export const deploymentHandlers: HandlerTable = {
  CreateDeployment: createDeployment,
  GetDeployment: getDeployment,
  ListDeployments: listDeployments,
  CancelDeployment: cancelDeployment,
  DeleteDeployment: deleteDeployment,
};
