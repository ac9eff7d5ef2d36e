/**
 * Housekeeping activities, run by the storage workers for the schedules in src/schedules/definitions.ts
 * (workflows in src/workflows/housekeeping.ts). Each is idempotent: aborting an aborted upload, re-queuing
 * a file whose run is open, or purging an already purged prefix of the DLQ does nothing.
 *
 * The cut-offs are computed here from ages the workflow passes (hours, minutes), not from a time the
 * workflow chose, so a retried attempt cuts at its own "now".
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { connectNats } from '../../clients/nats.js';
import type { Config } from '../../config/config.js';
import { lazyTemporalClient } from '../../temporal/connection.js';
import { trimDeadLetterStream } from './dead-letters.js';
import { processingFiles, restartIngest } from './file-runs.js';
import { abortStaleUploads } from './multipart-uploads.js';

const HOUR_MS = 3_600_000;

export interface AbortStaleUploadsInput {
  olderThanHours: number;
  /** Restrict to these buckets (tests, or an operator's one-off run); default every bucket. */
  buckets?: string[];
}

export interface RequeueStuckFilesInput {
  olderThanMinutes: number;
  /** Files looked at in one run; the next scheduled run takes the rest. */
  limit?: number;
}

export interface RequeueStuckFilesResult {
  checked: number;
  requeued: number;
  stillRunning: number;
  completedBefore: number;
  withoutJob: number;
  /** Workflow ids of the re-queued runs (at most 20). */
  requeuedIds: string[];
}

export interface TrimDeadLettersInput {
  olderThanHours: number;
}

export interface HousekeepingDeps {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
  /** Temporal client for describe/start; default a lazily connected one (closed by close()). */
  temporal?: Client;
}

export function createHousekeepingActivities(deps: HousekeepingDeps) {
  const { cfg, pool, s3 } = deps;
  let temporal = deps.temporal;
  const client = () => {
    temporal ??= lazyTemporalClient(cfg);
    return temporal;
  };
  let nats: Promise<NatsConnection> | undefined;
  const natsConnection = () => {
    nats ??= connectNats(cfg, 'p8fs-worker-housekeeping');
    nats.catch(() => {
      nats = undefined;
    });
    return nats;
  };

  const activities = {
    /** Aborts multipart uploads initiated more than `olderThanHours` ago (0: every unfinished upload). */
    async abortStaleUploads(input: AbortStaleUploadsInput) {
      const ctx = Context.current();
      const olderThan = new Date(Date.now() - input.olderThanHours * HOUR_MS);
      const result = await abortStaleUploads(s3, {
        olderThan,
        ...(input.buckets ? { buckets: input.buckets } : {}),
        signal: ctx.cancellationSignal,
        progress: (details) => ctx.heartbeat(details),
      });
      ctx.log.info('stale multipart uploads aborted', { ...result, olderThan: olderThan.toISOString() });
      return result;
    },

    /** Re-starts the ingestion of files left in `processing` whose workflow is no longer running. */
    async requeueStuckFiles(input: RequeueStuckFilesInput): Promise<RequeueStuckFilesResult> {
      const ctx = Context.current();
      const files = await processingFiles(pool, input.olderThanMinutes, input.limit ?? 500);
      const result: RequeueStuckFilesResult = {
        checked: files.length,
        requeued: 0,
        stillRunning: 0,
        completedBefore: 0,
        withoutJob: 0,
        requeuedIds: [],
      };
      for (const [index, file] of files.entries()) {
        ctx.cancellationSignal.throwIfAborted();
        ctx.heartbeat({ checked: index, of: files.length });
        const outcome = await restartIngest(client(), cfg, file, 'housekeeping:requeue-stuck');
        if (outcome.kind === 'started') {
          result.requeued++;
          if (result.requeuedIds.length < 20) result.requeuedIds.push(outcome.workflowId);
          ctx.log.info('stuck file re-queued', {
            tenantId: file.tenantId,
            path: file.path,
            workflowId: outcome.workflowId,
            runId: outcome.runId,
          });
        } else if (outcome.kind === 'running') result.stillRunning++;
        else if (outcome.kind === 'completed-before') {
          // Its version completed, yet the row says processing: a later event owns the row; say so.
          result.completedBefore++;
          ctx.log.warn('file left in processing, but its run completed: not re-run', {
            tenantId: file.tenantId,
            path: file.path,
            workflowId: outcome.workflowId,
          });
        } else {
          result.withoutJob++;
          ctx.log.warn('file left in processing without an ingest job to re-run', {
            tenantId: file.tenantId,
            path: file.path,
          });
        }
      }
      return result;
    },

    /** Removes dead letters older than `olderThanHours` (0: all of them). */
    async trimDeadLetters(input: TrimDeadLettersInput) {
      const ctx = Context.current();
      const olderThan = new Date(Date.now() - input.olderThanHours * HOUR_MS);
      const jsm = await jetstreamManager(await natsConnection());
      const result = await trimDeadLetterStream(
        jsm,
        cfg.nats.dlqStream,
        olderThan,
        (scanned) => ctx.heartbeat({ scanned }),
        ctx.cancellationSignal,
      );
      ctx.log.info('dead letters trimmed', { ...result, olderThan: olderThan.toISOString() });
      return result;
    },
  };
  return {
    activities,
    /** Ends the connections opened on first use (worker shutdown). */
    async close() {
      const open = nats;
      nats = undefined;
      if (open) await (await open.catch(() => undefined))?.close();
      if (temporal && !deps.temporal) await temporal.connection.close().catch(() => undefined);
    },
  };
}

export type HousekeepingActivities = ReturnType<typeof createHousekeepingActivities>['activities'];
