/**
 * Rows lacking a current vector of a provider, and vectors written for them: what the embed step
 * (src/activities/embed) and the backfill read and write. Every statement names the tenant.
 *
 * A row lacks a vector when it has none of the provider, or the one it has was made from other text
 * (VECTOR_IS_CURRENT, tables.ts). Writes go through the rows: a vector is stored only while its row
 * exists and holds the text it was made from, so a store or delete racing an embed never leaves a vector
 * that describes text the row no longer has, or a vector of a deleted row.
 */
import type pg from 'pg';
import { embeddingIdFor } from '../../domain/ids.js';
import {
  EMBEDDED_FIELD,
  EMBEDDING_TABLES,
  type EmbeddedKind,
  VECTOR_IS_CURRENT,
  vectorLiteral,
} from './tables.js';

/** A row to embed: its id, its text and that text's md5 as PostgreSQL computes it. */
export interface PendingRow {
  id: string;
  content: string;
  hash: string;
  /** The row's order within its file or transcript (a file's pages are read by it). */
  ordinal: number;
  /** resources only: the file the chunk belongs to. */
  fileId?: string | null;
}

/** `NOT EXISTS` a current vector of `$provider` for row `r`. */
function lacksVector(kind: EmbeddedKind, provider: string): string {
  return `NOT EXISTS (SELECT 1 FROM ${EMBEDDING_TABLES[kind].vectors} e
                       WHERE e.entity_id = r.id AND e.field_name = '${EMBEDDED_FIELD}'
                         AND e.embedding_provider = ${provider} AND ${VECTOR_IS_CURRENT})`;
}

/** The next `limit` chunks of a file lacking a vector of `provider`, after ordinal `afterOrdinal`. */
export async function pendingChunksOfFile(
  db: pg.Pool | pg.PoolClient,
  q: { tenantId: string; fileId: string; provider: string; afterOrdinal: number; limit: number },
): Promise<PendingRow[]> {
  const result = await db.query<PendingRow>(
    `SELECT r.id, r.content, md5(r.content) AS hash, r.ordinal, r.file_id AS "fileId"
       FROM resources r
      WHERE r.tenant_id = $1 AND r.file_id = $2 AND r.ordinal > $4 AND ${lacksVector('resources', '$3')}
      ORDER BY r.ordinal LIMIT $5`,
    [q.tenantId, q.fileId, q.provider, q.afterOrdinal, q.limit],
  );
  return result.rows;
}

/** The next `limit` moments of a transcript lacking a vector of `provider`, after ordinal `afterOrdinal`. */
export async function pendingMomentsOfTranscript(
  db: pg.Pool | pg.PoolClient,
  q: { tenantId: string; transcriptRef: string; provider: string; afterOrdinal: number; limit: number },
): Promise<PendingRow[]> {
  const result = await db.query<PendingRow>(
    `SELECT r.id, r.content, md5(r.content) AS hash, r.ordinal
       FROM moments r
      WHERE r.tenant_id = $1 AND r.metadata->>'transcript_ref' = $2 AND r.ordinal > $4
        AND ${lacksVector('moments', '$3')}
      ORDER BY r.ordinal LIMIT $5`,
    [q.tenantId, q.transcriptRef, q.provider, q.afterOrdinal, q.limit],
  );
  return result.rows;
}

export interface TenantPage {
  tenantId: string;
  provider: string;
  /** Rows with ids after this one (null: from the first). */
  afterId: string | null;
  /** …up to and including this one (null: no bound). */
  untilId?: string | null;
  limit: number;
}

function tenantPageQuery(kind: EmbeddedKind, columns: string): string {
  return `SELECT ${columns} FROM ${EMBEDDING_TABLES[kind].rows} r
           WHERE r.tenant_id = $1 AND ($3::uuid IS NULL OR r.id > $3::uuid)
             AND ($4::uuid IS NULL OR r.id <= $4::uuid) AND ${lacksVector(kind, '$2')}
           ORDER BY r.id LIMIT $5`;
}

function tenantPageParams(q: TenantPage): unknown[] {
  return [q.tenantId, q.provider, q.afterId, q.untilId ?? null, q.limit];
}

/**
 * The next `limit` rows of a tenant lacking a vector of `provider`, in id order after `afterId` (the
 * backfill's cursor: ids never move backwards, so a page is never read twice within a run).
 */
export async function pendingRowsOfTenant(
  db: pg.Pool | pg.PoolClient,
  kind: EmbeddedKind,
  q: TenantPage,
): Promise<PendingRow[]> {
  const fileColumn = kind === 'resources' ? ', r.file_id AS "fileId"' : '';
  const result = await db.query<PendingRow>(
    tenantPageQuery(kind, `r.id, r.content, md5(r.content) AS hash, r.ordinal${fileColumn}`),
    tenantPageParams(q),
  );
  return result.rows;
}

/** The ids only of pendingRowsOfTenant: how the backfill cuts its pages before reading any text. */
export async function pendingIdsOfTenant(
  db: pg.Pool | pg.PoolClient,
  kind: EmbeddedKind,
  q: TenantPage,
): Promise<string[]> {
  const result = await db.query<{ id: string }>(tenantPageQuery(kind, 'r.id'), tenantPageParams(q));
  return result.rows.map((row) => row.id);
}

export interface VectorWrite {
  kind: EmbeddedKind;
  tenantId: string;
  provider: string;
  dimensions: number;
  rows: readonly Pick<PendingRow, 'id' | 'hash'>[];
  vectors: readonly ArrayLike<number>[];
}

/**
 * Upserts one vector per row under embeddingIdFor(row, 'content', provider), for the rows that still
 * exist in the tenant with the text hashed when they were read. Returns how many were written.
 */
export async function upsertVectors(db: pg.Pool | pg.PoolClient, w: VectorWrite): Promise<number> {
  if (w.rows.length !== w.vectors.length)
    throw new RangeError(`${w.rows.length} rows but ${w.vectors.length} vectors`);
  if (w.rows.length === 0) return 0;
  const { vectors, rows } = EMBEDDING_TABLES[w.kind];
  const result = await db.query(
    `INSERT INTO ${vectors} (id, entity_id, field_name, embedding_provider, embedding_vector,
                             vector_dimension, tenant_id, content_hash, created_at, updated_at)
     SELECT v.id, v.entity, $2, $3, v.vec::vector, $4, $1, v.hash, now(), now()
       FROM unnest($5::uuid[], $6::uuid[], $7::text[], $8::text[]) AS v(id, entity, hash, vec)
       JOIN ${rows} r ON r.id = v.entity AND r.tenant_id = $1 AND md5(r.content) = v.hash
     ON CONFLICT (entity_id, field_name, embedding_provider) DO UPDATE SET id = EXCLUDED.id,
       embedding_vector = EXCLUDED.embedding_vector,
       vector_dimension = EXCLUDED.vector_dimension, content_hash = EXCLUDED.content_hash,
       tenant_id = EXCLUDED.tenant_id, updated_at = now()`,
    [
      w.tenantId,
      EMBEDDED_FIELD,
      w.provider,
      w.dimensions,
      w.rows.map((row) => embeddingIdFor(row.id, EMBEDDED_FIELD, w.provider)),
      w.rows.map((row) => row.id),
      w.rows.map((row) => row.hash),
      w.vectors.map((vector) => vectorLiteral(vector)),
    ],
  );
  return result.rowCount ?? 0;
}

/** A file's chunks, and how many of them have a current vector of `provider`. */
export async function fileVectorCounts(
  db: pg.Pool | pg.PoolClient,
  q: { tenantId: string; fileId: string; provider: string },
): Promise<{ chunks: number; embedded: number }> {
  const result = await db.query<{ chunks: number; pending: number }>(
    `SELECT count(*)::int AS chunks, count(*) FILTER (WHERE ${lacksVector('resources', '$3')})::int AS pending
       FROM resources r WHERE r.tenant_id = $1 AND r.file_id = $2`,
    [q.tenantId, q.fileId, q.provider],
  );
  const row = result.rows[0] ?? { chunks: 0, pending: 0 };
  return { chunks: row.chunks, embedded: row.chunks - row.pending };
}
