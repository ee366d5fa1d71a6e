// The IoT Jobs vocabulary meadow's rollout engine works in (semantics §8.4; IoT API `JobExecutionStatus`,
// `JobExecutionsRolloutConfig`, `AbortConfig`, `TimeoutConfig`). Times are epoch milliseconds throughout.

/** The namespace of every Greengrass deployment job ("only supported by IoT Greengrass", IoT CreateJob); devices
 * use it in their jobs topics (`.../jobs/$next/namespace-aws-gg-deployment/get`). */
export const GREENGRASS_JOB_NAMESPACE = 'aws-gg-deployment';

export const JOB_EXECUTION_STATUSES = [
  'QUEUED',
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'REJECTED',
  'REMOVED',
  'CANCELED',
] as const;
export type JobExecutionStatus = (typeof JOB_EXECUTION_STATUSES)[number];

/** Name/value pairs a device reports with a status (e.g. `detailed-deployment-status`); values are strings. */
export type StatusDetails = Record<string, string>;

/** One thing's execution of one job: the fields the Jobs APIs report, minus identity (jobId, thingName, …). */
export interface JobExecution {
  status: JobExecutionStatus;
  statusDetails: StatusDetails;
  queuedAt: number;
  /** When the execution first entered IN_PROGRESS; the in-progress timer runs from here. */
  startedAt?: number;
  lastUpdatedAt: number;
  /** Starts at 1 when queued and goes up by one on every accepted change. */
  versionNumber: number;
  /** Deadline of the step timer a device set with `stepTimeoutInMinutes`, if any. */
  stepTimeoutAt?: number;
}

export interface TimeoutConfig {
  /** 1..10080; absent = executions never time out. */
  inProgressTimeoutInMinutes?: number;
}

export interface RateIncreaseCriteria {
  numberOfNotifiedThings?: number;
  numberOfSucceededThings?: number;
}

export interface ExponentialRolloutRate {
  baseRatePerMinute: number;
  /** 1..5 with at most one decimal. */
  incrementFactor: number;
  rateIncreaseCriteria: RateIncreaseCriteria;
}

export interface RolloutConfig {
  maximumPerMinute?: number;
  exponentialRate?: ExponentialRolloutRate;
}

export type AbortFailureType = 'FAILED' | 'REJECTED' | 'TIMED_OUT' | 'ALL';

export interface AbortCriteria {
  failureType: AbortFailureType;
  action: 'CANCEL';
  /** 0..100, at most two decimals. */
  thresholdPercentage: number;
  minNumberOfExecutedThings: number;
}

/** Executions per status, named as DescribeJob's `jobProcessDetails` names them. */
export interface JobProcessDetails {
  numberOfQueuedThings: number;
  numberOfInProgressThings: number;
  numberOfSucceededThings: number;
  numberOfFailedThings: number;
  numberOfRejectedThings: number;
  numberOfTimedOutThings: number;
  numberOfRemovedThings: number;
  numberOfCanceledThings: number;
}
