/**
 * The ingestion activities: register → extract → chunk → store (steps.ts), a small file in one activity
 * (ingest-small.ts), and delete, rename and failure records (file-events.ts), all over one shared pipeline
 * (pipeline.ts). Every one is idempotent (deterministic ids, derived objects overwritten at fixed keys,
 * rows replaced), so Temporal may retry any of them after a crash without duplicating anything. Their
 * names are what the workflows call: src/workflows/ingest-file.ts imports this module's type.
 */
import type { IngestFileInput, SmallFileResult, StoreResult } from '../../domain/ingest.js';
import { createFileEventActivities } from './file-events.js';
import { ingestSmallFile } from './ingest-small.js';
import { createIngestPipeline, type IngestDeps } from './pipeline.js';
import { createIngestSteps } from './steps.js';
import { withStorageErrorsClassified } from './storage-errors.js';

export type { IngestDeps } from './pipeline.js';

/**
 * The ingest activities, each throwing S3 and PostgreSQL failures that no retry can fix as
 * PermanentStorageError (non-retryable; see storage-errors.ts), so such a file fails at once.
 */
export function createIngestActivities(deps: IngestDeps) {
  const pipeline = createIngestPipeline(deps);
  const steps = createIngestSteps(deps, pipeline);
  // Stored chunks are embedded next (the embed step, src/activities/embed) where this worker embeds.
  const embed = deps.cfg.embeddings.enabled;
  const withEmbed = <T extends { superseded?: string }>(result: T): T =>
    embed && result.superseded === undefined ? { ...result, embed: true } : result;
  return withStorageErrorsClassified({
    ...steps,
    storeChunks: async (...args: Parameters<typeof steps.storeChunks>): Promise<StoreResult> =>
      withEmbed(await steps.storeChunks(...args)),
    /**
     * A small file in one activity: register → download → extract → chunk → store, with no derived
     * objects in S3 (ingest-small.ts). A file not for this path is only registered, and the workflow goes
     * on with the steps.
     */
    ingestSmallFile: async (input: IngestFileInput): Promise<SmallFileResult> => {
      const result = await ingestSmallFile(deps.cfg, pipeline, input);
      return result.path === 'one-activity' ? withEmbed(result) : result;
    },
    ...createFileEventActivities(deps, pipeline),
  });
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
