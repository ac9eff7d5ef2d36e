/**
 * The `batches` table (migration 0004): written by startIngestBatch (queued) and by the batch's
 * activities (progress at every continue-as-new, the aggregate at the end); read by `p8fs batch status`
 * and the HTTP API. Every write is idempotent: counts are set, not added, and failed files are merged
 * into a JSON object keyed by file, so a retried activity changes nothing.
 */
import type pg from 'pg';
import {
  BATCH_FILE_STATUSES,
  type BatchAggregate,
  type BatchFailure,
  type BatchFileStatus,
  type BatchSource,
  type BatchStatus,
  type BatchTotals,
  FAILED_FILES_RETURNED,
} from '../domain/batch.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface QueuedBatch {
  batchId: string;
  tenantId: string;
  source: BatchSource;
  priority: number;
  workflowId: string;
}

/**
 * The row of a batch about to start; a second call for the same id changes nothing. Returns the tenant
 * that owns the id (the caller's when it is new or its own; another tenant's id must be refused).
 */
export async function insertQueuedBatch(db: Queryable, batch: QueuedBatch): Promise<string> {
  const { rows } = await db.query<{ tenant_id: string }>(
    `WITH ins AS (
       INSERT INTO batches (id, tenant_id, source_kind, source, status, priority, workflow_id)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6)
       ON CONFLICT (id) DO NOTHING
       RETURNING tenant_id)
     SELECT tenant_id FROM ins UNION ALL SELECT tenant_id FROM batches WHERE id = $1 LIMIT 1`,
    [
      batch.batchId,
      batch.tenantId,
      batch.source.kind,
      JSON.stringify(batch.source),
      batch.priority,
      batch.workflowId,
    ],
  );
  return rows[0]?.tenant_id ?? batch.tenantId;
}

export interface BatchUpdate {
  batchId: string;
  /** The batch's tenant: the row is written only when it is this tenant's (absent in older histories). */
  tenantId?: string;
  status: BatchStatus;
  totals: BatchTotals;
  runs: number;
  /** Merged into failed_files (key → reason). */
  failures: BatchFailure[];
  error?: string;
}

/** Sets the counts and status and merges the failures; `completed_at` once the status is final. */
export async function updateBatch(db: Queryable, update: BatchUpdate): Promise<void> {
  const failures = Object.fromEntries(update.failures.map((f) => [f.key, f.reason]));
  const final = ['completed', 'failed', 'cancelled'].includes(update.status);
  const result = await db.query(
    `UPDATE batches SET status = $2, total_files = $3, counts = $4, deduplicated = $5, total_pages = $6,
            total_chunks = $7, total_bytes = $8, failed_files = failed_files || $9::jsonb, runs = $10,
            error = COALESCE($11, error),
            completed_at = CASE WHEN $12 THEN COALESCE(completed_at, now()) ELSE completed_at END
     WHERE id = $1 AND ($13::text IS NULL OR tenant_id = $13)`,
    [
      update.batchId,
      update.status,
      update.totals.files,
      JSON.stringify(update.totals.counts),
      update.totals.deduplicated,
      update.totals.pages,
      update.totals.chunks,
      update.totals.bytes,
      JSON.stringify(failures),
      update.runs,
      update.error ?? null,
      final,
      update.tenantId ?? null,
    ],
  );
  if (result.rowCount === 0)
    throw new Error(`batch ${update.batchId} has no row in batches for tenant ${update.tenantId ?? '(any)'}`);
}

export interface BatchRow {
  id: string;
  tenantId: string;
  sourceKind: BatchSource['kind'];
  source: BatchSource;
  status: BatchStatus;
  priority: number;
  workflowId: string;
  totals: BatchTotals;
  failedFiles: BatchFailure[];
  failedFilesOmitted: number;
  runs: number;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

interface RawRow {
  id: string;
  tenant_id: string;
  source_kind: BatchSource['kind'];
  source: BatchSource;
  status: BatchStatus;
  priority: number;
  workflow_id: string;
  total_files: number;
  counts: Partial<Record<BatchFileStatus, number>>;
  deduplicated: number;
  total_pages: number;
  total_chunks: number;
  total_bytes: number;
  failed: Array<{ key: string; reason: string }> | null;
  failed_count: number;
  runs: number;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A batch by id (and tenant, when given: the API's view of one tenant); undefined when there is none.
 * At most `failedLimit` failed files, sorted by key; `failedFilesOmitted` counts the rest.
 */
export async function readBatch(
  db: Queryable,
  batchId: string,
  options: { tenantId?: string; failedLimit?: number } = {},
): Promise<BatchRow | undefined> {
  if (!UUID.test(batchId)) return undefined;
  const limit = options.failedLimit ?? FAILED_FILES_RETURNED;
  const { rows } = await db.query<RawRow>(
    `SELECT b.id, b.tenant_id, b.source_kind, b.source, b.status, b.priority, b.workflow_id, b.total_files,
            b.counts, b.deduplicated, b.total_pages, b.total_chunks, b.total_bytes, b.runs, b.error,
            b.created_at, b.updated_at, b.completed_at,
            (SELECT count(*)::int FROM jsonb_object_keys(b.failed_files)) AS failed_count,
            (SELECT jsonb_agg(jsonb_build_object('key', f.key, 'reason', f.value) ORDER BY f.key)
               FROM (SELECT key, value FROM jsonb_each_text(b.failed_files) ORDER BY key LIMIT $3) f) AS failed
     FROM batches b WHERE b.id = $1 AND ($2::text IS NULL OR b.tenant_id = $2)`,
    [batchId, options.tenantId ?? null, limit],
  );
  const row = rows[0];
  if (!row) return undefined;
  const counts = Object.fromEntries(BATCH_FILE_STATUSES.map((s) => [s, row.counts[s] ?? 0])) as Record<
    BatchFileStatus,
    number
  >;
  const failedFiles = row.failed ?? [];
  return {
    id: row.id,
    tenantId: row.tenant_id,
    sourceKind: row.source_kind,
    source: row.source,
    status: row.status,
    priority: row.priority,
    workflowId: row.workflow_id,
    totals: {
      files: row.total_files,
      counts,
      pages: row.total_pages,
      chunks: row.total_chunks,
      bytes: row.total_bytes,
      deduplicated: row.deduplicated,
    },
    failedFiles,
    failedFilesOmitted: Math.max(0, row.failed_count - failedFiles.length),
    runs: row.runs,
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
  };
}

/** The aggregate of a stored batch, the shape the workflow returns. */
export function aggregateOf(row: BatchRow): BatchAggregate {
  return {
    batchId: row.id,
    tenantId: row.tenantId,
    status: row.status,
    ...row.totals,
    failedFiles: row.failedFiles,
    failedFilesOmitted: row.failedFilesOmitted,
    runs: row.runs,
  };
}
