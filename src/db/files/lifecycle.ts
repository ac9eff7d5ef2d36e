/**
 * The end of a file's rows other than a store: a failure recorded, a delete, a rename. Each runs in one
 * transaction under the file's lock (locks.ts) and first asks, through the caller's callbacks, whether S3
 * still holds what its event describes; a write that no longer applies writes nothing and says why.
 */
import type pg from 'pg';
import { cleanJsonValue, cleanText } from '../../domain/clean-text.js';
import { fileIdFor, resourceIdFor } from '../../domain/ids.js';
import { CHUNK_CATEGORY, chunkName, chunkUri } from '../../domain/original-rows.js';
import type { StorageEvent } from '../../domain/storage-event.js';
import { fileScope, holdVectors, restoreVectors } from '../embeddings/index.js';
import { lockedFileState, releaseVersion, upsertFile } from './file-rows.js';
import { type LockWait, type Superseded, withFileLocks } from './locks.js';
import { adoptOriginalRows } from './rekey-rows.js';

export interface FailureInput {
  fileId: string;
  jobId: string;
  event: StorageEvent;
  version: string;
  errorType: string;
  message: string;
  stack?: string;
  workflowId: string;
  /** What failed, for errors.process (the workflow type, e.g. ingestFile). */
  process: string;
  /** Under the lock, before anything is written: whether the event still describes S3. */
  check?: (client: pg.PoolClient) => Promise<Superseded | undefined>;
  wait?: LockWait;
}

/**
 * Marks the file failed, fails its job and writes an errors row, in one transaction under the file's
 * lock; or, when `check` finds S3 changed under the run (the object deleted, renamed or overwritten, so
 * the failure is most likely that change seen from inside the run), records nothing of this version.
 */
export async function recordFailure(
  pool: pg.Pool,
  input: FailureInput,
): Promise<{ recorded: true } | { superseded: string }> {
  return withFileLocks(pool, [input.fileId], input.wait ?? {}, async (client) => {
    await lockedFileState(client, input.fileId);
    const superseded = await input.check?.(client);
    if (superseded) {
      await releaseVersion(client, input, superseded);
      return { superseded: superseded.reason };
    }
    const error = cleanText(`${input.errorType}: ${input.message}`);
    await upsertFile(client, {
      fileId: input.fileId,
      event: input.event,
      version: input.version,
      status: 'failed',
    });
    await client.query('UPDATE files SET error = $2 WHERE id = $1', [input.fileId, error]);
    // A streamed extraction stores batches as it goes: a version that failed half way must not leave
    // its first chunks searchable (a whole-document store writes nothing before it succeeds).
    await client.query(`DELETE FROM resources WHERE file_id = $1 AND metadata->>'version' = $2`, [
      input.fileId,
      input.version,
    ]);
    await client.query(`UPDATE jobs SET status = 'failed', error = $2, completed_at = now() WHERE id = $1`, [
      input.jobId,
      error,
    ]);
    // One errors row per (workflow, error type): a retried recordFailure must not add a second one.
    await client.query(
      `INSERT INTO errors (tenant_id, process, message, stack_trace, level, metadata)
       SELECT $1, $7, $2, $3, 'ERROR', $4
       WHERE NOT EXISTS (SELECT 1 FROM errors WHERE metadata->>'workflow_id' = $5 AND metadata->>'error_type' = $6)`,
      [
        input.event.tenantId,
        cleanText(`${input.event.path}: ${input.errorType}: ${input.message}`),
        input.stack === undefined ? null : cleanText(input.stack),
        JSON.stringify(
          cleanJsonValue({
            workflow_id: input.workflowId,
            error_type: input.errorType,
            file_id: input.fileId,
            path: input.event.path,
          }),
        ),
        cleanText(input.workflowId),
        cleanText(input.errorType),
        cleanText(input.process),
      ],
    );
    return { recorded: true };
  });
}

export interface DeleteInput {
  fileId: string;
  /** Under the lock: why the rows must stay (S3 holds an object at the path again), if they must. */
  check?: (client: pg.PoolClient) => Promise<string | undefined>;
  /** Under the lock, after the rows are deleted (the derived objects go too). */
  afterDelete?: (client: pg.PoolClient) => Promise<void>;
  wait?: LockWait;
}

/**
 * Deletes the file's row (its resources and moments go with it: ON DELETE CASCADE) under the file's
 * lock, unless `check` says S3 holds an object at the path again: that object's own create run owns the
 * rows, and the delete is superseded.
 */
export async function deleteFileRows(
  pool: pg.Pool,
  input: DeleteInput,
): Promise<{ deleted: number } | { superseded: string }> {
  return withFileLocks(pool, [input.fileId], input.wait ?? {}, async (client) => {
    await lockedFileState(client, input.fileId);
    const keep = await input.check?.(client);
    if (keep !== undefined) return { superseded: keep };
    // Rows the original P8FS wrote go with the file too (the cascade follows file_id).
    await adoptOriginalRows(client, input.fileId);
    const counted = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
      [input.fileId],
    );
    await client.query('DELETE FROM files WHERE id = $1', [input.fileId]);
    await input.afterDelete?.(client);
    return { deleted: counted.rows[0]?.n ?? 0 };
  });
}

/** What S3 holds at both ends of a rename, looked at under the locks of both files. */
export interface RenameObjects {
  oldExists: boolean;
  newExists: boolean;
  newEtag?: string;
}

export type RenameOutcome =
  | { kind: 'moved'; fromFileId: string; toFileId: string; moved: number }
  /** Rows were not moved (`reason`); the new path must be ingested in full. */
  | { kind: 'ingest'; reason: string };

export interface RenameInput {
  /** HEADs of the old and the new object, under the locks. */
  objects: () => Promise<RenameObjects>;
  /** Under the locks, after the old path's rows were removed (its derived objects go too). */
  afterOldRemoved?: (client: pg.PoolClient, fromFileId: string) => Promise<void>;
  wait?: LockWait;
}

/**
 * Moves a file's rows to its new path, under the locks of both paths: the file id (uuid v5 of tenant +
 * path) and each resource id (file id + ordinal) follow, so ids stay deterministic after a rename. A
 * file already at the new path is replaced. Rows move only when they are known to describe the renamed
 * object: the old row is `completed`, the old object is gone and the new object's etag is the one the
 * rows were made from. Otherwise (nothing stored at the old path, the old row still `processing` or
 * `failed`, made from other bytes, or from bytes nobody recorded) the old path's row is removed when its
 * object is gone, and the caller ingests the new path in full.
 */
export async function renameFileRows(
  pool: pg.Pool,
  from: { tenantId: string; path: string },
  to: StorageEvent,
  input: RenameInput,
): Promise<RenameOutcome> {
  const fromFileId = fileIdFor(from.tenantId, from.path);
  const toFileId = fileIdFor(to.tenantId, to.path);
  return withFileLocks(pool, [fromFileId, toFileId], input.wait ?? {}, async (client) => {
    const existing = await client.query<{ status: string; source_etag: string | null }>(
      'SELECT status, source_etag FROM files WHERE id = $1 FOR UPDATE',
      [fromFileId],
    );
    const row = existing.rows[0];
    if (!row) return { kind: 'ingest', reason: 'nothing was stored at the old path' };
    // Rows the original P8FS wrote at either path move or go with their file (they follow file_id).
    await adoptOriginalRows(client, fromFileId);
    await adoptOriginalRows(client, toFileId);
    const objects = await input.objects();
    if (objects.oldExists) {
      // Re-created after the rename: that object's own create run owns the old path's rows.
      return { kind: 'ingest', reason: 'the old path holds an object again; its rows stay with it' };
    }
    const sameBytes =
      row.status === 'completed' &&
      row.source_etag !== null &&
      objects.newEtag !== undefined &&
      row.source_etag === objects.newEtag;
    if (!sameBytes || toFileId === fromFileId) {
      await client.query('DELETE FROM files WHERE id = $1', [fromFileId]);
      await input.afterOldRemoved?.(client, fromFileId);
      const reason =
        row.status !== 'completed'
          ? `the old path's row was ${row.status}`
          : !objects.newExists
            ? 'the new path holds no object'
            : row.source_etag === null
              ? 'the stored rows do not record which bytes they were made from'
              : 'the new object holds other bytes than the stored rows';
      return { kind: 'ingest', reason };
    }
    await client.query('DELETE FROM files WHERE id = $1', [toFileId]);
    // The chunks get new ids below; their vectors are held and put back under ids made from the new ones.
    const held = await holdVectors(client, fileScope(from.tenantId, fromFileId));
    // resources.file_id follows through ON UPDATE CASCADE.
    await client.query(
      `UPDATE files SET id = $2, path = $3, uri = $4, name = $5, category = $6, tenant_id = $7 WHERE id = $1`,
      [
        fromFileId,
        toFileId,
        cleanText(to.path),
        cleanText(`s3://${to.bucket}/${to.key}`),
        cleanText(to.fileName),
        cleanText(to.category),
        to.tenantId,
      ],
    );
    const ordinals = await client.query<{ ordinal: number }>(
      'SELECT ordinal FROM resources WHERE file_id = $1',
      [toFileId],
    );
    if (ordinals.rows.length > 0) {
      const numbers = ordinals.rows.map((r) => r.ordinal);
      // Each row's id, name and uri are functions of the path and ordinal (resource-rows.ts); the rest stays.
      await client.query(
        `UPDATE resources r SET id = v.id::uuid, name = v.name, category = $2, uri = v.uri,
           metadata = r.metadata || jsonb_build_object('file_id', $1::text, 'file_name', $3::text,
             'file_category', $4::text, 'file_uri', $5::text)
         FROM unnest($6::int[], $7::text[], $8::text[], $9::text[]) AS v(ordinal, id, name, uri)
         WHERE r.file_id = $1::uuid AND r.ordinal = v.ordinal`,
        [
          toFileId,
          CHUNK_CATEGORY,
          cleanText(to.fileName),
          cleanText(to.category),
          cleanText(`s3://${to.bucket}/${to.key}`),
          numbers,
          numbers.map((ordinal) => resourceIdFor(toFileId, ordinal)),
          numbers.map((ordinal) => cleanText(chunkName(to.key, ordinal))),
          numbers.map((ordinal) => cleanText(chunkUri(to.key, ordinal))),
        ],
      );
    }
    if (held) await restoreVectors(client, held, fileScope(to.tenantId, toFileId));
    return { kind: 'moved', fromFileId, toFileId, moved: ordinals.rows.length };
  });
}
