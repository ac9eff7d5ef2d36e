/**
 * Deterministic names for moment building: the workflow id of a transcript upload (derived like
 * ingestFile's, so a redelivered event starts nothing new), the moments' row ids, and the digest that
 * keys a transcript without a transcript_id. Uses node:crypto: activities and the bridge only.
 */
import { createHash } from 'node:crypto';
import { eventVersion, P8FS_NAMESPACE, uuidV5 } from '../ids.js';
import type { StorageEvent } from '../storage-event.js';

const MAX_WORKFLOW_ID_BYTES = 400;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `moments/{tenant}/{key}@{version}`; long keys are replaced by a hash, as ingestWorkflowId does. */
export function momentsWorkflowId(event: StorageEvent): string {
  const version = eventVersion(event);
  const prefix = `moments/${event.tenantId}/`;
  const keyHash = sha256Hex(event.key).slice(0, 32);
  const candidates = [`${prefix}${event.key}@${version}`, `${prefix}${keyHash}@${version}`];
  const fitting = candidates.find((id) => Buffer.byteLength(id, 'utf8') <= MAX_WORKFLOW_ID_BYTES);
  return fitting ?? `${prefix}${keyHash}@${sha256Hex(version).slice(0, 32)}`;
}

/** A moment's row id: the same tenant, transcript and position always give the same id. */
export function momentIdFor(tenantId: string, transcriptRef: string, ordinal: number): string {
  return uuidV5(`moment:${tenantId}:${transcriptRef}:${ordinal}`, P8FS_NAMESPACE);
}

/** The key of a transcript's moments: its own transcript_id, else a digest of its bytes. */
export function transcriptRefFor(transcriptId: string | undefined, text: string): string {
  return transcriptId ?? `sha256:${sha256Hex(text).slice(0, 32)}`;
}

/** Where an inline transcript is staged in the derived bucket (content-addressed, so retries overwrite). */
export function stagedTranscriptKey(tenantId: string, text: string): string {
  return `${tenantId}/transcripts/${sha256Hex(text).slice(0, 32)}.json`;
}

/** Where one run keeps each group's validated answer (derived bucket), for storeMoments to merge. */
export function groupResultKey(tenantId: string, workflowId: string, runId: string, index: number): string {
  return `${tenantId}/moments/${sha256Hex(workflowId).slice(0, 24)}/${runId}/group-${String(index).padStart(5, '0')}.json`;
}
