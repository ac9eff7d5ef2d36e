/**
 * The loop every embedding activity runs: read a page of rows lacking a vector, embed them in the
 * provider's batches, write the vectors, heartbeat with the progress after each batch, stop when the
 * activity is cancelled. Idempotent: a retry reads only the rows still lacking a vector, so it goes on
 * where the last attempt stopped and never asks the model twice for a row it has a vector of.
 */
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { type EmbeddedKind, type PendingRow, upsertVectors } from '../../db/embeddings/index.js';
import type { EmbeddingProvider } from '../../providers/embeddings/index.js';

export interface EmbedLoop {
  pool: pg.Pool;
  provider: EmbeddingProvider;
  kind: EmbeddedKind;
  tenantId: string;
  /** Texts per model call (P8FS_EMBEDDING_BATCH_SIZE). */
  batchSize: number;
  /** Rows read per query: a few batches, so the database is asked once per several model calls. */
  pageSize: number;
  /** The next page after the last row handed out (`undefined`: none yet). */
  nextPage(after: PendingRow | undefined, limit: number): Promise<PendingRow[]>;
  /** Heartbeat details beside the counts (which step, which file). */
  details: Record<string, unknown>;
}

export interface EmbedLoopResult {
  /** Rows read and sent to the model. */
  read: number;
  /** Vectors written (fewer than read when rows changed or went away meanwhile). */
  embedded: number;
  /** Every row read, for callers that need their files (the backfill). */
  fileIds: Set<string>;
  last: PendingRow | undefined;
}

export async function embedPending(loop: EmbedLoop): Promise<EmbedLoopResult> {
  const { cancellationSignal: signal } = Context.current();
  const result: EmbedLoopResult = { read: 0, embedded: 0, fileIds: new Set(), last: undefined };
  for (;;) {
    signal.throwIfAborted();
    const page = await loop.nextPage(result.last, loop.pageSize);
    if (page.length === 0) return result;
    for (let start = 0; start < page.length; start += loop.batchSize) {
      const rows = page.slice(start, start + loop.batchSize);
      const vectors = await loop.provider.embed(
        rows.map((row) => row.content),
        signal,
        (index, tokens, kept) =>
          Context.current().log.warn('embedding input cut to the provider limit', {
            ...loop.details,
            tenant: loop.tenantId,
            kind: loop.kind,
            row: rows[index]?.id,
            tokens,
            kept,
          }),
      );
      result.embedded += await upsertVectors(loop.pool, {
        kind: loop.kind,
        tenantId: loop.tenantId,
        provider: loop.provider.name,
        dimensions: loop.provider.dimensions,
        rows,
        vectors,
      });
      result.read += rows.length;
      for (const row of rows) if (row.fileId) result.fileIds.add(row.fileId);
      Context.current().heartbeat({
        ...loop.details,
        provider: loop.provider.name,
        read: result.read,
        embedded: result.embedded,
      });
    }
    result.last = page.at(-1);
    if (page.length < loop.pageSize) return result;
  }
}
