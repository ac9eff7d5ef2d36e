/**
 * PostgreSQL writes of the ingestion pipeline. Each function is idempotent: ids are deterministic, rows
 * are upserted, and a file's resources are replaced (never appended) in one transaction.
 *
 * Ordering. Events of one file may be processed out of order and overlap: a delete or rename can be
 * handled while the create run of the same path is still extracting. Every write of a file's rows
 * (register, store, failure, delete, rename) therefore runs in a transaction holding that file's lock
 * (`lockFiles`: a transaction-level advisory lock on the file id, which exists before the files row
 * does, plus the row itself FOR UPDATE where it exists) and, under that lock, asks S3 whether its event
 * still describes the object (the `check` callbacks). This decides correctly because a storage event is
 * produced only after S3 changed: if the HEAD under the lock shows the object this run registered, any
 * later change (overwrite, delete, rename) has its own event whose run takes the same lock after this
 * transaction commits and brings the rows up to date; if it shows something else, that change's run
 * owns the rows and this run writes nothing of its version. So the rows always end up matching the
 * object S3 holds after the last event.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type CopyValue, copyRows } from '../../db/copy-rows.js';
import { inTransaction } from '../../db/transaction.js';
import type { Chunk } from '../../domain/chunking.js';
import { cleanJsonValue, cleanText } from '../../domain/clean-text.js';
import { PermanentStorageError } from '../../domain/errors.js';
import { fileIdFor, resourceIdFor } from '../../domain/ids.js';
import type { StorageEvent } from '../../domain/storage-event.js';
import { WorkflowTypes } from '../../temporal/names.js';

/** How a transaction waits for a file lock another one holds: heartbeating, and stopping when cancelled. */
export interface LockWait {
  signal?: AbortSignal;
  /** Called while waiting (e.g. an activity heartbeat), at most every `pollMs`. */
  onWait?: () => void;
  pollMs?: number;
}

/** Why a write no longer applies; `objectGone`: the object is no longer in S3 at all. */
export interface Superseded {
  reason: string;
  objectGone: boolean;
}

// The advisory-lock class of file locks (two-int form, apart from the migrations' single-bigint lock).
const FILE_LOCK_CLASS = 0x7038_6601;

function fileLockKey(fileId: string): number {
  return Number.parseInt(fileId.replace(/-/g, '').slice(0, 8), 16) | 0;
}

/**
 * Takes the file locks of `fileIds` for the rest of the transaction, in a fixed order (no deadlock
 * between a rename and a store). Waits by polling `pg_try_advisory_xact_lock`, so a waiter keeps
 * heartbeating while another transaction of the same file (a long store) finishes, and stops at once
 * when its activity is cancelled.
 */
export async function lockFiles(
  client: pg.PoolClient,
  fileIds: string[],
  wait: LockWait = {},
): Promise<void> {
  const keys = [...new Set(fileIds.map(fileLockKey))].sort((a, b) => a - b);
  for (const key of keys) {
    for (;;) {
      wait.signal?.throwIfAborted();
      const result = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1, $2) AS locked',
        [FILE_LOCK_CLASS, key],
      );
      if (result.rows[0]?.locked) break;
      wait.onWait?.();
      await sleep(wait.pollMs ?? 250, undefined, wait.signal ? { signal: wait.signal } : undefined).catch(
        () => undefined,
      );
    }
  }
}

/** `work` in one transaction that holds the locks of `fileIds` (see lockFiles). */
export function withFileLocks<T>(
  pool: pg.Pool,
  fileIds: string[],
  wait: LockWait,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await lockFiles(client, fileIds, wait);
    return work(client);
  });
}

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
      cleanText(`s3://${event.bucket}/${event.key}`),
      cleanText(event.path),
      cleanText(event.fileName),
      cleanText(event.category),
      row.size ?? null,
      row.mimeType === undefined ? null : cleanText(row.mimeType),
      cleanText(row.version),
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
    [job.jobId, job.tenantId, JSON.stringify(cleanJsonValue(job.payload)), job.workflowId, job.runId],
  );
}

/**
 * What a search hit is shown with (resources.metadata): where the chunk came from (pages, heading path,
 * sheets, slides, time range, character offsets in the extracted text), how big it is, how its text was
 * obtained, and which provider (name and version) extracted which version of the file. Absent fields are
 * left out; `section` holds the sections' own metadata (a code file's language, a CSV header).
 */
export function resourceMetadata(
  chunk: Chunk,
  input: { provider: string; providerVersion?: string; version: string },
): Record<string, unknown> {
  const sources = chunk.sources ?? [];
  return cleanJsonValue({
    pages: chunk.pages,
    heading: chunk.heading,
    kinds: chunk.kinds,
    token_count: chunk.tokenCount,
    char_start: chunk.charStart,
    char_end: chunk.charEnd,
    sheets: chunk.sheets,
    slides: chunk.slides,
    start_seconds: chunk.startSeconds,
    end_seconds: chunk.endSeconds,
    // One source when the chunk's sections agree, the list when they do not.
    source: sources.length === 0 ? undefined : sources.length === 1 ? sources[0] : sources,
    section: chunk.metadata,
    provider: input.provider,
    provider_version: input.providerVersion,
    version: input.version,
  }) as Record<string, unknown>;
}

export interface StoreChunksInput {
  fileId: string;
  jobId: string;
  event: StorageEvent;
  /** The chunks, in order; an async source is read batch by batch inside the transaction. */
  chunks: Iterable<Chunk> | AsyncIterable<Chunk>;
  provider: string;
  /** The provider's version (ContentProvider.version), kept in each resource's metadata. */
  providerVersion?: string;
  pageCount?: number;
  contentHash: string;
  version: string;
  resourceTimestamp?: string;
  /** Etag of the S3 object the chunks were made from, kept as files.source_etag (renames compare it). */
  sourceEtag?: string;
  /**
   * Who stores (workflow run and activity attempt). The claim is kept on the files row: an attempt that
   * finds a later attempt of the same run there has been superseded (Temporal gave up on it and started
   * another) and writes nothing. Without a claim (benchmarks) nothing is checked.
   */
  claim?: { runId: string; attempt: number };
  /** Under the lock, before anything is written: whether S3 still holds the object the chunks came from. */
  check?: (client: pg.PoolClient) => Promise<Superseded | undefined>;
  wait?: LockWait;
  /** Called after each inserted batch with the rows inserted so far (heartbeats). */
  onBatch?: (rows: number) => void;
}

export type StoreOutcome = { inserted: number; replaced: number } | { superseded: string };

const INSERT_BATCH = 500;
const RESOURCE_COLUMNS = 10;
const RESOURCE_COPY_COLUMNS = [
  'id',
  'tenant_id',
  'file_id',
  'name',
  'category',
  'content',
  'ordinal',
  'uri',
  'metadata',
  'resource_timestamp',
];

interface FileState {
  status: string;
  version: string | null;
  store_run_id: string | null;
  store_attempt: number | null;
}

async function lockedFileState(client: pg.PoolClient, fileId: string): Promise<FileState | undefined> {
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
async function releaseVersion(
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

async function* inBatches<T>(items: Iterable<T> | AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Replaces the file's resources with `chunks`, completes the files row and the job, all in one
 * transaction under the file's lock; or, when the store no longer applies (a later attempt claimed the
 * file, or `check` finds S3 changed), writes nothing of it and says why.
 */
export async function replaceResources(pool: pg.Pool, input: StoreChunksInput): Promise<StoreOutcome> {
  return withFileLocks(pool, [input.fileId], input.wait ?? {}, async (client) => {
    const state = await lockedFileState(client, input.fileId);
    const { claim } = input;
    if (
      claim &&
      state?.store_run_id === claim.runId &&
      state.store_attempt !== null &&
      state.store_attempt > claim.attempt
    ) {
      return {
        superseded: `attempt ${claim.attempt} of this store was superseded by attempt ${state.store_attempt}`,
      };
    }
    const superseded = await input.check?.(client);
    if (superseded) {
      await releaseVersion(client, input, superseded);
      return { superseded: superseded.reason };
    }
    // The row is gone only if a delete or rename removed it while S3 still held this object (e.g. it
    // was re-created): this store then describes S3, so the row is written again.
    if (!state) {
      await upsertFile(client, {
        fileId: input.fileId,
        event: input.event,
        version: input.version,
        status: 'processing',
      });
    }
    if (claim) {
      await client.query('UPDATE files SET store_run_id = $2, store_attempt = $3 WHERE id = $1', [
        input.fileId,
        claim.runId,
        claim.attempt,
      ]);
    }
    const removed = await client.query('DELETE FROM resources WHERE file_id = $1', [input.fileId]);
    const uri = cleanText(`s3://${input.event.bucket}/${input.event.key}`);
    const name = cleanText(input.event.fileName);
    const category = cleanText(input.event.category);
    // One COPY FROM STDIN for all the rows (src/db/copy-rows.ts): the file's rows were just deleted under
    // its lock and ids are deterministic per (file, ordinal), so a plain COPY cannot collide where the
    // INSERT it replaced did not. It streams while the server works (no round trip per 500 rows, no
    // 5,000-parameter statements): bench/store.bench.ts measures it against server-side COPY.
    const rowsOf = async function* (): AsyncGenerator<CopyValue[][]> {
      for await (const batch of inBatches(input.chunks, INSERT_BATCH)) {
        yield batch.map((chunk) => [
          resourceIdFor(input.fileId, chunk.ordinal),
          input.event.tenantId,
          input.fileId,
          name,
          category,
          // Text PostgreSQL cannot hold (NUL, lone surrogates) is cleaned, not a reason to fail the file.
          cleanText(chunk.text),
          chunk.ordinal,
          uri,
          JSON.stringify(resourceMetadata(chunk, input)),
          input.resourceTimestamp ?? null,
        ]);
      }
    };
    const inserted = await copyRows(client, 'resources', RESOURCE_COPY_COLUMNS, rowsOf(), {
      signal: input.wait?.signal,
      onBatch: input.onBatch,
    });
    await markStoreCompleted(client, { ...input, chunkCount: inserted });
    return { inserted, replaced: removed.rowCount ?? 0 };
  });
}

/** The end of every store, whole or streamed: the files row completed with its figures, and its job. */
async function markStoreCompleted(
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
    `UPDATE files SET status = 'completed', provider = $2, page_count = $3, chunk_count = $4,
       content_hash = $5, source_etag = $6, error = NULL WHERE id = $1`,
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

export interface FailureInput {
  fileId: string;
  jobId: string;
  event: StorageEvent;
  version: string;
  errorType: string;
  message: string;
  stack?: string;
  workflowId: string;
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
       SELECT $1, $7, $2, $3, 'error', $4
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
        WorkflowTypes.ingestFile,
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
      const ids = ordinals.rows.map((r) => resourceIdFor(toFileId, r.ordinal));
      await client.query(
        `UPDATE resources r SET id = v.id::uuid, name = $2, category = $3, uri = $4
         FROM unnest($5::int[], $6::text[]) AS v(ordinal, id)
         WHERE r.file_id = $1 AND r.ordinal = v.ordinal`,
        [
          toFileId,
          cleanText(to.fileName),
          cleanText(to.category),
          cleanText(`s3://${to.bucket}/${to.key}`),
          ordinals.rows.map((r) => r.ordinal),
          ids,
        ],
      );
    }
    return { kind: 'moved', fromFileId, toFileId, moved: ordinals.rows.length };
  });
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

// ---------------------------------------------------------------------------------------------------
// Streamed stores (src/activities/ingest/streaming.ts): a huge file's chunks go in batches, each its own
// transaction under the file's lock, upserted by their deterministic ids, and a final transaction removes
// what the new version did not overwrite and completes the file. Each batch checks, like a whole store,
// that this attempt was not superseded and that S3 still holds the registered object.

export interface StreamBatchInput {
  fileId: string;
  jobId: string;
  event: StorageEvent;
  version: string;
  provider: string;
  providerVersion?: string;
  resourceTimestamp?: string;
  /** The streaming attempt: a later attempt of the same stream supersedes an earlier one. */
  claim?: { runId: string; attempt: number };
  check?: (client: pg.PoolClient) => Promise<Superseded | undefined>;
  wait?: LockWait;
}

/** The claim a streaming attempt keeps on the files row: apart from storeChunks' own claim of the run. */
function streamClaimRun(runId: string): string {
  return `${runId}/stream`;
}

async function claimOrSupersede(
  client: pg.PoolClient,
  input: { fileId: string; claim?: { runId: string; attempt: number } },
  state: FileState | undefined,
  runId: string | undefined,
): Promise<string | undefined> {
  const { claim } = input;
  if (!claim || runId === undefined) return undefined;
  if (state?.store_run_id === runId && state.store_attempt !== null && state.store_attempt > claim.attempt) {
    return `attempt ${claim.attempt} of this store was superseded by attempt ${state.store_attempt}`;
  }
  await client.query('UPDATE files SET store_run_id = $2, store_attempt = $3 WHERE id = $1', [
    input.fileId,
    runId,
    claim.attempt,
  ]);
  return undefined;
}

/**
 * Upserts one batch of a streamed file's chunks in one transaction under the file's lock. Returns how many
 * rows it overwrote that held another version of the file (for resourcesReplaced), or why it wrote nothing.
 */
export async function storeStreamBatch(
  pool: pg.Pool,
  input: StreamBatchInput,
  chunks: Chunk[],
): Promise<{ stored: number; replaced: number } | { superseded: string }> {
  return withFileLocks(pool, [input.fileId], input.wait ?? {}, async (client) => {
    const state = await lockedFileState(client, input.fileId);
    const runId = input.claim ? streamClaimRun(input.claim.runId) : undefined;
    if (input.claim && state?.store_run_id === runId && (state?.store_attempt ?? 0) > input.claim.attempt) {
      return {
        superseded: `attempt ${input.claim.attempt} of this stream was superseded by attempt ${state?.store_attempt}`,
      };
    }
    const superseded = await input.check?.(client);
    if (superseded) {
      await releaseVersion(client, input, superseded);
      return { superseded: superseded.reason };
    }
    if (!state) {
      await upsertFile(client, {
        fileId: input.fileId,
        event: input.event,
        version: input.version,
        status: 'processing',
      });
    }
    await claimOrSupersede(client, input, state, runId);
    if (chunks.length === 0) return { stored: 0, replaced: 0 };
    const ids = chunks.map((chunk) => resourceIdFor(input.fileId, chunk.ordinal));
    const older = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM resources WHERE id = ANY($1::uuid[]) AND metadata->>'version' IS DISTINCT FROM $2`,
      [ids, cleanText(input.version)],
    );
    const uri = cleanText(`s3://${input.event.bucket}/${input.event.key}`);
    const name = cleanText(input.event.fileName);
    const category = cleanText(input.event.category);
    const values: unknown[] = [];
    const rows = chunks.map((chunk, i) => {
      values.push(
        ids[i],
        input.event.tenantId,
        input.fileId,
        name,
        category,
        cleanText(chunk.text),
        chunk.ordinal,
        uri,
        JSON.stringify(resourceMetadata(chunk, input)),
        input.resourceTimestamp ?? null,
      );
      const base = i * RESOURCE_COLUMNS;
      return `(${Array.from({ length: RESOURCE_COLUMNS }, (_, c) => `$${base + c + 1}`).join(', ')})`;
    });
    await client.query(
      `INSERT INTO resources (id, tenant_id, file_id, name, category, content, ordinal, uri, metadata, resource_timestamp)
       VALUES ${rows.join(', ')}
       ON CONFLICT (id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name,
         category = EXCLUDED.category, content = EXCLUDED.content, summary = NULL, uri = EXCLUDED.uri,
         metadata = EXCLUDED.metadata, resource_timestamp = EXCLUDED.resource_timestamp, updated_at = now()`,
      values,
    );
    return { stored: chunks.length, replaced: older.rows[0]?.n ?? 0 };
  });
}

export interface StreamFinishInput extends StreamBatchInput {
  chunkCount: number;
  pageCount?: number;
  contentHash: string;
  sourceEtag?: string;
}

/**
 * Ends a streamed store in one transaction under the file's lock: removes the file's rows this version
 * did not write (ordinals past its chunk count, rows of other versions), completes the files row and the
 * job. Like replaceResources it first checks the claim (storeChunks' own) and S3, and writes nothing of a
 * superseded run.
 */
export async function finishStreamedStore(
  pool: pg.Pool,
  input: StreamFinishInput,
): Promise<{ removed: number } | { superseded: string }> {
  return withFileLocks(pool, [input.fileId], input.wait ?? {}, async (client) => {
    const state = await lockedFileState(client, input.fileId);
    const claimed = await claimOrSupersede(client, input, state, input.claim?.runId);
    if (claimed) return { superseded: claimed };
    const superseded = await input.check?.(client);
    if (superseded) {
      await releaseVersion(client, input, superseded);
      return { superseded: superseded.reason };
    }
    if (!state) {
      await upsertFile(client, {
        fileId: input.fileId,
        event: input.event,
        version: input.version,
        status: 'processing',
      });
      if (input.claim) await claimOrSupersede(client, input, undefined, input.claim.runId);
    }
    const removed = await client.query(
      `DELETE FROM resources WHERE file_id = $1 AND (ordinal >= $2 OR metadata->>'version' IS DISTINCT FROM $3)`,
      [input.fileId, input.chunkCount, cleanText(input.version)],
    );
    const stored = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
      [input.fileId],
    );
    const count = stored.rows[0]?.n ?? 0;
    if (count !== input.chunkCount) {
      // Rows the stream reported stored are missing (removed by a delete or rename meanwhile): not complete.
      throw new PermanentStorageError(
        `streamed store of ${input.event.path}: ${count} of ${input.chunkCount} chunks are stored; the stream must run again`,
      );
    }
    await markStoreCompleted(client, { ...input, streamed: true });
    return { removed: removed.rowCount ?? 0 };
  });
}
