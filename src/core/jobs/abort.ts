// Abort criteria (semantics §8.4; IOTDOC `job-configurations-api.md` "Abort configuration",
// `jobs-configurations-details.md` "Job abort configuration").
//
// Criteria are checked in list order and the first one met aborts the job. A criterion is not checked until at least
// minNumberOfExecutedThings executions have completed; then it is met when
//   executions that ended with its failureType / completed executions × 100 >= thresholdPercentage
// ("at least 20% of the complete executions failed"; the Greengrass API's "exceeds" is read as >= like the IoT guide).
// failureType ALL counts FAILED + REJECTED + TIMED_OUT.
//
// "Completed" = the executions that ran to an end on or for a device: SUCCEEDED, FAILED, REJECTED, TIMED_OUT.
// REMOVED and CANCELED executions are terminal too but were never carried out (the thing left the group, or the
// execution was cancelled), so they count neither as executed nor as failed.
//
// Aborting cancels the job and only its QUEUED executions; IN_PROGRESS ones keep running (IOTDOC note).
// The reasonCode and comment AWS writes on an aborted job are not documented; the ones below are meadow's.
import type { AbortCriteria, AbortFailureType, JobProcessDetails } from './types.js';

export interface AbortDecision {
  /** Position of the criterion that fired in criteriaList. */
  criterionIndex: number;
  criterion: AbortCriteria;
  /** Completed executions of the criterion's failureType. */
  failedCount: number;
  /** Completed executions of any outcome. */
  executedCount: number;
  /** failedCount / executedCount × 100. */
  percentage: number;
  /** For the job's reasonCode (IoT pattern `[\p{Upper}\p{Digit}_]+`). */
  reasonCode: string;
  /** For the job's comment. */
  comment: string;
}

export function executedCount(counts: JobProcessDetails): number {
  return counts.numberOfSucceededThings + counts.numberOfFailedThings + counts.numberOfRejectedThings + counts.numberOfTimedOutThings;
}

export function failedCountOfType(counts: JobProcessDetails, failureType: AbortFailureType): number {
  switch (failureType) {
    case 'FAILED':
      return counts.numberOfFailedThings;
    case 'REJECTED':
      return counts.numberOfRejectedThings;
    case 'TIMED_OUT':
      return counts.numberOfTimedOutThings;
    case 'ALL':
      return counts.numberOfFailedThings + counts.numberOfRejectedThings + counts.numberOfTimedOutThings;
  }
}

/** The first criterion met by these counts, or undefined while none is. */
export function evaluateAbort(criteriaList: readonly AbortCriteria[] | undefined, counts: JobProcessDetails): AbortDecision | undefined {
  const executed = executedCount(counts);
  for (const [criterionIndex, criterion] of (criteriaList ?? []).entries()) {
    if (executed === 0 || executed < criterion.minNumberOfExecutedThings) continue;
    const failed = failedCountOfType(counts, criterion.failureType);
    // thresholdPercentage has at most two decimals: compare in integer hundredths of a percent, exactly.
    const thresholdHundredths = Math.round(criterion.thresholdPercentage * 100);
    if (failed * 100 * 100 < thresholdHundredths * executed) continue;
    const percentage = (failed / executed) * 100;
    return {
      criterionIndex,
      criterion,
      failedCount: failed,
      executedCount: executed,
      percentage,
      reasonCode: `ABORT_CRITERIA_MET_${criterion.failureType}`,
      comment:
        `Job aborted: ${failed} of ${executed} completed executions ended ${criterion.failureType === 'ALL' ? 'FAILED, REJECTED or TIMED_OUT' : criterion.failureType} ` +
        `(${formatPercent(percentage)}%), reaching the threshold of ${criterion.thresholdPercentage}% ` +
        `(abortConfig.criteriaList[${criterionIndex}], checked once ${criterion.minNumberOfExecutedThings} executions completed).`,
    };
  }
  return undefined;
}

const formatPercent = (p: number) => String(Math.round(p * 100) / 100);
