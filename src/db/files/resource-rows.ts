/**
 * A file's resources rows (its chunks, searchable): what each row holds, and the whole store that
 * replaces them all in one transaction under the file's lock. Idempotent: resource ids are uuid v5 of
 * file id + ordinal, and a store replaces the file's rows, never appends to them.
 *
 * Rows are the original P8FS's (Healer-AI/p8fs, p8fs/src/p8fs/workers/storage.py, process_file): name
 * `{stem}_chunk_{i}`, category `content_chunk`, uri `{file_path}#chunk_{i}` (file_path: the key in the
 * tenant's bucket), resource_timestamp the file's modification time, metadata file_id, chunk_index,
 * chunk_type, file_mtime and file_ctime beside what our providers and chunker say (pages, heading path,
 * offsets...), and the file's own name, folder and S3 address as extra fields.
 */
import type pg from 'pg';
import type { Chunk } from '../../domain/chunking.js';
import { cleanJsonValue, cleanText } from '../../domain/clean-text.js';
import { resourceIdFor } from '../../domain/ids.js';
import { CHUNK_CATEGORY, chunkName, chunkType, chunkUri } from '../../domain/original-rows.js';
import type { StorageEvent } from '../../domain/storage-event.js';
import { type CopyValue, copyRows } from '../copy-rows.js';
import { fileScope, holdVectors, restoreVectors } from '../embeddings/index.js';
import { lockedFileState, markStoreCompleted, supersededOrRowKept } from './file-rows.js';
import { type LockWait, type Superseded, withFileLocks } from './locks.js';
import { adoptOriginalRows } from './rekey-rows.js';

/**
 * What a search hit is shown with (resources.metadata): where the chunk came from (pages, heading path,
 * sheets, slides, time range, character offsets in the extracted text), how big it is, how its text was
 * obtained, and which provider (name and version) extracted which version of the file. Absent fields are
 * left out; `section` holds the sections' own metadata (a code file's language, a CSV header).
 */
export function resourceMetadata(
  chunk: Chunk,
  input: { provider: string; providerVersion?: string; version: string },
): Record<string, unknown> {
  const sources = chunk.sources ?? [];
  return cleanJsonValue({
    pages: chunk.pages,
    heading: chunk.heading,
    kinds: chunk.kinds,
    token_count: chunk.tokenCount,
    char_start: chunk.charStart,
    char_end: chunk.charEnd,
    sheets: chunk.sheets,
    slides: chunk.slides,
    start_seconds: chunk.startSeconds,
    end_seconds: chunk.endSeconds,
    // One source when the chunk's sections agree, the list when they do not.
    source: sources.length === 0 ? undefined : sources.length === 1 ? sources[0] : sources,
    section: chunk.metadata,
    provider: input.provider,
    provider_version: input.providerVersion,
    version: input.version,
  }) as Record<string, unknown>;
}

/** The columns of a resources row, in the order resourceRowOf gives its values. */
export const RESOURCE_COLUMNS = [
  'id',
  'tenant_id',
  'file_id',
  'name',
  'category',
  'content',
  'ordinal',
  'uri',
  'metadata',
  'resource_timestamp',
] as const;

export interface ResourceSource {
  fileId: string;
  event: StorageEvent;
  provider: string;
  providerVersion?: string;
  version: string;
  /** The object's Last-Modified (ISO 8601): resource_timestamp, file_mtime and file_ctime. */
  resourceTimestamp?: string;
}

/** A function from chunk to its resources row (RESOURCE_COLUMNS); the file's own fields are cleaned once. */
export function resourceRowOf(input: ResourceSource): (chunk: Chunk) => CopyValue[] {
  const { event } = input;
  // S3 keeps one time per object, its Last-Modified; the original read both from a downloaded copy.
  const fileTimes = { file_mtime: input.resourceTimestamp, file_ctime: input.resourceTimestamp };
  const fileFields = cleanJsonValue({
    file_name: event.fileName,
    file_category: event.category,
    file_uri: `s3://${event.bucket}/${event.key}`,
  });
  return (chunk) => [
    resourceIdFor(input.fileId, chunk.ordinal),
    event.tenantId,
    input.fileId,
    cleanText(chunkName(event.key, chunk.ordinal)),
    CHUNK_CATEGORY,
    // Text PostgreSQL cannot hold (NUL, lone surrogates) is cleaned, not a reason to fail the file.
    cleanText(chunk.text),
    chunk.ordinal,
    cleanText(chunkUri(event.key, chunk.ordinal)),
    JSON.stringify({
      file_id: input.fileId,
      chunk_index: chunk.ordinal,
      chunk_type: chunkType(chunk.sources),
      ...fileTimes,
      ...resourceMetadata(chunk, input),
      ...fileFields,
    }),
    input.resourceTimestamp ?? null,
  ];
}

export interface StoreChunksInput {
  fileId: string;
  jobId: string;
  event: StorageEvent;
  /** The chunks, in order; an async source is read batch by batch inside the transaction. */
  chunks: Iterable<Chunk> | AsyncIterable<Chunk>;
  provider: string;
  /** The provider's version (ContentProvider.version), kept in each resource's metadata. */
  providerVersion?: string;
  pageCount?: number;
  contentHash: string;
  version: string;
  resourceTimestamp?: string;
  /** Etag of the S3 object the chunks were made from, kept as files.source_etag (renames compare it). */
  sourceEtag?: string;
  /**
   * Who stores (workflow run and activity attempt). The claim is kept on the files row: an attempt that
   * finds a later attempt of the same run there has been superseded (Temporal gave up on it and started
   * another) and writes nothing. Without a claim (benchmarks) nothing is checked.
   */
  claim?: { runId: string; attempt: number };
  /** Under the lock, before anything is written: whether S3 still holds the object the chunks came from. */
  check?: (client: pg.PoolClient) => Promise<Superseded | undefined>;
  wait?: LockWait;
  /** Called after each inserted batch with the rows inserted so far (heartbeats). */
  onBatch?: (rows: number) => void;
}

export type StoreOutcome = { inserted: number; replaced: number } | { superseded: string };

const INSERT_BATCH = 500;

async function* inBatches<T>(items: Iterable<T> | AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Replaces the file's resources with `chunks`, completes the files row and the job, all in one
 * transaction under the file's lock; or, when the store no longer applies (a later attempt claimed the
 * file, or `check` finds S3 changed), writes nothing of it and says why.
 */
export async function replaceResources(pool: pg.Pool, input: StoreChunksInput): Promise<StoreOutcome> {
  return withFileLocks(pool, [input.fileId], input.wait ?? {}, async (client) => {
    const state = await lockedFileState(client, input.fileId);
    const { claim } = input;
    if (
      claim &&
      state?.store_run_id === claim.runId &&
      state.store_attempt !== null &&
      state.store_attempt > claim.attempt
    ) {
      return {
        superseded: `attempt ${claim.attempt} of this store was superseded by attempt ${state.store_attempt}`,
      };
    }
    const superseded = await supersededOrRowKept(client, input, state);
    if (superseded !== undefined) return { superseded };
    if (claim) {
      await client.query('UPDATE files SET store_run_id = $2, store_attempt = $3 WHERE id = $1', [
        input.fileId,
        claim.runId,
        claim.attempt,
      ]);
    }
    await adoptOriginalRows(client, input.fileId);
    // The delete would take the chunks' vectors along (ON DELETE CASCADE): held and put back on the rows
    // whose text is unchanged, so a store of the same text embeds nothing again (src/db/embeddings/carry.ts).
    const vectors = fileScope(input.event.tenantId, input.fileId);
    const held = await holdVectors(client, vectors);
    const removed = await client.query('DELETE FROM resources WHERE file_id = $1', [input.fileId]);
    // One COPY FROM STDIN for all the rows (src/db/copy-rows.ts): the file's rows were just deleted under
    // its lock and ids are deterministic per (file, ordinal), so a plain COPY cannot collide where the
    // INSERT it replaced did not. It streams while the server works (no round trip per 500 rows, no
    // 5,000-parameter statements): bench/store.bench.ts measures it against server-side COPY.
    const rowOf = resourceRowOf(input);
    const rowsOf = async function* (): AsyncGenerator<CopyValue[][]> {
      for await (const batch of inBatches(input.chunks, INSERT_BATCH)) yield batch.map(rowOf);
    };
    const inserted = await copyRows(client, 'resources', RESOURCE_COLUMNS, rowsOf(), {
      signal: input.wait?.signal,
      onBatch: input.onBatch,
    });
    if (held) await restoreVectors(client, held, vectors);
    await markStoreCompleted(client, { ...input, chunkCount: inserted });
    return { inserted, replaced: removed.rowCount ?? 0 };
  });
}
