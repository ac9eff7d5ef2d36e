/**
 * Ranking by meaning: the tenant's chunk vectors of one provider (embeddings.resources_embeddings,
 * migration 0009) by cosine similarity to the query's vector, 1 - (vector <=> query).
 *
 * The SQL repeats the HNSW index's cast and predicate literally (vector(N), vector_dimension = N), or the
 * planner cannot use the partial index of that dimension. The tenant and provider are filters on top of
 * the index scan: pgvector's iterative scan (relaxed_order, then sorted again here) keeps reading the
 * graph until the limit is filled with rows that pass them; for a tenant with few vectors the planner
 * may read its rows through the (tenant, provider, dimension) index and sort them exactly instead.
 */
import type pg from 'pg';
import { VECTOR_IS_CURRENT, vectorLiteral } from '../embeddings/tables.js';
import { SearchQueryError } from './query.js';

/** The widest vector pgvector indexes (HNSW on `vector`: 2,000) and then some; only a sanity bound. */
const MAX_DIMENSIONS = 16_000;
/** pgvector's bound on hnsw.ef_search. */
const MAX_EF_SEARCH = 1000;

export interface VectorRanked {
  id: string;
  /** 1 - cosine distance: 1 is the same direction. */
  similarity: number;
}

/** Whether the tenant has any chunk vector of this provider (hybrid search's default needs one). */
export async function tenantHasVectors(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  provider: string,
): Promise<boolean> {
  const found = await db.query(
    'SELECT 1 FROM embeddings.resources_embeddings WHERE tenant_id = $1 AND embedding_provider = $2 LIMIT 1',
    [tenantId, provider],
  );
  return (found.rowCount ?? 0) > 0;
}

/** pgvector's text form of a query vector: the caller's input, so a bad one is a SearchQueryError. */
export function queryVectorLiteral(values: Float32Array | readonly number[]): string {
  if (values.length === 0 || values.length > MAX_DIMENSIONS)
    throw new SearchQueryError(`a query vector needs 1 to ${MAX_DIMENSIONS} numbers, got ${values.length}`);
  try {
    return vectorLiteral(values);
  } catch (error) {
    if (error instanceof RangeError)
      throw new SearchQueryError('the query vector holds a number that is not finite');
    throw error;
  }
}

/**
 * The tenant's `depth` chunks nearest the query vector among the provider's vectors, nearest first (one
 * per chunk: a chunk with several embedded fields counts at its nearest). A vector of another dimension
 * than the query's is never compared.
 */
export async function rankByVector(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  provider: string,
  queryVector: Float32Array | readonly number[],
  depth: number,
): Promise<VectorRanked[]> {
  const literal = queryVectorLiteral(queryVector);
  const dimensions = queryVector.length;
  // An integer from our own array's length, so it may be written into the SQL (the index needs literals).
  const typed = `vector(${dimensions})`;
  const pooled = isPool(db);
  const client = pooled ? await db.connect() : db;
  let broken: Error | undefined;
  try {
    // Session settings on a connection we hold, reset before it goes back (a caller's own client may be
    // inside its transaction, where BEGIN/SET LOCAL would not be ours to end).
    await client.query(`SET hnsw.ef_search = ${Math.min(MAX_EF_SEARCH, Math.max(40, depth))}`);
    await client.query('SET hnsw.iterative_scan = relaxed_order');
    const result = await client.query<{ id: string; similarity: number }>(
      `WITH nearest AS MATERIALIZED (
         SELECT e.entity_id, e.content_hash, e.updated_at, e.embedding_vector::${typed} <=> $1::${typed} AS distance
           FROM embeddings.resources_embeddings e
          WHERE e.vector_dimension = ${dimensions} AND e.tenant_id = $2 AND e.embedding_provider = $3
          ORDER BY e.embedding_vector::${typed} <=> $1::${typed}
          LIMIT $4
       )
       SELECT n.entity_id AS id, 1 - min(n.distance) AS similarity
         FROM nearest n JOIN resources r ON r.id = n.entity_id AND r.tenant_id = $2
        -- A streamed store updates rows in place: a vector of a chunk's old text waits for the embed
        -- step and must not rank the new text meanwhile.
        WHERE ${VECTOR_IS_CURRENT.replaceAll('e.', 'n.')}
        GROUP BY n.entity_id
        ORDER BY min(n.distance), n.entity_id`,
      [literal, tenantId, provider, depth],
    );
    return result.rows.map((row) => ({ id: row.id, similarity: Number(row.similarity) }));
  } finally {
    await client.query('RESET hnsw.ef_search; RESET hnsw.iterative_scan').catch((error: unknown) => {
      broken = error instanceof Error ? error : new Error(String(error));
    });
    if (pooled) (client as pg.PoolClient).release(broken);
  }
}

function isPool(db: pg.Pool | pg.ClientBase): db is pg.Pool {
  return 'totalCount' in db;
}
