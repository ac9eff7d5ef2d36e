/**
 * The storage event of an object a producer of ours just uploaded (the HTTP API), published the way the
 * filer subscriber would report the same upload: the same event type (create, or update when the key
 * existed), so the bridge derives the same workflow id from either event and a late second one is
 * deduplicated by Temporal instead of ingested twice. Nats-Msg-Id (from the workflow id) keeps a retried
 * publish single in JetStream. The workflow id is predicted here with the bridge's own rules (the
 * object's stored version, src/domain/ids.ts), so the caller can tell the client what to follow.
 */
import { createHash } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectHead } from '../clients/object-store.js';
import { eventVersion, fileIdFor, ingestWorkflowId, storedObjectVersion } from '../domain/ids.js';
import { isTranscriptUpload } from '../domain/insight/build-moments.js';
import { momentsWorkflowId } from '../domain/insight/moment-ids.js';
import { parseStorageEvent, type StorageEvent } from '../domain/storage-event.js';
import { publishEvent } from './publish.js';

export interface UploadedObjectFacts {
  bucket: string;
  key: string;
  size: number;
  mimeType: string;
  /** HEAD of the object after the upload: its etag and Last-Modified are the version the bridge reads. */
  head: ObjectHead;
  /** Whether the key existed before the upload (the filer then reports an update). */
  existed: boolean;
}

export interface PublishedUpload {
  event: Record<string, unknown>;
  eventType: 'create' | 'update';
  path: string;
  fileId: string;
  /** The workflow the bridge starts for this event: ingestFile, or buildMoments for a transcript. */
  workflowId: string;
  workflowType: 'ingestFile' | 'buildMoments';
  seq: number;
  duplicate: boolean;
}

/** Parses the event the upload makes with the bridge's rules; a rejection names why. */
export function uploadStorageEvent(
  object: Pick<UploadedObjectFacts, 'bucket' | 'key' | 'existed'> & Partial<UploadedObjectFacts>,
  reservedBuckets: string[],
  source: string,
): { raw: Record<string, unknown>; event: StorageEvent } | { rejected: string } {
  const raw: Record<string, unknown> = {
    event_type: object.existed ? 'update' : 'create',
    path: `/buckets/${object.bucket}/${object.key}`,
    ...(object.size !== undefined ? { size: object.size } : {}),
    ...(object.mimeType ? { mime_type: object.mimeType } : {}),
    ...(object.head?.etag ? { etag: object.head.etag } : {}),
    source,
  };
  const parsed = parseStorageEvent(raw, { reservedBuckets });
  if (parsed.kind !== 'event') return { rejected: parsed.reason };
  return { raw, event: parsed.event };
}

/**
 * Nats-Msg-Id of an upload's event, from the workflow it names: a retried publish by the same producer
 * is stored once by JetStream.
 */
export function uploadMessageId(source: string, workflowId: string): string {
  return `${source}-${createHash('sha256').update(workflowId).digest('hex').slice(0, 40)}`;
}

export async function publishUploadEvent(
  js: JetStreamClient,
  subject: string,
  object: UploadedObjectFacts,
  reservedBuckets: string[],
  source: string,
): Promise<PublishedUpload> {
  const made = uploadStorageEvent(object, reservedBuckets, source);
  if ('rejected' in made) throw new Error(`the upload makes an event the bridge rejects: ${made.rejected}`);
  const version = storedObjectVersion(object.head) ?? made.event.version;
  const versioned: StorageEvent = { ...made.event, ...(version ? { version } : {}) };
  versioned.version = eventVersion(versioned);
  const moments = isTranscriptUpload(versioned);
  const workflowId = moments ? momentsWorkflowId(versioned) : ingestWorkflowId(versioned);
  const published = await publishEvent(js, subject, made.raw, uploadMessageId(source, workflowId));
  return {
    event: made.raw,
    eventType: object.existed ? 'update' : 'create',
    path: versioned.path,
    fileId: fileIdFor(versioned.tenantId, versioned.path),
    workflowId,
    workflowType: moments ? 'buildMoments' : 'ingestFile',
    seq: published.seq,
    duplicate: published.duplicate,
  };
}
