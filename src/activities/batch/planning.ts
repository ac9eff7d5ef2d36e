/**
 * One page of a batch: the next keys (a listing page of a prefix, or lines of the stored key list), each
 * checked like a storage event (the same parser, so a key that escapes the bucket is refused the same
 * way), HEADed for its size and version, and planned as the bridge plans an upload: tier from size,
 * version from S3 (etag + Last-Modified), the same deterministic workflow id. A file uploaded through the
 * bridge and listed in a batch is therefore one run, never two.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { headObject } from '../../clients/object-store.js';
import type { Config } from '../../config/config.js';
import type { BatchFailure, PlannedBatchFile } from '../../domain/batch.js';
import { MissingObjectError } from '../../domain/errors.js';
import { eventVersion, ingestWorkflowId, storedObjectVersion } from '../../domain/ids.js';
import { isTranscriptUpload } from '../../domain/insight/build-moments.js';
import { boundedMimeType, parseStorageEvent, type StorageEvent } from '../../domain/storage-event.js';
import { tierForSize } from '../../domain/tiers.js';
import { taskQueueFor } from '../../temporal/names.js';

export interface PlanPageInput {
  batchId: string;
  tenantId: string;
  /** The tenant's bucket. */
  bucket: string;
  /** prefix: list objects under it; list: read lines of the key list object. */
  from: { kind: 'prefix'; prefix: string } | { kind: 'list'; listBucket: string; listKey: string };
  /** Where the last page ended: the last key listed (prefix) or the next line number (list). */
  cursor?: string;
  pageSize: number;
}

export interface PlannedPage {
  files: PlannedBatchFile[];
  /** Entries that cannot be ingested (missing, outside the bucket): failed files of the batch. */
  failed: BatchFailure[];
  /** Entries with nothing to ingest (folder markers, transcripts), with why. */
  skipped: BatchFailure[];
  cursor?: string;
  done: boolean;
}

/** The key list object as text; its absence is permanent (the batch was started without it). */
async function getObjectText(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await response.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchKey' || e.name === 'NoSuchBucket' || e.$metadata?.httpStatusCode === 404)
      throw new MissingObjectError(`the batch's key list s3://${bucket}/${key} does not exist`);
    throw error;
  }
}

/** HEADs at once per page: enough to hide the round trips, few enough to be gentle with S3. */
const HEAD_CONCURRENCY = 8;

async function nextKeys(
  s3: S3Client,
  input: PlanPageInput,
): Promise<{ keys: string[]; cursor?: string; done: boolean }> {
  if (input.from.kind === 'prefix') {
    // StartAfter the last key (not a continuation token): a plain key survives any server restart.
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: input.bucket,
        Prefix: input.from.prefix,
        MaxKeys: input.pageSize,
        ...(input.cursor ? { StartAfter: input.cursor } : {}),
      }),
    );
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
    const last = keys.at(-1);
    return { keys, cursor: last ?? input.cursor, done: !page.IsTruncated || keys.length === 0 };
  }
  // The list was written by startIngestBatch: one key a line. Read whole (10,000 keys are ~0.5 MiB).
  const lines = (await getObjectText(s3, input.from.listBucket, input.from.listKey))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const start = Number(input.cursor ?? 0);
  const end = Math.min(lines.length, start + input.pageSize);
  return { keys: lines.slice(start, end), cursor: String(end), done: end >= lines.length };
}

export async function planBatchPage(
  deps: { cfg: Config; s3: S3Client },
  input: PlanPageInput,
): Promise<PlannedPage> {
  const { cfg, s3 } = deps;
  const page = await nextKeys(s3, input);
  const failed: BatchFailure[] = [];
  const skipped: BatchFailure[] = [];
  const planned: Array<PlannedBatchFile | undefined> = new Array(page.keys.length);
  const source = `batch:${input.batchId}`;
  let next = 0;
  const planOne = async (index: number): Promise<void> => {
    const key = page.keys[index] as string;
    const parsed = parseStorageEvent(
      { event_type: 'create', path: `/buckets/${input.bucket}/${key}` },
      { reservedBuckets: [cfg.s3.derivedBucket] },
    );
    if (parsed.kind === 'reject') {
      failed.push({ key, reason: parsed.reason });
      return;
    }
    if (parsed.kind === 'ignore') {
      skipped.push({ key, reason: parsed.reason });
      return;
    }
    const head = await headObject(s3, input.bucket, key);
    if (!head) {
      failed.push({ key, reason: `s3://${input.bucket}/${key} does not exist` });
      return;
    }
    const storedType = boundedMimeType(
      head.contentType === 'application/octet-stream' ? undefined : head.contentType,
    );
    const event: StorageEvent = { ...parsed.event, size: head.size };
    if (storedType !== undefined) event.mimeType = storedType;
    const stored = storedObjectVersion(head);
    if (stored !== undefined) event.version = stored;
    const version = eventVersion(event);
    const versioned = { ...event, version };
    if (isTranscriptUpload(versioned)) {
      skipped.push({
        key,
        reason: 'a transcript becomes moments (buildMoments on p8fs-llm), not resources: not part of a batch',
      });
      return;
    }
    const tier = tierForSize(head.size, cfg.tiers);
    planned[index] = {
      key,
      workflowId: ingestWorkflowId(versioned),
      taskQueue: taskQueueFor(cfg, tier),
      input: { event: versioned, tier, version, source },
      bytes: head.size,
    };
  };
  const ctx = Context.current();
  let done = 0;
  const worker = async () => {
    for (let index = next++; index < page.keys.length; index = next++) {
      ctx.cancellationSignal.throwIfAborted();
      await planOne(index);
      // The workflow's heartbeat timeout notices a killed worker (the SDK throttles what it sends).
      ctx.heartbeat({ planned: ++done, of: page.keys.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, page.keys.length) }, worker));
  const files = planned.filter((f): f is PlannedBatchFile => f !== undefined);
  return {
    files,
    failed,
    skipped,
    ...(page.cursor !== undefined ? { cursor: page.cursor } : {}),
    done: page.done,
  };
}
