/**
 * The chat session file format (samples/dreaming/sessions): {session_id, tenant_id?, session_type?,
 * created_at?, messages: [{role, content, timestamp?}]}. Parsed once, with errors that name the field.
 */
import { InvalidSessionError } from '../errors.js';

export interface SessionMessage {
  role: string;
  content: string;
  timestamp?: string;
}

export interface ChatSession {
  externalId: string;
  tenantId?: string;
  sessionType: string;
  name: string;
  startedAt?: string;
  lastMessageAt?: string;
  messages: SessionMessage[];
}

function isoOrUndefined(value: unknown, field: string, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    throw new InvalidSessionError(
      `${where}: ${field} must be an ISO date-time string, got ${JSON.stringify(value)}`,
    );
  }
  return new Date(value).toISOString();
}

/** `where` names the file in errors. A file may hold one session or an array of them. */
export function parseSessions(value: unknown, where: string): ChatSession[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, index) => parseSession(item, Array.isArray(value) ? `${where}[${index}]` : where));
}

function parseSession(value: unknown, where: string): ChatSession {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidSessionError(`${where}: expected a session object with session_id and messages`);
  }
  const s = value as Record<string, unknown>;
  const id = s.session_id ?? s.id;
  if (typeof id !== 'string' || id.trim() === '') {
    throw new InvalidSessionError(`${where}: session_id must be a non-empty string`);
  }
  if (!Array.isArray(s.messages)) throw new InvalidSessionError(`${where}: messages must be an array`);
  const messages = s.messages.map((m, i): SessionMessage => {
    const at = `${where}: messages[${i}]`;
    if (m === null || typeof m !== 'object') throw new InvalidSessionError(`${at} must be an object`);
    const { role, content, timestamp } = m as Record<string, unknown>;
    if (typeof role !== 'string' || role === '')
      throw new InvalidSessionError(`${at}.role must be a non-empty string`);
    if (typeof content !== 'string') throw new InvalidSessionError(`${at}.content must be a string`);
    const when = isoOrUndefined(timestamp, `messages[${i}].timestamp`, where);
    return when ? { role, content, timestamp: when } : { role, content };
  });
  const stamps = messages.flatMap((m) => (m.timestamp ? [m.timestamp] : [])).sort();
  const startedAt = isoOrUndefined(s.created_at ?? s.started_at, 'created_at', where) ?? stamps[0];
  const firstUser = messages
    .find((m) => m.role === 'user')
    ?.content.replace(/\s+/g, ' ')
    .trim();
  const title =
    typeof s.name === 'string' && s.name
      ? s.name
      : typeof s.title === 'string' && s.title
        ? s.title
        : undefined;
  return {
    externalId: id,
    ...(typeof s.tenant_id === 'string' ? { tenantId: s.tenant_id } : {}),
    sessionType: typeof s.session_type === 'string' && s.session_type ? s.session_type : 'chat',
    name: title ?? (firstUser ? firstUser.slice(0, 80) : id),
    ...(startedAt ? { startedAt } : {}),
    ...(stamps.length > 0 ? { lastMessageAt: stamps[stamps.length - 1] } : {}),
    messages,
  };
}

/** A session as prompt text: one line per message, `role: content`. */
export function sessionText(messages: SessionMessage[]): string {
  return messages.map((m) => `${m.role}: ${m.content}`).join('\n');
}
