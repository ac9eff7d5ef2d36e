/**
 * Resource affinity in PostgreSQL: which resources a run links, their nearest neighbours by vector, the
 * edges kept in resources.graph_paths (migration 0013), and a resource's or file's related resources
 * read back (`p8fs related`, GET /v1/resources/{id}/related). Every query names the tenant.
 *
 * The unit is the resource row (a file's chunk), as in the original; a chunk's neighbours are taken from
 * other files only (its own file's chunks are always near and say nothing), one edge per neighbour file
 * (that file's nearest chunk), so five edges name five other documents.
 */
import type pg from 'pg';
import { type GraphEdge, readEdges } from '../domain/insight/affinity.js';
import { USER_CONTEXT_CATEGORY } from '../domain/insight/source-transcript.js';
import { VECTOR_IS_CURRENT, vectorLiteral } from './embeddings/tables.js';

/**
 * Resources of the tenant with a current vector of `provider` whose edges were not computed from that
 * vector yet (affinity_at is the vector's updated_at the edges came from), oldest vector first; all of
 * them with `relink`. The user summary (user_context) is left out: it summarises everything.
 */
export async function affinitySources(
  pool: pg.Pool,
  q: { tenantId: string; provider: string; limit: number; relink: boolean },
): Promise<{ ids: string[]; remaining: number }> {
  const result = await pool.query<{ id: string; total: string }>(
    `SELECT r.id, count(*) OVER () AS total
       FROM resources r
       JOIN embeddings.resources_embeddings e
         ON e.entity_id = r.id AND e.embedding_provider = $2 AND e.field_name = 'content'
      WHERE r.tenant_id = $1 AND COALESCE(r.category, '') <> $3 AND ${VECTOR_IS_CURRENT}
        AND ($5 OR r.affinity_at IS NULL OR r.affinity_at < e.updated_at)
      ORDER BY e.updated_at, r.id
      LIMIT $4`,
    [q.tenantId, q.provider, USER_CONTEXT_CATEGORY, q.limit, q.relink],
  );
  const total = Number(result.rows[0]?.total ?? 0);
  return { ids: result.rows.map((r) => r.id), remaining: Math.max(0, total - result.rows.length) };
}

export interface AffinitySourceRow {
  id: string;
  file_id: string | null;
  name: string;
  category: string | null;
  content: string;
  /**
   * updated_at of the vector the edges are computed from (null: no current vector any more), as text:
   * a JavaScript Date would drop its microseconds, and the next plan compares it with the vector's own.
   */
  vector_at: string | null;
}

export async function affinitySourceRows(
  pool: pg.Pool,
  tenantId: string,
  provider: string,
  ids: readonly string[],
): Promise<AffinitySourceRow[]> {
  const result = await pool.query<AffinitySourceRow>(
    `SELECT r.id, r.file_id, r.name, r.category, r.content, e.updated_at::text AS vector_at
       FROM resources r
       LEFT JOIN embeddings.resources_embeddings e
         ON e.entity_id = r.id AND e.embedding_provider = $3 AND e.field_name = 'content' AND ${VECTOR_IS_CURRENT}
      WHERE r.tenant_id = $1 AND r.id = ANY($2::uuid[])
      ORDER BY r.id`,
    [tenantId, ids, provider],
  );
  return result.rows;
}

export interface Neighbour {
  id: string;
  file_id: string | null;
  name: string;
  category: string | null;
  content: string;
  similarity: number;
}

/**
 * The tenant's resources nearest `vector` (cosine similarity 1 - distance) among vectors of `provider`,
 * other than `source` and its file's chunks, the best chunk per file, best first. Nearest `depth` vectors
 * by the HNSW index of the vector's dimension (migration 0009 explains the literal cast), then grouped.
 */
export async function nearestResources(
  pool: pg.Pool,
  q: {
    tenantId: string;
    provider: string;
    vector: Float32Array;
    source: { id: string; file_id: string | null };
    depth: number;
    limit: number;
  },
): Promise<Neighbour[]> {
  const dimensions = q.vector.length;
  // An integer from our own array's length, so it may be written into the SQL (the index needs literals).
  const typed = `vector(${dimensions})`;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`SET hnsw.ef_search = ${Math.max(40, Math.min(1000, q.depth))}`);
    await client.query('SET hnsw.iterative_scan = relaxed_order');
    const result = await client.query<Neighbour>(
      `WITH nearest AS MATERIALIZED (
         SELECT e.entity_id, e.embedding_vector::${typed} <=> $1::${typed} AS distance
           FROM embeddings.resources_embeddings e
          WHERE e.vector_dimension = ${dimensions} AND e.tenant_id = $2 AND e.embedding_provider = $3
            AND e.entity_id <> $4
          ORDER BY e.embedding_vector::${typed} <=> $1::${typed}
          LIMIT $6
       ), ranked AS (
         SELECT r.id, r.file_id, r.name, r.category, r.content, 1 - n.distance AS similarity,
                row_number() OVER (PARTITION BY COALESCE(r.file_id, r.id) ORDER BY n.distance, r.id) AS nth
           FROM nearest n JOIN resources r ON r.id = n.entity_id AND r.tenant_id = $2
          WHERE ($5::uuid IS NULL OR r.file_id IS DISTINCT FROM $5::uuid)
            AND COALESCE(r.category, '') <> $8
       )
       SELECT id, file_id, name, category, content, similarity FROM ranked
        WHERE nth = 1 ORDER BY similarity DESC, id LIMIT $7`,
      [
        vectorLiteral(q.vector),
        q.tenantId,
        q.provider,
        q.source.id,
        q.source.file_id,
        q.depth,
        q.limit,
        USER_CONTEXT_CATEGORY,
      ],
    );
    return result.rows.map((r) => ({ ...r, similarity: Number(r.similarity) }));
  } finally {
    await client.query('RESET hnsw.ef_search; RESET hnsw.iterative_scan').catch((error: unknown) => {
      broken = error instanceof Error ? error : new Error(String(error));
    });
    client.release(broken);
  }
}

/**
 * Merges a resource's edges under a row lock: `merge` gets the held edges and returns the new list.
 * affinity_at records the vector the edges came from. Returns null when the row is gone.
 */
export async function updateEdges(
  pool: pg.Pool,
  q: { tenantId: string; id: string; vectorAt: string | null },
  merge: (held: GraphEdge[]) => { edges: GraphEdge[]; added: number },
): Promise<{ added: number; held: number } | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const row = await client.query<{ graph_paths: unknown }>(
      'SELECT graph_paths FROM resources WHERE id = $1 AND tenant_id = $2 FOR UPDATE',
      [q.id, q.tenantId],
    );
    if (row.rows.length === 0) {
      await client.query('ROLLBACK');
      return null;
    }
    // Edges to rows deleted since (a file removed or stored again under new chunk ids) are dropped here.
    const stored = readEdges(row.rows[0]?.graph_paths);
    const alive = await client.query<{ id: string }>(
      'SELECT id::text FROM resources WHERE tenant_id = $1 AND id::text = ANY($2::text[])',
      [q.tenantId, stored.map((e) => e.dst)],
    );
    const exists = new Set(alive.rows.map((r) => r.id));
    const { edges, added } = merge(stored.filter((e) => exists.has(e.dst)));
    await client.query(
      'UPDATE resources SET graph_paths = $3::jsonb, affinity_at = $4::timestamptz WHERE id = $1 AND tenant_id = $2',
      [q.id, q.tenantId, JSON.stringify(edges), q.vectorAt],
    );
    await client.query('COMMIT');
    return { added, held: edges.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export interface RelatedResource {
  id: string;
  name: string;
  category: string | null;
  file_id: string | null;
  file_name: string | null;
  file_path: string | null;
  weight: number;
  rel_type: string;
  match_type: string | null;
  similarity: number | null;
  /** out: the edge is held by the asked resource; in: held by the neighbour (it linked to the asked one). */
  direction: 'out' | 'in';
}

/**
 * What a file's chunks (or one resource) are related to, both ways: the edges they hold and the edges
 * other resources hold to them, one line per neighbour file (or resource without a file), its strongest
 * edge, strongest first. Edges to rows that no longer exist are left out.
 */
export async function relatedResources(
  pool: pg.Pool,
  tenantId: string,
  ids: readonly string[],
  limit: number,
): Promise<RelatedResource[]> {
  const result = await pool.query<RelatedResource & { weight: string | number }>(
    `WITH edges AS (
       SELECT (x.e->>'dst')::uuid AS other, x.e, 'out' AS direction
         FROM resources s, jsonb_array_elements(s.graph_paths) x(e)
        WHERE s.tenant_id = $1 AND s.id = ANY($2::uuid[]) AND jsonb_typeof(s.graph_paths) = 'array'
          AND x.e->>'dst' ~ '^[0-9a-f-]{36}$'
       UNION ALL
       SELECT s.id AS other, x.e, 'in' AS direction
         FROM resources s, jsonb_array_elements(s.graph_paths) x(e)
        WHERE s.tenant_id = $1 AND s.graph_paths @> ANY(
                ARRAY(SELECT jsonb_build_array(jsonb_build_object('dst', d::text)) FROM unnest($2::uuid[]) d))
          AND x.e->>'dst' = ANY($2::text[]) AND NOT s.id = ANY($2::uuid[])
     ), ranked AS (
       SELECT r.id, r.name, r.category, r.file_id, f.name AS file_name, f.path AS file_path,
              (e.e->>'weight')::float8 AS weight, e.e->>'rel_type' AS rel_type,
              e.e->'properties'->>'match_type' AS match_type,
              (e.e->'properties'->>'similarity')::float8 AS similarity, e.direction,
              row_number() OVER (PARTITION BY COALESCE(r.file_id, r.id)
                                 ORDER BY (e.e->>'weight')::float8 DESC, e.direction DESC, r.id) AS nth
         FROM edges e
         JOIN resources r ON r.id = e.other AND r.tenant_id = $1
         LEFT JOIN files f ON f.id = r.file_id
        WHERE NOT r.id = ANY($2::uuid[])
     )
     SELECT id, name, category, file_id, file_name, file_path, weight, rel_type, match_type, similarity, direction
       FROM ranked WHERE nth = 1 ORDER BY weight DESC, id LIMIT $3`,
    [tenantId, ids, limit],
  );
  return result.rows.map((r) => ({ ...r, weight: Number(r.weight) }));
}

export interface RelatedTarget {
  kind: 'file' | 'resource';
  id: string;
  name: string;
  /** The resources whose edges are read: the file's chunks, or the one resource. */
  resourceIds: string[];
}

/**
 * A file or resource by id, or a file by name or path (the newest when names repeat), of the tenant.
 * Null when the tenant has none.
 */
export async function findRelatedTarget(
  pool: pg.Pool,
  tenantId: string,
  ref: string,
  only?: RelatedTarget['kind'],
): Promise<RelatedTarget | null> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
  if (isUuid && only !== 'file') {
    const resource = await pool.query<{ id: string; name: string }>(
      'SELECT id, name FROM resources WHERE tenant_id = $1 AND id = $2',
      [tenantId, ref],
    );
    const r = resource.rows[0];
    if (r) return { kind: 'resource', id: r.id, name: r.name, resourceIds: [r.id] };
  }
  if (only === 'resource') return null;
  const file = await pool.query<{ id: string; name: string; chunks: string[] }>(
    `SELECT f.id, f.name, ARRAY(SELECT r.id::text FROM resources r WHERE r.file_id = f.id ORDER BY r.ordinal) AS chunks
       FROM files f
      WHERE f.tenant_id = $1 AND (${isUuid ? 'f.id::text = lower($2) OR ' : ''}f.name = $2 OR f.path = $2 OR f.uri = $2)
      ORDER BY f.created_at DESC LIMIT 1`,
    [tenantId, ref],
  );
  const f = file.rows[0];
  return f ? { kind: 'file', id: f.id, name: f.name, resourceIds: f.chunks } : null;
}
