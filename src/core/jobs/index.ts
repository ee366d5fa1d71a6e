// IoT Jobs rules for the rollout engine and the device jobs APIs: pure functions, no I/O, time passed in as epoch ms.
export type {
  AbortCriteria,
  AbortFailureType,
  ExponentialRolloutRate,
  JobExecution,
  JobExecutionStatus,
  JobProcessDetails,
  RateIncreaseCriteria,
  RolloutConfig,
  StatusDetails,
  TimeoutConfig,
} from './types.js';
export { GREENGRASS_JOB_NAMESPACE, JOB_EXECUTION_STATUSES } from './types.js';
export {
  DEVICE_STATUSES,
  MAX_STEP_TIMEOUT_MINUTES,
  SERVICE_STATUSES,
  applyDeviceUpdate,
  applyServiceTransition,
  deviceMayRequest,
  executionState,
  isTerminal,
  queuedExecution,
  statusDetailsViolations,
  type DeviceStatus,
  type DeviceUpdateOptions,
  type Rejection,
  type RejectionCode,
  type RejectionReason,
  type ServiceStatus,
  type ServiceTransitionOptions,
  type TransitionResult,
} from './executions.js';
export {
  DEFAULT_MAXIMUM_PER_MINUTE,
  ROLLOUT_WINDOW_MS,
  rolloutAllowance,
  rolloutRatePerMinute,
  type RolloutAllowance,
  type RolloutInput,
} from './rollout.js';
export { evaluateAbort, executedCount, failedCountOfType, type AbortDecision } from './abort.js';
export { MINUTE_MS, approximateSecondsBeforeTimedOut, expiredExecutions, isExpired, nextTimeoutAt, timeoutAt } from './timeout.js';
export { jobProcessDetails } from './process-details.js';
