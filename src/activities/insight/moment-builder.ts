/**
 * MomentBuilder without Temporal: read a transcript, group its segments to the model's budget, ask the
 * model (or the heuristic) once per group, validate, merge across borders, and dress the moments with
 * what the code knows (speakers, uri, metadata). The activities run these steps one per activity;
 * `p8fs eval` runs them in a row through `buildMomentsDirect`, so both use exactly the same code.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { headObject } from '../../clients/object-store.js';
import type { Config } from '../../config/config.js';
import { countTokens } from '../../domain/chunking.js';
import { LimitExceededError, MissingObjectError } from '../../domain/errors.js';
import type { TranscriptObject } from '../../domain/insight/build-moments.js';
import {
  type GroupBounds,
  groupSegments,
  groupSegmentsOf,
  groupWindow,
  mergeAcrossBorders,
  type SegmentGroup,
  segmentsWithin,
  speakersWithin,
} from '../../domain/insight/moment-grouping.js';
import { heuristicMoments } from '../../domain/insight/moment-heuristic.js';
import { transcriptRefFor } from '../../domain/insight/moment-ids.js';
import {
  type Moment,
  type MomentBuilderOutput,
  type MomentContext,
  type MomentDraft,
  momentBuilderSchema,
  validateMomentOutput,
} from '../../domain/insight/moment-model.js';
import { type MomentBuilderResult, momentBuilderResult } from '../../domain/insight/moment-output.js';
import { MOMENT_SYSTEM_PROMPT, momentMessages } from '../../domain/insight/moment-prompt.js';
import { speakersOf, type Transcript } from '../../domain/insight/transcript.js';
import type { LlmProvider, StructuredResponse } from './llm/types.js';

/** A transcript is text: far below this. A bigger object is not a transcript we should hold in memory. */
export const MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024;
export const MOMENT_TASK = 'moment_builder';
/** Tokens kept free for the per-group header (times, speakers) beyond the system prompt. */
const HEADER_TOKENS = 200;

/** The transcript's JSON text from S3; a missing or oversized object fails without retrying. */
export async function readTranscriptText(
  s3: S3Client,
  where: TranscriptObject,
  signal?: AbortSignal,
): Promise<string> {
  const uri = `s3://${where.bucket}/${where.key}`;
  const head = await headObject(s3, where.bucket, where.key);
  if (!head) throw new MissingObjectError(`transcript ${uri} does not exist`);
  if (head.size > MAX_TRANSCRIPT_BYTES)
    throw new LimitExceededError(
      `transcript ${uri} is ${head.size} bytes, more than the ${MAX_TRANSCRIPT_BYTES} a transcript may have`,
    );
  const response = await s3.send(
    new GetObjectCommand({ Bucket: where.bucket, Key: where.key }),
    signal ? { abortSignal: signal } : {},
  );
  const text = await response.Body?.transformToString('utf8');
  if (text === undefined) throw new MissingObjectError(`transcript ${uri} has no body`);
  return text;
}

/**
 * Tokens of segments per model call: the configured group size, but never more than what the model's
 * context leaves after the answer budget, the system prompt and the speaker list.
 */
export function groupTokenBudget(
  cfg: Pick<Config, 'moments' | 'llm'>,
  llm: LlmProvider,
  transcript: Transcript,
): number {
  const speakerLines = transcript.speakers
    .map((s) => `${s.user_label} ${s.fingerprint_id} ${s.user_id}`)
    .join('\n');
  const overhead = countTokens(MOMENT_SYSTEM_PROMPT) + countTokens(speakerLines) + HEADER_TOKENS;
  const room = llm.contextTokens - cfg.llm.maxOutputTokens - overhead;
  return Math.max(64, Math.min(cfg.moments.groupTokens, room));
}

export function planGroups(
  cfg: Pick<Config, 'moments' | 'llm'>,
  llm: LlmProvider,
  transcript: Transcript,
): { groupTokens: number; groups: SegmentGroup[] } {
  const groupTokens = groupTokenBudget(cfg, llm, transcript);
  return { groupTokens, groups: groupSegments(transcript, groupTokens, countTokens) };
}

/** What one group's answer is validated against. */
export function groupContext(
  transcript: Transcript,
  bounds: GroupBounds,
): MomentContext & { segments: ReturnType<typeof groupSegmentsOf> } {
  const segments = groupSegmentsOf(transcript, bounds);
  const window = groupWindow(transcript, bounds.first, bounds.last);
  // A moment may end where the group's last words end, even when the next group's first words overlap
  // them (people talk over each other); never after the transcript.
  const lastWordsEnd = (segments.at(-1) as (typeof segments)[number]).endMs;
  return {
    segments,
    speakers: transcript.speakers,
    groupSpeakers: speakersOf(transcript, segments),
    windowStartMs: window.windowStartMs,
    windowEndMs: Math.min(transcript.endMs, Math.max(window.windowEndMs, lastWordsEnd)),
  };
}

/** One model call (or heuristic) for one group; the answer is validated before it returns. */
export function generateGroupMoments(
  llm: LlmProvider,
  transcript: Transcript,
  bounds: GroupBounds,
  groupCount: number,
  options: { signal?: AbortSignal; onProgress?: (details: Record<string, unknown>) => void } = {},
): Promise<StructuredResponse<MomentBuilderOutput>> {
  const ctx = groupContext(transcript, bounds);
  // The prompt and the heuristic use the group's own window (windows tile the transcript); the validator
  // also accepts an end where the group's last words end.
  const window = groupWindow(transcript, bounds.first, bounds.last);
  return llm.generate<MomentBuilderOutput>({
    task: MOMENT_TASK,
    messages: momentMessages(transcript, ctx.segments, window, { index: bounds.index, count: groupCount }),
    schema: momentBuilderSchema(transcript.speakers),
    validate: (value) => validateMomentOutput(value, ctx),
    heuristic: () => heuristicMoments(transcript, ctx.segments, window),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

export interface MomentProvenance {
  provider: string;
  model: string;
  transcriptRef: string;
  /** s3://bucket/key of the transcript JSON, when it came from S3. */
  transcriptUri?: string;
  source?: string;
}

/**
 * Every group's moments → the transcript's moments: border-cut moments merged, then each dressed with
 * who spoke in it (from the segments), the recording's uri, and where it came from.
 */
export function finishMoments(
  transcript: Transcript,
  groups: readonly Pick<SegmentGroup, 'windowStartMs'>[],
  perGroup: readonly MomentDraft[][],
  provenance: MomentProvenance,
): { moments: Moment[]; merged: number } {
  const { moments, merged } = mergeAcrossBorders(
    perGroup.map((list) => [...list]),
    groups,
  );
  const dressed = moments.map((draft, ordinal): Moment => {
    const startMs = Date.parse(draft.resource_timestamp);
    const endMs = Date.parse(draft.resource_ends_timestamp);
    const speakers = speakersWithin(transcript, startMs, endMs);
    const words = segmentsWithin(transcript, startMs, endMs).reduce(
      (n, s) => n + (s.text.match(/\S+/g)?.length ?? 0),
      0,
    );
    return {
      ...draft,
      uri: transcript.source_uri ?? provenance.transcriptUri ?? null,
      speakers,
      metadata: {
        generated_by: provenance.provider,
        model: provenance.model,
        ...(provenance.provider === 'heuristic' ? { heuristic: true } : {}),
        // A transcript made from a chat session or a document (the moments task) says so, and names the
        // sessions and resources it came from: the task's only-new rule reads them back.
        source_type: sourceType(transcript.metadata),
        ...citations(transcript.metadata),
        transcript_ref: provenance.transcriptRef,
        // The original's keys: the input's transcript_id (a transcript without one: its digest) and the
        // moment's own length, as its Moment.duration_seconds() computes it.
        transcript_id: transcript.transcript_id ?? provenance.transcriptRef,
        duration_seconds: (endMs - startMs) / 1000,
        ...(provenance.transcriptUri ? { transcript_uri: provenance.transcriptUri } : {}),
        ...(provenance.source ? { source: provenance.source } : {}),
        ordinal,
        duration_minutes: Math.round((endMs - startMs) / 600) / 100,
        word_count: words,
        speaker_count: speakers.length,
      },
    };
  });
  return { moments: dressed, merged };
}

const CITATION_KEYS = ['session_ids', 'resource_ids', 'resource_names'] as const;

function sourceType(metadata: Record<string, unknown>): string {
  const given = metadata.source_type;
  return given === 'chat_session' || given === 'document' ? given : 'audio_transcript';
}

/** The sources a transcript names (lists of strings only), for the moments' metadata. */
function citations(metadata: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of CITATION_KEYS) {
    const value = metadata[key];
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[key] = value as string[];
  }
  return out;
}

export interface DirectResult {
  transcriptRef: string;
  groups: number;
  merged: number;
  provider: string;
  model: string;
  schemaRetries: number;
  output: MomentBuilderResult;
}

/** The whole MomentBuilder in one process, for `p8fs eval` (no Temporal, no database). */
export async function buildMomentsDirect(
  cfg: Pick<Config, 'moments' | 'llm'>,
  llm: LlmProvider,
  transcript: Transcript,
  text: string,
  options: {
    onGroup?: (index: number, count: number) => void;
    signal?: AbortSignal;
    transcriptUri?: string;
  } = {},
): Promise<DirectResult> {
  const { groups } = planGroups(cfg, llm, transcript);
  const perGroup: MomentDraft[][] = [];
  const summaries: string[] = [];
  let schemaRetries = 0;
  let provider = llm.name as string;
  let model = llm.model;
  for (const group of groups) {
    options.onGroup?.(group.index, groups.length);
    const answer = await generateGroupMoments(llm, transcript, group, groups.length, {
      ...(options.signal ? { signal: options.signal } : {}),
    });
    perGroup.push(answer.value.moments);
    summaries.push(answer.value.analysis_summary);
    schemaRetries += answer.schemaRetries;
    provider = answer.provider;
    model = answer.model;
  }
  const transcriptRef = transcriptRefFor(transcript.transcript_id, text);
  const { moments, merged } = finishMoments(transcript, groups, perGroup, {
    provider,
    model,
    transcriptRef,
    ...(options.transcriptUri ? { transcriptUri: options.transcriptUri } : {}),
    source: 'eval',
  });
  const output = momentBuilderResult(moments, summaries);
  return { transcriptRef, groups: groups.length, merged, provider, model, schemaRetries, output };
}
