/**
 * The product's search in each mode (src/db/search.ts, searchResources), reduced to what the evaluation
 * reads of a hit: its file and heading. The query's vector comes from the configured embedding provider,
 * as `p8fs search` and the API make it.
 */
import type pg from 'pg';
import type { Config } from '../../src/config/config.js';
import { type QueryEmbedder, SEARCH_MODES, type SearchMode, searchResources } from '../../src/db/search.js';
import { embeddingProviderFromConfig } from '../../src/providers/embeddings/index.js';
import type { RankedHit } from './metrics.js';

export { SEARCH_MODES, type SearchMode };

export interface ModeQuery {
  tenantId: string;
  query: string;
  mode: SearchMode;
  limit: number;
}

export function queryEmbedder(cfg: Config): QueryEmbedder {
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

export async function searchTopHits(
  pool: pg.Pool,
  embedder: QueryEmbedder,
  q: ModeQuery,
): Promise<RankedHit[]> {
  const result = await searchResources(pool, {
    tenantId: q.tenantId,
    query: q.query,
    limit: q.limit,
    mode: q.mode,
    embedder,
  });
  return result.hits.map((h) => ({ fileName: h.fileName, heading: h.heading }));
}
