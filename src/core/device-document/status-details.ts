// What a device says about a deployment -> what ListEffectiveDeployments shows (semantics §2.2, Appendix B).
// Device input is never trusted: any malformed part is dropped, nothing here throws.
import { ERROR_CODE_MAX_CHARS, JOB_STATUS_DETAIL } from './defaults.js';

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
