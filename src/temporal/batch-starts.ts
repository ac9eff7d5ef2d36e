/**
 * Starting a batch (`p8fs batch start`, `POST /v1/batches`): validate the request, store a list of keys in
 * S3 (so it never travels through history), write the `batches` row (queued) and start ingestBatch on the
 * small storage queue at the batch's priority, with the tenant as fairness key. Handles for its progress.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type pg from 'pg';
import { ensureBucket } from '../clients/object-store.js';
import type { Config } from '../config/config.js';
import { insertQueuedBatch } from '../db/batches.js';
import {
  BATCH_PROGRESS_QUERY,
  type BatchProgress,
  type BatchSource,
  batchWorkflowId,
  type IngestBatchInput,
  MAX_PRIORITY,
  MIN_PRIORITY,
} from '../domain/batch.js';
import { isReservedBucket, parseStorageEvent } from '../domain/storage-event.js';
import type { ingestBatch } from '../workflows/ingest-batch.js';
import { batchTaskQueue, WorkflowTypes } from './names.js';
import { startWorkflow } from './starts.js';

/** The request is wrong (a bad tenant, key or number): the message names the field. HTTP 400. */
export class BatchRequestError extends Error {
  override readonly name = 'BatchRequestError';
}

/** The client's batchId is taken by another tenant (or was started before). HTTP 409. */
export class BatchIdTakenError extends Error {
  override readonly name = 'BatchIdTakenError';
}

export interface StartBatchRequest {
  tenantId: string;
  /**
   * Exactly one: `zip` (a key of the tenant's bucket, or s3://{tenant}/{key}), `prefix` (of the tenant's
   * bucket; '' is the whole bucket) or `keys` (keys of the tenant's bucket).
   */
  zip?: string;
  prefix?: string;
  keys?: readonly string[];
  /** Temporal priority key of the batch's children, 1 (first) to 5; default P8FS_BATCH_PRIORITY. */
  priority?: number;
  window?: number;
  continueAsNewAfter?: number;
  pageSize?: number;
  /** A uuid; default a new one. Starting the same id twice starts nothing new (AlreadyStarted). */
  batchId?: string;
}

export interface StartedBatch {
  batchId: string;
  workflowId: string;
  runId: string;
  input: IngestBatchInput;
}

export interface BatchStartDeps {
  cfg: Config;
  temporal: Client;
  s3: S3Client;
  /** When given, the `batches` row is written before the start, so the API can show it at once. */
  pool?: Pick<pg.Pool, 'query'>;
  /** What a tenant may ask of the shared queues (the API's P8FS_API_BATCH_*); the CLI (an operator) has none. */
  caps?: BatchCaps;
}

/** Per-tenant caps on a batch's request: a value past one is a 400 naming the cap. */
export interface BatchCaps {
  /** The smallest (most urgent) priority key a request may ask for. */
  minPriority: number;
  /** The largest window a request may ask for. */
  maxWindow: number;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Entries of one list: a 10,000-file batch is the design's target; 100,000 keys are ~5 MiB of S3. */
export const MAX_BATCH_KEYS = 100_000;

/** `s3://tenant/a/b`, `/buckets/tenant/a/b` or `a/b` → `a/b`; another bucket is an error naming `field`. */
function keyInBucket(value: string, tenantId: string, field: string): string {
  let key = value.trim();
  for (const head of [`s3://${tenantId}/`, `/buckets/${tenantId}/`]) {
    if (key.startsWith(head)) return key.slice(head.length);
  }
  if (/^s3:\/\//.test(key) || key.startsWith('/buckets/'))
    throw new BatchRequestError(
      `${field} ${JSON.stringify(value)} is outside the tenant's bucket ${tenantId}`,
    );
  key = key.replace(/^\/+/, '');
  return key;
}

function checkNumber(value: number | undefined, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new BatchRequestError(`${field} must be a whole number from ${min} to ${max}, got ${value}`);
  return value;
}

/** Validates and normalises a request; throws BatchRequestError naming the field that is wrong. */
export function batchInput(
  cfg: Config,
  request: StartBatchRequest,
  caps?: BatchCaps,
): { input: IngestBatchInput; keys?: string[] } {
  const { tenantId } = request;
  if (
    typeof tenantId !== 'string' ||
    !BUCKET.test(tenantId) ||
    isReservedBucket(tenantId, [cfg.s3.derivedBucket])
  )
    throw new BatchRequestError(
      `tenant ${JSON.stringify(tenantId)} is not a tenant bucket name (3-63 of a-z 0-9 . -, not p8fs-…)`,
    );
  const given = [request.zip !== undefined, request.prefix !== undefined, request.keys !== undefined].filter(
    Boolean,
  );
  if (given.length !== 1) throw new BatchRequestError('give exactly one of zip, prefix or keys');
  const batchId = request.batchId ?? randomUUID();
  if (!UUID.test(batchId))
    throw new BatchRequestError(`batchId must be a uuid, got ${JSON.stringify(batchId)}`);
  let source: BatchSource;
  let keys: string[] | undefined;
  if (request.zip !== undefined) {
    const key = keyInBucket(request.zip, tenantId, 'zip');
    if (!key || key.endsWith('/'))
      throw new BatchRequestError(`zip ${JSON.stringify(request.zip)} names no object`);
    // The same key rules as every listed or prefixed key (no '..' or '.' segment, control character, …).
    const parsed = parseStorageEvent(
      { event_type: 'create', path: `/buckets/${tenantId}/${key}` },
      { reservedBuckets: [cfg.s3.derivedBucket] },
    );
    if (parsed.kind === 'reject')
      throw new BatchRequestError(`zip ${JSON.stringify(request.zip)} is not a safe key: ${parsed.reason}`);
    source = { kind: 'zip', bucket: tenantId, key };
  } else if (request.prefix !== undefined) {
    source = { kind: 'prefix', bucket: tenantId, prefix: keyInBucket(request.prefix, tenantId, 'prefix') };
  } else {
    const list = request.keys ?? [];
    if (list.length === 0) throw new BatchRequestError('keys is empty: a batch needs at least one key');
    if (list.length > MAX_BATCH_KEYS)
      throw new BatchRequestError(`keys holds ${list.length} entries; at most ${MAX_BATCH_KEYS} per batch`);
    keys = list.map((k, i) => {
      if (typeof k !== 'string') throw new BatchRequestError(`keys[${i}] is not a string`);
      const key = keyInBucket(k, tenantId, `keys[${i}]`);
      if (!key || /[\r\n]/.test(key))
        throw new BatchRequestError(`keys[${i}] ${JSON.stringify(k)} is not a key`);
      return key;
    });
    source = {
      kind: 'list',
      bucket: tenantId,
      listBucket: cfg.s3.derivedBucket,
      listKey: `batches/${tenantId}/${batchId}/keys.txt`,
      count: keys.length,
    };
  }
  if (caps && request.priority !== undefined && request.priority < caps.minPriority)
    throw new BatchRequestError(
      `priority ${request.priority} is ahead of this API's cap: at least ${caps.minPriority} (P8FS_API_BATCH_MIN_PRIORITY_KEY; 1 is first)`,
    );
  if (caps && request.window !== undefined && request.window > caps.maxWindow)
    throw new BatchRequestError(
      `window ${request.window} is over this API's cap of ${caps.maxWindow} (P8FS_API_BATCH_MAX_WINDOW)`,
    );
  const input: IngestBatchInput = {
    batchId,
    tenantId,
    source,
    priority: checkNumber(request.priority, 'priority', MIN_PRIORITY, MAX_PRIORITY) ?? cfg.batch.priority,
    window: checkNumber(request.window, 'window', 1, 1000) ?? cfg.batch.window,
    continueAsNewAfter:
      checkNumber(request.continueAsNewAfter, 'continueAsNewAfter', 1, 10_000) ??
      cfg.batch.continueAsNewAfter,
    pageSize: checkNumber(request.pageSize, 'pageSize', 1, 1000) ?? cfg.batch.pageSize,
  };
  return keys ? { input, keys } : { input };
}

/** e.g. `batch 1f0c… · tenant acme · 10,000 keys · priority 4`. */
function summary(input: IngestBatchInput): string {
  const what =
    input.source.kind === 'zip'
      ? `ZIP ${input.source.key.slice(-120)}`
      : input.source.kind === 'prefix'
        ? `prefix ${input.source.prefix.slice(-120) || '(whole bucket)'}`
        : `${input.source.count.toLocaleString('en-US')} keys`;
  return `batch ${input.batchId.slice(0, 8)} · tenant ${input.tenantId} · ${what} · priority ${input.priority}`;
}

export async function startIngestBatch(
  deps: BatchStartDeps,
  request: StartBatchRequest,
): Promise<StartedBatch> {
  const { cfg, temporal, s3 } = deps;
  const { input, keys } = batchInput(cfg, request, deps.caps);
  const workflowId = batchWorkflowId(input.batchId);
  // The row claims the id before anything else is written: an id another tenant holds is refused here,
  // so no key list, row or workflow of that tenant is touched.
  if (deps.pool) {
    const owner = await insertQueuedBatch(deps.pool, {
      batchId: input.batchId,
      tenantId: input.tenantId,
      source: input.source,
      priority: input.priority,
      workflowId,
    });
    if (owner !== input.tenantId)
      throw new BatchIdTakenError(
        `batchId ${input.batchId} is taken: choose another id (or leave batchId out)`,
      );
  }
  if (keys && input.source.kind === 'list') {
    await ensureBucket(s3, input.source.listBucket);
    await s3.send(
      new PutObjectCommand({
        Bucket: input.source.listBucket,
        Key: input.source.listKey,
        Body: `${keys.join('\n')}\n`,
        ContentType: 'text/plain; charset=utf-8',
      }),
    );
  }
  const handle = await startWorkflow<typeof ingestBatch>(
    temporal,
    WorkflowTypes.ingestBatch,
    input,
    // A batch id runs once: a finished batch is never started again under the same id.
    { taskQueue: batchTaskQueue(cfg), workflowId, workflowIdReusePolicy: 'REJECT_DUPLICATE' },
    {
      presentation: {
        staticSummary: summary(input),
        memo: { batchId: input.batchId, tenantId: input.tenantId, source: input.source.kind },
      },
      tenantId: input.tenantId,
      jobType: 'ingest_batch',
      // The batch's own tasks run at its priority too, and its children inherit the tenant's fairness key.
      priority: { priorityKey: input.priority },
    },
  );
  return { batchId: input.batchId, workflowId, runId: handle.firstExecutionRunId, input };
}

export type IngestBatchHandle = WorkflowHandle<typeof ingestBatch>;

/** The batch's workflow (its latest run: continue-as-new keeps the id). */
export function ingestBatchHandle(client: Client, batchId: string): IngestBatchHandle {
  return client.workflow.getHandle<typeof ingestBatch>(batchWorkflowId(batchId));
}

/** Live progress of a running batch (the workflow's `progress` query). */
export function queryBatchProgress(client: Client, batchId: string): Promise<BatchProgress> {
  return ingestBatchHandle(client, batchId).query<BatchProgress>(BATCH_PROGRESS_QUERY);
}
