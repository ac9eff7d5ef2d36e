/**
 * The MomentBuilder prompt for one group of segments: the rules of the schema in words, the people who
 * may be named (with their ids, so the model copies rather than invents them), the group's time window,
 * and the segments as lines. Pure, so the prompt a worker sends and the one `p8fs eval` sends are the
 * same text, and a unit test can read it.
 */
import { renderSegment } from './moment-grouping.js';
import { isoInstant } from './moment-heuristic.js';
import { EMOTION_TAGS, MOMENT_TYPES, TOPIC_TAGS } from './moment-model.js';
import type { Transcript, TranscriptSegment } from './transcript.js';

export interface PromptMessage {
  role: 'system' | 'user';
  content: string;
}

export const MOMENT_SYSTEM_PROMPT = [
  'You are MomentBuilder. You read part of a speech transcript and describe the moments in it: spans of',
  'time with one purpose (a meeting, a conversation, a planning session, solving a problem, ...).',
  'Rules:',
  `- moment_type is one of: ${MOMENT_TYPES.join(', ')}.`,
  '- Usually 1 to 3 moments per 10 minutes of recording; more only when the content clearly changes more often.',
  '- Moments cover the given time window in order; resource_timestamp and resource_ends_timestamp are UTC',
  '  ISO 8601 times inside the window, start before end.',
  '- present_persons: only people from the speaker list, with their fingerprint_id, user_id and user_label',
  '  copied exactly; name everyone who speaks in the moment and nobody else. Every listed speaker who',
  '  speaks in these segments appears in at least one moment.',
  `- emotion_tags: ${EMOTION_TAGS.min} to ${EMOTION_TAGS.max} single words (e.g. focused, collaborative, relaxed).`,
  `- topic_tags: ${TOPIC_TAGS.min} to ${TOPIC_TAGS.max} kebab-case tags (lowercase words joined by "-").`,
  '- name: a short title; content: what happened, decisions, feelings; summary: one sentence.',
  '- category: a short word such as meeting, planning, conversation, work.',
  '- location and background_sounds: from the recording environment when known, else null.',
  '- analysis_summary: one or two sentences on what this time was about and the patterns across its moments.',
  'Answer with JSON only, matching the schema.',
].join('\n');

/** Messages for one group; `part` is "1 of 3" style context for long transcripts. */
export function momentMessages(
  transcript: Transcript,
  segments: readonly TranscriptSegment[],
  window: { windowStartMs: number; windowEndMs: number },
  part: { index: number; count: number },
): PromptMessage[] {
  const speakers = new Map(transcript.speakers.map((s) => [s.speaker_id, s]));
  const people = transcript.speakers
    .map((s) => `- ${s.user_label}: fingerprint_id=${s.fingerprint_id} user_id=${s.user_id}`)
    .join('\n');
  const env = transcript.environment;
  const lines = segments.map((segment) => renderSegment(segment, speakers.get(segment.speaker_id)));
  const user = [
    `Transcript ${transcript.transcript_id ?? '(no id)'}: ${transcript.start_timestamp} to ${transcript.end_timestamp}.`,
    part.count > 1
      ? `This is part ${part.index + 1} of ${part.count}; describe only the moments of this part.`
      : 'This is the whole transcript.',
    `Time window of this part: ${isoInstant(window.windowStartMs)} to ${isoInstant(window.windowEndMs)}.`,
    `Location: ${env.location ?? 'unknown'}. Background sounds: ${env.background_sounds ?? 'unknown'}.`,
    'Speakers:',
    people,
    'Segments ([start time +duration] speaker (fingerprint_id): text):',
    ...lines,
  ].join('\n');
  return [
    { role: 'system', content: MOMENT_SYSTEM_PROMPT },
    { role: 'user', content: user },
  ];
}
