// The deployment shadow of a single-thing deployment (semantics §8.5): what the cloud writes into `desired`, how
// the device's `reported` state reads as an EffectiveDeployment status, and what a device agent reports there.
// Pure: no I/O, and nothing here throws.
import {
  fromShadowStatusDetails,
  isRecord,
  jobStatusOfOutcome,
  toDeviceStatusDetails,
  type DeploymentOutcome,
  type DeviceStatusDetails,
  type DeviceStatusReport,
  type EffectiveDeploymentExecutionStatus,
} from './status-details.js';

/** The nucleus only acts on CANCELED; any other value means "deploy this" (semantics §8.5). */
export type ShadowDesiredStatus = 'ACTIVE' | 'CANCELED';

export interface ShadowDesiredState {
  /** The device document serialized as a string (not an object). */
  fleetConfig: string;
  desiredStatus: ShadowDesiredStatus;
}

export function shadowDesiredState(documentJson: string, desiredStatus: ShadowDesiredStatus = 'ACTIVE'): ShadowDesiredState {
  return { fleetConfig: documentJson, desiredStatus };
}

/** Shadow `reported.status` -> EffectiveDeployment status: a thing's success shows as COMPLETED (Appendix B). */
const STATUS_FROM_SHADOW: Record<string, EffectiveDeploymentExecutionStatus> = {
  IN_PROGRESS: 'IN_PROGRESS',
  SUCCEEDED: 'COMPLETED',
  FAILED: 'FAILED',
  REJECTED: 'REJECTED',
  CANCELED: 'CANCELED',
};

export interface ShadowReportedOutcome extends DeviceStatusReport {
  /** The deployment revision the device reports on; callers match it to the configurationArn they sent. */
  configurationArn: string;
  coreDeviceExecutionStatus: EffectiveDeploymentExecutionStatus;
  /** The nucleus version the device runs, when it says. */
  ggcVersion?: string;
}

/**
 * Reads `state.reported` of the deployment shadow: `{fleetConfigurationArnForStatus, status, statusDetails
 * {detailedStatus, failureCause, errorStack[], errorTypes[]}, ggcVersion}`. Undefined when it names no
 * configuration or no status we know, i.e. when there is nothing to record.
 */
export function outcomeFromShadowReported(reported: unknown): ShadowReportedOutcome | undefined {
  if (!isRecord(reported)) return undefined;
  const { fleetConfigurationArnForStatus: arn, status, statusDetails, ggcVersion } = reported;
  if (typeof arn !== 'string' || arn === '' || typeof status !== 'string' || !Object.hasOwn(STATUS_FROM_SHADOW, status)) return undefined;
  const out: ShadowReportedOutcome = {
    configurationArn: arn,
    coreDeviceExecutionStatus: STATUS_FROM_SHADOW[status],
    ...fromShadowStatusDetails(statusDetails),
  };
  if (typeof ggcVersion === 'string' && ggcVersion !== '') out.ggcVersion = ggcVersion;
  return out;
}

/** The status a device reports in the deployment shadow (what STATUS_FROM_SHADOW reads). */
export type ShadowReportedStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'REJECTED' | 'CANCELED';

/** `state.reported` of the deployment shadow as the nucleus writes it (semantics §8.5). */
export interface ShadowReportedState {
  fleetConfigurationArnForStatus: string;
  status: ShadowReportedStatus;
  /** Absent while IN_PROGRESS and for a cancellation. */
  statusDetails?: DeviceStatusDetails;
  ggcVersion: string;
}

/**
 * What the device reports on a thing deployment: IN_PROGRESS or CANCELED alone, or its outcome (SUCCEEDED, FAILED,
 * REJECTED by Appendix B) with details.
 */
export function shadowReportedState(
  configurationArn: string,
  ggcVersion: string,
  result: 'IN_PROGRESS' | 'CANCELED' | DeploymentOutcome,
): ShadowReportedState {
  if (typeof result === 'string') return { fleetConfigurationArnForStatus: configurationArn, status: result, ggcVersion };
  return {
    fleetConfigurationArnForStatus: configurationArn,
    status: jobStatusOfOutcome(result.detailedStatus),
    statusDetails: toDeviceStatusDetails(result),
    ggcVersion,
  };
}
