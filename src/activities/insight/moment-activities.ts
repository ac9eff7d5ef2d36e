/**
 * The buildMoments activities (task queue p8fs-llm): stage an inline transcript in S3 → plan the groups →
 * one model call per group (answer validated, kept in S3) → merge and store the moments, plus the failure
 * record. Each is idempotent: staged and answer objects sit at deterministic keys and are overwritten, and
 * storing replaces the transcript's rows in one transaction. Only keys and counts go back to the
 * workflow. S3 or PostgreSQL refusals that no retry fixes become PermanentStorageError.
 */
import { Context } from '@temporalio/activity';
import { getJson, putJson } from '../../clients/object-store.js';
import { P8FS_NAMESPACE, uuidV5 } from '../../domain/ids.js';
import type {
  MomentGroupInput,
  MomentGroupResult,
  MomentPlan,
  StoredMoments,
  StoreMomentsInput,
  TranscriptObject,
} from '../../domain/insight/build-moments.js';
import { groupWindow } from '../../domain/insight/moment-grouping.js';
import { groupResultKey, stagedTranscriptKey, transcriptRefFor } from '../../domain/insight/moment-ids.js';
import type { MomentDraft } from '../../domain/insight/moment-model.js';
import { momentBuilderResult } from '../../domain/insight/moment-output.js';
import { parseTranscript, parseTranscriptJson, type Transcript } from '../../domain/insight/transcript.js';
import { withStorageErrorsClassified } from '../ingest/storage-errors.js';
import type { InsightDeps } from './deps.js';
import { finishMoments, generateGroupMoments, planGroups, readTranscriptText } from './moment-builder.js';
import { type MomentsJob, replaceMoments, upsertMomentsJob } from './moment-store.js';

interface GroupAnswer {
  index: number;
  provider: string;
  model: string;
  moments: MomentDraft[];
  /** Absent in answers saved by an earlier release (a run in flight across the upgrade). */
  analysis_summary?: string;
}

const HEARTBEAT_EVERY_MS = 5000;

function currentWorkflow(): { workflowId: string; runId: string } {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('moment activities must run inside a workflow');
  return execution;
}

function s3Uri(where: TranscriptObject): string {
  return `s3://${where.bucket}/${where.key}`;
}

/** The run's jobs row: keyed by the workflow id, with where the transcript is. */
function momentsJob(
  transcript: TranscriptObject | undefined,
  more: Record<string, unknown> = {},
): MomentsJob {
  return {
    ...currentWorkflow(),
    payload: { ...(transcript ? { transcript: s3Uri(transcript) } : {}), ...more },
  };
}

export function createMomentActivities(deps: InsightDeps) {
  return withStorageErrorsClassified(momentActivities(deps));
}

function momentActivities({ cfg, pool, s3, llm }: InsightDeps) {
  const derivedBucket = cfg.s3.derivedBucket;

  async function load(where: TranscriptObject): Promise<{ transcript: Transcript; text: string }> {
    const text = await readTranscriptText(s3, where, Context.current().cancellationSignal);
    return { transcript: parseTranscriptJson(text, s3Uri(where)), text };
  }

  return {
    /** An inline transcript → checked, then stored in the derived bucket under a digest of its text. */
    async stageTranscript(input: { tenantId: string; transcript: unknown }): Promise<TranscriptObject> {
      parseTranscript(input.transcript);
      const text = JSON.stringify(input.transcript);
      const key = stagedTranscriptKey(input.tenantId, text);
      await putJson(s3, derivedBucket, key, input.transcript);
      return { bucket: derivedBucket, key };
    },

    /** Reads and checks the transcript, and splits its segments into groups for the model. */
    async planMoments(input: { tenantId: string; transcript: TranscriptObject }): Promise<MomentPlan> {
      const { transcript, text } = await load(input.transcript);
      const { groupTokens, groups } = planGroups(cfg, llm, transcript);
      const transcriptRef = transcriptRefFor(transcript.transcript_id, text);
      await upsertMomentsJob(pool, input.tenantId, momentsJob(input.transcript, { transcriptRef }), {
        status: 'running',
      });
      Context.current().log.info('moment groups planned', {
        transcript: s3Uri(input.transcript),
        segments: transcript.segments.length,
        groups: groups.length,
        groupTokens,
        provider: llm.name,
      });
      return {
        transcript: input.transcript,
        transcriptRef,
        segmentCount: transcript.segments.length,
        speakerCount: transcript.speakers.length,
        groupTokens,
        groups: groups.map(({ index, first, last }) => ({ index, first, last })),
      };
    },

    /**
     * One model call for one group (the backend re-asks on answers that fail validation, then fails with
     * SchemaViolationError naming the field). Heartbeats while the model thinks; cancellation aborts it.
     */
    async buildMomentGroup(input: MomentGroupInput): Promise<MomentGroupResult> {
      const context = Context.current();
      const { transcript } = await load(input.transcript);
      const details = { step: 'llm', group: input.group.index, of: input.groupCount };
      const beat = setInterval(() => context.heartbeat(details), HEARTBEAT_EVERY_MS);
      try {
        context.heartbeat(details);
        const answer = await generateGroupMoments(llm, transcript, input.group, input.groupCount, {
          signal: context.cancellationSignal,
          onProgress: (progress) => context.heartbeat({ ...details, ...progress }),
        });
        const { workflowId, runId } = currentWorkflow();
        const resultKey = groupResultKey(input.tenantId, workflowId, runId, input.group.index);
        const saved: GroupAnswer = {
          index: input.group.index,
          provider: answer.provider,
          model: answer.model,
          moments: answer.value.moments,
          analysis_summary: answer.value.analysis_summary,
        };
        await putJson(s3, derivedBucket, resultKey, saved);
        return {
          index: input.group.index,
          resultKey,
          moments: answer.value.moments.length,
          provider: answer.provider,
          model: answer.model,
          schemaRetries: answer.schemaRetries,
        };
      } finally {
        clearInterval(beat);
      }
    },

    /** All groups' answers → merged across borders → the transcript's rows replaced in one transaction. */
    async storeMoments(input: StoreMomentsInput): Promise<StoredMoments> {
      const { transcript } = await load(input.transcript);
      const ordered = [...input.groups].sort((a, b) => a.index - b.index);
      const answers = await Promise.all(
        ordered.map((g) => getJson<GroupAnswer>(s3, derivedBucket, g.resultKey)),
      );
      // Each answer's window from the same bounds the answer was made for (never re-planned here: another
      // worker's budget could group differently).
      const groups = ordered.map((bounds, i) => {
        if (answers[i]?.index !== bounds.index)
          throw new Error(
            `${bounds.resultKey} holds the answer of group ${answers[i]?.index}, not ${bounds.index}`,
          );
        return groupWindow(transcript, bounds.first, bounds.last);
      });
      const last = answers.at(-1);
      const { moments, merged } = finishMoments(
        transcript,
        groups,
        answers.map((a) => a.moments),
        {
          provider: last?.provider ?? llm.name,
          model: last?.model ?? llm.model,
          transcriptRef: input.transcriptRef,
          transcriptUri: s3Uri(input.transcript),
          ...(input.source ? { source: input.source } : {}),
        },
      );
      const output = momentBuilderResult(
        moments,
        answers.map((a) => a.analysis_summary),
      );
      const job = momentsJob(input.transcript, {
        transcriptRef: input.transcriptRef,
        ...(input.source ? { source: input.source } : {}),
      });
      const { stored, replaced } = await replaceMoments(
        pool,
        input.tenantId,
        input.transcriptRef,
        output,
        job,
      );
      // The moments are embedded next (embedMoments) where this worker embeds.
      return { stored, replaced, merged, ...(cfg.embeddings.enabled ? { embed: true } : {}) };
    },

    /** An `errors` row for a run that failed for good (one per run: a retry writes the same row). */
    async recordMomentsFailure(input: {
      tenantId: string;
      transcript?: TranscriptObject;
      errorType: string;
      message: string;
    }): Promise<void> {
      const { workflowId, runId } = currentWorkflow();
      await upsertMomentsJob(pool, input.tenantId, momentsJob(input.transcript), {
        status: 'failed',
        error: `${input.errorType}: ${input.message}`.slice(0, 10_000),
      });
      await pool.query(
        `INSERT INTO errors (id, tenant_id, process, message, level, metadata)
         VALUES ($1, $2, 'buildMoments', $3, 'ERROR', $4)
         ON CONFLICT (id) DO NOTHING`,
        [
          uuidV5(`moments-error:${workflowId}:${runId}`, P8FS_NAMESPACE),
          input.tenantId,
          `${input.errorType}: ${input.message}`.slice(0, 10_000),
          JSON.stringify({
            workflowId,
            runId,
            errorType: input.errorType,
            ...(input.transcript ? { transcript: s3Uri(input.transcript) } : {}),
          }),
        ],
      );
    },
  };
}

export type MomentActivities = ReturnType<typeof createMomentActivities>;
