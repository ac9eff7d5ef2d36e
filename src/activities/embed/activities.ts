/**
 * The embedding activities: a stored file's chunks (embedFile) and a transcript's moments (embedMoments)
 * after ingestion stored them, the backfill's pages (planEmbedPages, embedRange), and a file's embedding
 * failure recorded (recordEmbedFailure). They run on the tiers' `-embed` task queues, served by a Worker
 * of their own in each storage worker process (src/workers/storage-worker.ts), so embedding has its own
 * slots (P8FS_WORKER_CONCURRENCY_EMBED) and never takes one extraction needs.
 *
 * Unchanged text is not embedded again: a vector's id is fixed per (row, field, provider) and it records
 * the md5 of the text it was made from; a row lacks a vector only when it has none of the provider or its
 * text changed (src/db/embeddings). A store of the same text keeps the vectors (carry.ts), so its embed
 * step finds nothing to do.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { Config } from '../../config/config.js';
import {
  fileVectorCounts,
  markFileEmbedded,
  markFileEmbeddingFailed,
  markFilesEmbedded,
  pendingChunksOfFile,
  pendingIdsOfTenant,
  pendingMomentsOfTranscript,
  pendingRowsOfTenant,
} from '../../db/embeddings/index.js';
import { cleanText } from '../../domain/clean-text.js';
import type {
  EmbedFileInput,
  EmbedMomentsInput,
  EmbedPageResult,
  EmbedPlan,
  EmbedPlanInput,
  EmbedRange,
  EmbedRangeInput,
  EmbedResult,
} from '../../domain/embedding.js';
import { type EmbeddingProvider, embeddingProviderFromConfig } from '../../providers/embeddings/index.js';
import { withStorageErrorsClassified } from '../ingest/storage-errors.js';
import { embedPending } from './embed-rows.js';

export interface EmbedDeps {
  cfg: Config;
  pool: pg.Pool;
  /** The provider to use; the configured one (embeddingProviderFromConfig) if absent. */
  provider?: EmbeddingProvider;
}

/** Rows read per query: this many model batches. */
const BATCHES_PER_PAGE = 8;

export function createEmbedActivities({ cfg, pool, provider: given }: EmbedDeps) {
  const providerOf = () => given ?? embeddingProviderFromConfig(cfg);
  const { batchSize } = cfg.embeddings;
  const pageSize = batchSize * BATCHES_PER_PAGE;

  /** A backfill asked for one provider runs only where that provider is configured. */
  function providerFor(wanted: string | undefined): EmbeddingProvider {
    const provider = providerOf();
    if (wanted !== undefined && wanted !== provider.name)
      throw ApplicationFailure.nonRetryable(
        `this worker embeds with ${provider.name} (P8FS_EMBEDDING_PROVIDER), not ${wanted}: set the workers' provider to ${wanted}, or backfill without --provider`,
        'EmbeddingProviderMismatchError',
      );
    return provider;
  }

  return withStorageErrorsClassified({
    /**
     * Embeds the file's chunks lacking a current vector of the configured provider, in order of ordinal,
     * then marks the file `done` when none is left (one statement, so a store that changed the text
     * meanwhile leaves it pending).
     */
    async embedFile(input: EmbedFileInput): Promise<EmbedResult> {
      if (!cfg.embeddings.enabled) return { status: 'off', embedded: 0, kept: 0, rows: 0 };
      const provider = providerOf();
      const where = { tenantId: input.tenantId, fileId: input.fileId, provider: provider.name };
      const before = await fileVectorCounts(pool, where);
      const loop = await embedPending({
        pool,
        provider,
        kind: 'resources',
        tenantId: input.tenantId,
        batchSize,
        pageSize,
        details: { step: 'embed', path: input.path, of: before.chunks - before.embedded },
        nextPage: (after, limit) =>
          pendingChunksOfFile(pool, { ...where, afterOrdinal: after?.ordinal ?? -1, limit }),
      });
      const done = await markFileEmbedded(pool, where);
      Context.current().log.info('file embedded', {
        path: input.path,
        provider: provider.name,
        embedded: loop.embedded,
        kept: before.embedded,
        chunks: before.chunks,
      });
      return {
        status: done ? 'done' : 'pending',
        provider: provider.name,
        embedded: loop.embedded,
        kept: before.embedded,
        rows: before.chunks,
      };
    },

    /** Embeds a transcript's moments lacking a current vector (their `content`, as the original's). */
    async embedMoments(input: EmbedMomentsInput): Promise<EmbedResult> {
      if (!cfg.embeddings.enabled) return { status: 'off', embedded: 0, kept: 0, rows: 0 };
      const provider = providerOf();
      const where = { tenantId: input.tenantId, transcriptRef: input.transcriptRef, provider: provider.name };
      const total = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM moments WHERE tenant_id = $1 AND metadata->>'transcript_ref' = $2",
        [input.tenantId, input.transcriptRef],
      );
      const rows = total.rows[0]?.n ?? 0;
      const loop = await embedPending({
        pool,
        provider,
        kind: 'moments',
        tenantId: input.tenantId,
        batchSize,
        pageSize,
        details: { step: 'embed-moments', transcriptRef: input.transcriptRef },
        nextPage: (after, limit) =>
          pendingMomentsOfTranscript(pool, { ...where, afterOrdinal: after?.ordinal ?? -1, limit }),
      });
      return {
        status: loop.embedded === loop.read ? 'done' : 'pending',
        provider: provider.name,
        embedded: loop.embedded,
        kept: rows - loop.read,
        rows,
      };
    },

    /** The step gave up on a file: its text stays searchable by words; the reason is kept on its row. */
    async recordEmbedFailure(input: EmbedFileInput & { errorType: string; message: string }): Promise<void> {
      await markFileEmbeddingFailed(pool, {
        tenantId: input.tenantId,
        fileId: input.fileId,
        provider: providerOf().name,
        error: cleanText(`${input.errorType}: ${input.message}`),
      });
    },

    /**
     * The backfill's next pages: up to `pages` ranges of `limit` rows lacking a vector after the cursor,
     * as (after, until] id bounds. Ids only: the texts are read by embedRange.
     */
    async planEmbedPages(input: EmbedPlanInput): Promise<EmbedPlan> {
      const provider = providerFor(input.provider);
      const ids = await pendingIdsOfTenant(pool, input.kind, {
        tenantId: input.tenantId,
        provider: provider.name,
        afterId: input.afterId,
        limit: input.limit * input.pages,
      });
      const ranges: EmbedRange[] = [];
      let afterId = input.afterId;
      for (let start = 0; start < ids.length; start += input.limit) {
        const untilId = ids[Math.min(start + input.limit, ids.length) - 1] as string;
        ranges.push({ afterId, untilId });
        afterId = untilId;
      }
      return { ranges, provider: provider.name };
    },

    /** One backfill page: the rows in (afterId, untilId] lacking a vector; their files marked done. */
    async embedRange(input: EmbedRangeInput): Promise<EmbedPageResult> {
      const provider = providerFor(input.provider);
      const { kind, tenantId } = input;
      const loop = await embedPending({
        pool,
        provider,
        kind,
        tenantId,
        batchSize,
        pageSize,
        details: { step: 'embed-backfill', kind, afterId: input.afterId, untilId: input.untilId },
        nextPage: (after, limit) =>
          pendingRowsOfTenant(pool, kind, {
            tenantId,
            provider: provider.name,
            afterId: after?.id ?? input.afterId,
            untilId: input.untilId,
            limit,
          }),
      });
      if (kind === 'resources')
        await markFilesEmbedded(pool, { tenantId, fileIds: [...loop.fileIds], provider: provider.name });
      return { rows: loop.read, embedded: loop.embedded, provider: provider.name };
    },
  });
}

export type EmbedActivities = ReturnType<typeof createEmbedActivities>;
