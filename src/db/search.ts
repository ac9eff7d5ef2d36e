/**
 * Search over one tenant's resources (the chunks of its files), for `p8fs search` and GET /v1/search, in
 * three modes (docs/SEARCH.md):
 *   text      full-text (src/db/search/text.ts): words, stems, phrases, ranked by ts_rank_cd;
 *   semantic  by meaning (src/db/search/vector.ts): cosine similarity of the query's vector to the chunks'
 *             vectors of the configured provider;
 *   hybrid    both rankings fused by reciprocal rank, k = 60 (src/domain/rank-fusion.ts).
 * Without a mode: hybrid when the tenant has vectors of the configured provider, otherwise text with a
 * note naming the backfill command. The query's vector comes from the caller's embedder, asked only when
 * vectors are there to compare: this layer knows no embedding provider.
 *
 * Every query is tenant-scoped in its WHERE clause; a query that requires no word at all (only excluded
 * words) is refused, and text matches are counted up to MAX_COUNTED_TOTAL, so no search ranks or counts
 * a whole tenant for nothing (issue 25).
 */
import type pg from 'pg';
import { reciprocalRankFusion } from '../domain/rank-fusion.js';
import { loadHits, type RankedId } from './search/hits.js';
import {
  type CheckedOptions,
  checkOptions,
  MAX_COUNTED_TOTAL,
  noVectorsNote,
  type QueryEmbedder,
  QueryEmbeddingError,
  type SearchHit,
  type SearchMode,
  type SearchOptions,
  type SearchResult,
} from './search/query.js';
import { countTextMatches, type ParsedQuery, parseTextQuery, rankByText } from './search/text.js';
import { rankByVector, tenantHasVectors } from './search/vector.js';

export {
  DEFAULT_SEARCH_LIMIT,
  MAX_COUNTED_TOTAL,
  MAX_QUERY_LENGTH,
  MAX_SEARCH_LIMIT,
  type QueryEmbedder,
  QueryEmbeddingError,
  SEARCH_CONFIG,
  SEARCH_MODES,
  type SearchHit,
  type SearchMode,
  type SearchOptions,
  SearchQueryError,
  type SearchResult,
  SNIPPET_START,
  SNIPPET_STOP,
} from './search/query.js';
export { tenantHasVectors } from './search/vector.js';

/**
 * How many candidates each ranking gives semantic and hybrid search: the same for every page up to it,
 * so page 2 continues page 1's order; deeper pages ask for more, up to MAX_COUNTED_TOTAL.
 */
export const SEARCH_DEPTH = 100;

const STOP_WORDS_NOTE =
  'the query holds only stop words (like "the", "and") or no words at all, so nothing can match; add a more specific word';

type Db = pg.Pool | pg.ClientBase;

interface Plan {
  mode: SearchMode;
  note?: string;
}

/** The mode to run: the one asked for, or the default; hybrid and semantic only where vectors are. */
async function plan(db: Db, options: SearchOptions): Promise<Plan> {
  const { mode, embedder, tenantId } = options;
  if (mode === 'text' || !embedder) return { mode: mode ?? 'text' };
  if (await tenantHasVectors(db, tenantId, embedder.provider)) return { mode: mode ?? 'hybrid' };
  const note = noVectorsNote(tenantId, embedder.provider);
  // Asked for semantic: nothing to compare, said plainly. Otherwise the words still find what they can.
  return mode === 'semantic' ? { mode, note } : { mode: 'text', note };
}

export async function searchResources(db: Db, options: SearchOptions): Promise<SearchResult> {
  const checked = checkOptions(options);
  const parsed = await parseTextQuery(db, checked.query);
  const { mode, note } = await plan(db, options);
  const base = {
    query: checked.query,
    mode,
    parsedQuery: parsed.text,
    limit: checked.limit,
    offset: checked.offset,
  };
  const withNote = (result: SearchResult, extra?: string): SearchResult => {
    // The query's own problem (stop words only) first: it is the reason for no hits.
    const notes = [extra, note].filter((n): n is string => n !== undefined);
    return notes.length > 0 ? { ...result, note: notes.join('; ') } : result;
  };
  if (mode === 'semantic' && note) return withNote({ ...base, total: 0, hits: [] });
  if (mode === 'text') {
    if (!parsed.hasWords) return withNote({ ...base, total: 0, hits: [] }, STOP_WORDS_NOTE);
    return withNote({ ...base, ...(await textPage(db, options.tenantId, checked)) });
  }
  const embedder = options.embedder as QueryEmbedder;
  let vector: Float32Array | readonly number[];
  try {
    vector = await embedder.embed(checked.query);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (options.mode !== undefined)
      throw new QueryEmbeddingError(
        `embedding provider ${embedder.provider} could not embed the query: ${reason}`,
        {
          cause: error,
        },
      );
    // The default mode: the words still find what they can, and the result says why it is text only.
    const fallback = { ...base, mode: 'text' as const };
    const why = `the query could not be embedded by ${embedder.provider} (${reason}): searched by words only`;
    if (!parsed.hasWords) return withNote({ ...fallback, total: 0, hits: [] }, `${why}; ${STOP_WORDS_NOTE}`);
    return withNote({ ...fallback, ...(await textPage(db, options.tenantId, checked)) }, why);
  }
  return withNote({
    ...base,
    ...(await meaningPage(db, options.tenantId, checked, parsed, mode, embedder.provider, vector)),
  });
}

async function textPage(
  db: Db,
  tenantId: string,
  { query, limit, offset }: CheckedOptions,
): Promise<Pick<SearchResult, 'total' | 'totalCapped' | 'hits'>> {
  const [ranked, counted] = await Promise.all([
    rankByText(db, tenantId, query, limit, offset),
    countTextMatches(db, tenantId, query),
  ]);
  const hits = await loadHits(
    db,
    tenantId,
    query,
    ranked.map((r) => ({ id: r.id, rank: r.rank })),
  );
  return { total: counted.total, ...(counted.capped ? { totalCapped: true } : {}), hits };
}

/** semantic: the vector ranking alone; hybrid: fused with the text ranking (no words: vectors alone). */
async function meaningPage(
  db: Db,
  tenantId: string,
  { query, limit, offset }: CheckedOptions,
  parsed: ParsedQuery,
  mode: SearchMode,
  provider: string,
  vector: Float32Array | readonly number[],
): Promise<Pick<SearchResult, 'total' | 'totalCapped' | 'hits'>> {
  const depth = Math.min(MAX_COUNTED_TOTAL, Math.max(SEARCH_DEPTH, offset + limit));
  const useText = mode === 'hybrid' && parsed.hasWords;
  const [byText, byVector] = await Promise.all([
    useText ? rankByText(db, tenantId, query, depth) : Promise.resolve([]),
    rankByVector(db, tenantId, provider, vector, depth),
  ]);
  const capped = byText.length === depth || byVector.length === depth;
  let ranked: RankedId[];
  if (mode === 'semantic') {
    ranked = byVector.map((v) => ({ id: v.id, rank: v.similarity, similarity: v.similarity }));
  } else {
    const textRank = new Map(byText.map((t) => [t.id, t.rank]));
    const similarity = new Map(byVector.map((v) => [v.id, v.similarity]));
    ranked = reciprocalRankFusion([byText.map((t) => t.id), byVector.map((v) => v.id)]).map((item) => {
      const hit: RankedId = { id: item.id, rank: item.score };
      const s = similarity.get(item.id);
      if (s !== undefined) hit.similarity = s;
      const t = textRank.get(item.id);
      if (t !== undefined) hit.textRank = t;
      return hit;
    });
  }
  const hits = await loadHits(db, tenantId, query, ranked.slice(offset, offset + limit));
  return { total: ranked.length, ...(capped ? { totalCapped: true } : {}), hits };
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
