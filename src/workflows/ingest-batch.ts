/**
 * ingestBatch: many files → one ingestFile child each, in a sliding window, with an aggregate at the end.
 *
 * - Sources: a ZIP object (extracted member by member into S3 under `batches/{batchId}/` first, then
 *   listed like a prefix), an S3 prefix, or a list of keys stored in S3. Files are planned a page at a
 *   time by an activity (tier from size, version and workflow id exactly as the bridge computes them).
 * - The window: at most `window` children run at once; the next starts as soon as one ends.
 * - Continue-as-new after `continueAsNewAfter` files (or when Temporal suggests it), carrying the listing
 *   cursor, the unstarted rest of the current page and the running totals, so 10,000 files never make
 *   one long history. In-flight children are awaited first: a run hands over no running work.
 * - History holds keys, ids, cursors and counts; the failed files go to the `batches` row at the end of
 *   each run, and the result carries the first FAILED_FILES_RETURNED of them.
 * - Children run at the batch's priority (below interactive uploads by default) and are cancelled with
 *   the batch (parent close policy REQUEST_CANCEL; cancellation waits until each child has ended).
 * - A file whose ingestFile run already exists (the bridge saw the same upload) is awaited, not redone.
 */

// Not re-exported by @temporalio/workflow; the class startChild throws for an id that is taken.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  continueAsNew,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchActivities, ExistingRunOutcome } from '../activities/batch/activities.js';
import {
  BATCH_PROGRESS_QUERY,
  type BatchAggregate,
  type BatchCarry,
  type BatchFailure,
  type BatchFileStatus,
  type BatchProgress,
  type BatchStatus,
  type BatchTotals,
  batchMembersPrefix,
  emptyTotals,
  filesDone,
  type IngestBatchInput,
  type PlannedBatchFile,
} from '../domain/batch.js';
import type { IngestOutcome } from '../domain/ingest.js';
import { activityRetry, failureReason } from './failures.js';
import { ingestFile } from './ingest-file.js';

const retry = activityRetry('1 second', '1 minute');

// Bookkeeping: short attempts, retried through an outage of S3 or PostgreSQL. A worker killed in the
// middle of one costs its start-to-close before the retry, so that is kept to a minute (each is a few
// queries) rather than minutes of a batch standing still.
const steps = proxyActivities<BatchActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '6 hours',
  retry,
});

// Planning a page (a listing and a HEAD per key) heartbeats per key, so a worker killed while it plans
// (as happens at a continue-as-new, when every run starts by planning) is noticed within 20 s.
const planning = proxyActivities<BatchActivities>({
  startToCloseTimeout: '5 minutes',
  scheduleToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry,
});

// The ZIP: long, heartbeating (with the next member in its details), resumed by the next attempt.
const extraction = proxyActivities<BatchActivities>({
  startToCloseTimeout: '2 hours',
  scheduleToCloseTimeout: '12 hours',
  heartbeatTimeout: '30 seconds',
  retry,
});

// Waiting for someone else's ingestFile run: as long as such a run may take, heartbeating.
const waiting = proxyActivities<BatchActivities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '1 minute',
  retry,
});

export const progressQuery = defineQuery<BatchProgress>(BATCH_PROGRESS_QUERY);

const RECENT_FAILURES = 20;

export async function ingestBatch(input: IngestBatchInput): Promise<BatchAggregate> {
  const { batchId, tenantId, source } = input;
  const first = input.carry === undefined;
  const carry: BatchCarry = input.carry ?? {
    listingDone: false,
    pending: [],
    totals: emptyTotals(),
    runs: 0,
  };
  const totals: BatchTotals = carry.totals;
  const runs = carry.runs + 1;
  let status: BatchStatus = 'running';
  let running = 0;
  /** Failures of this run, stored in the row when it ends (the row keeps every run's). */
  const failures: BatchFailure[] = [];

  setHandler(progressQuery, () => ({
    batchId,
    tenantId,
    status,
    ...totals,
    counts: { ...totals.counts },
    running,
    done: filesDone(totals),
    listingDone: carry.listingDone,
    runs,
    recentFailures: failures.slice(-RECENT_FAILURES),
  }));

  const count = (fileStatus: BatchFileStatus, failure?: BatchFailure) => {
    totals.counts[fileStatus]++;
    if (failure) failures.push(failure);
  };
  // The tenant rides in the activity's argument (no new command): its writes touch only that tenant's row.
  const update = (batchStatus: BatchStatus, error?: string) => ({
    batchId,
    tenantId,
    status: batchStatus,
    totals,
    runs,
    failures,
    ...(error !== undefined ? { error } : {}),
  });

  if (first) {
    log.info('ingestBatch started', { batchId, tenantId, source: source.kind, priority: input.priority });
    await steps.openBatch({
      batchId,
      tenantId,
      source,
      priority: input.priority,
      workflowId: workflowInfo().workflowId,
      status: source.kind === 'zip' ? 'extracting' : 'running',
    });
  }

  const tally = (file: PlannedBatchFile, outcome: IngestOutcome | ExistingRunOutcome) => {
    if (outcome.status === 'completed') {
      count('completed');
      totals.pages +=
        'pageCount' in outcome ? (outcome.pageCount ?? 0) : 'pages' in outcome ? outcome.pages : 0;
      totals.chunks +=
        'chunkCount' in outcome ? outcome.chunkCount : 'chunks' in outcome ? outcome.chunks : 0;
      totals.bytes += file.bytes;
    } else if (outcome.status === 'failed') {
      count('failed', { key: file.key, reason: 'reason' in outcome ? outcome.reason : outcome.message });
    } else count('superseded');
  };

  /** One file, start to end; never rejects, so the window never loses track of a slot. */
  const runChild = async (file: PlannedBatchFile): Promise<void> => {
    running++;
    try {
      try {
        const child = await startChild(ingestFile, {
          workflowId: file.workflowId,
          taskQueue: file.taskQueue,
          args: [file.input],
          // A closed run of this id handled this very version: it is awaited below, never redone.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          // Terminating or cancelling the batch cancels its children too.
          parentClosePolicy: 'REQUEST_CANCEL',
          priority: { priorityKey: input.priority },
          memo: { batchId, tenantId, path: file.input.event.path },
        });
        tally(file, await child.result());
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        totals.deduplicated++;
        tally(file, await waiting.awaitIngestRun({ workflowId: file.workflowId }));
      }
    } catch (error) {
      if (isCancellation(error)) count('cancelled');
      else count('failed', { key: file.key, reason: failureReason(error) });
    } finally {
      running--;
    }
  };

  const inFlight = new Set<Promise<void>>();
  let handled = 0;
  try {
    if (source.kind === 'zip' && !carry.extracted) {
      status = 'extracting';
      const prefix = batchMembersPrefix(batchId);
      const extracted = await extraction.extractBatchZip({
        batchId,
        bucket: source.bucket,
        key: source.key,
        prefix,
      });
      log.info('batch ZIP extracted', {
        batchId,
        members: extracted.members,
        skipped: extracted.skipped.length,
      });
      carry.extracted = { bucket: source.bucket, prefix };
      totals.files += extracted.skipped.length;
      for (const skipped of extracted.skipped) count('failed', skipped);
      status = 'running';
      await steps.saveBatchProgress(update(status));
    }
    const listing =
      source.kind === 'list'
        ? ({ kind: 'list', listBucket: source.listBucket, listKey: source.listKey } as const)
        : ({
            kind: 'prefix',
            prefix: source.kind === 'prefix' ? source.prefix : batchMembersPrefix(batchId),
          } as const);

    const timeToHandOver = () => handled >= input.continueAsNewAfter || workflowInfo().continueAsNewSuggested;
    while (!timeToHandOver()) {
      if (carry.pending.length === 0) {
        if (carry.listingDone) break;
        const page = await planning.planBatchPage({
          batchId,
          tenantId,
          bucket: source.bucket,
          from: listing,
          ...(carry.cursor !== undefined ? { cursor: carry.cursor } : {}),
          pageSize: input.pageSize,
        });
        carry.pending = page.files;
        carry.cursor = page.cursor;
        carry.listingDone = page.done;
        totals.files += page.files.length + page.failed.length + page.skipped.length;
        for (const failed of page.failed) count('failed', failed);
        totals.counts.skipped += page.skipped.length;
        handled += page.failed.length + page.skipped.length;
        continue;
      }
      while (inFlight.size >= input.window) await Promise.race(inFlight);
      if (CancellationScope.current().consideredCancelled) break;
      const file = carry.pending.shift() as PlannedBatchFile;
      handled++;
      const slot: Promise<void> = runChild(file).finally(() => inFlight.delete(slot));
      inFlight.add(slot);
    }
    await Promise.all(inFlight);
  } catch (error) {
    // Children always settle (runChild never rejects); wait for them before the row says anything.
    await Promise.all(inFlight);
    if (!isCancellation(error)) {
      const reason = failureReason(error);
      await CancellationScope.nonCancellable(() => steps.finishBatch(update('failed', reason)));
      log.warn('ingestBatch failed', { batchId, reason });
      throw ApplicationFailure.nonRetryable(`batch ${batchId} failed: ${reason}`, 'BatchFailedError');
    }
  }

  if (CancellationScope.current().consideredCancelled) {
    const files = carry.pending.length;
    await CancellationScope.nonCancellable(() => steps.finishBatch(update('cancelled')));
    log.info('ingestBatch cancelled', { batchId, done: filesDone(totals), notStarted: files });
    throw new CancelledFailure(`batch ${batchId} cancelled`);
  }

  if (!carry.listingDone || carry.pending.length > 0) {
    await steps.saveBatchProgress(update('running'));
    log.info('ingestBatch continuing as new', { batchId, run: runs, done: filesDone(totals) });
    return continueAsNew<typeof ingestBatch>({ ...input, carry: { ...carry, totals, runs } });
  }
  const aggregate = await steps.finishBatch(update('completed'));
  log.info('ingestBatch completed', {
    batchId,
    files: aggregate.files,
    completed: aggregate.counts.completed,
    failed: aggregate.counts.failed,
    runs,
  });
  return aggregate;
}
