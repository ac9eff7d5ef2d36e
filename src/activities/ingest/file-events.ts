/**
 * The file events other than a create: a delete, a rename, and a failure recorded. Each writes under the
 * file's lock (src/db/files) and only when S3 still holds what its event describes; otherwise it writes
 * nothing and says why (`superseded`), since a later event's run owns the rows.
 */
import { Context } from '@temporalio/activity';
import { deletePrefix, headObject } from '../../clients/object-store.js';
import { deleteFileRows, recordFailure, registeredEtagOf, renameFileRows } from '../../db/files/index.js';
import { fileIdFor } from '../../domain/ids.js';
import type { FailureRecord, IngestFileInput } from '../../domain/ingest.js';
import { isTranscriptObject } from '../../domain/insight/build-moments.js';
import type { StorageEvent } from '../../domain/storage-event.js';
import { WorkflowTypes } from '../../temporal/names.js';
import { currentWorkflow, jobIdFor, lockWait } from './activity-context.js';
import type { IngestDeps, IngestPipeline } from './pipeline.js';

/** The old object of a rename: its key from the event, or from the old path for events without one. */
function oldObjectOf(event: StorageEvent): { bucket: string; key: string } {
  if (event.oldKey !== undefined) return { bucket: event.bucket, key: event.oldKey };
  const prefix = `/buckets/${event.bucket}/`;
  const oldPath = event.oldPath ?? event.path;
  return { bucket: event.bucket, key: oldPath.startsWith(prefix) ? oldPath.slice(prefix.length) : oldPath };
}

export function createFileEventActivities({ cfg, pool, s3 }: IngestDeps, pipeline: IngestPipeline) {
  const derivedBucket = cfg.s3.derivedBucket;

  return {
    /**
     * Delete event: removes the file row (resources cascade) and its derived objects, under the file's
     * lock and only if the object is really gone from S3. An object at the path again was re-created
     * after the delete: its own create run owns the rows, and this delete is superseded.
     */
    async deleteFile(
      input: IngestFileInput,
    ): Promise<{ fileId: string; resourcesDeleted: number; superseded?: string }> {
      const { event } = input;
      const fileId = fileIdFor(event.tenantId, event.path);
      const result = await deleteFileRows(pool, {
        fileId,
        wait: lockWait(),
        check: async () => {
          const head = await headObject(s3, event.bucket, event.key);
          if (!head) return undefined;
          return `s3://${event.bucket}/${event.key} exists again (etag ${head.etag ?? 'unknown'}): it was re-created after the delete, and its own create run owns the rows`;
        },
        // Under the lock, so a create run of a re-created object (which waits for it) never loses its own.
        afterDelete: async (client) => {
          await deletePrefix(s3, derivedBucket, `${event.tenantId}/${fileId}/`);
          // A deleted transcript takes the moments built from it along (they have no files row).
          if (isTranscriptObject(event)) {
            await client.query(
              "DELETE FROM moments WHERE tenant_id = $1 AND metadata->>'transcript_uri' = $2",
              [event.tenantId, `s3://${event.bucket}/${event.key}`],
            );
          }
        },
      });
      if ('superseded' in result) {
        Context.current().log.info('delete superseded', { path: event.path, reason: result.superseded });
        return { fileId, resourcesDeleted: 0, superseded: result.superseded };
      }
      return { fileId, resourcesDeleted: result.deleted };
    },

    /**
     * Rename event: moves rows to the new path when they are known to hold the renamed object (see
     * renameFileRows); otherwise removes the old path's rows if its object is gone and returns
     * `moved: undefined`, and the workflow ingests the new path in full.
     */
    async renameFile(
      input: IngestFileInput,
    ): Promise<{ fileId: string; fromFileId: string; moved: number | undefined }> {
      const { event } = input;
      const fromPath = event.oldPath ?? event.path;
      const fromFileId = fileIdFor(event.tenantId, fromPath);
      const old = oldObjectOf(event);
      const result = await renameFileRows(pool, { tenantId: event.tenantId, path: fromPath }, event, {
        wait: lockWait(),
        objects: async () => {
          const [oldHead, newHead] = await Promise.all([
            headObject(s3, old.bucket, old.key),
            headObject(s3, event.bucket, event.key),
          ]);
          return {
            oldExists: oldHead !== undefined,
            newExists: newHead !== undefined,
            ...(newHead?.etag !== undefined ? { newEtag: newHead.etag } : {}),
          };
        },
        afterOldRemoved: async (_client, removedFileId) => {
          await deletePrefix(s3, derivedBucket, `${event.tenantId}/${removedFileId}/`);
        },
      });
      if (result.kind === 'ingest') {
        Context.current().log.info('rename: ingesting the new path in full', {
          from: fromPath,
          to: event.path,
          reason: result.reason,
        });
      }
      return {
        fileId: fileIdFor(event.tenantId, event.path),
        fromFileId,
        moved: result.kind === 'moved' ? result.moved : undefined,
      };
    },

    /**
     * Non-retryable failure: files.status = failed, job failed, one errors row; under the file's lock and
     * only if S3 still holds the object this run registered. A failure because the object was deleted,
     * renamed or overwritten meanwhile records nothing (`superseded`): the later event's run owns the rows.
     */
    async recordIngestFailure(
      input: IngestFileInput,
      failure: { errorType: string; message: string; stack?: string },
    ): Promise<FailureRecord> {
      const { workflowId } = currentWorkflow();
      const fileId = fileIdFor(input.event.tenantId, input.event.path);
      const jobId = jobIdFor(workflowId);
      const watch = pipeline.watchObject(input.event, (client) => registeredEtagOf(client, jobId));
      const result = await recordFailure(pool, {
        fileId,
        jobId,
        event: input.event,
        version: input.version,
        workflowId,
        ...failure,
        process: WorkflowTypes.ingestFile,
        wait: lockWait(),
        check: watch.check,
      });
      if ('superseded' in result) {
        Context.current().log.info('failure not recorded: superseded', {
          path: input.event.path,
          failure: `${failure.errorType}: ${failure.message}`,
          reason: result.superseded,
        });
        if (watch.changed()) await pipeline.dropDerived(input, fileId);
        return { fileId, superseded: result.superseded };
      }
      return { fileId };
    },
  };
}
