// DescribeJob's `jobProcessDetails`: how many of a job's executions are in each status.
import type { JobExecution, JobExecutionStatus, JobProcessDetails } from './types.js';

const FIELD: Record<JobExecutionStatus, keyof JobProcessDetails> = {
  QUEUED: 'numberOfQueuedThings',
  IN_PROGRESS: 'numberOfInProgressThings',
  SUCCEEDED: 'numberOfSucceededThings',
  FAILED: 'numberOfFailedThings',
  REJECTED: 'numberOfRejectedThings',
  TIMED_OUT: 'numberOfTimedOutThings',
  REMOVED: 'numberOfRemovedThings',
  CANCELED: 'numberOfCanceledThings',
};

export function jobProcessDetails(executions: Iterable<Pick<JobExecution, 'status'>>): JobProcessDetails {
  const counts: JobProcessDetails = {
    numberOfQueuedThings: 0,
    numberOfInProgressThings: 0,
    numberOfSucceededThings: 0,
    numberOfFailedThings: 0,
    numberOfRejectedThings: 0,
    numberOfTimedOutThings: 0,
    numberOfRemovedThings: 0,
    numberOfCanceledThings: 0,
  };
  for (const e of executions) counts[FIELD[e.status]]++;
  return counts;
}
