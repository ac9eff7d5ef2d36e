/** What a search takes and gives (src/db/search.ts), and the checks of its input. */

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
 * Matches are counted up to this many; beyond it `total` is this figure with `totalCapped` (shown
 * "1000+"), so a common word does not make every search count a whole tenant's chunks.
 */
export const MAX_COUNTED_TOTAL = 1000;

export const SEARCH_MODES = ['text', 'semantic', 'hybrid'] as const;
/**
 * text: full-text (words, stems, phrases). semantic: by meaning, cosine similarity of the query's vector to
 * the chunks' vectors of the configured provider. hybrid: both rankings fused by reciprocal rank (k = 60).
 */
export type SearchMode = (typeof SEARCH_MODES)[number];

/** Makes the query's vector on demand: only when the tenant has vectors of this provider to compare. */
export interface QueryEmbedder {
  /** embedding_provider of the vectors the query is compared with (the configured provider's name). */
  readonly provider: string;
  embed(query: string): Promise<Float32Array | readonly number[]>;
}

/** A query searchResources cannot run (empty, too long, a bad limit): the caller's input, not the server. */
export class SearchQueryError extends Error {
  override readonly name = 'SearchQueryError';
}

/** The embedder failed on the query of a semantic or hybrid search asked for by name (the cause attached). */
export class QueryEmbeddingError extends Error {
  override readonly name = 'QueryEmbeddingError';
}

export interface SearchOptions {
  tenantId: string;
  /** Search-box syntax: words, "a phrase", or, -excluded. */
  query: string;
  /** Hits per page: 1..MAX_SEARCH_LIMIT (default DEFAULT_SEARCH_LIMIT). */
  limit?: number;
  /** Hits to skip, for the next page (default 0). */
  offset?: number;
  /**
   * Unset: hybrid when the tenant has vectors of the embedder's provider, otherwise text (with a note).
   * semantic and hybrid need `embedder`.
   */
  mode?: SearchMode;
  embedder?: QueryEmbedder;
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
  /**
   * The hit's score in the mode searched, higher is better, comparable within one result only: text,
   * ts_rank_cd normalised into [0, 1); semantic, the cosine similarity 1 - (vector <=> query); hybrid, the
   * reciprocal-rank-fusion score Σ 1 / (60 + rank).
   */
  rank: number;
  /** semantic and hybrid: the cosine similarity, when the chunk was among the nearest vectors. */
  similarity?: number;
  /** hybrid: the full-text rank (ts_rank_cd), when the chunk matched the words. */
  textRank?: number;
  /**
   * A short passage of the chunk: matched words marked «like this»; a chunk found by meaning alone
   * shows its opening words.
   */
  snippet: string;
}

export interface SearchResult {
  query: string;
  /** The mode that ran (the one asked for, or the default chosen: see `note`). */
  mode: SearchMode;
  /** The query as PostgreSQL understood it (websearch_to_tsquery), e.g. 'report' & 'budget'. */
  parsedQuery: string;
  /**
   * text: matching chunks of the tenant over all pages, counted up to MAX_COUNTED_TOTAL. semantic and
   * hybrid: the candidates ranked (the nearest vectors and the best word matches, up to the search depth).
   */
  total: number;
  /** There are more than `total` (shown "1000+"). */
  totalCapped?: boolean;
  limit: number;
  offset: number;
  hits: SearchHit[];
  /** Why the result may not be what was expected: stop words only, no vectors yet for the tenant. */
  note?: string;
}

export interface CheckedOptions {
  query: string;
  limit: number;
  offset: number;
}

export function checkOptions(options: SearchOptions): CheckedOptions {
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
  if (options.mode !== undefined && !SEARCH_MODES.includes(options.mode))
    throw new SearchQueryError(`mode must be one of ${SEARCH_MODES.join(', ')}, got ${String(options.mode)}`);
  if ((options.mode === 'semantic' || options.mode === 'hybrid') && !options.embedder)
    throw new SearchQueryError(`${options.mode} search needs an embedding provider to embed the query`);
  return { query, limit, offset };
}

/** The note of a tenant without vectors of the configured provider, naming the command that makes them. */
export function noVectorsNote(tenantId: string, provider: string): string {
  return `no vectors yet for tenant ${tenantId} (provider ${provider}): run \`p8fs embed backfill --tenant ${tenantId}\``;
}
