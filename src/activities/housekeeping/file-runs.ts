/**
 * Finding files whose ingestion must run again, and running it again: files left in `processing` with no
 * running workflow (a run terminated, timed out, or lost with its server), and failed files an operator
 * retries (`p8fs retry-failed`, e.g. after a provider was added).
 *
 * A new run uses the SAME workflow id as the file version's first run (the bridge's id rules,
 * src/domain/ids.ts) with the reuse policy ALLOW_DUPLICATE_FAILED_ONLY: Temporal itself then refuses to
 * start it while a run is open (conflict policy FAIL) or when the last run completed, so two housekeeping
 * runs, a retry and a redelivered event never process the same version twice at once, and a version that
 * completed is never redone. The input is the one the first run recorded in its jobs row.
 */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type pg from 'pg';
import type { Config } from '../../config/config.js';
import type { IngestFileInput } from '../../domain/ingest.js';
import { taskQueueFor } from '../../temporal/names.js';
import { JobTypes, SearchAttributes } from '../../temporal/search-attributes.js';
import { startIngestFile } from '../../temporal/starts.js';

/** A file row with the ingest job of its current version (the job holds the run's input). */
export interface FileRun {
  fileId: string;
  tenantId: string;
  path: string;
  mimeType?: string;
  status: string;
  updatedAt: Date;
  error?: string;
  /** Absent when no ingest job of the file was recorded (nothing to re-run from). */
  workflowId?: string;
  input?: IngestFileInput;
}

interface Row {
  id: string;
  tenant_id: string;
  path: string;
  mime_type: string | null;
  status: string;
  updated_at: Date;
  error: string | null;
  workflow_id: string | null;
  payload: { event?: IngestFileInput['event']; tier?: IngestFileInput['tier']; version?: string } | null;
}

// The job of the file's current version (else its latest): registerFile writes it with the run's input.
const FILE_RUNS = `
  SELECT f.id, f.tenant_id, f.path, f.mime_type, f.status, f.updated_at, f.error, j.workflow_id, j.payload
  FROM files f
  LEFT JOIN LATERAL (
    SELECT workflow_id, payload FROM jobs
    WHERE jobs.tenant_id = f.tenant_id AND jobs.job_type = 'ingest_file'
      AND jobs.payload->'event'->>'path' = f.path
      AND jobs.payload->'event'->>'type' IN ('create', 'update', 'rename')
    ORDER BY (jobs.payload->>'version' IS NOT DISTINCT FROM f.version) DESC,
             jobs.started_at DESC NULLS LAST
    LIMIT 1
  ) j ON true`;

function toFileRun(row: Row): FileRun {
  const run: FileRun = {
    fileId: row.id,
    tenantId: row.tenant_id,
    path: row.path,
    status: row.status,
    updatedAt: row.updated_at,
  };
  if (row.mime_type) run.mimeType = row.mime_type;
  if (row.error) run.error = row.error;
  const p = row.payload;
  if (row.workflow_id && p?.event && p.tier && p.version) {
    run.workflowId = row.workflow_id;
    run.input = { event: p.event, tier: p.tier, version: p.version };
  }
  return run;
}

/** Files in `processing` whose row has not changed for `olderThanMinutes` (oldest first). */
export async function processingFiles(
  db: pg.Pool,
  olderThanMinutes: number,
  limit: number,
): Promise<FileRun[]> {
  const result = await db.query<Row>(
    `${FILE_RUNS}
     WHERE f.status = 'processing' AND f.updated_at <= now() - make_interval(mins => $1::int)
     ORDER BY f.updated_at LIMIT $2`,
    [olderThanMinutes, limit],
  );
  return result.rows.map(toFileRun);
}

export interface FailedFilter {
  tenantId: string;
  /** Failed at or after this moment. */
  since?: Date;
  /** `application/pdf`, or a family such as `image/*`. */
  mimeType?: string;
  limit: number;
}

/** A tenant's failed files, oldest failure first. */
export async function failedFiles(db: pg.Pool, filter: FailedFilter): Promise<FileRun[]> {
  const mime = filter.mimeType?.toLowerCase();
  const family = mime?.endsWith('/*') ? `${mime.slice(0, -1)}%` : undefined;
  const result = await db.query<Row>(
    `${FILE_RUNS}
     WHERE f.status = 'failed' AND f.tenant_id = $1
       AND ($2::timestamptz IS NULL OR f.updated_at >= $2)
       AND ($3::text IS NULL OR lower(f.mime_type) = $3)
       AND ($4::text IS NULL OR lower(f.mime_type) LIKE $4)
     ORDER BY f.updated_at LIMIT $5`,
    [filter.tenantId, filter.since ?? null, family ? null : (mime ?? null), family ?? null, filter.limit],
  );
  return result.rows.map(toFileRun);
}

export type RestartOutcome =
  /** A new run was started. */
  | { kind: 'started'; workflowId: string; runId: string }
  /** A run of this version is open: nothing to do. */
  | { kind: 'running'; workflowId: string }
  /** The last run of this version completed: Temporal refuses to redo it (a new upload is a new version). */
  | { kind: 'completed-before'; workflowId: string }
  /** No ingest job was recorded for the file: there is no input to run again. */
  | { kind: 'no-job' };

/** Temporal's status of the workflow id's latest run, or undefined when Temporal knows no such id. */
export async function latestRunStatus(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

function searchAttributes(input: IngestFileInput): SearchAttributePair[] {
  // The bridge's attributes (summary, details and memo come with startIngestFile). Temporal refuses
  // Keyword values over 2 KB; the bridge cuts at 1000 bytes too.
  const keyword = (value: string) =>
    Buffer.from(value, 'utf8')
      .subarray(0, 1000)
      .toString('utf8')
      .replace(/\uFFFD$/, '');
  const { event } = input;
  const pairs: SearchAttributePair[] = [
    { key: SearchAttributes.TenantId, value: keyword(event.tenantId) },
    { key: SearchAttributes.Tier, value: input.tier },
    { key: SearchAttributes.FileName, value: keyword(event.fileName) },
    { key: SearchAttributes.JobType, value: JobTypes.ingestFile },
  ];
  if (event.mimeType) pairs.push({ key: SearchAttributes.MimeType, value: keyword(event.mimeType) });
  if (event.size !== undefined) pairs.push({ key: SearchAttributes.FileSize, value: event.size });
  return pairs;
}

/** Starts a new run of the file's recorded ingestion (see the module comment for the id rules). */
export async function restartIngest(
  client: Client,
  cfg: Config,
  file: FileRun,
  source: string,
): Promise<RestartOutcome> {
  if (!file.workflowId || !file.input) return { kind: 'no-job' };
  const workflowId = file.workflowId;
  const status = await latestRunStatus(client, workflowId);
  if (status === 'RUNNING') return { kind: 'running', workflowId };
  try {
    const handle = await startIngestFile(
      client,
      { ...file.input, source },
      {
        taskQueue: taskQueueFor(cfg, file.input.tier),
        workflowId,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: searchAttributes(file.input),
      },
    );
    return { kind: 'started', workflowId, runId: handle.firstExecutionRunId };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    // Between the describe and the start another run may have begun; otherwise the last one completed.
    return (await latestRunStatus(client, workflowId)) === 'RUNNING'
      ? { kind: 'running', workflowId }
      : { kind: 'completed-before', workflowId };
  }
}
