/**
 * The files and jobs rows of an ingested file: registered (upserted), read under the file's lock,
 * released when a newer event superseded this version, and completed when a store ends. Idempotent:
 * ids are deterministic and rows are upserted.
 */
import type pg from 'pg';
import { cleanJsonValue, cleanText } from '../../domain/clean-text.js';
import type { StorageEvent } from '../../domain/storage-event.js';
import { inTransaction } from '../transaction.js';
import type { Superseded } from './locks.js';
import { rekeyFileRows } from './rekey-rows.js';

export interface FileRow {
  fileId: string;
  event: StorageEvent;
  size?: number;
  mimeType?: string;
  version: string;
  status: 'processing' | 'completed' | 'failed';
}

/**
 * Writes the files row under its id. A row the original P8FS wrote (same id: fileIdFor) is taken over:
 * our columns are filled in, and its metadata keeps its keys beside the original's `name` and `s3_key`.
 * A row an earlier release wrote for the path under its old id is re-keyed first (rekey-rows.ts), so an
 * upgrade needs no `p8fs migrate --rekey` before files change again.
 */
export async function upsertFile(db: pg.Pool | pg.PoolClient, row: FileRow): Promise<void> {
  const { event } = row;
  const stale = await db.query<{ id: string }>(
    'SELECT id FROM files WHERE tenant_id = $1 AND path = $2 AND id <> $3',
    [event.tenantId, cleanText(event.path), row.fileId],
  );
  const staleId = stale.rows[0]?.id;
  if (staleId !== undefined) {
    const rekey = (client: pg.PoolClient) =>
      rekeyFileRows(client, { id: staleId, tenantId: event.tenantId, path: cleanText(event.path) });
    if (isClient(db)) await rekey(db);
    else await inTransaction(db, rekey);
  }
  await db.query(
    `INSERT INTO files (id, tenant_id, uri, path, name, category, file_size, mime_type, version, status, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (id) DO UPDATE SET
       uri = EXCLUDED.uri, path = EXCLUDED.path, name = EXCLUDED.name, category = EXCLUDED.category,
       file_size = COALESCE(EXCLUDED.file_size, files.file_size),
       mime_type = COALESCE(EXCLUDED.mime_type, files.mime_type),
       version = EXCLUDED.version, status = EXCLUDED.status, error = NULL,
       metadata = COALESCE(files.metadata, '{}'::jsonb) || EXCLUDED.metadata`,
    [
      row.fileId,
      event.tenantId,
      cleanText(`s3://${event.bucket}/${event.key}`),
      cleanText(event.path),
      cleanText(event.fileName),
      cleanText(event.category),
      row.size ?? null,
      row.mimeType === undefined ? null : cleanText(row.mimeType),
      cleanText(row.version),
      row.status,
      JSON.stringify(cleanJsonValue({ name: event.fileName, s3_key: event.path })),
    ],
  );
}

function isClient(db: pg.Pool | pg.PoolClient): db is pg.PoolClient {
  return typeof (db as pg.PoolClient).release === 'function';
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
    [job.jobId, job.tenantId, JSON.stringify(cleanJsonValue(job.payload)), job.workflowId, job.runId],
  );
}

/** The etag registerFile read for a job (kept in its payload), if it got that far. */
export async function registeredEtagOf(
  db: pg.Pool | pg.PoolClient,
  jobId: string,
): Promise<string | undefined> {
  const result = await db.query<{ etag: string | null }>(
    `SELECT payload->>'registeredEtag' AS etag FROM jobs WHERE id = $1`,
    [jobId],
  );
  return result.rows[0]?.etag ?? undefined;
}

/** The files row's state a store decides on (its claim: which run and attempt stores). */
export interface FileState {
  status: string;
  version: string | null;
  store_run_id: string | null;
  store_attempt: number | null;
}

export async function lockedFileState(client: pg.PoolClient, fileId: string): Promise<FileState | undefined> {
  const result = await client.query<FileState>(
    'SELECT status, version, store_run_id, store_attempt FROM files WHERE id = $1 FOR UPDATE',
    [fileId],
  );
  return result.rows[0];
}

/**
 * Writes nothing of a superseded version, and removes what it left: its own `processing` row when the
 * object is gone (a row of another version, or a finished one, belongs to another event's run), and
 * marks its job cancelled with the reason.
 */
export async function releaseVersion(
  client: pg.PoolClient,
  input: { fileId: string; jobId: string; version: string },
  superseded: Superseded,
): Promise<void> {
  if (superseded.objectGone) {
    await client.query(`DELETE FROM files WHERE id = $1 AND version = $2 AND status = 'processing'`, [
      input.fileId,
      cleanText(input.version),
    ]);
  }
  await client.query(
    `UPDATE jobs SET status = 'cancelled', error = $2, completed_at = now() WHERE id = $1 AND status = 'running'`,
    [input.jobId, cleanText(`superseded: ${superseded.reason}`)],
  );
}

/**
 * Under the file's lock, once a store's claim holds: asks `check` whether S3 still holds the object; if
 * not, releases the version and returns why. Otherwise a files row that is gone is written again: only a
 * delete or rename removes it while S3 still holds this object (e.g. re-created), and this store then
 * describes S3.
 */
export async function supersededOrRowKept(
  client: pg.PoolClient,
  input: {
    fileId: string;
    jobId: string;
    event: StorageEvent;
    version: string;
    check?: (client: pg.PoolClient) => Promise<Superseded | undefined>;
  },
  state: FileState | undefined,
): Promise<string | undefined> {
  const superseded = await input.check?.(client);
  if (superseded) {
    await releaseVersion(client, input, superseded);
    return superseded.reason;
  }
  if (!state) {
    await upsertFile(client, {
      fileId: input.fileId,
      event: input.event,
      version: input.version,
      status: 'processing',
    });
  }
  return undefined;
}

/** The end of every store, whole or streamed: the files row completed with its figures, and its job. */
export async function markStoreCompleted(
  client: pg.PoolClient,
  done: {
    fileId: string;
    jobId: string;
    provider: string;
    pageCount?: number;
    chunkCount: number;
    contentHash: string;
    sourceEtag?: string;
    streamed?: boolean;
  },
): Promise<void> {
  await client.query(
    // A new version's chunks wait for the embed step (or a backfill): its embedding state starts over.
    `UPDATE files SET status = 'completed', provider = $2, page_count = $3, chunk_count = $4,
       content_hash = $5, source_etag = $6, error = NULL,
       embedding_status = NULL, embedding_provider = NULL, embedding_error = NULL WHERE id = $1`,
    [
      done.fileId,
      cleanText(done.provider),
      done.pageCount ?? null,
      done.chunkCount,
      done.contentHash,
      done.sourceEtag ?? null,
    ],
  );
  const result = { chunks: done.chunkCount, pages: done.pageCount ?? null, provider: done.provider };
  await client.query(
    `UPDATE jobs SET status = 'completed', completed_at = now(), error = NULL, result = $2 WHERE id = $1`,
    [done.jobId, JSON.stringify(cleanJsonValue(done.streamed ? { ...result, streamed: true } : result))],
  );
}
