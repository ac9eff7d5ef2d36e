/**
 * What flows through the `buildMoments` workflow's history: references and counts only (bucket and key of
 * the transcript, segment ranges of the groups, keys of each group's answer, counts). The transcript's
 * words and the moments themselves stay in S3 and PostgreSQL. Types only: workflow code imports them.
 */
import type { GroupBounds } from './moment-grouping.js';

/** Where a transcript JSON lives in S3. */
export interface TranscriptObject {
  bucket: string;
  key: string;
}

export interface BuildMomentsInput {
  tenantId: string;
  /**
   * The transcript itself (the sample format). The first activity stores it in the derived bucket, so
   * only the input event of the history holds it; prefer `transcriptKey` for anything large.
   */
  transcript?: unknown;
  /** Or the object key of the transcript in the tenant's bucket (the bucket is the tenant). */
  transcriptKey?: string;
  /** Where the start came from (stream and sequence, `cli`, `demo`), for logs and the moments' metadata. */
  source?: string;
}

export interface MomentPlan {
  transcript: TranscriptObject;
  /** What the tenant's moments of this transcript are keyed by: its transcript_id, else a content digest. */
  transcriptRef: string;
  segmentCount: number;
  speakerCount: number;
  groupTokens: number;
  groups: GroupBounds[];
}

export interface MomentGroupInput {
  tenantId: string;
  transcript: TranscriptObject;
  transcriptRef: string;
  group: GroupBounds;
  groupCount: number;
}

export interface MomentGroupResult {
  index: number;
  /** Object key (derived bucket) of the group's validated moments. */
  resultKey: string;
  moments: number;
  provider: string;
  model: string;
  schemaRetries: number;
}

export interface StoreMomentsInput {
  tenantId: string;
  transcript: TranscriptObject;
  transcriptRef: string;
  /** Each group's bounds (as planned) and where its answer is. */
  groups: (GroupBounds & Pick<MomentGroupResult, 'resultKey'>)[];
  source?: string;
}

export interface StoredMoments {
  stored: number;
  /** Moments of an earlier run of the same transcript that this run replaced. */
  replaced: number;
  /** Moments cut by a group border and joined again. */
  merged: number;
  /** Set by a worker with embedding on: the workflow embeds the moments next (embedMoments). */
  embed?: boolean;
}

export interface BuildMomentsOutcome {
  status: 'completed';
  tenantId: string;
  transcriptRef: string;
  segments: number;
  groups: number;
  moments: number;
  replaced: number;
  merged: number;
  provider: string;
  model: string;
  /** The embed step's result (absent: embedding off, or the run predates the step). */
  embeddings?: { status: string; embedded: number; kept: number; rows: number; failed?: string };
}

/** The storage category whose JSON files are transcripts: they start buildMoments instead of ingestFile. */
export const TRANSCRIPTS_CATEGORY = 'transcripts';

/**
 * A transcript upload: a `.json` file created, overwritten or renamed under /buckets/{tenant}/transcripts/.
 * Deletes keep going to ingestFile (nothing of a transcript was ingested as resources, so it is a no-op).
 */
/** An object that holds a transcript: a `.json` file under the `transcripts` category. */
export function isTranscriptObject(event: { category: string; fileName: string }): boolean {
  return event.category === TRANSCRIPTS_CATEGORY && event.fileName.toLowerCase().endsWith('.json');
}

export function isTranscriptUpload(event: { type: string; category: string; fileName: string }): boolean {
  return (
    event.category === TRANSCRIPTS_CATEGORY &&
    event.type !== 'delete' &&
    event.fileName.toLowerCase().endsWith('.json')
  );
}
