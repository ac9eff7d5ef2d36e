/** `make demo` ends with searches over the demo tenant's files: the queries and their runs. */
import type pg from 'pg';
import { createPool } from '../clients/postgres.js';
import type { Config } from '../config/config.js';
import { type QueryEmbedder, type SearchMode, searchResources } from '../db/search.js';
import { errorText } from '../domain/errors.js';
import { embeddingProviderFromConfig } from '../providers/embeddings/index.js';
import { formatSearchResult } from './search-format.js';

/** The query `make demo` ends with: a phrase from page 3 of Sample.pdf, so the hit shows its page. */
export const DEMO_SEARCH_QUERY = 'engram processor for content chunking';

/**
 * The question asked last, in text and in hybrid mode side by side. None of its words is in the demo's
 * files (the diary says "Mom" and "surgery"), so full-text search finds nothing; hybrid search finds the
 * diary's entry by meaning (test/integration/demo-search-meaning.test.ts holds both).
 */
export const DEMO_MEANING_QUERY = 'how is my mother recovering from her operation';

function queryEmbedder(cfg: Config): QueryEmbedder {
  const provider = embeddingProviderFromConfig(cfg);
  return {
    provider: provider.name,
    embed: async (query) => {
      const [vector] = await provider.embed([query]);
      if (!vector) throw new Error(`${provider.name} returned no vector for the query`);
      return vector;
    },
  };
}

/** DEMO_MEANING_QUERY in `mode`, top 3 (what the demo prints and the test checks). */
export function demoMeaningSearch(pool: pg.Pool, cfg: Config, tenantId: string, mode: SearchMode) {
  return searchResources(pool, {
    tenantId,
    query: DEMO_MEANING_QUERY,
    limit: 3,
    mode,
    embedder: queryEmbedder(cfg),
  });
}

/**
 * The demo's last step: one search by words, then one question by meaning in text and hybrid mode side by
 * side. A failed query makes the demo fail (returns false) after saying why.
 */
export async function runDemoSearch(
  cfg: Config,
  tenantId: string,
  say: (line: string) => void,
): Promise<boolean> {
  const tty = process.stdout.isTTY === true;
  say(`search: p8fs search "${DEMO_SEARCH_QUERY}" --tenant ${tenantId} --limit 3`);
  const pool = createPool(cfg, 1);
  try {
    const result = await searchResources(pool, {
      tenantId,
      query: DEMO_SEARCH_QUERY,
      limit: 3,
      mode: 'text',
    });
    console.log(`\n${formatSearchResult(result, tenantId, tty)}\n`);
    say(`the same question by words and by meaning: "${DEMO_MEANING_QUERY}"`);
    const byWords = await demoMeaningSearch(pool, cfg, tenantId, 'text');
    const byMeaning = await demoMeaningSearch(pool, cfg, tenantId, 'hybrid');
    console.log(`\n── text (--mode text) ──\n${formatSearchResult(byWords, tenantId, tty)}`);
    console.log(`\n── hybrid (--mode hybrid) ──\n${formatSearchResult(byMeaning, tenantId, tty)}\n`);
    const first = byMeaning.hits[0];
    say(
      `text search: ${byWords.total} hit${byWords.total === 1 ? '' : 's'}${byWords.total === 0 ? ' (no file holds these words)' : ''}; hybrid: ` +
        (first ? `first hit ${first.fileName}, found by meaning` : 'no hit either (are the vectors there?)'),
    );
    return true;
  } catch (error) {
    say(`✗ search failed: ${errorText(error)}`);
    return false;
  } finally {
    await pool.end();
  }
}
