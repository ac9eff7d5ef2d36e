/**
 * One filer metadata event → what the subscriber does with it: publish a storage event (in the
 * contract of src/domain/storage-event.ts) with a Nats-Msg-Id derived from the filer event, or skip it
 * for a counted reason. Pure: no I/O, so the rules are unit-tested with events captured from a real filer.
 *
 * How the filer reports S3 operations (observed on SeaweedFS 4.x):
 * - PutObject of a new key: new_entry only → create;
 * - PutObject over an existing key: old_entry and new_entry, same directory and name → update;
 * - DeleteObject: old_entry only → delete;
 * - a move through the filer (`POST /new?mv.from=/old`): old_entry and new_entry with another name or
 *   new_parent_path → rename;
 * - multipart: parts are written (and later deleted) under `/buckets/<b>/.uploads/<id>/`, then
 *   CompleteMultipartUpload creates the final entry once → one create of the final object;
 * - bucket creation is a directory entry in `/buckets`; the filer's own bookkeeping lives in
 *   `/buckets/.system/…`;
 * - the workers' own writes (extracted text, chunks) land in the derived-data bucket: skipped.
 */
import { createHash } from 'node:crypto';
import { isReservedBucket } from '../domain/storage-event.js';
import type { FilerEntry, FilerMetadataEvent } from './filer-client.js';

export interface ClassifyOptions {
  /**
   * P8FS's own buckets (the derived-data bucket); every `p8fs-` bucket is reserved as well. The workers
   * write extracted text and chunks there: those writes are not uploads and are never published.
   */
  reservedBuckets?: readonly string[];
}

export type SkipReason =
  | 'no-change'
  | 'outside-buckets'
  | 'system'
  | 'reserved-bucket'
  | 'directory'
  | 'bucket'
  | 'multipart-part'
  | 'unchanged-metadata';

export const SKIP_REASONS: readonly SkipReason[] = [
  'no-change',
  'outside-buckets',
  'system',
  'reserved-bucket',
  'directory',
  'bucket',
  'multipart-part',
  'unchanged-metadata',
];

export type Classified =
  | { kind: 'publish'; event: Record<string, unknown>; msgId: string; tsNs: string }
  | { kind: 'skip'; reason: SkipReason; path: string; tsNs: string };

const BUCKETS_ROOT = '/buckets';
const MULTIPART_STAGING = '.uploads';
/** Where SeaweedFS's S3 gateway keeps the object's S3 etag (multipart etags end in `-<parts>`). */
const S3_ETAG_KEY = 'Seaweed-X-Amz-ETag';

export function joinPath(directory: string, name: string): string {
  return directory.endsWith('/') ? `${directory}${name}` : `${directory}/${name}`;
}

export function classifyFilerEvent(event: FilerMetadataEvent, options: ClassifyOptions = {}): Classified {
  const tsNs = String(event.ts_ns ?? '0');
  const notification = event.event_notification;
  const oldEntry = notification?.old_entry ?? undefined;
  const newEntry = notification?.new_entry ?? undefined;
  const directory = event.directory ?? '';
  const oldPath = oldEntry ? joinPath(directory, oldEntry.name) : undefined;
  const newPath = newEntry ? joinPath(notification?.new_parent_path || directory, newEntry.name) : undefined;
  const path = newPath ?? oldPath ?? directory;
  const skip = (reason: SkipReason): Classified => ({ kind: 'skip', reason, path, tsNs });

  if (!oldEntry && !newEntry) return skip('no-change');
  const paths = [oldPath, newPath].filter((p): p is string => p !== undefined);
  const bucketPaths = paths.map(bucketPart);
  if (bucketPaths.some((p) => p === undefined)) return skip('outside-buckets');
  if (bucketPaths.some((p) => p?.bucket.startsWith('.'))) return skip('system');
  if (bucketPaths.some((p) => p && isReservedBucket(p.bucket, options.reservedBuckets))) {
    return skip('reserved-bucket');
  }
  if (oldEntry?.is_directory || newEntry?.is_directory) return skip('directory');
  if (bucketPaths.some((p) => p?.key === '')) return skip('bucket');
  if (bucketPaths.some((p) => p?.key.split('/').includes(MULTIPART_STAGING))) {
    return skip('multipart-part');
  }

  let type: 'create' | 'update' | 'delete' | 'rename';
  if (oldEntry && newEntry) {
    type = oldPath === newPath ? 'update' : 'rename';
    if (type === 'update' && sameContent(oldEntry, newEntry)) return skip('unchanged-metadata');
  } else {
    type = newEntry ? 'create' : 'delete';
  }

  const described = newEntry ?? oldEntry;
  const out: Record<string, unknown> = { event_type: type, path };
  if (type === 'rename') out.old_path = oldPath;
  if (described) Object.assign(out, describe(described));
  out.source = 'seaweedfs-filer';
  out.filer_ts_ns = tsNs;
  return { kind: 'publish', event: out, msgId: messageId(tsNs, path, oldPath), tsNs };
}

/**
 * Derived from the filer's log position and the path: a replay of the same filer event (after a
 * restart from an older cursor) gets the same id, so JetStream stores it once inside its duplicate
 * window. Hashed so any path (unicode, length) makes a short ASCII header value.
 */
export function messageId(tsNs: string, path: string, oldPath?: string): string {
  const digest = createHash('sha256')
    .update(`${path}\u0000${oldPath ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  return `filer-${tsNs}-${digest}`;
}

function bucketPart(path: string): { bucket: string; key: string } | undefined {
  if (!path.startsWith(`${BUCKETS_ROOT}/`)) return undefined;
  const rest = path.slice(BUCKETS_ROOT.length + 1);
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: rest, key: '' };
  return { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

/** Size, type, time and content identity of an entry, in the storage-event contract's field names. */
function describe(entry: FilerEntry): Record<string, unknown> {
  const out: Record<string, unknown> = { size: entrySize(entry) };
  const attributes = entry.attributes ?? undefined;
  if (attributes?.mime) out.mime_type = attributes.mime;
  const mtime = Number(attributes?.mtime ?? 0);
  if (Number.isSafeInteger(mtime) && mtime > 0) out.mtime = new Date(mtime * 1000).toISOString();
  const md5 = attributes?.md5 && attributes.md5.length > 0 ? attributes.md5.toString('hex') : undefined;
  const etag = s3Etag(entry) ?? md5;
  if (etag) out.etag = etag;
  if (md5) out.md5 = md5;
  return out;
}

function s3Etag(entry: FilerEntry): string | undefined {
  const raw = entry.extended?.[S3_ETAG_KEY];
  if (!raw || raw.length === 0) return undefined;
  const text = Buffer.from(raw).toString('utf8').replace(/"/g, '').trim();
  return /^[A-Za-z0-9+/=_-]{1,200}$/.test(text) ? text : undefined;
}

/** attributes.file_size, or the end of the last chunk, or the inline content's length. */
export function entrySize(entry: FilerEntry): number {
  let size = Number(entry.attributes?.file_size ?? 0);
  for (const chunk of entry.chunks ?? []) {
    size = Math.max(size, Number(chunk.offset ?? 0) + Number(chunk.size ?? 0));
  }
  if (entry.content && entry.content.length > size) size = entry.content.length;
  return Number.isSafeInteger(size) ? size : 0;
}

/** An update that changed neither bytes nor size (e.g. only extended attributes): no new version. */
function sameContent(a: FilerEntry, b: FilerEntry): boolean {
  const etagA = s3Etag(a) ?? a.attributes?.md5?.toString('hex');
  const etagB = s3Etag(b) ?? b.attributes?.md5?.toString('hex');
  if (!etagA || !etagB || etagA !== etagB) return false;
  if (entrySize(a) !== entrySize(b)) return false;
  return chunkIds(a) === chunkIds(b);
}

function chunkIds(entry: FilerEntry): string {
  return (entry.chunks ?? [])
    .map((c) => `${c.offset ?? 0}:${c.size ?? 0}:${c.mtime ?? 0}:${c.e_tag ?? ''}`)
    .join(',');
}
