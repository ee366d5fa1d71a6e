// Deployments to a single thing (semantics §1.4, §8.5): no IoT job; the deployment rides the thing's named shadow
// AWSManagedGreengrassV2Deployment. CreateDeployment writes `desired = {fleetConfig, desiredStatus}` in its own
// transaction, CancelDeployment sets `desiredStatus: CANCELED` (the only value the nucleus acts on), and what the
// device writes into `reported` becomes the revision's device status and, for an ACTIVE deployment, its outcome.
//
// Lock order: the target's lock (CreateDeployment, CancelDeployment) before the shadow's, the shadow's before the
// deployment rows. A device report holds only the shadow's lock, so every status change of a thing's deployments
// happens under that one lock.
import { inScope, parseConfigurationArn, parseIotArn, thingArn } from '../core/arn.js';
import { deviceStatusWhenWithdrawn, statusAfterDeviceReport } from '../core/deployment-status.js';
import { DEPLOYMENT_SHADOW_NAME, outcomeFromShadowReported, prepareDelivery, shadowDesiredState } from '../core/device-document/index.js';
import type { JsonObject } from '../core/shadow/index.js';
import type { Deployment, DeviceDeploymentStatus, Scope, Store } from '../store/store.js';
import { updateShadow, type ShadowRef } from './shadows.js';

const deploymentShadow = (thingName: string): ShadowRef => ({ thingName, shadowName: DEPLOYMENT_SHADOW_NAME });

/** The thing a deployment targets, or undefined for a group deployment. */
export function targetThing(d: Pick<Deployment, 'targetArn'>): string | undefined {
  const target = parseIotArn(d.targetArn);
  return target?.kind === 'thing' ? target.name : undefined;
}

/** Takes the thing's deployment shadow lock (see the lock order above); call before changing its deployments. */
export async function lockDeploymentShadow(tx: Store, scope: Scope, thingName: string): Promise<void> {
  await tx.lockShadow(scope, thingName, DEPLOYMENT_SHADOW_NAME);
}

/**
 * Writes a new thing deployment into its thing's deployment shadow: the desired state replaces what the previous
 * revision put there (the nucleus then supersedes that one). Throws the caller's validation error when the document
 * cannot be carried (delivery.ts).
 */
export async function deliverThingDeployment(tx: Store, scope: Scope, d: Deployment, now: number): Promise<void> {
  const thingName = targetThing(d);
  if (thingName === undefined) return;
  const delivery = prepareDelivery(d, scope);
  const desired = shadowDesiredState(delivery.documentJson, 'ACTIVE') as unknown as JsonObject;
  await updateShadow(tx, scope, now, deploymentShadow(thingName), { state: { desired } });
}

/** Cancels a thing deployment on its device: desiredStatus CANCELED. Returns its device status, as it now stands. */
export async function cancelThingDeployment(tx: Store, scope: Scope, d: Deployment, now: number): Promise<DeviceDeploymentStatus | undefined> {
  const thingName = targetThing(d);
  if (thingName === undefined) return d.deviceStatus;
  await updateShadow(tx, scope, now, deploymentShadow(thingName), { state: { desired: { desiredStatus: 'CANCELED' } } });
  return deviceStatusWhenWithdrawn(d.deviceStatus, now) ?? d.deviceStatus;
}

/**
 * Records what a thing wrote into the reported state of its deployment shadow: the device status of the revision it
 * names (`fleetConfigurationArnForStatus`) and, when that revision is still ACTIVE, its outcome. A report that names
 * no revision of this thing's deployments, or one that no longer exists, is left alone (it stays in the shadow).
 */
export async function recordDeviceReport(tx: Store, scope: Scope, thingName: string, reported: unknown, now: number): Promise<Deployment | undefined> {
  const outcome = outcomeFromShadowReported(reported);
  if (!outcome) return undefined;
  const arn = parseConfigurationArn(outcome.configurationArn);
  if (!arn || arn.kind !== 'thing' || arn.name !== thingName || !inScope(arn, scope)) return undefined;
  const d = await tx.getDeploymentRevision(scope, thingArn(scope, thingName), arn.revision);
  if (!d) return undefined;
  const deviceStatus: DeviceDeploymentStatus = {
    status: outcome.coreDeviceExecutionStatus,
    detailedStatus: outcome.reason,
    failureCause: outcome.failureCause,
    statusDetails: outcome.statusDetails,
    updatedAt: now,
  };
  const status = statusAfterDeviceReport(d.status, deviceStatus.status);
  await tx.updateDeployment(scope, d.deploymentId, { deviceStatus, status });
  return { ...d, deviceStatus, status };
}
