/** `make demo` ends with one search over the demo tenant's files: the query and its run. */
import { createPool } from '../clients/postgres.js';
import type { Config } from '../config/config.js';
import { searchResources } from '../db/search.js';
import { errorText } from '../domain/errors.js';
import { formatSearchResult } from './search-format.js';

/** The query `make demo` ends with: a phrase from page 3 of Sample.pdf, so the hit shows its page. */
export const DEMO_SEARCH_QUERY = 'engram processor for content chunking';

/**
 * The demo's last step: one search over the demo tenant's files, top hits printed. A failed query
 * makes the demo fail (returns false) after saying why.
 */
export async function runDemoSearch(
  cfg: Config,
  tenantId: string,
  say: (line: string) => void,
): Promise<boolean> {
  say(`search: p8fs search "${DEMO_SEARCH_QUERY}" --tenant ${tenantId} --limit 3`);
  const pool = createPool(cfg, 1);
  try {
    const result = await searchResources(pool, { tenantId, query: DEMO_SEARCH_QUERY, limit: 3 });
    console.log(`\n${formatSearchResult(result, tenantId, process.stdout.isTTY === true)}`);
    return true;
  } catch (error) {
    say(`✗ search failed: ${errorText(error)}`);
    return false;
  } finally {
    await pool.end();
  }
}
