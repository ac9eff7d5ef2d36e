/**
 * buildMoments: a speech transcript → `moments` rows, on the p8fs-llm task queue. Deterministic code only:
 * the activities read the transcript, call the model and write the rows; history holds the transcript's
 * S3 location, the groups' segment ranges, the keys of the groups' answers and counts. A transcript
 * given inline is staged to S3 first, so it appears in the input and nowhere else.
 *
 * One model call per group of segments, GROUP_WINDOW of them at a time (each call is a retryable
 * activity of its own, so a failure repeats one call, not the transcript), then one store that merges
 * moments cut by group borders and replaces the transcript's rows.
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
import type { MomentActivities } from '../activities/insight/moment-activities.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type {
  BuildMomentsInput,
  BuildMomentsOutcome,
  MomentGroupResult,
  TranscriptObject,
} from '../domain/insight/build-moments.js';
import { activityRetry, describeFailure } from './failures.js';

/** Model calls of one transcript in flight at once (the task queue's rate limit applies on top). */
export const GROUP_WINDOW = 4;

const retry = activityRetry('2 seconds', '2 minutes');

// Reading, planning and storing are quick; a model call may take minutes and waits out rate limits.
const quick = proxyActivities<MomentActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '2 hours',
  retry,
});
const model = proxyActivities<MomentActivities>({
  startToCloseTimeout: '20 minutes',
  scheduleToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry,
});

/**
 * After the store, the moments are embedded (embedMoments) when the store's worker has embedding on.
 * Embedding runs where the model is loaded, the storage workers' small-tier `-embed` queue; its name
 * follows this run's own queue (`{prefix}-llm` or `{prefix}-user-insight` → `{prefix}-storage-small-embed`), since workflow code
 * cannot read the config. A failure leaves the moments stored; `p8fs embed backfill` embeds them later.
 */
export const EMBED_MOMENTS_PATCH = 'embed-after-store';

export async function embedStoredMoments(
  tenantId: string,
  transcriptRef: string,
  stored: { embed?: boolean },
): Promise<{ embeddings?: NonNullable<BuildMomentsOutcome['embeddings']> }> {
  if (!stored.embed || !patched(EMBED_MOMENTS_PATCH)) return {};
  // tenantMoments runs on `{prefix}-user-insight` and calls this too.
  const prefix = workflowInfo().taskQueue.replace(/-(llm|user-insight)$/, '');
  const embed = proxyActivities<EmbedActivities>({
    taskQueue: `${prefix}-storage-small-embed`,
    startToCloseTimeout: '10 minutes',
    scheduleToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry,
  });
  try {
    return { embeddings: await embed.embedMoments({ tenantId, transcriptRef }) };
  } catch (error) {
    if (isCancellation(error)) throw error;
    const failure = describeFailure(error);
    log.warn('embedding the moments failed: they stay stored', { tenantId, transcriptRef, ...failure });
    const failed = `${failure.errorType}: ${failure.message}`;
    return { embeddings: { status: 'failed', failed, embedded: 0, kept: 0, rows: 0 } };
  }
}

/** Where the transcript is, or why the input names none (a bad start, not worth a retry). */
function transcriptSource(input: BuildMomentsInput): TranscriptObject | 'inline' {
  const given = [input.transcript !== undefined, input.transcriptKey !== undefined].filter(Boolean).length;
  if (typeof input.tenantId !== 'string' || input.tenantId === '')
    throw ApplicationFailure.nonRetryable('buildMoments: tenantId is missing', 'InvalidTranscriptError');
  if (given !== 1)
    throw ApplicationFailure.nonRetryable(
      'buildMoments: give exactly one of transcript (the JSON itself) or transcriptKey (its S3 key)',
      'InvalidTranscriptError',
    );
  if (input.transcript !== undefined) return 'inline';
  // Always the tenant's own bucket: a start cannot make a worker read another tenant's objects.
  return { bucket: input.tenantId, key: input.transcriptKey as string };
}

export async function buildMoments(input: BuildMomentsInput): Promise<BuildMomentsOutcome> {
  const source = transcriptSource(input);
  const { tenantId } = input;
  let where: TranscriptObject | undefined = source === 'inline' ? undefined : source;
  // Every line names the tenant and the transcript's path (as storage events spell it); the SDK adds the
  // workflow id and run id. A finished transcript logs one info line with its figures and duration.
  const fileFields = {
    tenantId,
    path: where ? `/buckets/${where.bucket}/${where.key}` : 'inline transcript',
  };
  const durationMs = () => Date.now() - workflowInfo().runStartTime.getTime();
  try {
    where ??= await quick.stageTranscript({ tenantId, transcript: input.transcript });
    const plan = await quick.planMoments({ tenantId, transcript: where });
    log.debug('buildMoments planned', {
      ...fileFields,
      transcript: `s3://${where.bucket}/${where.key}`,
      segments: plan.segmentCount,
      groups: plan.groups.length,
    });

    const results: MomentGroupResult[] = [];
    const transcript = where;
    for (let start = 0; start < plan.groups.length; start += GROUP_WINDOW) {
      const window = plan.groups.slice(start, start + GROUP_WINDOW);
      results.push(
        ...(await Promise.all(
          window.map((group) =>
            model.buildMomentGroup({
              tenantId,
              transcript,
              transcriptRef: plan.transcriptRef,
              group,
              groupCount: plan.groups.length,
            }),
          ),
        )),
      );
    }

    const stored = await quick.storeMoments({
      tenantId,
      transcript: where,
      transcriptRef: plan.transcriptRef,
      groups: plan.groups.map((group, i) => ({
        ...group,
        resultKey: (results[i] as MomentGroupResult).resultKey,
      })),
      ...(input.source ? { source: input.source } : {}),
    });
    const embedded = await embedStoredMoments(tenantId, plan.transcriptRef, stored);
    const last = results.at(-1);
    log.info('buildMoments completed', {
      ...fileFields,
      transcriptRef: plan.transcriptRef,
      segments: plan.segmentCount,
      groups: plan.groups.length,
      stored: stored.stored,
      replaced: stored.replaced,
      merged: stored.merged,
      ...(embedded.embeddings
        ? { embeddings: embedded.embeddings.status, embedded: embedded.embeddings.embedded }
        : {}),
      durationMs: durationMs(),
    });
    return {
      status: 'completed',
      tenantId,
      transcriptRef: plan.transcriptRef,
      segments: plan.segmentCount,
      groups: plan.groups.length,
      moments: stored.stored,
      replaced: stored.replaced,
      merged: stored.merged,
      provider: last?.provider ?? 'unknown',
      model: last?.model ?? 'unknown',
      ...embedded,
    };
  } catch (error) {
    // Cancelled by someone: not a failure of the transcript, nothing to record.
    if (isCancellation(error)) throw error;
    const failure = describeFailure(error);
    const expected = NON_RETRYABLE_ERROR_TYPES.includes(failure.errorType);
    (expected ? log.info : log.warn)('buildMoments failed', {
      ...fileFields,
      ...failure,
      stack: undefined,
      durationMs: durationMs(),
    });
    await quick.recordMomentsFailure({ tenantId, ...(where ? { transcript: where } : {}), ...failure });
    const what = where ? `s3://${where.bucket}/${where.key}` : 'inline transcript';
    throw ApplicationFailure.nonRetryable(`buildMoments ${what}: ${failure.message}`, failure.errorType);
  }
}
