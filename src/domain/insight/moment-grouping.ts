/**
 * Token-aware grouping of transcript segments for MomentBuilder, and the merge of moments that a group
 * border cut in two.
 *
 * Groups hold whole segments, never part of one: a segment is what a speaker said in one breath, and a
 * model that sees half a sentence invents the other half. A group is closed when the next segment would
 * take it over the token budget; a single segment bigger than the budget becomes a group of its own (the
 * budget is far below the model's context, so it still fits). Each group owns a time window: from its
 * first segment's start (the transcript's start for the first group) to the next group's first segment
 * (the transcript's end for the last one), so the windows tile the transcript without gaps.
 *
 * A conversation does not stop at a border: when the last moment before a border and the first one
 * after it both touch the border and are about the same thing (same moment type, or a shared topic tag),
 * they are one moment, merged.
 */
import {
  EMOTION_TAGS,
  type Moment,
  type MomentDraft,
  type PresentPerson,
  TOPIC_TAGS,
} from './moment-model.js';
import type { Transcript, TranscriptSegment, TranscriptSpeaker } from './transcript.js';

export interface SegmentGroup {
  index: number;
  /** Index of the group's first and last segment (inclusive). */
  first: number;
  last: number;
  tokens: number;
  windowStartMs: number;
  windowEndMs: number;
}

/** Where a group's segments are, as the workflow passes it between activities (no text). */
export type GroupBounds = Pick<SegmentGroup, 'index' | 'first' | 'last'>;

/** Moments that end and start within this of a border are candidates for one moment cut in two. */
export const BORDER_TOLERANCE_MS = 30_000;

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** One segment as the model reads it: `[09:00:09 +7.2s] Alex (fp_alex_t1): text`. */
export function renderSegment(segment: TranscriptSegment, speaker: TranscriptSpeaker | undefined): string {
  const who = speaker ? `${speaker.user_label} (${speaker.fingerprint_id})` : segment.speaker_id;
  return `[${clock(segment.startMs)} +${segment.duration_seconds}s] ${who}: ${segment.text.replace(/\s+/g, ' ').trim()}`;
}

/**
 * Groups of whole segments, each at most `maxTokens` as rendered by renderSegment (one newline each),
 * unless one segment alone is bigger. `countTokens` is injected so this module stays free of tokenizer
 * tables (activities pass the cl100k counter).
 */
export function groupSegments(
  transcript: Transcript,
  maxTokens: number,
  countTokens: (text: string) => number,
): SegmentGroup[] {
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`);
  const speakers = new Map(transcript.speakers.map((s) => [s.speaker_id, s]));
  const ranges: { first: number; last: number; tokens: number }[] = [];
  let current: { first: number; last: number; tokens: number } | undefined;
  transcript.segments.forEach((segment, i) => {
    const tokens = countTokens(renderSegment(segment, speakers.get(segment.speaker_id))) + 1;
    if (current && current.tokens + tokens <= maxTokens) {
      current.last = i;
      current.tokens += tokens;
      return;
    }
    current = { first: i, last: i, tokens };
    ranges.push(current);
  });
  return ranges.map((range, index) => ({
    index,
    ...range,
    ...groupWindow(transcript, range.first, range.last),
  }));
}

/** The time window a group of segments owns (see the module comment). */
export function groupWindow(
  transcript: Transcript,
  first: number,
  last: number,
): { windowStartMs: number; windowEndMs: number } {
  const { segments } = transcript;
  const next = segments[last + 1];
  return {
    windowStartMs: first === 0 ? transcript.startMs : (segments[first] as TranscriptSegment).startMs,
    windowEndMs: next === undefined ? transcript.endMs : Math.max(next.startMs, transcript.startMs),
  };
}

/** The segments of a group, checked against the transcript (a stale or forged group is an error). */
export function groupSegmentsOf(transcript: Transcript, bounds: GroupBounds): TranscriptSegment[] {
  const { first, last } = bounds;
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < first)
    throw new RangeError(`group ${bounds.index}: invalid segment range ${first}..${last}`);
  if (last >= transcript.segments.length)
    throw new RangeError(
      `group ${bounds.index}: segment ${last} does not exist (the transcript has ${transcript.segments.length})`,
    );
  return transcript.segments.slice(first, last + 1);
}

function unionBy<T>(items: T[], key: (item: T) => string, max = Number.POSITIVE_INFINITY): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item)) && seen.size < max) seen.set(key(item), item);
  return [...seen.values()];
}

function sameSubject(a: MomentDraft, b: MomentDraft): boolean {
  return a.moment_type === b.moment_type || a.topic_tags.some((tag) => b.topic_tags.includes(tag));
}

function spanMs(m: MomentDraft): number {
  return Date.parse(m.resource_ends_timestamp) - Date.parse(m.resource_timestamp);
}

/** Two parts of one moment → one moment: the earlier part's start, the later part's end, both texts. */
export function mergeTwo<M extends MomentDraft>(a: M, b: M): M {
  const longer = spanMs(b) > spanMs(a) ? b : a;
  const sounds = unionBy(
    [a.background_sounds, b.background_sounds].filter((s): s is string => s !== null),
    (s) => s.toLowerCase(),
  );
  return {
    ...a,
    name: longer.name,
    content: `${a.content}\n\n${b.content}`,
    summary: a.summary === b.summary ? a.summary : `${a.summary} ${b.summary}`,
    category: longer.category,
    moment_type: longer.moment_type,
    resource_ends_timestamp: b.resource_ends_timestamp,
    emotion_tags: unionBy([...a.emotion_tags, ...b.emotion_tags], (t) => t, EMOTION_TAGS.max),
    topic_tags: unionBy([...a.topic_tags, ...b.topic_tags], (t) => t, TOPIC_TAGS.max),
    present_persons: unionBy<PresentPerson>(
      [...a.present_persons, ...b.present_persons],
      (p) => p.fingerprint_id,
    ),
    location: a.location ?? b.location,
    background_sounds: sounds.length > 0 ? sounds.join(', ') : null,
  };
}

/**
 * The moments of all groups, in order, with each border-crossing moment merged. `perGroup[i]` are the
 * moments of `groups[i]` (each list in time order).
 */
export function mergeAcrossBorders<M extends MomentDraft>(
  perGroup: readonly M[][],
  groups: readonly Pick<SegmentGroup, 'windowStartMs'>[],
  toleranceMs = BORDER_TOLERANCE_MS,
): { moments: M[]; merged: number } {
  if (perGroup.length !== groups.length)
    throw new RangeError(`${perGroup.length} lists of moments for ${groups.length} groups`);
  const moments: M[] = [];
  let merged = 0;
  perGroup.forEach((list, g) => {
    const [head, ...rest] = list;
    const previous = moments.at(-1);
    const border = (groups[g] as Pick<SegmentGroup, 'windowStartMs'>).windowStartMs;
    if (
      g > 0 &&
      head !== undefined &&
      previous !== undefined &&
      Date.parse(previous.resource_ends_timestamp) >= border - toleranceMs &&
      Date.parse(head.resource_timestamp) <= border + toleranceMs &&
      sameSubject(previous, head)
    ) {
      moments[moments.length - 1] = mergeTwo(previous, head);
      merged += 1;
      moments.push(...rest);
      return;
    }
    moments.push(...list);
  });
  return { moments, merged };
}

/**
 * The segments that start inside [startMs, endMs): a segment starting exactly where one moment ends
 * belongs to the next. The transcript's end is inclusive, so nothing at the very end is lost.
 */
export function segmentsWithin(transcript: Transcript, startMs: number, endMs: number): TranscriptSegment[] {
  return transcript.segments.filter(
    (s) => s.startMs >= startMs && (s.startMs < endMs || (s.startMs === endMs && endMs === transcript.endMs)),
  );
}

/** Who speaks inside [startMs, endMs) and for how long (see segmentsWithin). */
export function speakersWithin(transcript: Transcript, startMs: number, endMs: number): Moment['speakers'] {
  const byId = new Map(transcript.speakers.map((s) => [s.speaker_id, s]));
  const stats = new Map<string, Moment['speakers'][number]>();
  for (const segment of segmentsWithin(transcript, startMs, endMs)) {
    const speaker = byId.get(segment.speaker_id);
    if (!speaker) continue;
    const entry = stats.get(speaker.speaker_id) ?? { ...speaker, segments: 0, speaking_seconds: 0 };
    entry.segments += 1;
    entry.speaking_seconds = Math.round((entry.speaking_seconds + segment.duration_seconds) * 10) / 10;
    stats.set(speaker.speaker_id, entry);
  }
  return [...stats.values()];
}
