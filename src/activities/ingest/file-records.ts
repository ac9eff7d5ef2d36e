/**
 * PostgreSQL writes of the ingestion pipeline. Each function is idempotent: ids are deterministic, rows
 * are upserted, and a file's resources are replaced (never appended) in one transaction.
 */
import type pg from 'pg';
import { inTransaction } from '../../db/transaction.js';
import type { Chunk } from '../../domain/chunking.js';
import { fileIdFor, resourceIdFor } from '../../domain/ids.js';
import type { StorageEvent } from '../../domain/storage-event.js';
import { WorkflowTypes } from '../../temporal/names.js';

export interface FileRow {
  fileId: string;
  event: StorageEvent;
  size?: number;
  mimeType?: string;
  version: string;
  status: 'processing' | 'completed' | 'failed';
}

export async function upsertFile(db: pg.Pool | pg.PoolClient, row: FileRow): Promise<void> {
  const { event } = row;
  await db.query(
    `INSERT INTO files (id, tenant_id, uri, path, name, category, file_size, mime_type, version, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET
       uri = EXCLUDED.uri, name = EXCLUDED.name, category = EXCLUDED.category,
       file_size = COALESCE(EXCLUDED.file_size, files.file_size),
       mime_type = COALESCE(EXCLUDED.mime_type, files.mime_type),
       version = EXCLUDED.version, status = EXCLUDED.status, error = NULL`,
    [
      row.fileId,
      event.tenantId,
      `s3://${event.bucket}/${event.key}`,
      event.path,
      event.fileName,
      event.category,
      row.size ?? null,
      row.mimeType ?? null,
      row.version,
      row.status,
    ],
  );
}

export interface JobRow {
  jobId: string;
  tenantId: string;
  workflowId: string;
  runId: string;
  payload: unknown;
}

export async function upsertRunningJob(db: pg.Pool | pg.PoolClient, job: JobRow): Promise<void> {
  await db.query(
    `INSERT INTO jobs (id, tenant_id, job_type, status, payload, workflow_id, run_id, started_at)
     VALUES ($1, $2, 'ingest_file', 'running', $3, $4, $5, now())
     ON CONFLICT (id) DO UPDATE SET status = 'running', run_id = EXCLUDED.run_id,
       started_at = COALESCE(jobs.started_at, now()), error = NULL`,
    [job.jobId, job.tenantId, JSON.stringify(job.payload), job.workflowId, job.runId],
  );
}

export interface StoreChunksInput {
  fileId: string;
  jobId: string;
  event: StorageEvent;
  chunks: Chunk[];
  provider: string;
  pageCount?: number;
  contentHash: string;
  version: string;
  resourceTimestamp?: string;
}

const INSERT_BATCH = 500;
const RESOURCE_COLUMNS = 10;

/** Replaces the file's resources with `chunks`, completes the files row and the job, all in one transaction. */
export async function replaceResources(
  pool: pg.Pool,
  input: StoreChunksInput,
): Promise<{ inserted: number; replaced: number }> {
  return inTransaction(pool, async (client) => {
    // Serialises concurrent stores of the same file (e.g. an old attempt still running): last one wins whole.
    await client.query('SELECT id FROM files WHERE id = $1 FOR UPDATE', [input.fileId]);
    const removed = await client.query('DELETE FROM resources WHERE file_id = $1', [input.fileId]);
    const uri = `s3://${input.event.bucket}/${input.event.key}`;
    for (let start = 0; start < input.chunks.length; start += INSERT_BATCH) {
      const batch = input.chunks.slice(start, start + INSERT_BATCH);
      const values: unknown[] = [];
      const rows = batch.map((chunk, i) => {
        const metadata = {
          pages: chunk.pages,
          heading: chunk.heading,
          kinds: chunk.kinds,
          token_count: chunk.tokenCount,
          provider: input.provider,
          version: input.version,
        };
        values.push(
          resourceIdFor(input.fileId, chunk.ordinal),
          input.event.tenantId,
          input.fileId,
          input.event.fileName,
          input.event.category,
          chunk.text,
          chunk.ordinal,
          uri,
          JSON.stringify(metadata),
          input.resourceTimestamp ?? null,
        );
        const base = i * RESOURCE_COLUMNS;
        return `(${Array.from({ length: RESOURCE_COLUMNS }, (_, c) => `$${base + c + 1}`).join(', ')})`;
      });
      await client.query(
        `INSERT INTO resources (id, tenant_id, file_id, name, category, content, ordinal, uri, metadata, resource_timestamp)
         VALUES ${rows.join(', ')}`,
        values,
      );
    }
    await client.query(
      `UPDATE files SET status = 'completed', provider = $2, page_count = $3, chunk_count = $4,
         content_hash = $5, error = NULL WHERE id = $1`,
      [input.fileId, input.provider, input.pageCount ?? null, input.chunks.length, input.contentHash],
    );
    await client.query(
      `UPDATE jobs SET status = 'completed', completed_at = now(), error = NULL, result = $2 WHERE id = $1`,
      [
        input.jobId,
        JSON.stringify({
          chunks: input.chunks.length,
          pages: input.pageCount ?? null,
          provider: input.provider,
        }),
      ],
    );
    return { inserted: input.chunks.length, replaced: removed.rowCount ?? 0 };
  });
}

export interface FailureInput {
  fileId: string;
  jobId: string;
  event: StorageEvent;
  version: string;
  errorType: string;
  message: string;
  stack?: string;
  workflowId: string;
}

/** Marks the file failed, fails its job and writes an errors row, in one transaction. */
export async function recordFailure(pool: pg.Pool, input: FailureInput): Promise<void> {
  return inTransaction(pool, async (client) => {
    await upsertFile(client, {
      fileId: input.fileId,
      event: input.event,
      version: input.version,
      status: 'failed',
    });
    await client.query('UPDATE files SET error = $2 WHERE id = $1', [
      input.fileId,
      `${input.errorType}: ${input.message}`,
    ]);
    await client.query(`UPDATE jobs SET status = 'failed', error = $2, completed_at = now() WHERE id = $1`, [
      input.jobId,
      `${input.errorType}: ${input.message}`,
    ]);
    // One errors row per (workflow, error type): a retried recordFailure must not add a second one.
    await client.query(
      `INSERT INTO errors (tenant_id, process, message, stack_trace, level, metadata)
       SELECT $1, $7, $2, $3, 'error', $4
       WHERE NOT EXISTS (SELECT 1 FROM errors WHERE metadata->>'workflow_id' = $5 AND metadata->>'error_type' = $6)`,
      [
        input.event.tenantId,
        `${input.event.path}: ${input.errorType}: ${input.message}`,
        input.stack ?? null,
        JSON.stringify({
          workflow_id: input.workflowId,
          error_type: input.errorType,
          file_id: input.fileId,
          path: input.event.path,
        }),
        input.workflowId,
        input.errorType,
        WorkflowTypes.ingestFile,
      ],
    );
  });
}

/** Deletes the file's row; its resources and moments go with it (ON DELETE CASCADE). */
export async function deleteFileRows(pool: pg.Pool, fileId: string): Promise<number> {
  const counted = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
    [fileId],
  );
  await pool.query('DELETE FROM files WHERE id = $1', [fileId]);
  return counted.rows[0]?.n ?? 0;
}

/**
 * Moves a file's rows to its new path: the file id (uuid v5 of tenant + path) and each resource id
 * (file id + ordinal) follow, so ids stay deterministic after a rename. A file already at the new path is
 * replaced. Returns undefined when nothing was stored at the old path.
 */
export async function renameFileRows(
  pool: pg.Pool,
  from: { tenantId: string; path: string },
  to: StorageEvent,
): Promise<{ fromFileId: string; toFileId: string; moved: number } | undefined> {
  const fromFileId = fileIdFor(from.tenantId, from.path);
  const toFileId = fileIdFor(to.tenantId, to.path);
  return inTransaction(pool, async (client) => {
    const existing = await client.query('SELECT id FROM files WHERE id = $1 FOR UPDATE', [fromFileId]);
    if (existing.rowCount === 0) {
      return undefined;
    }
    if (toFileId !== fromFileId) await client.query('DELETE FROM files WHERE id = $1', [toFileId]);
    // resources.file_id follows through ON UPDATE CASCADE.
    await client.query(
      `UPDATE files SET id = $2, path = $3, uri = $4, name = $5, category = $6, tenant_id = $7 WHERE id = $1`,
      [fromFileId, toFileId, to.path, `s3://${to.bucket}/${to.key}`, to.fileName, to.category, to.tenantId],
    );
    const ordinals = await client.query<{ ordinal: number }>(
      'SELECT ordinal FROM resources WHERE file_id = $1',
      [toFileId],
    );
    if (ordinals.rows.length > 0) {
      const ids = ordinals.rows.map((r) => resourceIdFor(toFileId, r.ordinal));
      await client.query(
        `UPDATE resources r SET id = v.id::uuid, name = $2, category = $3, uri = $4
         FROM unnest($5::int[], $6::text[]) AS v(ordinal, id)
         WHERE r.file_id = $1 AND r.ordinal = v.ordinal`,
        [
          toFileId,
          to.fileName,
          to.category,
          `s3://${to.bucket}/${to.key}`,
          ordinals.rows.map((r) => r.ordinal),
          ids,
        ],
      );
    }
    return { fromFileId, toFileId, moved: ordinals.rows.length };
  });
}
