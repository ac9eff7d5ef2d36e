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
 * Fixed forever: changing it changes every file and resource id. It is
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

export function fileIdFor(tenantId: string, path: string): string {
  return uuidV5(`${tenantId}:${path}`, P8FS_NAMESPACE);
}

export function resourceIdFor(fileId: string, ordinal: number): string {
  return uuidV5(`${fileId}:${ordinal}`, P8FS_NAMESPACE);
}

/**
 * The producer's version when it sent one; otherwise a digest of what the event says, so the same event
 * published twice (a retrying producer, a replay) dedups to the same workflow.
 */
export function eventVersion(event: StorageEvent): string {
  if (event.version !== undefined && event.version !== '') return event.version;
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
