// What a device says about a deployment -> what ListEffectiveDeployments shows (semantics §2.2, Appendix B), and
// (below) how a device agent says it. Device input is never trusted: any malformed part is dropped, nothing here throws.
import { ERROR_CODE_MAX_CHARS, JOB_STATUS_DETAIL, JOB_STATUS_DETAIL_MAX_CHARS } from './defaults.js';

/** API `EffectiveDeploymentExecutionStatus`. */
export type EffectiveDeploymentExecutionStatus =
  'IN_PROGRESS' | 'QUEUED' | 'FAILED' | 'COMPLETED' | 'TIMED_OUT' | 'CANCELED' | 'REJECTED' | 'SUCCEEDED';

/** API `EffectiveDeploymentStatusDetails`: error codes, most generic first. Empty lists when there was no error. */
export interface EffectiveDeploymentStatusDetails {
  errorStack: string[];
  errorTypes: string[];
}

export interface DeviceStatusReport {
  /**
   * EffectiveDeployment `reason`: the device's detailed deployment status, e.g. `SUCCESSFUL` or
   * `FAILED_ROLLBACK_COMPLETE` (the AWS CLI's list-effective-deployments example shows `"reason": "SUCCESSFUL"`).
   */
  reason?: string;
  /** The device's human-readable failure message, when it sent one. */
  failureCause?: string;
  statusDetails: EffectiveDeploymentStatusDetails;
}

/**
 * A job execution's `statusDetails` as the nucleus sends it: every value a string, the error stack and types JSON
 * arrays inside strings (which the nucleus may have cut at 1024 characters, leaving them unparsable).
 */
export function fromJobStatusDetails(details: unknown): DeviceStatusReport {
  const d = isRecord(details) ? details : {};
  return report(
    d[JOB_STATUS_DETAIL.detailedStatus],
    d[JOB_STATUS_DETAIL.failureCause],
    d[JOB_STATUS_DETAIL.errorStack],
    d[JOB_STATUS_DETAIL.errorTypes],
  );
}

/** The same report from the `statusDetails` of a deployment shadow's reported state, where the lists are arrays. */
export function fromShadowStatusDetails(details: unknown): DeviceStatusReport {
  const d = isRecord(details) ? details : {};
  return report(d.detailedStatus, d.failureCause, d.errorStack, d.errorTypes);
}

/**
 * A list of error codes from a JSON array, or from a string holding one. Whatever is not a non-empty string is
 * dropped; codes are cut to the API's 255 characters. A value that is not a list at all yields an empty list.
 */
export function errorCodeList(value: unknown): string[] {
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(list)) return [];
  return list.filter((c): c is string => typeof c === 'string' && c.length > 0).map((c) => c.slice(0, ERROR_CODE_MAX_CHARS));
}

function report(detailedStatus: unknown, failureCause: unknown, errorStack: unknown, errorTypes: unknown): DeviceStatusReport {
  const out: DeviceStatusReport = { statusDetails: { errorStack: errorCodeList(errorStack), errorTypes: errorCodeList(errorTypes) } };
  if (nonEmptyString(detailedStatus)) out.reason = detailedStatus;
  if (nonEmptyString(failureCause)) out.failureCause = failureCause;
  return out;
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

// ---------------------------------------------------------------------------------------------------------------
// The device side: what an agent sends, built here so that the keys and their mapping live next to the readers above.

/** The nucleus's `DeploymentResult.DeploymentStatus`: `detailed-deployment-status` / `detailedStatus` (semantics §2.2). */
export type DetailedDeploymentStatus =
  | 'SUCCESSFUL'
  | 'FAILED_NO_STATE_CHANGE'
  | 'FAILED_ROLLBACK_NOT_REQUESTED'
  | 'FAILED_ROLLBACK_COMPLETE'
  | 'FAILED_UNABLE_TO_ROLLBACK'
  | 'REJECTED';

/** The first error code of every stack (NUC `DeploymentErrorCodeUtils`): rejections and failures alike. */
export const DEPLOYMENT_FAILURE = 'DEPLOYMENT_FAILURE';
export const DEPLOYMENT_REJECTED = 'DEPLOYMENT_REJECTED';

/** How a deployment ended on the device. */
export interface DeploymentOutcome {
  detailedStatus: DetailedDeploymentStatus;
  /** The human-readable root-cause chain; absent on success. */
  failureCause?: string;
  /** Error codes from generic to specific; DEPLOYMENT_FAILURE / DEPLOYMENT_REJECTED are put first when missing. */
  errorStack?: string[];
  /** `DeploymentErrorType`s (without NONE). */
  errorTypes?: string[];
}

/** The final job execution status of an outcome (Appendix B): only a stale group deployment is REJECTED. */
export function jobStatusOfOutcome(detailedStatus: DetailedDeploymentStatus): 'SUCCEEDED' | 'FAILED' | 'REJECTED' {
  if (detailedStatus === 'SUCCESSFUL') return 'SUCCEEDED';
  return detailedStatus === 'REJECTED' ? 'REJECTED' : 'FAILED';
}

/** The error stack as the nucleus sends it: empty on success, else led by DEPLOYMENT_FAILURE or DEPLOYMENT_REJECTED. */
export function deviceErrorStack(outcome: DeploymentOutcome): string[] {
  if (outcome.detailedStatus === 'SUCCESSFUL') return [];
  const head = outcome.detailedStatus === 'REJECTED' ? DEPLOYMENT_REJECTED : DEPLOYMENT_FAILURE;
  const rest = (outcome.errorStack ?? []).filter((c) => c !== DEPLOYMENT_FAILURE && c !== DEPLOYMENT_REJECTED);
  return [head, ...rest];
}

/**
 * A job execution's `statusDetails` for an outcome: every value a string, the lists JSON arrays in strings, each
 * value cut to JOB_STATUS_DETAIL_MAX_CHARS characters (code points, as AWS IoT counts them, so that a cut never
 * splits a surrogate pair). Control characters (a multi-line failure cause) become spaces and empty values are left
 * out: AWS IoT's DetailsMap refuses both, and a refused update would be dropped.
 */
export function toJobStatusDetails(outcome: DeploymentOutcome): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (key: string, value: string | undefined) => {
    const text = statusDetailValue(value ?? '');
    if (text !== '') out[key] = text;
  };
  put(JOB_STATUS_DETAIL.detailedStatus, outcome.detailedStatus);
  put(JOB_STATUS_DETAIL.failureCause, outcome.failureCause);
  if (outcome.detailedStatus !== 'SUCCESSFUL') {
    put(JOB_STATUS_DETAIL.errorStack, JSON.stringify(deviceErrorStack(outcome)));
    put(JOB_STATUS_DETAIL.errorTypes, JSON.stringify(outcome.errorTypes ?? []));
  }
  return out;
}

/** One statusDetails value as AWS IoT takes it: no control characters, at most JOB_STATUS_DETAIL_MAX_CHARS. */
export function statusDetailValue(value: string): string {
  const printable = value.replace(/\p{C}/gu, ' ');
  const chars = Array.from(printable);
  return chars.length > JOB_STATUS_DETAIL_MAX_CHARS ? chars.slice(0, JOB_STATUS_DETAIL_MAX_CHARS).join('') : printable;
}

/** `statusDetails` of the deployment shadow's reported state and of fleet-status `deploymentInformation` (§8.5, §8.6). */
export interface DeviceStatusDetails {
  detailedStatus: DetailedDeploymentStatus;
  failureCause?: string;
  errorStack: string[];
  errorTypes: string[];
}

/** The same outcome with the lists as arrays (shadow reported state, fleet-status deploymentInformation). */
export function toDeviceStatusDetails(outcome: DeploymentOutcome): DeviceStatusDetails {
  const out: DeviceStatusDetails = {
    detailedStatus: outcome.detailedStatus,
    errorStack: deviceErrorStack(outcome),
    errorTypes: outcome.detailedStatus === 'SUCCESSFUL' ? [] : [...(outcome.errorTypes ?? [])],
  };
  if (outcome.failureCause) out.failureCause = outcome.failureCause;
  return out;
}
