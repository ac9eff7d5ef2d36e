/**
 * Housekeeping workflows, started by the Temporal Schedules declared in src/schedules/definitions.ts on
 * the small storage queue (the storage workers register the activities). Each is one idempotent activity
 * whose result (counts, a few ids) is the run's result, readable in the Temporal UI. Deterministic code
 * only: the cut-off times are computed by the activities.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type {
  AbortStaleUploadsInput,
  HousekeepingActivities,
  RequeueStuckFilesInput,
  TrimDeadLettersInput,
} from '../activities/housekeeping/activities.js';

const act = proxyActivities<HousekeepingActivities>({
  startToCloseTimeout: '30 minutes',
  // Long scans heartbeat per page or per file; a dead worker is noticed within this.
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
  },
});

/** Aborts multipart uploads started more than `olderThanHours` ago (the seeds' upload garbage collection). */
export async function abortStaleUploads(input: AbortStaleUploadsInput) {
  const result = await act.abortStaleUploads(input);
  log.info('abortStaleUploads done', { bucketsScanned: result.bucketsScanned, aborted: result.aborted });
  return result;
}

/** Re-queues files left in `processing` (unchanged for `olderThanMinutes`) whose workflow is not running. */
export async function requeueStuckFiles(input: RequeueStuckFilesInput) {
  const result = await act.requeueStuckFiles(input);
  log.info('requeueStuckFiles done', {
    checked: result.checked,
    requeued: result.requeued,
    stillRunning: result.stillRunning,
  });
  return result;
}

/** Removes dead letters older than `olderThanHours` from the DLQ stream. */
export async function trimDeadLetters(input: TrimDeadLettersInput) {
  const result = await act.trimDeadLetters(input);
  log.info('trimDeadLetters done', { removed: result.removed, remaining: result.remaining });
  return result;
}
