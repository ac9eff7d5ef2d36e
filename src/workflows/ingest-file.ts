/**
 * ingestFile: one storage event → the file's chunks as `resources` rows. Deterministic code only: all
 * I/O is in activities, and history holds keys, ids and counts, never contents.
 *
 * Events of one file may overlap (a delete or rename arriving while the create still runs). The
 * activities that write rows decide under the file's lock, by looking at S3, whether their event still
 * describes the object; when it does not they write nothing and the run ends `superseded`. That is only
 * a different return value for the same commands, so histories recorded before it replay unchanged.
 */
import {
  ApplicationFailure,
  isCancellation,
  log,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { EmbedActivities } from '../activities/embed/activities.js';
import type { IngestActivities } from '../activities/ingest/activities.js';
import type { FileEmbeddingOutcome } from '../domain/embedding.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { IngestFileInput, IngestOutcome, RegisteredFile } from '../domain/ingest.js';
import type { Tier } from '../domain/tiers.js';
import { activityRetry, describeFailure } from './failures.js';

// Transient failures retry for as long as the tier's budget allows, so an outage of minutes or hours
// delays files instead of failing them.
const retry = activityRetry('1 second', '1 minute');

// Bigger tiers get longer budgets; the heartbeat timeout is what detects a dead worker quickly.
const budgets: Record<Tier, { attempt: string; allAttempts: string; heartbeat: string }> = {
  small: { attempt: '10 minutes', allAttempts: '2 hours', heartbeat: '15 seconds' },
  medium: { attempt: '1 hour', allAttempts: '6 hours', heartbeat: '30 seconds' },
  large: { attempt: '6 hours', allAttempts: '24 hours', heartbeat: '60 seconds' },
};

function activitiesFor(tier: Tier) {
  return proxyActivities<IngestActivities>({
    startToCloseTimeout: budgets[tier].attempt,
    scheduleToCloseTimeout: budgets[tier].allAttempts,
    heartbeatTimeout: budgets[tier].heartbeat,
    retry,
  });
}

const byTier: Record<Tier, IngestActivities> = {
  small: activitiesFor('small'),
  medium: activitiesFor('medium'),
  large: activitiesFor('large'),
};

/**
 * Small-tier files go through ingestSmallFile (one activity instead of four; see
 * src/activities/ingest/ingest-small.ts). Behind this patch so histories recorded before it, which
 * scheduled registerFile first, replay unchanged.
 */
export const SMALL_FILE_ONE_ACTIVITY_PATCH = 'ingest-small-file-one-activity';

/**
 * After a store, the chunks are embedded (embedFile) on the tier's `-embed` task queue, when the store's
 * worker has embedding on (its result says `embed`). Results recorded before the step lack that flag, so
 * their histories replay without asking for the patch.
 */
export const EMBED_AFTER_STORE_PATCH = 'embed-after-store';

// Embedding a huge file's chunks takes a while (the local model: ~100 chunks/s per core); the heartbeat
// (after every batch of 32) detects a dead worker. The task queue's name follows the run's own, since
// workflow code cannot read the config: p8fs-storage-small → p8fs-storage-small-embed.
const embedBudgets: Record<Tier, { attempt: string; allAttempts: string }> = {
  small: { attempt: '30 minutes', allAttempts: '6 hours' },
  medium: { attempt: '2 hours', allAttempts: '12 hours' },
  large: { attempt: '12 hours', allAttempts: '48 hours' },
};
const EMBED_QUEUE_SUFFIX = '-embed';

function embedActivitiesFor(tier: Tier) {
  return proxyActivities<EmbedActivities>({
    taskQueue: `${workflowInfo().taskQueue}${EMBED_QUEUE_SUFFIX}`,
    startToCloseTimeout: embedBudgets[tier].attempt,
    scheduleToCloseTimeout: embedBudgets[tier].allAttempts,
    heartbeatTimeout: '1 minute',
    retry,
  });
}

/**
 * The embed step of a stored file. Its failure does not fail the file: the text is stored and searchable
 * by words, the file stays `completed` and its embeddings `failed` with the reason (recordEmbedFailure),
 * which `p8fs embed backfill` or the next store can make good.
 */
async function embedStoredFile(
  input: IngestFileInput,
  fileId: string,
  stored: { embed?: boolean },
): Promise<{ embeddings?: FileEmbeddingOutcome }> {
  if (!stored.embed || !patched(EMBED_AFTER_STORE_PATCH)) return {};
  const embed = embedActivitiesFor(input.tier);
  const target = { tenantId: input.event.tenantId, fileId, path: input.event.path };
  try {
    return { embeddings: await embed.embedFile(target) };
  } catch (error) {
    if (isCancellation(error)) throw error;
    const failure = describeFailure(error);
    log.warn('embedding failed: the file stays completed with its text', {
      tenantId: target.tenantId,
      path: target.path,
      ...failure,
    });
    await embed.recordEmbedFailure({ ...target, ...failure });
    const failed = `${failure.errorType}: ${failure.message}`;
    return { embeddings: { status: 'failed', failed, embedded: 0, kept: 0, rows: 0 } };
  }
}

/**
 * Milliseconds since this run started, in workflow time (deterministic: the time of the current workflow
 * task), for the one line that reports a finished file.
 */
function runDurationMs(): number {
  return Date.now() - workflowInfo().runStartTime.getTime();
}

/** The finished file's line names its embeddings when the step ran. */
function embeddingFields(embeddings: FileEmbeddingOutcome | undefined): Record<string, unknown> {
  if (!embeddings) return {};
  return { embeddings: embeddings.status, embedded: embeddings.embedded, vectorsKept: embeddings.kept };
}

export async function ingestFile(input: IngestFileInput): Promise<IngestOutcome> {
  const act = byTier[input.tier];
  const { event } = input;
  // Every line names the file (tenant and path); the SDK adds the workflow id, run id and type, and logs
  // nothing while a run is replayed, so each line appears once. A finished file logs one info line with
  // its figures; the steps before it are debug.
  const fileFields = { tenantId: event.tenantId, path: event.path };
  log.debug('ingestFile started', {
    ...fileFields,
    type: event.type,
    tier: input.tier,
    version: input.version,
  });

  if (event.type === 'delete') {
    const deleted = await act.deleteFile(input);
    if (deleted.superseded !== undefined) {
      log.info('delete superseded', {
        ...fileFields,
        reason: deleted.superseded,
        durationMs: runDurationMs(),
      });
      return { status: 'superseded', fileId: deleted.fileId, reason: deleted.superseded };
    }
    log.info('file deleted', {
      ...fileFields,
      resourcesDeleted: deleted.resourcesDeleted,
      durationMs: runDurationMs(),
    });
    return { status: 'deleted', fileId: deleted.fileId, resourcesDeleted: deleted.resourcesDeleted };
  }
  if (event.type === 'rename') {
    const renamed = await act.renameFile(input);
    if (renamed.moved !== undefined) {
      log.info('file renamed', {
        ...fileFields,
        from: event.oldPath,
        resourcesMoved: renamed.moved,
        durationMs: runDurationMs(),
      });
      return {
        status: 'renamed',
        fileId: renamed.fileId,
        fromFileId: renamed.fromFileId,
        resourcesMoved: renamed.moved,
      };
    }
    log.info('rename of a file never stored: ingesting the new path', { ...fileFields, from: event.oldPath });
  }

  try {
    let registered: RegisteredFile;
    // Only small-tier runs ask for the patch, so medium and large histories carry no marker.
    if (input.tier === 'small' && patched(SMALL_FILE_ONE_ACTIVITY_PATCH)) {
      const small = await act.ingestSmallFile(input);
      if (small.path === 'one-activity') {
        if (small.superseded !== undefined) {
          log.info('ingestFile superseded', {
            ...fileFields,
            reason: small.superseded,
            durationMs: runDurationMs(),
          });
          return { status: 'superseded', fileId: small.file.fileId, reason: small.superseded };
        }
        const embedded = await embedStoredFile(input, small.file.fileId, small);
        log.info('ingestFile completed', {
          ...fileFields,
          tier: input.tier,
          provider: small.provider,
          bytes: small.file.size,
          pages: small.pageCount,
          chunks: small.chunkCount,
          tokens: small.tokenCount,
          resourcesReplaced: small.resourcesReplaced,
          activities: 1,
          ...embeddingFields(embedded.embeddings),
          durationMs: runDurationMs(),
        });
        return {
          status: 'completed',
          fileId: small.file.fileId,
          provider: small.provider,
          pageCount: small.pageCount,
          chunkCount: small.chunkCount,
          tokenCount: small.tokenCount,
          resourcesReplaced: small.resourcesReplaced,
          ...embedded,
        };
      }
      // Registered, but not for the one-activity path (too big, streamed): the steps go on from there.
      registered = small.file;
    } else {
      registered = await act.registerFile(input);
    }
    const extraction = await act.extractText(input, registered);
    const chunking = await act.chunkText(input, registered, extraction);
    const stored = await act.storeChunks(input, registered, extraction, chunking);
    if (stored.superseded !== undefined) {
      log.info('ingestFile superseded', {
        ...fileFields,
        reason: stored.superseded,
        durationMs: runDurationMs(),
      });
      return { status: 'superseded', fileId: registered.fileId, reason: stored.superseded };
    }
    const embedded = await embedStoredFile(input, registered.fileId, stored);
    log.info('ingestFile completed', {
      ...fileFields,
      tier: input.tier,
      provider: extraction.provider,
      bytes: registered.size,
      pages: extraction.pageCount,
      chunks: chunking.chunkCount,
      tokens: chunking.tokenCount,
      resourcesReplaced: stored.resourcesReplaced,
      ...embeddingFields(embedded.embeddings),
      durationMs: runDurationMs(),
    });
    return {
      status: 'completed',
      fileId: registered.fileId,
      provider: extraction.provider,
      pageCount: extraction.pageCount,
      chunkCount: chunking.chunkCount,
      tokenCount: chunking.tokenCount,
      resourcesReplaced: stored.resourcesReplaced,
      ...embedded,
    };
  } catch (error) {
    const failure = describeFailure(error, { withStack: true });
    // A corrupt or unsupported file is an outcome this workflow reports, not a fault of the system;
    // only failures that exhausted their retries deserve a warning.
    const expected = NON_RETRYABLE_ERROR_TYPES.includes(failure.errorType);
    (expected ? log.info : log.warn)('ingestFile failed', {
      ...fileFields,
      ...failure,
      stack: undefined,
      durationMs: runDurationMs(),
    });
    const recorded = await act.recordIngestFailure(input, failure);
    // Failed because S3 changed under the run (e.g. the object was deleted while it was extracted): the
    // later event's run owns the rows, and nothing was recorded. Not a failure of this file.
    if (recorded.superseded !== undefined) {
      log.info('ingestFile superseded', {
        ...fileFields,
        reason: recorded.superseded,
        durationMs: runDurationMs(),
      });
      return { status: 'superseded', fileId: recorded.fileId, reason: recorded.superseded };
    }
    // Fail the run itself so it shows as failed in the Temporal UI; retrying the workflow cannot help.
    throw ApplicationFailure.nonRetryable(`${event.path}: ${failure.message}`, failure.errorType);
  }
}
