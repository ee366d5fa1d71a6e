// What a deployment's cloud status allows (semantics §2.1): the one place that says which status
// transitions CancelDeployment, DeleteDeployment and a new revision make.
import type { Deployment, DeploymentStatus, DeviceDeploymentStatus } from '../store/store.js';
import type { EffectiveDeploymentExecutionStatus } from './device-document/status-details.js';
import { conflict } from './errors.js';

/** The status the previous latest revision takes when a new revision replaces it. */
export function supersededStatus(status: DeploymentStatus): DeploymentStatus {
  return status === 'ACTIVE' ? 'INACTIVE' : status;
}

/** CancelDeployment: only an ACTIVE deployment can be cancelled. */
export function cancel(d: Deployment): DeploymentStatus {
  if (d.status !== 'ACTIVE') {
    const why =
      d.status === 'INACTIVE'
        ? 'it was replaced by a newer revision for its target'
        : d.status === 'CANCELED'
          ? 'it is already canceled'
          : `it has already ended with status ${d.status}`;
    throw conflict('deployment', d.deploymentId, `Deployment ${d.deploymentId} cannot be canceled because ${why}. Only ACTIVE deployments can be canceled.`);
  }
  return 'CANCELED';
}

/** DeleteDeployment: an ACTIVE deployment must be cancelled first. */
export function assertDeletable(d: Deployment): void {
  if (d.status === 'ACTIVE') {
    throw conflict(
      'deployment',
      d.deploymentId,
      `Deployment ${d.deploymentId} is ACTIVE. Cancel it with CancelDeployment before deleting it.`,
    );
  }
}

// ---- thing deployments (semantics §2.1 INFERRED, Appendix B): one device decides the outcome ----

/** A thing deployment's device status before its device has said anything. */
export const queuedDeviceStatus = (now: number): DeviceDeploymentStatus => ({
  status: 'QUEUED',
  statusDetails: { errorStack: [], errorTypes: [] },
  updatedAt: now,
});

/**
 * The cloud status of a thing deployment once its device reports: success ends it COMPLETED, failure or rejection
 * FAILED; IN_PROGRESS (or anything else) leaves it as it is. Only an ACTIVE deployment ends this way: a replaced
 * (INACTIVE), cancelled or already ended revision keeps its status, whatever its device says about it later.
 */
export function statusAfterDeviceReport(status: DeploymentStatus, device: EffectiveDeploymentExecutionStatus): DeploymentStatus {
  if (status !== 'ACTIVE') return status;
  if (device === 'COMPLETED' || device === 'SUCCEEDED') return 'COMPLETED';
  if (device === 'FAILED' || device === 'REJECTED') return 'FAILED';
  return status;
}

/**
 * The device status of a thing deployment cancelled or replaced: CANCELED if its device never took it up (as a group
 * deployment's QUEUED executions are cancelled with the job); otherwise the device's own word stands (undefined).
 */
export function deviceStatusWhenWithdrawn(current: DeviceDeploymentStatus | undefined, now: number): DeviceDeploymentStatus | undefined {
  return current?.status === 'QUEUED' ? { ...current, status: 'CANCELED', updatedAt: now } : undefined;
}
