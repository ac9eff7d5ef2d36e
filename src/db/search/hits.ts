/** The rows of a page of hits: each chunk with its file, pages and snippet (src/db/search.ts). */
import type pg from 'pg';
import { SEARCH_CONFIG, type SearchHit, SNIPPET_START, SNIPPET_STOP } from './query.js';

/**
 * Snippet: up to two fragments of 8 to 30 words around the matches. HighlightAll=false keeps it short;
 * the delimiter shows where text was left out.
 */
const HEADLINE_OPTIONS = `StartSel=${SNIPPET_START}, StopSel=${SNIPPET_STOP}, MaxWords=30, MinWords=8, MaxFragments=2, FragmentDelimiter=" … "`;
/** A chunk found by meaning alone shows its opening words, as many as a headline holds. */
const OPENING_WORDS = 30;

/** What a page of hits is made from: the chunk and its score(s). */
export interface RankedId {
  id: string;
  rank: number;
  similarity?: number;
  textRank?: number;
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
  headline: string | null;
  opening: string | null;
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

/** The first OPENING_WORDS words of a chunk, with an ellipsis when there is more. */
export function openingWords(text: string): string {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const head = words.slice(0, OPENING_WORDS).join(' ');
  return words.length > OPENING_WORDS ? `${head} …` : head;
}

function toHit(row: HitRow, ranked: RankedId): SearchHit {
  const meta = row.metadata ?? {};
  const hit: SearchHit = {
    resourceId: row.id,
    fileId: row.file_id,
    fileName: row.name,
    path: row.path,
    uri: row.uri,
    category: row.category,
    ordinal: row.ordinal,
    rank: ranked.rank,
    snippet: row.headline ?? openingWords(row.opening ?? ''),
  };
  if (ranked.similarity !== undefined) hit.similarity = ranked.similarity;
  if (ranked.textRank !== undefined) hit.textRank = ranked.textRank;
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
 * The hits for `ranked` (one page, in its order), of the tenant only. Snippets, the costly part, are
 * made for this page alone: ts_headline where the chunk matches the query's words (whatever the mode
 * that found it), its opening words otherwise (cut in SQL first, so a megabyte chunk is not shipped
 * for 30 words).
 */
export async function loadHits(
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  query: string,
  ranked: readonly RankedId[],
): Promise<SearchHit[]> {
  if (ranked.length === 0) return [];
  const result = await db.query<HitRow>(
    `SELECT r.id, r.file_id, f.path,
            -- A chunk's own name, uri and category are the original P8FS's (Sample_chunk_0, content_chunk):
            -- a hit names its file as the files row does.
            COALESCE(f.name, r.metadata->>'file_name', r.name) AS name,
            COALESCE(f.uri, r.metadata->>'file_uri', r.uri) AS uri,
            COALESCE(f.category, r.metadata->>'file_category', r.category) AS category,
            r.ordinal, r.metadata,
            CASE WHEN r.search_vector @@ q.query THEN ts_headline($1::regconfig, r.content, q.query, $4::text) END
              AS headline,
            CASE WHEN NOT r.search_vector @@ q.query THEN left(r.content, 2000) END AS opening
       FROM unnest($5::uuid[]) AS m(id)
       JOIN resources r ON r.id = m.id AND r.tenant_id = $2
       CROSS JOIN websearch_to_tsquery($1::regconfig, $3) AS q(query)
       LEFT JOIN files f ON f.id = r.file_id`,
    [SEARCH_CONFIG, tenantId, query, HEADLINE_OPTIONS, ranked.map((r) => r.id)],
  );
  const rows = new Map(result.rows.map((row) => [row.id, row]));
  // A chunk deleted between ranking and loading is left out rather than shown empty.
  return ranked.flatMap((r) => {
    const row = rows.get(r.id);
    return row ? [toHit(row, r)] : [];
  });
}
