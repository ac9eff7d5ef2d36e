/**
 * Deterministic ids: the same file, chunk or event always maps to the same id, which is what makes
 * re-running an activity or redelivering an event replace work instead of duplicating it.
 * Uses node:crypto, so workflow code must not import this module; ids are computed in the bridge or
 * in activities and passed to workflows as plain strings.
 */
import { createHash } from 'node:crypto';
import type { StorageEvent } from './storage-event.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Fixed forever: changing it changes every job, session, moment and dream id derived in it (and the file
 * and resource ids of earlier releases, see legacyFileIdFor). It is
 * uuidV5('https://p8fs.dev/flows', URL namespace 6ba7b811-9dad-11d1-80b4-00c04fd430c8).
 */
export const P8FS_NAMESPACE = '0152e560-2ec0-5b3b-a8c2-e53404e79c76';

const MAX_WORKFLOW_ID_BYTES = 400;

/** RFC 4122 version 5 (SHA-1, name-based) UUID. */
export function uuidV5(name: string, namespace: string): string {
  if (!UUID.test(namespace))
    throw new TypeError(`namespace must be a UUID, got ${JSON.stringify(namespace)}`);
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** RFC 4122's DNS namespace (Python's uuid.NAMESPACE_DNS), the one the original P8FS names files and chunks in. */
export const NAMESPACE_DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

/**
 * What the original P8FS calls a file's `file_path`: its key inside the tenant's bucket
 * ('uploads/report.pdf'), i.e. the path without '/buckets/{tenant}/' (the original P8FS, Healer-AI/p8fs,
 * p8fs/src/p8fs/workers/queues/models.py, relative_path). A path outside the tenant's bucket is kept whole.
 */
export function originalFilePath(tenantId: string, path: string): string {
  const prefix = `/buckets/${tenantId}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/**
 * A file's id as the original P8FS computes it (p8fs/src/p8fs/workers/storage.py):
 * uuid5(NAMESPACE_DNS, "{tenant_id}:{file_path}"), so a file P8FS already ingested keeps its row.
 * `path` is our '/buckets/{tenant}/{key}' path.
 */
export function fileIdFor(tenantId: string, path: string): string {
  return uuidV5(`${tenantId}:${originalFilePath(tenantId, path)}`, NAMESPACE_DNS);
}

/** A chunk's resources id as the original P8FS computes it: uuid5(NAMESPACE_DNS, "{file_id}:chunk:{i}"). */
export function resourceIdFor(fileId: string, ordinal: number): string {
  return uuidV5(`${fileId}:chunk:${ordinal}`, NAMESPACE_DNS);
}

/**
 * A vector's id in embeddings.resources_embeddings / moments_embeddings, as the original P8FS computes it
 * (p8fs/src/p8fs/models/p8.py): uuid5(NAMESPACE_DNS, "{entity_id}:{field_name}:{embedding_provider}"),
 * so a row's vector of one field by one provider is upserted in place, never duplicated.
 */
export function embeddingIdFor(entityId: string, fieldName: string, provider: string): string {
  return uuidV5(`${entityId}:${fieldName}:${provider}`, NAMESPACE_DNS);
}

/**
 * The ids our releases before the original's recipe wrote (uuid5 of the whole path in P8FS_NAMESPACE).
 * Kept for `p8fs migrate --rekey`, which finds such rows and gives them the ids above.
 */
export function legacyFileIdFor(tenantId: string, path: string): string {
  return uuidV5(`${tenantId}:${path}`, P8FS_NAMESPACE);
}

export function legacyResourceIdFor(fileId: string, ordinal: number): string {
  return uuidV5(`${fileId}:${ordinal}`, P8FS_NAMESPACE);
}

/**
 * The version of what an event talks about, best evidence first:
 * 1. `version`: content identity. For create, update and rename the bridge sets it from S3 (see
 *    `storedObjectVersion`); otherwise it is the producer's etag, md5, version or sequence.
 * 2. `mtime`: the producer's modification time. One-second resolution: two saves within one second share
 *    it, so it is used only when nothing better is known (a delete that names no version).
 * 3. A digest of what the event says, so the same event published twice (a retrying producer, a replay)
 *    dedups to the same workflow.
 */
export function eventVersion(event: StorageEvent): string {
  if (event.version !== undefined && event.version !== '') return event.version;
  if (event.mtime !== undefined && event.mtime !== '') return event.mtime;
  const { type, path, size, mimeType, oldPath } = event;
  // Fixed key order and explicit nulls keep the digest stable however the event object was built.
  const canonical = JSON.stringify({
    type,
    path,
    size: size ?? null,
    mimeType: mimeType ?? null,
    oldPath: oldPath ?? null,
  });
  return sha256Hex(canonical).slice(0, 16);
}

/**
 * The version of an object as S3 stores it now, which is what an ingest workflow reads: its etag (the
 * content) and its Last-Modified (so the same bytes uploaded again after a delete are a new version).
 * A second save within the same second has new bytes, hence a new etag, hence a new version. Undefined
 * when S3 gave no etag: the caller then falls back to the producer's version.
 */
export function storedObjectVersion(head: { etag?: string; lastModified?: Date }): string | undefined {
  const etag = head.etag?.replace(/^"(.*)"$/, '$1');
  if (!etag) return undefined;
  const modified = head.lastModified?.getTime();
  return modified === undefined || Number.isNaN(modified) ? etag : `${etag}-${modified}`;
}

/**
 * Readable and deterministic: `ingest-{type}/{tenant}/{key}@{version}`. The type is part of the id so a
 * delete or rename never collides with the create of the same path. Long keys are replaced by a hash
 * (keeping the file name while that fits) to stay well inside Temporal's id limit, measured in bytes.
 */
export function ingestWorkflowId(event: StorageEvent): string {
  const version = eventVersion(event);
  const prefix = `ingest-${event.type}/${event.tenantId}/`;
  const keyHash = sha256Hex(event.key).slice(0, 32);
  const candidates = [
    `${prefix}${event.key}@${version}`,
    `${prefix}${keyHash}/${event.fileName}@${version}`,
    `${prefix}${keyHash}@${version}`,
  ];
  const fitting = candidates.find((id) => Buffer.byteLength(id, 'utf8') <= MAX_WORKFLOW_ID_BYTES);
  return fitting ?? `${prefix}${keyHash}@${sha256Hex(version).slice(0, 32)}`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
