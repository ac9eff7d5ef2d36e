/**
 * The `moments` rows of one transcript of one tenant, replaced as a whole in one transaction: an advisory
 * lock on (tenant, transcript) serialises concurrent runs, the old rows go, the new ones (deterministic
 * ids: tenant + transcript + ordinal) come in. A retried or repeated run leaves exactly one set of rows.
 * A transcript's rows are found by metadata->>'transcript_ref' (its transcript_id, else a digest).
 */
import type pg from 'pg';
import { inTransaction } from '../../db/transaction.js';
import { cleanJsonValue, cleanText } from '../../domain/clean-text.js';
import { isoInstant } from '../../domain/insight/moment-heuristic.js';
import { momentIdFor } from '../../domain/insight/moment-ids.js';
import type { Moment } from '../../domain/insight/moment-model.js';

const COLUMNS = [
  'id',
  'tenant_id',
  'name',
  'category',
  'content',
  'summary',
  'ordinal',
  'uri',
  'metadata',
  'resource_timestamp',
  'resource_ends_timestamp',
  'present_persons',
  'location',
  'background_sounds',
  'moment_type',
  'emotion_tags',
  'topic_tags',
  'speakers',
] as const;

function rowValues(tenantId: string, transcriptRef: string, moment: Moment, ordinal: number): unknown[] {
  const text = (value: string | null) => (value === null ? null : cleanText(value));
  return [
    momentIdFor(tenantId, transcriptRef, ordinal),
    tenantId,
    cleanText(moment.name),
    text(moment.category),
    cleanText(moment.content),
    text(moment.summary),
    ordinal,
    text(moment.uri),
    JSON.stringify(cleanJsonValue(moment.metadata)),
    moment.resource_timestamp,
    moment.resource_ends_timestamp,
    JSON.stringify(cleanJsonValue(moment.present_persons)),
    text(moment.location),
    text(moment.background_sounds),
    moment.moment_type,
    moment.emotion_tags.map(cleanText),
    moment.topic_tags.map(cleanText),
    JSON.stringify(cleanJsonValue(moment.speakers)),
  ];
}

export async function replaceMoments(
  pool: pg.Pool,
  tenantId: string,
  transcriptRef: string,
  moments: readonly Moment[],
): Promise<{ stored: number; replaced: number }> {
  return inTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `moments:${tenantId}:${transcriptRef}`,
    ]);
    const removed = await db.query(
      "DELETE FROM moments WHERE tenant_id = $1 AND metadata->>'transcript_ref' = $2",
      [tenantId, transcriptRef],
    );
    // One multi-row INSERT per 200 moments: a transcript rarely has more than a few dozen.
    for (let start = 0; start < moments.length; start += 200) {
      const slice = moments.slice(start, start + 200);
      const values: unknown[] = [];
      const tuples = slice.map((moment, i) => {
        const row = rowValues(tenantId, transcriptRef, moment, start + i);
        const base = values.length;
        values.push(...row);
        return `(${row.map((_, k) => `$${base + k + 1}`).join(', ')})`;
      });
      await db.query(`INSERT INTO moments (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, values);
    }
    return { stored: moments.length, replaced: removed.rowCount ?? 0 };
  });
}

/** A transcript's stored moments in order, as rows (for the CLI, the demo and the tests). */
export async function loadMoments(
  db: pg.Pool | pg.PoolClient,
  tenantId: string,
  transcriptRef?: string,
): Promise<MomentRow[]> {
  const result = await db.query(
    `SELECT id, tenant_id, name, category, content, summary, ordinal, uri, metadata, resource_timestamp,
            resource_ends_timestamp, present_persons, location, background_sounds, moment_type, emotion_tags,
            topic_tags, speakers
       FROM moments
      WHERE tenant_id = $1 AND ($2::text IS NULL OR metadata->>'transcript_ref' = $2)
      ORDER BY metadata->>'transcript_ref', ordinal`,
    [tenantId, transcriptRef ?? null],
  );
  // timestamptz comes back as Date: written back in the form the moment was validated in.
  return result.rows.map((row) => ({
    ...row,
    resource_timestamp: isoInstant((row.resource_timestamp as Date).getTime()),
    resource_ends_timestamp: isoInstant((row.resource_ends_timestamp as Date).getTime()),
  })) as MomentRow[];
}

export interface MomentRow extends Omit<Moment, 'uri'> {
  id: string;
  tenant_id: string;
  ordinal: number;
  uri: string | null;
}
