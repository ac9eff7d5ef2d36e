/**
 * Reading a tenant's moments (`p8fs moments list|show`, GET /v1/moments): by time range, person and
 * topic, newest first, and one by id. Every query carries the tenant, so a moment id of another tenant
 * reads as missing. The writers are the activities (moment-store.ts, session-moments).
 */
import type pg from 'pg';

/** The longest page one request reads (the CLI and the API cap `limit` here). */
export const MAX_MOMENTS_LIMIT = 200;

export interface MomentFilter {
  tenantId: string;
  /** Moments that end at or after this instant (or start, when they have no end). */
  since?: Date;
  /** Moments that start before this instant. */
  until?: Date;
  /** A person present: their user_label or name (any letter case), user_id or fingerprint_id. */
  person?: string;
  /** A topic tag, as stored (kebab-case); compared in lower case. */
  topic?: string;
  limit?: number;
  offset?: number;
}

/** A moment as people read it: the table's columns, times as ISO strings. */
export interface MomentView {
  id: string;
  name: string;
  category: string | null;
  summary: string | null;
  content: string;
  moment_type: string | null;
  resource_timestamp: string | null;
  resource_ends_timestamp: string | null;
  present_persons: unknown[];
  location: string | null;
  background_sounds: string | null;
  emotion_tags: string[];
  topic_tags: string[];
  key_emotions: string[];
  images: string[];
  speakers: unknown[];
  graph_paths: unknown[];
  userid: string | null;
  uri: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

const COLUMNS = `id, name, category, summary, content, moment_type, resource_timestamp, resource_ends_timestamp,
  present_persons, location, background_sounds, emotion_tags, topic_tags, key_emotions, images, speakers,
  graph_paths, userid, uri, metadata, created_at, updated_at`;

// A person matches on any of the fields a moment's persons carry: ours (fingerprint_id, user_id,
// user_label) and the original's free-form entries (name, id). A column that is not an array matches none.
const PERSON_MATCH = `EXISTS (
  SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(present_persons) WHEN 'array' THEN present_persons ELSE '[]'::jsonb END) p
   WHERE lower(p->>'user_label') = lower($X) OR lower(p->>'name') = lower($X)
      OR p->>'user_id' = $X OR p->>'fingerprint_id' = $X OR p->>'id' = $X)`;

function iso(value: unknown): string | null {
  return value instanceof Date ? value.toISOString() : null;
}

function view(row: Record<string, unknown>): MomentView {
  const array = (value: unknown) => (Array.isArray(value) ? value : []);
  return {
    ...(row as unknown as MomentView),
    resource_timestamp: iso(row.resource_timestamp),
    resource_ends_timestamp: iso(row.resource_ends_timestamp),
    present_persons: array(row.present_persons),
    emotion_tags: array(row.emotion_tags) as string[],
    topic_tags: array(row.topic_tags) as string[],
    key_emotions: array(row.key_emotions) as string[],
    images: array(row.images) as string[],
    speakers: array(row.speakers),
    graph_paths: array(row.graph_paths),
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    created_at: iso(row.created_at) as string,
    updated_at: iso(row.updated_at) as string,
  };
}

/** The tenant's moments matching the filter, newest first, and how many match in all. */
export async function listMoments(
  db: pg.Pool | pg.ClientBase,
  filter: MomentFilter,
): Promise<{ total: number; moments: MomentView[] }> {
  const limit = Math.min(filter.limit ?? 20, MAX_MOMENTS_LIMIT);
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be 1-${MAX_MOMENTS_LIMIT}`);
  const values: unknown[] = [filter.tenantId];
  const where = ['tenant_id = $1'];
  const add = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  // A moment without times (the original's model allows it) counts by when it was written.
  if (filter.since)
    where.push(`COALESCE(resource_ends_timestamp, resource_timestamp, created_at) >= ${add(filter.since)}`);
  if (filter.until) where.push(`COALESCE(resource_timestamp, created_at) < ${add(filter.until)}`);
  if (filter.person) where.push(PERSON_MATCH.replaceAll('$X', add(filter.person)));
  if (filter.topic) where.push(`topic_tags @> ARRAY[lower(${add(filter.topic)}::text)]`);
  const condition = where.join(' AND ');
  const total = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM moments WHERE ${condition}`,
    values,
  );
  const rows = await db.query(
    `SELECT ${COLUMNS} FROM moments WHERE ${condition}
      ORDER BY COALESCE(resource_timestamp, created_at) DESC, ordinal, id
      LIMIT ${add(limit)} OFFSET ${add(filter.offset ?? 0)}`,
    values,
  );
  return { total: total.rows[0]?.n ?? 0, moments: rows.rows.map(view) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One of the tenant's moments by id; undefined when the tenant has none by that id (or it is no uuid). */
export async function getMoment(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  id: string,
): Promise<MomentView | undefined> {
  if (!UUID.test(id)) return undefined;
  const rows = await db.query(`SELECT ${COLUMNS} FROM moments WHERE tenant_id = $1 AND id = $2`, [
    tenantId,
    id,
  ]);
  const row = rows.rows[0];
  return row ? view(row) : undefined;
}
