/**
 * MomentBuilder: what a model (or the heuristic) must answer for one group of transcript segments, as a
 * JSON schema for structured output and as a validator that enforces what a schema cannot say — persons
 * only from this transcript with their real ids, times inside the group's window, kebab-case topic tags.
 * Field names follow the moments a person wrote for the samples (expected_moment.json) and the
 * `moments` table; present_persons carry fingerprint_id, user_id and user_label (the transcript's
 * speaker fields) instead of the samples' free-text comment, so a person is an id, not a guess.
 *
 * The validator throws MomentValidationError whose message starts with the failing field's path
 * (`moments[1].present_persons[0].fingerprint_id: …`): the LLM backend sends it back to the model when
 * it asks again, and it ends up in the failure people read.
 */
import type { TranscriptSpeaker } from './transcript.js';

export const MOMENT_TYPES = [
  'conversation',
  'meeting',
  'reflection',
  'planning',
  'problem_solving',
  'learning',
  'social',
  'observation',
  'accomplishment',
] as const;
export type MomentType = (typeof MOMENT_TYPES)[number];

export const EMOTION_TAGS = { min: 2, max: 4 } as const;
export const TOPIC_TAGS = { min: 3, max: 7 } as const;
export const KEBAB_CASE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_TEXT = 8000;
const MAX_NAME = 200;
const MAX_TAG = 48;

export interface PresentPerson {
  fingerprint_id: string;
  user_id: string;
  user_label: string;
}

/** One moment as the model writes it. */
export interface MomentDraft {
  name: string;
  content: string;
  summary: string;
  category: string;
  resource_timestamp: string;
  resource_ends_timestamp: string;
  moment_type: MomentType;
  emotion_tags: string[];
  topic_tags: string[];
  present_persons: PresentPerson[];
  location: string | null;
  background_sounds: string | null;
}

/** One group's answer: its moments and a summary of the time it covers (the original's analysis_summary). */
export interface MomentBuilderOutput {
  moments: MomentDraft[];
  analysis_summary: string;
}

/** Who spoke in a moment and how much: computed from the segments, never asked of the model. */
export interface MomentSpeaker {
  speaker_id: string;
  fingerprint_id: string;
  user_id: string;
  user_label: string;
  segments: number;
  speaking_seconds: number;
}

/** A moment as stored: the draft plus what the code knows for sure. */
export interface Moment extends MomentDraft {
  uri: string | null;
  speakers: MomentSpeaker[];
  metadata: Record<string, unknown>;
}

/** What a group's answer is checked against. */
export interface MomentContext {
  /** Everyone the transcript names; persons are checked against these. */
  speakers: readonly TranscriptSpeaker[];
  /** Those who speak in this group: each must be present in at least one moment. */
  groupSpeakers: readonly TranscriptSpeaker[];
  windowStartMs: number;
  windowEndMs: number;
}

export class MomentValidationError extends Error {
  override readonly name = 'MomentValidationError';
}

/** JSON schema for structured output (OpenAI strict mode: every property required, none extra). */
export function momentBuilderSchema(speakers: readonly TranscriptSpeaker[]): Record<string, unknown> {
  const text = { type: 'string' };
  const nullableText = { type: ['string', 'null'] };
  const instant = { type: 'string', format: 'date-time' };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['moments', 'analysis_summary'],
    properties: {
      analysis_summary: {
        type: 'string',
        description: 'What this time was about and the patterns across its moments, in one or two sentences',
      },
      moments: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: [
            'name',
            'content',
            'summary',
            'category',
            'resource_timestamp',
            'resource_ends_timestamp',
            'moment_type',
            'emotion_tags',
            'topic_tags',
            'present_persons',
            'location',
            'background_sounds',
          ],
          properties: {
            name: { ...text, description: 'Short title of the moment' },
            content: { ...text, description: 'What happened, who said what, decisions and feelings' },
            summary: { ...text, description: 'One sentence' },
            category: { ...text, description: 'e.g. meeting, planning, conversation, work' },
            resource_timestamp: { ...instant, description: 'When the moment starts (UTC)' },
            resource_ends_timestamp: { ...instant, description: 'When the moment ends (UTC)' },
            moment_type: { type: 'string', enum: [...MOMENT_TYPES] },
            emotion_tags: {
              type: 'array',
              minItems: EMOTION_TAGS.min,
              maxItems: EMOTION_TAGS.max,
              items: text,
            },
            topic_tags: {
              type: 'array',
              minItems: TOPIC_TAGS.min,
              maxItems: TOPIC_TAGS.max,
              items: { type: 'string', pattern: KEBAB_CASE.source },
            },
            present_persons: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['fingerprint_id', 'user_id', 'user_label'],
                properties: {
                  fingerprint_id: { type: 'string', enum: speakers.map((s) => s.fingerprint_id) },
                  user_id: { type: 'string', enum: [...new Set(speakers.map((s) => s.user_id))] },
                  user_label: { type: 'string', enum: [...new Set(speakers.map((s) => s.user_label))] },
                },
              },
            },
            location: nullableText,
            background_sounds: nullableText,
          },
        },
      },
    },
  };
}

type Json = Record<string, unknown>;

function fail(field: string, problem: string): never {
  throw new MomentValidationError(`${field}: ${problem}`);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(object: Json, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(object))
    if (!allowed.includes(key)) fail(`${field}.${key}`, 'is not a field of MomentBuilder');
  for (const key of allowed) if (!Object.hasOwn(object, key)) fail(`${field}.${key}`, 'is missing');
}

function string(value: unknown, field: string, max = MAX_TEXT): string {
  if (typeof value !== 'string') fail(field, `must be a string, got ${show(value)}`);
  if (value.trim() === '') fail(field, 'must not be empty');
  if (value.length > max) fail(field, `is ${value.length} characters long, at most ${max} allowed`);
  return value.trim();
}

function nullableString(value: unknown, field: string): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') fail(field, `must be a string or null, got ${show(value)}`);
  const trimmed = value.trim();
  if (trimmed.length > 500) fail(field, `is ${trimmed.length} characters long, at most 500 allowed`);
  return trimmed === '' ? null : trimmed;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function instant(value: unknown, field: string): number {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value) || Number.isNaN(Date.parse(value)))
    fail(field, `must be an ISO 8601 time with a zone, like "2025-01-13T09:00:00Z", got ${show(value)}`);
  return Date.parse(value);
}

function tags(value: unknown, field: string, limits: { min: number; max: number }, kebab: boolean): string[] {
  if (!Array.isArray(value)) fail(field, `must be a list, got ${show(value)}`);
  if (value.length < limits.min || value.length > limits.max)
    fail(field, `must hold ${limits.min} to ${limits.max} tags, got ${value.length}`);
  const seen = new Set<string>();
  return value.map((tag: unknown, i) => {
    const text = string(tag, `${field}[${i}]`, MAX_TAG);
    if (kebab && !KEBAB_CASE.test(text))
      fail(`${field}[${i}]`, `${show(text)} is not kebab-case (lowercase words joined by "-")`);
    if (seen.has(text)) fail(`${field}[${i}]`, `${show(text)} is repeated`);
    seen.add(text);
    return text;
  });
}

function persons(value: unknown, field: string, ctx: MomentContext): PresentPerson[] {
  if (!Array.isArray(value)) fail(field, `must be a list, got ${show(value)}`);
  if (value.length === 0) fail(field, 'must name at least one speaker of the transcript');
  const byFingerprint = new Map(ctx.speakers.map((s) => [s.fingerprint_id, s]));
  const known = ctx.speakers.map((s) => `${s.user_label} (${s.fingerprint_id})`).join(', ');
  const seen = new Set<string>();
  return value.map((raw: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(raw)) fail(at, `must be an object, got ${show(raw)}`);
    checkKeys(raw, ['fingerprint_id', 'user_id', 'user_label'], at);
    const fingerprint = string(raw.fingerprint_id, `${at}.fingerprint_id`, 200);
    const speaker = byFingerprint.get(fingerprint);
    if (!speaker)
      fail(`${at}.fingerprint_id`, `${show(fingerprint)} is not a speaker of this transcript (${known})`);
    if (raw.user_id !== speaker.user_id)
      fail(`${at}.user_id`, `${show(raw.user_id)} is not the user of ${fingerprint} (${speaker.user_id})`);
    if (raw.user_label !== speaker.user_label)
      fail(
        `${at}.user_label`,
        `${show(raw.user_label)} is not the label of ${fingerprint} (${speaker.user_label})`,
      );
    if (seen.has(fingerprint)) fail(`${at}.fingerprint_id`, `${fingerprint} is listed twice`);
    seen.add(fingerprint);
    return {
      fingerprint_id: speaker.fingerprint_id,
      user_id: speaker.user_id,
      user_label: speaker.user_label,
    };
  });
}

const DRAFT_FIELDS = [
  'name',
  'content',
  'summary',
  'category',
  'resource_timestamp',
  'resource_ends_timestamp',
  'moment_type',
  'emotion_tags',
  'topic_tags',
  'present_persons',
  'location',
  'background_sounds',
] as const;

function draft(raw: unknown, field: string, ctx: MomentContext): MomentDraft {
  if (!isObject(raw)) fail(field, `must be an object, got ${show(raw)}`);
  checkKeys(raw, DRAFT_FIELDS, field);
  const startMs = instant(raw.resource_timestamp, `${field}.resource_timestamp`);
  const endMs = instant(raw.resource_ends_timestamp, `${field}.resource_ends_timestamp`);
  const window = `${new Date(ctx.windowStartMs).toISOString()} .. ${new Date(ctx.windowEndMs).toISOString()}`;
  if (startMs < ctx.windowStartMs || startMs > ctx.windowEndMs)
    fail(
      `${field}.resource_timestamp`,
      `${show(raw.resource_timestamp)} lies outside the transcript (${window})`,
    );
  if (endMs < ctx.windowStartMs || endMs > ctx.windowEndMs)
    fail(
      `${field}.resource_ends_timestamp`,
      `${show(raw.resource_ends_timestamp)} lies outside the transcript (${window})`,
    );
  if (endMs < startMs)
    fail(
      `${field}.resource_ends_timestamp`,
      `${show(raw.resource_ends_timestamp)} is before resource_timestamp`,
    );
  const type = raw.moment_type;
  if (typeof type !== 'string' || !(MOMENT_TYPES as readonly string[]).includes(type))
    fail(`${field}.moment_type`, `${show(type)} is not one of ${MOMENT_TYPES.join(', ')}`);
  return {
    name: string(raw.name, `${field}.name`, MAX_NAME),
    content: string(raw.content, `${field}.content`),
    summary: string(raw.summary, `${field}.summary`, 1000),
    category: string(raw.category, `${field}.category`, 100),
    resource_timestamp: raw.resource_timestamp as string,
    resource_ends_timestamp: raw.resource_ends_timestamp as string,
    moment_type: type as MomentType,
    emotion_tags: tags(raw.emotion_tags, `${field}.emotion_tags`, EMOTION_TAGS, false),
    topic_tags: tags(raw.topic_tags, `${field}.topic_tags`, TOPIC_TAGS, true),
    present_persons: persons(raw.present_persons, `${field}.present_persons`, ctx),
    location: nullableString(raw.location, `${field}.location`),
    background_sounds: nullableString(raw.background_sounds, `${field}.background_sounds`),
  };
}

/** Checks one group's answer; returns it with strings trimmed and moments in time order. */
export function validateMomentOutput(value: unknown, ctx: MomentContext): MomentBuilderOutput {
  if (!isObject(value))
    fail('(answer)', `must be a JSON object with "moments" and "analysis_summary", got ${show(value)}`);
  // The original's total_moments is counted by the code; a model that sends it anyway is not wrong.
  const { total_moments: _counted, ...answer } = value;
  checkKeys(answer, ['moments', 'analysis_summary'], '(answer)');
  const summary = string(answer.analysis_summary, 'analysis_summary', 2000);
  const list = answer.moments;
  if (!Array.isArray(list)) fail('moments', `must be a list, got ${show(list)}`);
  if (list.length === 0) fail('moments', 'is empty: every group of segments holds at least one moment');
  const moments = list.map((raw: unknown, i) => draft(raw, `moments[${i}]`, ctx));
  const named = new Set(moments.flatMap((m) => m.present_persons.map((p) => p.fingerprint_id)));
  const missing = ctx.groupSpeakers.filter((s) => !named.has(s.fingerprint_id));
  if (missing.length > 0)
    fail(
      'moments[].present_persons',
      `${missing.map((s) => `${s.user_label} (${s.fingerprint_id})`).join(', ')} speak(s) in these segments but no moment names them`,
    );
  moments.sort((a, b) => Date.parse(a.resource_timestamp) - Date.parse(b.resource_timestamp));
  return { moments, analysis_summary: summary };
}

/**
 * A stored moment checked again as a whole (after merging, or read back from the database): the draft
 * rules plus the code-made fields.
 */
export function validateMoment(value: unknown, ctx: MomentContext, field = 'moment'): Moment {
  if (!isObject(value)) fail(field, `must be an object, got ${show(value)}`);
  const { uri, speakers, metadata, ...rest } = value;
  const checked = draft(rest, field, ctx);
  if (uri !== null && typeof uri !== 'string')
    fail(`${field}.uri`, `must be a string or null, got ${show(uri)}`);
  if (!Array.isArray(speakers)) fail(`${field}.speakers`, `must be a list, got ${show(speakers)}`);
  const known = new Set(ctx.speakers.map((s) => s.speaker_id));
  speakers.forEach((s: unknown, i) => {
    if (!isObject(s) || typeof s.speaker_id !== 'string' || !known.has(s.speaker_id))
      fail(`${field}.speakers[${i}]`, `${show(s)} is not a speaker of this transcript`);
  });
  if (!isObject(metadata)) fail(`${field}.metadata`, `must be an object, got ${show(metadata)}`);
  return { ...checked, uri: uri as string | null, speakers: speakers as MomentSpeaker[], metadata };
}
