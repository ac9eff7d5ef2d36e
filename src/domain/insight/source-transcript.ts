/**
 * A chat session or a document as a transcript in the sample format (transcript.ts), so the moments
 * task builds their moments with the same MomentBuilder steps (groups, model or heuristic, validation,
 * merge, store) as a speech transcript's. A session's messages are its segments (speakers: the tenant's
 * user and the assistant); a document's paragraphs are read by its author at reading pace from the
 * document's time. The transcript's metadata names what it was made from (session_ids, resource_ids,
 * resource_names): the moments carry it, and the moments task's only-new rule reads it back.
 * Pure: the activity reads the rows and stores the result.
 */

/** The original P8FS's moments task reads these session types only. */
export const MOMENT_SESSION_TYPES = ['chat', 'api'] as const;
/** Resources of this category are the user summary, not something the user did. */
export const USER_CONTEXT_CATEGORY = 'user_context';

export interface SessionRow {
  id: string;
  name: string;
  sessionType: string;
  startedAt: string;
  messages: Array<{ role: string; content: string; timestamp?: string | null }>;
}

export interface DocumentRow {
  /** The file the chunks came from (or the resource itself when it has none). */
  fileId: string;
  name: string;
  uri: string | null;
  at: string;
  chunks: Array<{ id: string; name: string; content: string }>;
}

export type SourceTranscriptKind = 'chat_session' | 'document';

/** Words read per second: a document's segments get the time it takes to read them. */
const READING_WORDS_PER_SECOND = 4;
/** Longest segment text: a paragraph longer than this is cut into pieces of about this size. */
const MAX_SEGMENT_CHARS = 2000;

function words(text: string): number {
  return text.match(/\S+/g)?.length ?? 0;
}

function seconds(text: string): number {
  return Math.max(1, Math.ceil(words(text) / READING_WORDS_PER_SECOND));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function pieces(text: string): string[] {
  const out: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const clean = paragraph.replace(/\s+/g, ' ').trim();
    for (let start = 0; start < clean.length; start += MAX_SEGMENT_CHARS)
      if (/[a-z0-9]/i.test(clean.slice(start, start + MAX_SEGMENT_CHARS)))
        out.push(clean.slice(start, start + MAX_SEGMENT_CHARS));
  }
  return out;
}

interface Segment {
  timestamp: string;
  speaker_id: string;
  speaker_label: string;
  text: string;
  duration_seconds: number;
}

function transcriptOf(
  id: string,
  kind: SourceTranscriptKind,
  speakers: Array<{ speaker_id: string; fingerprint_id: string; user_id: string; user_label: string }>,
  segments: Segment[],
  metadata: Record<string, unknown>,
  uri: string | null,
): Record<string, unknown> {
  const startMs = Date.parse(segments[0]?.timestamp ?? '');
  const last = segments.at(-1);
  const endMs = last ? Date.parse(last.timestamp) + last.duration_seconds * 1000 : startMs;
  return {
    transcript_id: id,
    start_timestamp: iso(startMs),
    end_timestamp: iso(endMs),
    ...(uri ? { source_uri: uri } : {}),
    speakers,
    segments,
    metadata: { source_type: kind, ...metadata },
  };
}

/**
 * A session's messages as segments, in order: a message's own timestamp when it has one after the last,
 * else one second after the previous message ended. Undefined when no message has text.
 */
export function sessionTranscript(
  tenantId: string,
  session: SessionRow,
): Record<string, unknown> | undefined {
  const speakers = [
    { speaker_id: 'user', fingerprint_id: `user:${tenantId}`, user_id: tenantId, user_label: 'user' },
    { speaker_id: 'assistant', fingerprint_id: 'assistant', user_id: 'assistant', user_label: 'assistant' },
  ];
  let cursor = Date.parse(session.startedAt);
  const segments: Segment[] = [];
  for (const message of session.messages) {
    const text = String(message.content ?? '').trim();
    if (text === '') continue;
    const given = message.timestamp ? Date.parse(message.timestamp) : Number.NaN;
    const at = Number.isFinite(given) && given >= cursor ? given : cursor;
    const speaker = message.role === 'user' ? 'user' : 'assistant';
    const duration = seconds(text);
    segments.push({
      timestamp: iso(at),
      speaker_id: speaker,
      speaker_label: speaker,
      text,
      duration_seconds: duration,
    });
    cursor = at + duration * 1000 + 1000;
  }
  if (segments.length === 0) return undefined;
  return transcriptOf(
    `session:${session.id}`,
    'chat_session',
    speakers,
    segments,
    { session_ids: [session.id], session_name: session.name, session_type: session.sessionType },
    null,
  );
}

/** A document's chunks (in order) as its author's segments, paragraph by paragraph, read from its time on. */
export function documentTranscript(tenantId: string, doc: DocumentRow): Record<string, unknown> | undefined {
  const speakers = [
    { speaker_id: 'author', fingerprint_id: `user:${tenantId}`, user_id: tenantId, user_label: 'author' },
  ];
  let cursor = Date.parse(doc.at);
  const segments: Segment[] = [];
  for (const chunk of doc.chunks) {
    for (const text of pieces(chunk.content)) {
      const duration = seconds(text);
      segments.push({
        timestamp: iso(cursor),
        speaker_id: 'author',
        speaker_label: 'author',
        text,
        duration_seconds: duration,
      });
      cursor += duration * 1000;
    }
  }
  if (segments.length === 0) return undefined;
  return transcriptOf(
    `document:${doc.fileId}`,
    'document',
    speakers,
    segments,
    { resource_ids: doc.chunks.map((c) => c.id), resource_names: [doc.name], file_id: doc.fileId },
    doc.uri,
  );
}
