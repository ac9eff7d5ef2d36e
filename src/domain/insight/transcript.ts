/**
 * The speech-transcript format P8FS records (../shared/samples/moments/*_input.json): a start and an end
 * time, segments (timestamp, speaker, text, duration) and the speakers with their voice fingerprint and
 * user. `parseTranscript` checks every field once and returns a normalised Transcript, or throws
 * InvalidTranscriptError naming the field and, for a segment, its index — a bad upload fails at once with
 * a message the person who made it can act on. Pure: times are parsed with Date only.
 */
import { InvalidTranscriptError } from '../errors.js';

export interface TranscriptSpeaker {
  speaker_id: string;
  fingerprint_id: string;
  user_id: string;
  user_label: string;
}

export interface TranscriptSegment {
  /** ISO 8601 as given. */
  timestamp: string;
  /** Milliseconds since the epoch (parsed once). */
  startMs: number;
  endMs: number;
  speaker_id: string;
  speaker_label: string;
  text: string;
  duration_seconds: number;
}

export interface Transcript {
  /** The producer's id; when absent, a digest of the content is used to key its moments. */
  transcript_id?: string;
  start_timestamp: string;
  end_timestamp: string;
  startMs: number;
  endMs: number;
  source_uri?: string;
  segments: TranscriptSegment[];
  /** From the `speakers` list, or derived from the segments when the list is absent. */
  speakers: TranscriptSpeaker[];
  environment: { location?: string; background_sounds?: string };
  metadata: Record<string, unknown>;
}

/** A segment may end this much after end_timestamp (recorders round the end down to the second). */
export const SEGMENT_END_TOLERANCE_MS = 1500;
export const MAX_SEGMENTS = 100_000;

type Json = Record<string, unknown>;

function fail(field: string, problem: string): never {
  throw new InvalidTranscriptError(`transcript ${field}: ${problem}`);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(object: Json, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function requiredString(object: Json, key: string, field: string): string {
  const value = own(object, key);
  if (value === undefined || value === null) fail(field, 'is missing');
  if (typeof value !== 'string') fail(field, `must be a string, got ${show(value)}`);
  if (value.trim() === '') fail(field, 'must not be empty');
  return value;
}

function optionalString(object: Json, key: string, field: string): string | undefined {
  const value = own(object, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(field, `must be a string, got ${show(value)}`);
  return value.trim() === '' ? undefined : value;
}

// Date.parse accepts far more than ISO 8601 ("March 7", "7/3/2025"); transcripts must carry real instants.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function requiredInstant(object: Json, key: string, field: string): { text: string; ms: number } {
  const text = requiredString(object, key, field);
  const ms = Date.parse(text);
  if (!ISO_INSTANT.test(text) || Number.isNaN(ms))
    fail(field, `must be an ISO 8601 time with a zone, like "2025-01-13T09:00:00Z", got ${show(text)}`);
  return { text, ms };
}

function parseSpeakers(value: unknown): TranscriptSpeaker[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) fail('speakers', `must be a list, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((raw: unknown, i) => {
    const field = `speakers[${i}]`;
    if (!isObject(raw)) fail(field, `must be an object, got ${show(raw)}`);
    const speaker: TranscriptSpeaker = {
      speaker_id: requiredString(raw, 'speaker_id', `${field}.speaker_id`),
      fingerprint_id: requiredString(raw, 'fingerprint_id', `${field}.fingerprint_id`),
      user_id: requiredString(raw, 'user_id', `${field}.user_id`),
      user_label: requiredString(raw, 'user_label', `${field}.user_label`),
    };
    if (seen.has(speaker.speaker_id))
      fail(`${field}.speaker_id`, `${show(speaker.speaker_id)} is listed twice`);
    seen.add(speaker.speaker_id);
    return speaker;
  });
}

function parseSegment(
  raw: unknown,
  i: number,
  window: { startMs: number; endMs: number },
): TranscriptSegment {
  const field = `segments[${i}]`;
  if (!isObject(raw)) fail(field, `must be an object, got ${show(raw)}`);
  const { text: timestamp, ms: startMs } = requiredInstant(raw, 'timestamp', `${field}.timestamp`);
  const duration = own(raw, 'duration_seconds');
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0)
    fail(`${field}.duration_seconds`, `must be a number of seconds >= 0, got ${show(duration)}`);
  const text = own(raw, 'text');
  if (typeof text !== 'string') fail(`${field}.text`, `must be a string, got ${show(text)}`);
  const endMs = startMs + Math.round(duration * 1000);
  if (startMs < window.startMs || startMs > window.endMs)
    fail(`${field}.timestamp`, `${timestamp} lies outside start_timestamp..end_timestamp`);
  if (endMs > window.endMs + SEGMENT_END_TOLERANCE_MS)
    fail(
      `${field}.duration_seconds`,
      `the segment ends after end_timestamp (${duration} s from ${timestamp})`,
    );
  return {
    timestamp,
    startMs,
    endMs,
    speaker_id: requiredString(raw, 'speaker_id', `${field}.speaker_id`),
    speaker_label: optionalString(raw, 'speaker_label', `${field}.speaker_label`) ?? '',
    text,
    duration_seconds: duration,
  };
}

/** The transcript as parsed JSON (an object) → a checked Transcript, or InvalidTranscriptError. */
export function parseTranscript(value: unknown): Transcript {
  if (!isObject(value)) fail('(document)', `must be a JSON object, got ${show(value)}`);
  const start = requiredInstant(value, 'start_timestamp', 'start_timestamp');
  const end = requiredInstant(value, 'end_timestamp', 'end_timestamp');
  if (end.ms < start.ms) fail('end_timestamp', `${end.text} is before start_timestamp ${start.text}`);

  const rawSegments = own(value, 'segments');
  if (!Array.isArray(rawSegments)) fail('segments', `must be a list, got ${show(rawSegments)}`);
  if (rawSegments.length === 0) fail('segments', 'is empty: a transcript without speech has no moments');
  if (rawSegments.length > MAX_SEGMENTS)
    fail(
      'segments',
      `has ${rawSegments.length} entries, more than the ${MAX_SEGMENTS} one transcript may hold`,
    );
  const window = { startMs: start.ms, endMs: end.ms };
  const segments = rawSegments.map((raw: unknown, i) => parseSegment(raw, i, window));
  for (let i = 1; i < segments.length; i++) {
    const previous = segments[i - 1] as TranscriptSegment;
    const segment = segments[i] as TranscriptSegment;
    if (segment.startMs < previous.startMs)
      fail(
        `segments[${i}].timestamp`,
        `${segment.timestamp} is before segments[${i - 1}].timestamp ${previous.timestamp}: segments must be in time order`,
      );
  }

  const listed = parseSpeakers(own(value, 'speakers'));
  let speakers: TranscriptSpeaker[];
  if (listed) {
    const known = new Set(listed.map((s) => s.speaker_id));
    segments.forEach((segment, i) => {
      if (!known.has(segment.speaker_id))
        fail(
          `segments[${i}].speaker_id`,
          `${show(segment.speaker_id)} is not in the speakers list (${[...known].join(', ') || 'empty'})`,
        );
    });
    speakers = listed;
  } else {
    // No voice fingerprints: each diarised speaker stands for itself, under its label.
    const byId = new Map<string, TranscriptSpeaker>();
    for (const segment of segments) {
      if (byId.has(segment.speaker_id)) continue;
      const label = segment.speaker_label || segment.speaker_id;
      byId.set(segment.speaker_id, {
        speaker_id: segment.speaker_id,
        fingerprint_id: segment.speaker_id,
        user_id: segment.speaker_id,
        user_label: label,
      });
    }
    speakers = [...byId.values()];
  }

  const environment = own(value, 'environment');
  if (environment !== undefined && environment !== null && !isObject(environment))
    fail('environment', `must be an object, got ${show(environment)}`);
  const env = isObject(environment) ? environment : {};
  const metadata = own(value, 'metadata');
  if (metadata !== undefined && metadata !== null && !isObject(metadata))
    fail('metadata', `must be an object, got ${show(metadata)}`);
  const duration = own(value, 'duration_seconds');
  if (duration !== undefined && (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0))
    fail('duration_seconds', `must be a number of seconds >= 0, got ${show(duration)}`);

  const transcript: Transcript = {
    start_timestamp: start.text,
    end_timestamp: end.text,
    startMs: start.ms,
    endMs: end.ms,
    segments,
    speakers,
    environment: {
      location: optionalString(env, 'location', 'environment.location'),
      background_sounds: optionalString(env, 'background_sounds', 'environment.background_sounds'),
    },
    metadata: isObject(metadata) ? metadata : {},
  };
  const id = optionalString(value, 'transcript_id', 'transcript_id');
  if (id !== undefined) transcript.transcript_id = id;
  const source = optionalString(value, 'source_uri', 'source_uri');
  if (source !== undefined) transcript.source_uri = source;
  return transcript;
}

/** The transcript's JSON text → Transcript; a syntax error is an InvalidTranscriptError too. */
export function parseTranscriptJson(text: string, where = 'transcript'): Transcript {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidTranscriptError(
      `${where} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  try {
    return parseTranscript(value);
  } catch (error) {
    // Say which file: "s3://acme/transcripts/day1.json: transcript segments[3].timestamp: …".
    if (error instanceof InvalidTranscriptError && where !== 'transcript')
      throw new InvalidTranscriptError(`${where}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Speakers who say something in `segments` (a moment's or a group's), in order of first words. */
export function speakersOf(
  transcript: Transcript,
  segments: readonly TranscriptSegment[],
): TranscriptSpeaker[] {
  const byId = new Map(transcript.speakers.map((s) => [s.speaker_id, s]));
  const seen = new Map<string, TranscriptSpeaker>();
  for (const segment of segments) {
    const speaker = byId.get(segment.speaker_id);
    if (speaker && !seen.has(speaker.speaker_id)) seen.set(speaker.speaker_id, speaker);
  }
  return [...seen.values()];
}

/** `2025-01-13T09:00:09Z`: whole seconds in UTC, the way the samples write instants. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
