/**
 * The embedder a search asks for the query's vector (src/db/search.ts QueryEmbedder): the configured
 * provider, named as its vectors are stored. The model is touched only when the search embeds, i.e. when
 * the tenant has vectors of this provider to compare; a text search never loads it.
 */
import type { EmbeddingsConfig } from '../../config/config.js';
import { embeddingProviderFromConfig } from './index.js';

export interface SearchQueryEmbedder {
  readonly provider: string;
  embed(query: string): Promise<Float32Array>;
}

export function queryEmbedder(config: { embeddings: EmbeddingsConfig }): SearchQueryEmbedder {
  const provider = embeddingProviderFromConfig(config);
  return {
    provider: provider.name,
    async embed(query) {
      const [vector] = await provider.embed([query]);
      if (!vector) throw new Error(`embedding provider ${provider.name} returned no vector for the query`);
      return vector;
    },
  };
}
