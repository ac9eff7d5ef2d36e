/**
 * The batch activities (ingestBatch, src/workflows/ingest-batch.ts): extract a ZIP into S3, plan a page of
 * files, wait for an ingestFile run someone else started, and keep the `batches` row. All idempotent:
 * extraction skips members already in S3 with the same bytes, planning only reads, and the row's counts
 * are set (not added) and its failures merged by key.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { type Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type pg from 'pg';
import type { Config } from '../../config/config.js';
import {
  aggregateOf,
  type BatchUpdate,
  insertQueuedBatch,
  readBatch,
  updateBatch,
} from '../../db/batches.js';
import type { BatchAggregate, BatchSource, BatchStatus } from '../../domain/batch.js';
import { errorText } from '../../domain/errors.js';
import type { IngestOutcome } from '../../domain/ingest.js';
import { type PlannedPage, type PlanPageInput, planBatchPage } from './planning.js';
import { type ExtractZipInput, type ExtractZipResult, extractBatchZip } from './zip-extract.js';

export interface BatchDeps {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
  /** For awaiting ingestFile runs the batch did not start (the bridge's); connected on first use. */
  temporal: Client;
}

export interface OpenBatchInput {
  batchId: string;
  tenantId: string;
  source: BatchSource;
  priority: number;
  workflowId: string;
  status: BatchStatus;
}

/** How an ingestFile run that already existed ended, in the batch's terms. */
export type ExistingRunOutcome =
  | { status: 'completed'; pages: number; chunks: number }
  | { status: 'superseded' }
  | { status: 'failed'; reason: string };

const AWAIT_HEARTBEAT_MS = 10_000;

function outcomeOf(result: IngestOutcome): ExistingRunOutcome {
  if (result.status === 'completed')
    return { status: 'completed', pages: result.pageCount ?? 0, chunks: result.chunkCount };
  if (result.status === 'failed')
    return { status: 'failed', reason: `${result.errorType}: ${result.message}` };
  // deleted / renamed / superseded: the file is not this batch's to count as ingested.
  return { status: 'superseded' };
}

export function createBatchActivities(deps: BatchDeps) {
  const { cfg, pool, s3, temporal } = deps;
  return {
    async openBatch(input: OpenBatchInput): Promise<void> {
      await insertQueuedBatch(pool, input);
      await pool.query(
        `UPDATE batches SET status = $2
         WHERE id = $1 AND tenant_id = $3 AND status IN ('queued', 'extracting', 'running')`,
        [input.batchId, input.status, input.tenantId],
      );
    },

    extractBatchZip(input: ExtractZipInput): Promise<ExtractZipResult> {
      return extractBatchZip({ cfg, s3 }, input);
    },

    planBatchPage(input: PlanPageInput): Promise<PlannedPage> {
      return planBatchPage({ cfg, s3 }, input);
    },

    /**
     * Waits for an ingestFile run this batch found already started (or finished), heartbeating, and says
     * how it ended. Cancelling the batch cancels this wait, not the run: that run is not the batch's.
     */
    async awaitIngestRun(input: { workflowId: string }): Promise<ExistingRunOutcome> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const result = temporal.workflow.getHandle(input.workflowId).result() as Promise<IngestOutcome>;
      // The result promise may settle after we stop listening (cancelled): never leave it unhandled.
      result.catch(() => undefined);
      for (;;) {
        ctx.heartbeat();
        const settled = await Promise.race([
          result.then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          ),
          sleep(AWAIT_HEARTBEAT_MS, undefined, { signal }).then(() => undefined),
        ]);
        if (settled === undefined) continue;
        if ('value' in settled) return outcomeOf(settled.value);
        const error = settled.error;
        if (error instanceof WorkflowFailedError)
          return { status: 'failed', reason: errorText(error.cause ?? error) };
        if (error instanceof WorkflowNotFoundError)
          return { status: 'failed', reason: `run ${input.workflowId} is gone (past its retention?)` };
        throw error;
      }
    },

    async saveBatchProgress(update: BatchUpdate): Promise<void> {
      await updateBatch(pool, update);
    },

    /** The final update, then the stored aggregate (with the failed files of every run) as the result. */
    async finishBatch(update: BatchUpdate): Promise<BatchAggregate> {
      await updateBatch(pool, update);
      const row = await readBatch(pool, update.batchId, update.tenantId ? { tenantId: update.tenantId } : {});
      if (!row) throw new Error(`batch ${update.batchId} has no row in batches`);
      return aggregateOf(row);
    },
  };
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;
