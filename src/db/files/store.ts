/**
 * Streamed stores (src/activities/ingest/streaming.ts): a huge file's chunks go in batches, each its own
 * transaction under the file's lock, upserted by their deterministic ids, and a final transaction removes
 * what the new version did not overwrite and completes the file. Each batch checks, like a whole store
 * (resource-rows.ts), that this attempt was not superseded and that S3 still holds the registered object.
 */
import type pg from 'pg';
import type { Chunk } from '../../domain/chunking.js';
import { cleanText } from '../../domain/clean-text.js';
import { PermanentStorageError } from '../../domain/errors.js';
import { type FileState, lockedFileState, markStoreCompleted, supersededOrRowKept } from './file-rows.js';
import { type LockWait, type Superseded, withFileLocks } from './locks.js';
import { adoptOriginalRows } from './rekey-rows.js';
import { RESOURCE_COLUMNS, type ResourceSource, resourceRowOf } from './resource-rows.js';

export interface StreamBatchInput extends ResourceSource {
  jobId: string;
  /** The streaming attempt: a later attempt of the same stream supersedes an earlier one. */
  claim?: { runId: string; attempt: number };
  check?: (client: pg.PoolClient) => Promise<Superseded | undefined>;
  wait?: LockWait;
}

/** The claim a streaming attempt keeps on the files row: apart from storeChunks' own claim of the run. */
function streamClaimRun(runId: string): string {
  return `${runId}/stream`;
}

async function claimOrSupersede(
  client: pg.PoolClient,
  input: { fileId: string; claim?: { runId: string; attempt: number } },
  state: FileState | undefined,
  runId: string | undefined,
): Promise<string | undefined> {
  const { claim } = input;
  if (!claim || runId === undefined) return undefined;
  if (state?.store_run_id === runId && state.store_attempt !== null && state.store_attempt > claim.attempt) {
    return `attempt ${claim.attempt} of this store was superseded by attempt ${state.store_attempt}`;
  }
  await client.query('UPDATE files SET store_run_id = $2, store_attempt = $3 WHERE id = $1', [
    input.fileId,
    runId,
    claim.attempt,
  ]);
  return undefined;
}

/**
 * Upserts one batch of a streamed file's chunks in one transaction under the file's lock. Returns how many
 * rows it overwrote that held another version of the file (for resourcesReplaced), or why it wrote nothing.
 */
export async function storeStreamBatch(
  pool: pg.Pool,
  input: StreamBatchInput,
  chunks: Chunk[],
): Promise<{ stored: number; replaced: number } | { superseded: string }> {
  return withFileLocks(pool, [input.fileId], input.wait ?? {}, async (client) => {
    const state = await lockedFileState(client, input.fileId);
    const runId = input.claim ? streamClaimRun(input.claim.runId) : undefined;
    if (input.claim && state?.store_run_id === runId && (state?.store_attempt ?? 0) > input.claim.attempt) {
      return {
        superseded: `attempt ${input.claim.attempt} of this stream was superseded by attempt ${state?.store_attempt}`,
      };
    }
    const superseded = await supersededOrRowKept(client, input, state);
    if (superseded !== undefined) return { superseded };
    await claimOrSupersede(client, input, state, runId);
    if (chunks.length === 0) return { stored: 0, replaced: 0 };
    const rows = chunks.map(resourceRowOf(input));
    const ids = rows.map((row) => row[0]) as string[];
    await adoptOriginalRows(client, input.fileId, ids);
    const older = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM resources WHERE id = ANY($1::uuid[]) AND metadata->>'version' IS DISTINCT FROM $2`,
      [ids, cleanText(input.version)],
    );
    const width = RESOURCE_COLUMNS.length;
    const placeholders = rows.map(
      (_, i) => `(${Array.from({ length: width }, (_, c) => `$${i * width + c + 1}`).join(', ')})`,
    );
    await client.query(
      `INSERT INTO resources (${RESOURCE_COLUMNS.join(', ')})
       VALUES ${placeholders.join(', ')}
       ON CONFLICT (id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, file_id = EXCLUDED.file_id, name = EXCLUDED.name,
         category = EXCLUDED.category, content = EXCLUDED.content, summary = NULL, uri = EXCLUDED.uri,
         metadata = EXCLUDED.metadata, resource_timestamp = EXCLUDED.resource_timestamp, updated_at = now()`,
      rows.flat(),
    );
    return { stored: chunks.length, replaced: older.rows[0]?.n ?? 0 };
  });
}

export interface StreamFinishInput extends StreamBatchInput {
  chunkCount: number;
  pageCount?: number;
  contentHash: string;
  sourceEtag?: string;
}

/**
 * Ends a streamed store in one transaction under the file's lock: removes the file's rows this version
 * did not write (ordinals past its chunk count, rows of other versions), completes the files row and the
 * job. Like replaceResources it first checks the claim (storeChunks' own) and S3, and writes nothing of a
 * superseded run.
 */
export async function finishStreamedStore(
  pool: pg.Pool,
  input: StreamFinishInput,
): Promise<{ removed: number } | { superseded: string }> {
  return withFileLocks(pool, [input.fileId], input.wait ?? {}, async (client) => {
    const state = await lockedFileState(client, input.fileId);
    const claimed = await claimOrSupersede(client, input, state, input.claim?.runId);
    if (claimed) return { superseded: claimed };
    const superseded = await supersededOrRowKept(client, input, state);
    if (superseded !== undefined) return { superseded };
    if (!state && input.claim) await claimOrSupersede(client, input, undefined, input.claim.runId);
    const removed = await client.query(
      `DELETE FROM resources WHERE file_id = $1 AND (ordinal >= $2 OR metadata->>'version' IS DISTINCT FROM $3)`,
      [input.fileId, input.chunkCount, cleanText(input.version)],
    );
    const stored = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM resources WHERE file_id = $1',
      [input.fileId],
    );
    const count = stored.rows[0]?.n ?? 0;
    if (count !== input.chunkCount) {
      // Rows the stream reported stored are missing (removed by a delete or rename meanwhile): not complete.
      throw new PermanentStorageError(
        `streamed store of ${input.event.path}: ${count} of ${input.chunkCount} chunks are stored; the stream must run again`,
      );
    }
    await markStoreCompleted(client, { ...input, streamed: true });
    return { removed: removed.rowCount ?? 0 };
  });
}
