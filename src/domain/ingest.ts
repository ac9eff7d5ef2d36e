/**
 * What flows through the `ingestFile` workflow's history: references and counts only (keys, ids, sizes),
 * never file contents or chunk text. Pure types, safe to import from workflow code.
 */
import type { ProviderName } from './content.js';
import type { StorageEvent } from './storage-event.js';
import type { Tier } from './tiers.js';

export interface IngestFileInput {
  event: StorageEvent;
  tier: Tier;
  /** Version used in the workflow id: etag/mtime from S3 or the producer, else a hash of the event. */
  version: string;
  /** Where the event came from, for the jobs row and logs (stream name and sequence, or "self-test"). */
  source?: string;
}

export interface RegisteredFile {
  fileId: string;
  jobId: string;
  size: number;
  mimeType?: string;
  provider: ProviderName;
  /** The object's Last-Modified (ISO 8601), stored as each resource's timestamp. */
  lastModified?: string;
}

export interface ExtractionResult {
  /** Object key in the derived bucket holding the ExtractedDocument as JSON. */
  extractedKey: string;
  provider: ProviderName;
  pageCount?: number;
  sectionCount: number;
  characters: number;
  contentHash: string;
}

export interface ChunkingResult {
  /** Object key in the derived bucket holding the chunks as JSON. */
  chunksKey: string;
  chunkCount: number;
  tokenCount: number;
}

export interface StoreResult {
  resourcesStored: number;
  resourcesReplaced: number;
}

export type IngestOutcome =
  | {
      status: 'completed';
      fileId: string;
      provider: ProviderName;
      pageCount?: number;
      chunkCount: number;
      tokenCount: number;
      resourcesReplaced: number;
    }
  | { status: 'deleted'; fileId: string; resourcesDeleted: number }
  | { status: 'renamed'; fileId: string; fromFileId: string; resourcesMoved: number }
  | { status: 'failed'; fileId: string; errorType: string; message: string };

/** Where an ingest step writes its derived output, under the derived bucket. */
export function derivedPrefix(tenantId: string, fileId: string, version: string): string {
  const safeVersion = version.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${tenantId}/${fileId}/${safeVersion}`;
}
