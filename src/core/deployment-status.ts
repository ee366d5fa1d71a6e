// What a deployment's cloud status allows (semantics §2.1): the one place that says which status
// transitions CancelDeployment, DeleteDeployment and a new revision make.
import type { Deployment, DeploymentStatus } from '../store/store.js';
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
