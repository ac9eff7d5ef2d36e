/**
 * What flows through the `ingestBatch` workflow (src/workflows/ingest-batch.ts): its input, the cursor and
 * running aggregate carried across continue-as-new, and the aggregate it ends with. History holds keys,
 * counts and cursors only: a list of keys lives in S3, ZIP members are extracted into S3, and the full
 * list of failed files is kept in the `batches` row, not in history. Pure: workflow code imports it.
 */
import type { IngestFileInput } from './ingest.js';

/** Where the files of a batch come from. Every key is in the tenant's bucket (the bucket is the tenant). */
export type BatchSource =
  /** A ZIP object, extracted member by member under `batches/{batchId}/` in the same bucket first. */
  | { kind: 'zip'; bucket: string; key: string }
  /** Every object under a prefix of the tenant's bucket, listed page by page. */
  | { kind: 'prefix'; bucket: string; prefix: string }
  /**
   * Keys of the tenant's bucket, one a line, in an object of the derived bucket (written by
   * startIngestBatch), so a list of 10,000 keys never travels through history.
   */
  | { kind: 'list'; bucket: string; listBucket: string; listKey: string; count: number };

export type BatchSourceKind = BatchSource['kind'];

/** Temporal priority keys: lower runs first; the server's default (unset) is 3, its range 1 to 5. */
export const MIN_PRIORITY = 1;
export const MAX_PRIORITY = 5;

export type BatchStatus = 'queued' | 'extracting' | 'running' | 'completed' | 'failed' | 'cancelled';

/** How each file of a batch ended. `skipped`: nothing to ingest (a folder marker, a transcript). */
export type BatchFileStatus = 'completed' | 'failed' | 'superseded' | 'skipped' | 'cancelled';
export const BATCH_FILE_STATUSES: readonly BatchFileStatus[] = [
  'completed',
  'failed',
  'superseded',
  'skipped',
  'cancelled',
];

export interface BatchFailure {
  key: string;
  reason: string;
}

export interface BatchTotals {
  /** Files found so far (ZIP members, listed objects, list entries); final once listing is done. */
  files: number;
  counts: Record<BatchFileStatus, number>;
  /** Pages, chunks and bytes of the completed files. */
  pages: number;
  chunks: number;
  bytes: number;
  /** Files whose ingestFile run already existed (started by the bridge): awaited, not started again. */
  deduplicated: number;
}

/** The result of a batch, as stored in `batches` and returned by the workflow. */
export interface BatchAggregate extends BatchTotals {
  batchId: string;
  tenantId: string;
  status: BatchStatus;
  /** Failed files with their reasons: at most FAILED_FILES_RETURNED of them (the row holds all). */
  failedFiles: BatchFailure[];
  /** How many failed files are not in `failedFiles` (the `batches` row has them). */
  failedFilesOmitted: number;
  /** Workflow runs so far: 1 + the times the batch continued as new. */
  runs: number;
}

/** Failed files a result carries; the `batches` row keeps every one. */
export const FAILED_FILES_RETURNED = 200;

/** One file ready to start: the child's id, queue and input, computed by the planning activity. */
export interface PlannedBatchFile {
  key: string;
  workflowId: string;
  taskQueue: string;
  input: IngestFileInput;
  bytes: number;
}

/** What carries over from one run of a batch to the next (continue-as-new). */
export interface BatchCarry {
  /** Set once the ZIP is extracted: the prefix its members are under. */
  extracted?: { bucket: string; prefix: string };
  /** Where listing goes on: the last key listed (prefix) or the next line (list). Undefined: the start. */
  cursor?: string;
  listingDone: boolean;
  /** Files of the last page not started yet (at most one page). */
  pending: PlannedBatchFile[];
  totals: BatchTotals;
  runs: number;
}

export interface IngestBatchInput {
  batchId: string;
  tenantId: string;
  source: BatchSource;
  /** Priority key of the batch's children (and the batch itself): below interactive uploads by default. */
  priority: number;
  /** Children running at once. */
  window: number;
  /** Children one run starts before it continues as new. */
  continueAsNewAfter: number;
  /** Files planned per listing page. */
  pageSize: number;
  /** Absent on the first run. */
  carry?: BatchCarry;
}

/** What the `progress` query answers, live. */
export interface BatchProgress extends BatchTotals {
  batchId: string;
  tenantId: string;
  status: BatchStatus;
  /** Children running now. */
  running: number;
  /** Files that have ended, whatever the status. */
  done: number;
  listingDone: boolean;
  runs: number;
  /** The last failures seen by this run (at most 20), newest last. */
  recentFailures: BatchFailure[];
}

export const BATCH_PROGRESS_QUERY = 'progress';

/** The workflow id of a batch: its id alone, so `p8fs batch status ID` needs nothing else. */
export function batchWorkflowId(batchId: string): string {
  return `ingest-batch-${batchId}`;
}

/** The prefix ZIP members of a batch are extracted under, in the tenant's bucket. */
export function batchMembersPrefix(batchId: string): string {
  return `batches/${batchId}/`;
}

export function emptyTotals(): BatchTotals {
  return {
    files: 0,
    counts: { completed: 0, failed: 0, superseded: 0, skipped: 0, cancelled: 0 },
    pages: 0,
    chunks: 0,
    bytes: 0,
    deduplicated: 0,
  };
}

export function filesDone(totals: BatchTotals): number {
  return BATCH_FILE_STATUSES.reduce((n, status) => n + totals.counts[status], 0);
}

/** e.g. `42/50 files · 40 completed, 2 failed`. */
export function describeProgress(totals: BatchTotals, listingDone: boolean): string {
  const done = filesDone(totals);
  const of = listingDone ? `${totals.files}` : `${totals.files}+`;
  const parts = BATCH_FILE_STATUSES.filter((s) => totals.counts[s] > 0).map(
    (s) => `${totals.counts[s]} ${s}`,
  );
  return `${done}/${of} files${parts.length ? ` · ${parts.join(', ')}` : ''}`;
}
