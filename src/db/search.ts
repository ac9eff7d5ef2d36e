/**
 * Full-text search over one tenant's resources (the chunks of its files): `p8fs search` and the HTTP
 * API's GET /v1/search both call searchResources. The vector is resources.search_vector (migration
 * 0006_search.sql: english configuration, file name > heading > text); queries use the same
 * configuration, so "reports" finds "report" and stop words are ignored.
 *
 * Queries are written as people type them into a search box (websearch_to_tsquery): words are ANDed,
 * "quoted words" are a phrase, `or` between words is OR, a leading `-` excludes a word. Hits are ranked
 * by cover density (ts_rank_cd: how close together the words are, and how much weight where they occur)
 * and shown with a snippet (ts_headline) in which the matching words are marked «like this».
 */
import type pg from 'pg';

/** The text search configuration of resources.search_vector (0006_search.sql); both must agree. */
export const SEARCH_CONFIG = 'english';

/** The marks ts_headline puts around matched words in a snippet. */
export const SNIPPET_START = '«';
export const SNIPPET_STOP = '»';

export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 100;
/** The longest query accepted: a search box, not a document (and ts_headline's cost grows with it). */
export const MAX_QUERY_LENGTH = 1000;

/**
 * ts_rank_cd normalisation: 1 divides by 1 + log(length), so a long chunk does not win by length alone;
 * 32 maps the rank into [0, 1) (rank / (rank + 1)), a figure an API client can show or threshold.
 */
const RANK_NORMALIZATION = 1 | 32;

/**
 * Snippet: up to two fragments of 8 to 30 words around the matches. HighlightAll=false keeps it short;
 * the delimiter shows where text was left out.
 */
const HEADLINE_OPTIONS = `StartSel=${SNIPPET_START}, StopSel=${SNIPPET_STOP}, MaxWords=30, MinWords=8, MaxFragments=2, FragmentDelimiter=" … "`;

/** A query searchResources cannot run (empty, too long, a bad limit): the caller's input, not the server. */
export class SearchQueryError extends Error {
  override readonly name = 'SearchQueryError';
}

export interface SearchOptions {
  tenantId: string;
  /** Search-box syntax: words, "a phrase", or, -excluded. */
  query: string;
  /** Hits per page: 1..MAX_SEARCH_LIMIT (default DEFAULT_SEARCH_LIMIT). */
  limit?: number;
  /** Hits to skip, for the next page (default 0). */
  offset?: number;
}

/** One matching chunk, with where it came from. Optional fields are absent when the chunk has none. */
export interface SearchHit {
  resourceId: string;
  fileId: string | null;
  /** The file's name (files.name), e.g. "Sample.pdf". */
  fileName: string;
  /** Where the file lives: /buckets/{tenant}/{category}/{file…} (files.path), when the file row exists. */
  path: string | null;
  /** s3://bucket/key of the object the chunk was made from. */
  uri: string | null;
  category: string | null;
  /** Position of the chunk in its file (0-based). */
  ordinal: number;
  /** Pages the chunk's text came from (PDF, OCR), 1-based. */
  pages?: number[];
  heading?: string;
  sheets?: string[];
  slides?: number[];
  startSeconds?: number;
  endSeconds?: number;
  /** ts_rank_cd, normalised into [0, 1): higher is better; comparable within one query only. */
  rank: number;
  /** A short passage of the chunk with the matched words marked «like this». */
  snippet: string;
}

export interface SearchResult {
  query: string;
  /** The query as PostgreSQL understood it (websearch_to_tsquery), e.g. 'report' & 'budget'. */
  parsedQuery: string;
  /** Matching chunks in the tenant, over all pages. */
  total: number;
  limit: number;
  offset: number;
  hits: SearchHit[];
  /** Set when the query held only stop words or no words at all, so nothing could match. */
  note?: string;
}

interface HitRow {
  id: string;
  file_id: string | null;
  name: string;
  path: string | null;
  uri: string | null;
  category: string | null;
  ordinal: number;
  metadata: Record<string, unknown> | null;
  rank: number;
  snippet: string;
  total: string;
}

function checkOptions(options: SearchOptions): { query: string; limit: number; offset: number } {
  if (!options.tenantId || options.tenantId.trim() === '')
    throw new SearchQueryError('search needs a tenant id');
  const query = (options.query ?? '').trim();
  if (query === '') throw new SearchQueryError('search query is empty: give one or more words to look for');
  if (query.length > MAX_QUERY_LENGTH)
    throw new SearchQueryError(
      `search query is ${query.length} characters long; at most ${MAX_QUERY_LENGTH} are accepted`,
    );
  if (query.includes('\u0000')) throw new SearchQueryError('search query contains a NUL character');
  const limit = options.limit ?? DEFAULT_SEARCH_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT)
    throw new SearchQueryError(`limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}, got ${limit}`);
  const offset = options.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0)
    throw new SearchQueryError(`offset must be a whole number of 0 or more, got ${offset}`);
  return { query, limit, offset };
}

function numbers(value: unknown): number[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number')
    ? (value as number[])
    : undefined;
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')
    ? (value as string[])
    : undefined;
}

function toHit(row: HitRow): SearchHit {
  const meta = row.metadata ?? {};
  const hit: SearchHit = {
    resourceId: row.id,
    fileId: row.file_id,
    fileName: row.name,
    path: row.path,
    uri: row.uri,
    category: row.category,
    ordinal: row.ordinal,
    rank: Number(row.rank),
    snippet: row.snippet,
  };
  const pages = numbers(meta.pages);
  if (pages) hit.pages = pages;
  if (typeof meta.heading === 'string' && meta.heading !== '') hit.heading = meta.heading;
  const sheets = strings(meta.sheets);
  if (sheets) hit.sheets = sheets;
  const slides = numbers(meta.slides);
  if (slides) hit.slides = slides;
  if (typeof meta.start_seconds === 'number') hit.startSeconds = meta.start_seconds;
  if (typeof meta.end_seconds === 'number') hit.endSeconds = meta.end_seconds;
  return hit;
}

/**
 * The tenant's chunks matching `query`, best first. Tenant-scoped in the WHERE clause: no other
 * tenant's row can appear whatever the query says. The ranking runs over every match (the GIN index on
 * search_vector finds them); snippets, the costly part, only for the page returned.
 */
export async function searchResources(
  db: pg.Pool | pg.ClientBase,
  options: SearchOptions,
): Promise<SearchResult> {
  const { query, limit, offset } = checkOptions(options);
  const parsed = await db.query<{ parsed: string; nodes: number }>(
    'SELECT q::text AS parsed, numnode(q) AS nodes FROM websearch_to_tsquery($1::regconfig, $2) AS q',
    [SEARCH_CONFIG, query],
  );
  const parsedQuery = parsed.rows[0]?.parsed ?? '';
  const base = { query, parsedQuery, limit, offset };
  if ((parsed.rows[0]?.nodes ?? 0) === 0) {
    return {
      ...base,
      total: 0,
      hits: [],
      note: 'the query holds only stop words (like "the", "and") or no words at all, so nothing can match; add a more specific word',
    };
  }
  const result = await db.query<HitRow>(
    `WITH q AS (SELECT websearch_to_tsquery($1::regconfig, $3) AS query),
     ranked AS (
       SELECT r.id, r.file_id, r.name, r.uri, r.category, r.ordinal, r.metadata, r.content,
              ts_rank_cd(r.search_vector, q.query, $6::int) AS rank,
              count(*) OVER () AS total
       FROM resources r, q
       WHERE r.tenant_id = $2 AND r.search_vector @@ q.query
       ORDER BY rank DESC, r.file_id, r.ordinal
       LIMIT $4 OFFSET $5
     )
     SELECT ranked.id, ranked.file_id, f.path,
            -- A chunk's own name, uri and category are the original P8FS's (Sample_chunk_0, content_chunk):
            -- a hit names its file as the files row does.
            COALESCE(f.name, ranked.metadata->>'file_name', ranked.name) AS name,
            COALESCE(f.uri, ranked.metadata->>'file_uri', ranked.uri) AS uri,
            COALESCE(f.category, ranked.metadata->>'file_category', ranked.category) AS category,
            ranked.ordinal,
            ranked.metadata, ranked.rank, ranked.total,
            ts_headline($1::regconfig, ranked.content, q.query, $7::text) AS snippet
     FROM ranked CROSS JOIN q LEFT JOIN files f ON f.id = ranked.file_id
     ORDER BY ranked.rank DESC, ranked.file_id, ranked.ordinal`,
    [SEARCH_CONFIG, options.tenantId, query, limit, offset, RANK_NORMALIZATION, HEADLINE_OPTIONS],
  );
  let total = Number(result.rows[0]?.total ?? 0);
  if (result.rows.length === 0 && offset > 0) {
    // Past the last page the window count has no row to ride on: count on its own, so `total` stays true.
    const count = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM resources
       WHERE tenant_id = $2 AND search_vector @@ websearch_to_tsquery($1::regconfig, $3)`,
      [SEARCH_CONFIG, options.tenantId, query],
    );
    total = count.rows[0]?.n ?? 0;
  }
  return { ...base, total, hits: result.rows.map(toHit) };
}

/** The one-line location of a hit: file, pages (or slides, sheets, time range) and heading. */
export function hitLocation(hit: SearchHit): string {
  const parts = [hit.path ?? hit.uri ?? hit.fileName];
  if (hit.pages)
    parts.push(hit.pages.length === 1 ? `page ${hit.pages[0]}` : `pages ${hit.pages.join(', ')}`);
  if (hit.slides)
    parts.push(hit.slides.length === 1 ? `slide ${hit.slides[0]}` : `slides ${hit.slides.join(', ')}`);
  if (hit.sheets) parts.push(`sheet ${hit.sheets.join(', ')}`);
  if (hit.startSeconds !== undefined && hit.endSeconds !== undefined)
    parts.push(`${hit.startSeconds.toFixed(1)}–${hit.endSeconds.toFixed(1)} s`);
  if (hit.heading) parts.push(`§ ${hit.heading}`);
  parts.push(`chunk ${hit.ordinal}`);
  return parts.join(' · ');
}
