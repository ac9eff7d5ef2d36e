/**
 * A file's embedding state (files.embedding_status, migration 0011), apart from its ingestion status: a
 * file is `completed` once its text is stored and searchable by words; its embeddings are then
 *   pending  chunks still lack a vector of the configured provider (the step has not ended, the file was
 *            stored before this release or under another provider, or embedding is off): `p8fs embed
 *            backfill` or the next store fills them;
 *   done     every chunk has a current vector of the configured provider;
 *   failed   the step gave up (a rejected key, retries exhausted): the reason is kept;
 *   off      embedding is switched off (P8FS_EMBEDDINGS_ENABLED=false) and the file has none.
 * `embedded` of `chunks` counts the chunks with a current vector of the configured provider.
 */
import type pg from 'pg';
import { EMBEDDED_FIELD, VECTOR_IS_CURRENT } from './tables.js';

export type EmbeddingStatus = 'pending' | 'done' | 'failed' | 'off';

export interface FileEmbeddings {
  status: EmbeddingStatus;
  provider: string;
  embedded: number;
  chunks: number;
  error: string | null;
}

/** `chunks lacking a current vector of $provider` for file `f`, as a SQL count (provider is a parameter). */
function pendingCount(provider: string): string {
  return `(SELECT count(*) FROM resources r WHERE r.file_id = f.id AND r.tenant_id = f.tenant_id
             AND NOT EXISTS (SELECT 1 FROM embeddings.resources_embeddings e
                              WHERE e.entity_id = r.id AND e.field_name = '${EMBEDDED_FIELD}'
                                AND e.embedding_provider = ${provider} AND ${VECTOR_IS_CURRENT}))`;
}

/**
 * Marks the file `done` for `provider` when none of its chunks lacks a vector, in one statement (a store
 * that replaced the text meanwhile leaves it pending). Returns whether it was marked.
 */
export async function markFileEmbedded(
  db: pg.Pool | pg.PoolClient,
  q: { tenantId: string; fileId: string; provider: string },
): Promise<boolean> {
  const result = await db.query(
    `UPDATE files f SET embedding_status = 'done', embedding_provider = $3, embedding_error = NULL
      WHERE f.id = $2 AND f.tenant_id = $1 AND f.status = 'completed' AND ${pendingCount('$3')} = 0`,
    [q.tenantId, q.fileId, q.provider],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Marks the files of `fileIds` done where nothing is left to embed (the backfill, page by page). */
export async function markFilesEmbedded(
  db: pg.Pool | pg.PoolClient,
  q: { tenantId: string; fileIds: readonly string[]; provider: string },
): Promise<number> {
  if (q.fileIds.length === 0) return 0;
  const result = await db.query(
    `UPDATE files f SET embedding_status = 'done', embedding_provider = $3, embedding_error = NULL
      WHERE f.id = ANY($2::uuid[]) AND f.tenant_id = $1 AND f.status = 'completed'
        AND f.embedding_status IS DISTINCT FROM 'done' AND ${pendingCount('$3')} = 0`,
    [q.tenantId, [...new Set(q.fileIds)], q.provider],
  );
  return result.rowCount ?? 0;
}

export async function markFileEmbeddingFailed(
  db: pg.Pool | pg.PoolClient,
  q: { tenantId: string; fileId: string; provider: string; error: string },
): Promise<void> {
  await db.query(
    `UPDATE files SET embedding_status = 'failed', embedding_provider = $3, embedding_error = $4
      WHERE id = $2 AND tenant_id = $1`,
    [q.tenantId, q.fileId, q.provider, q.error],
  );
}

/**
 * The columns a file listing selects for fileEmbeddings (`f` is the files row). A file marked done for
 * the provider has nothing pending (every store resets the mark, and vectors go only with their rows), so
 * its chunks are not counted: counting a 100k-chunk file's took ~1 s a listing in the soak.
 */
export function fileEmbeddingColumns(providerParam: string): string {
  return `f.embedding_status, f.embedding_provider, f.embedding_error,
          (CASE WHEN f.embedding_status = 'done' AND f.embedding_provider = ${providerParam} THEN 0
                ELSE ${pendingCount(providerParam)} END)::int AS embedding_pending`;
}

export interface FileEmbeddingRow {
  status: string;
  chunk_count: number | null;
  embedding_status: string | null;
  embedding_provider: string | null;
  embedding_error: string | null;
  embedding_pending: number;
}

/** A file's embeddings as shown (API, CLI), for the configured provider and switch. */
export function fileEmbeddings(row: FileEmbeddingRow, provider: string, enabled: boolean): FileEmbeddings {
  const chunks = row.chunk_count ?? 0;
  const embedded = Math.max(0, chunks - row.embedding_pending);
  const ofProvider = row.embedding_provider === provider;
  const status: EmbeddingStatus =
    row.embedding_status === 'failed' && ofProvider
      ? 'failed'
      : row.status === 'completed' && embedded >= chunks
        ? 'done'
        : enabled
          ? 'pending'
          : 'off';
  return { status, provider, embedded, chunks, error: status === 'failed' ? row.embedding_error : null };
}

/** All tenants: completed files by embedding state, and chunk vectors per provider (`p8fs status`). */
export async function embeddingTotals(
  db: pg.Pool | pg.PoolClient,
  provider: string,
): Promise<{ files: Record<string, number>; vectors: Record<string, number> }> {
  const files = await db.query<{ state: string; n: number }>(
    `SELECT CASE WHEN embedding_status = 'failed' AND embedding_provider = $1 THEN 'failed'
                 WHEN embedding_status = 'done' AND embedding_provider = $1 THEN 'done'
                 ELSE 'pending' END AS state, count(*)::int AS n
       FROM files WHERE status = 'completed' GROUP BY 1 ORDER BY 1`,
    [provider],
  );
  const vectors = await db.query<{ provider: string; n: number }>(
    `SELECT embedding_provider AS provider, count(*)::int AS n FROM embeddings.resources_embeddings
      GROUP BY 1 ORDER BY 1`,
  );
  return {
    files: Object.fromEntries(files.rows.map((r) => [r.state, r.n])),
    vectors: Object.fromEntries(vectors.rows.map((r) => [r.provider, r.n])),
  };
}
