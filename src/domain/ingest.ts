/**
 * What flows through the `ingestFile` workflow's history: references and counts only (keys, ids, sizes),
 * never file contents or chunk text. Workflow code imports only the types of this module (derivedPrefix
 * hashes with node:crypto and runs in activities).
 */

import { createHash } from 'node:crypto';
import type { ProviderName } from './content.js';
import type { FileEmbeddingOutcome } from './embedding.js';
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
  /**
   * The object's etag when it was registered: storing checks that S3 still holds this object (absent in
   * results recorded before it existed; those runs check only that the object still exists).
   */
  etag?: string;
}

export interface ExtractionResult {
  /** Object key in the derived bucket holding the ExtractedDocument as JSON. */
  extractedKey: string;
  provider: ProviderName;
  pageCount?: number;
  sectionCount: number;
  characters: number;
  contentHash: string;
  /** The provider's version (ContentProvider.version); absent in results recorded before it existed. */
  providerVersion?: string;
  /**
   * Set when the file was streamed (src/activities/ingest/streaming.ts): extraction already chunked it and
   * stored the chunks in batches, so chunkText only passes these counts on and storeChunks only finishes
   * the store. `superseded`: the stream stopped writing because the run no longer describes S3.
   */
  streamed?: { chunkCount: number; tokenCount: number; resourcesReplaced: number; superseded?: string };
  /** Files inside this one (ZIP members, attachments) uploaded and published as files of their own. */
  memberFiles?: number;
}

export interface ChunkingResult {
  /** Object key in the derived bucket holding the chunks: JSON Lines (`.jsonl`), or a JSON array (`.json`). */
  chunksKey: string;
  chunkCount: number;
  tokenCount: number;
}

export interface StoreResult {
  resourcesStored: number;
  resourcesReplaced: number;
  /**
   * Set when nothing was stored because this run no longer describes S3 (the object is gone or holds
   * other bytes, whose own event does the work) or a later attempt of this activity took over.
   */
  superseded?: string;
  /**
   * Set by a worker with embedding on (P8FS_EMBEDDINGS_ENABLED) when the chunks were stored: the workflow
   * then runs the embed step. Results recorded before the step existed lack it, so their runs replay
   * without it.
   */
  embed?: boolean;
}

/** What recordIngestFailure did: recorded the failure, or nothing because the run was superseded. */
export interface FailureRecord {
  fileId: string;
  superseded?: string;
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
      /** The embed step's result (absent: embedding was off, or the run predates the step). */
      embeddings?: FileEmbeddingOutcome;
    }
  | { status: 'deleted'; fileId: string; resourcesDeleted: number }
  | { status: 'renamed'; fileId: string; fromFileId: string; resourcesMoved: number }
  | { status: 'failed'; fileId: string; errorType: string; message: string }
  /**
   * The event no longer describes S3 by the time its run wanted to write (the object was deleted,
   * renamed or overwritten meanwhile): nothing of it was written, and the later event's run owns the rows.
   */
  | { status: 'superseded'; fileId: string; reason: string };

/**
 * Where an ingest step writes its derived output, under the derived bucket. The version becomes one path
 * segment for any string: kept as it is when it is a plain name (an etag, a hash), otherwise (other
 * characters, empty, `.`/`..`, which S3 would resolve as a path, or long) a hash of it, readable part first,
 * so two versions never share a folder.
 */
export function derivedPrefix(tenantId: string, fileId: string, version: string): string {
  return `${tenantId}/${fileId}/${versionSegment(version)}`;
}

const PLAIN_VERSION = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

function versionSegment(version: string): string {
  if (PLAIN_VERSION.test(version)) return version;
  const readable = version.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(version).digest('hex').slice(0, 32);
  return `${readable}~${hash}`.replace(/^_*~/, 'v~');
}

/**
 * What `ingestSmallFile` did (one activity for a small file: register → download → extract → chunk →
 * store). `steps`: the file was registered, but it is not for the one-activity path (too big, streamed,
 * or the step path is forced), so the workflow goes on with extractText → chunkText → storeChunks.
 * `one-activity`: the file was ingested (or, with `superseded`, nothing was written because S3 changed
 * under the run); references and counts only, like the four steps' results.
 */
export type SmallFileResult =
  | { path: 'steps'; file: RegisteredFile; reason: string }
  | {
      path: 'one-activity';
      file: RegisteredFile;
      provider: ProviderName;
      pageCount?: number;
      chunkCount: number;
      tokenCount: number;
      resourcesStored: number;
      resourcesReplaced: number;
      memberFiles?: number;
      superseded?: string;
      /** As StoreResult.embed. */
      embed?: boolean;
    };
