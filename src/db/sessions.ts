/** The sessions table: idempotent import (id = uuid v5 of tenant + session_id) and reads. */
import type pg from 'pg';
import { P8FS_NAMESPACE, uuidV5 } from '../domain/ids.js';
import type { ChatSession } from '../domain/insight/session.js';

export function sessionIdFor(tenantId: string, externalId: string): string {
  return uuidV5(`session:${tenantId}:${externalId}`, P8FS_NAMESPACE);
}

/** Inserts or replaces one session; returns whether it was new. */
export async function upsertSession(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  session: ChatSession,
): Promise<{ id: string; inserted: boolean }> {
  const id = sessionIdFor(tenantId, session.externalId);
  const result = await db.query<{ inserted: boolean }>(
    `INSERT INTO sessions (id, tenant_id, external_id, name, session_type, messages, message_count, started_at, last_message_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, session_type = EXCLUDED.session_type,
       messages = EXCLUDED.messages, message_count = EXCLUDED.message_count,
       started_at = EXCLUDED.started_at, last_message_at = EXCLUDED.last_message_at
     RETURNING (xmax = 0) AS inserted`,
    [
      id,
      tenantId,
      session.externalId,
      session.name,
      session.sessionType,
      JSON.stringify(session.messages),
      session.messages.length,
      session.startedAt ?? null,
      session.lastMessageAt ?? null,
    ],
  );
  return { id, inserted: result.rows[0]?.inserted ?? false };
}
