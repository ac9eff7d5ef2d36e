/**
 * Full-text ranking over one tenant's chunks: resources.search_vector (migration 0006_search.sql: english
 * configuration, file name > heading > text) against websearch_to_tsquery of the query, ranked by cover
 * density (ts_rank_cd). Queries are written as people type them into a search box: words are ANDed,
 * "quoted words" are a phrase, `or` between words is OR, a leading `-` excludes a word.
 */
import type pg from 'pg';
import { MAX_COUNTED_TOTAL, SEARCH_CONFIG, SearchQueryError } from './query.js';

/**
 * ts_rank_cd normalisation: 1 divides by 1 + log(length), so a long chunk does not win by length alone;
 * 32 maps the rank into [0, 1) (rank / (rank + 1)), a figure an API client can show or threshold.
 */
const RANK_NORMALIZATION = 1 | 32;

export interface ParsedQuery {
  /** The tsquery as text, e.g. 'report' & 'budget'. */
  text: string;
  /** False when the query held only stop words or no words at all: no chunk can match. */
  hasWords: boolean;
}

/**
 * What PostgreSQL makes of the query. A query that an empty chunk would match (only excluded words:
 * `-foo`, `foo or -bar`) needs no word at all and would rank every chunk of the tenant: refused.
 */
export async function parseTextQuery(db: pg.Pool | pg.ClientBase, query: string): Promise<ParsedQuery> {
  const parsed = await db.query<{ parsed: string; nodes: number; matches_nothing: boolean }>(
    `SELECT q::text AS parsed, numnode(q) AS nodes, ''::tsvector @@ q AS matches_nothing
       FROM websearch_to_tsquery($1::regconfig, $2) AS q`,
    [SEARCH_CONFIG, query],
  );
  const row = parsed.rows[0];
  if (row?.matches_nothing)
    throw new SearchQueryError(
      `a search needs at least one word to find: ${JSON.stringify(query)} only excludes words (searched as ${row.parsed}); add a word the chunks must contain`,
    );
  return { text: row?.parsed ?? '', hasWords: (row?.nodes ?? 0) > 0 };
}

export interface TextRanked {
  id: string;
  rank: number;
}

/**
 * The tenant's chunks matching `query`, best first, `limit` from `offset`. Tenant-scoped in the WHERE
 * clause: no other tenant's row can appear whatever the query says. The GIN index on search_vector finds
 * the matches; ranking orders them all (a query always requires a word, see parseTextQuery).
 */
export async function rankByText(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  query: string,
  limit: number,
  offset = 0,
): Promise<TextRanked[]> {
  const result = await db.query<{ id: string; rank: number }>(
    `SELECT r.id, ts_rank_cd(r.search_vector, q.query, $5::int) AS rank
       FROM resources r, websearch_to_tsquery($1::regconfig, $3) AS q(query)
      WHERE r.tenant_id = $2 AND r.search_vector @@ q.query
      ORDER BY rank DESC, r.file_id, r.ordinal
      LIMIT $4 OFFSET $6`,
    [SEARCH_CONFIG, tenantId, query, limit, RANK_NORMALIZATION, offset],
  );
  return result.rows.map((row) => ({ id: row.id, rank: Number(row.rank) }));
}

/** How many of the tenant's chunks match, counted up to MAX_COUNTED_TOTAL (then capped). */
export async function countTextMatches(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  query: string,
): Promise<{ total: number; capped: boolean }> {
  const result = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM resources
        WHERE tenant_id = $2 AND search_vector @@ websearch_to_tsquery($1::regconfig, $3)
        LIMIT $4) AS found`,
    [SEARCH_CONFIG, tenantId, query, MAX_COUNTED_TOTAL + 1],
  );
  const n = result.rows[0]?.n ?? 0;
  return n > MAX_COUNTED_TOTAL ? { total: MAX_COUNTED_TOTAL, capped: true } : { total: n, capped: false };
}
