/**
 * Search over the key's tenant's chunks (src/db/search.ts) by words, meaning or both, scoped to the tenant
 * in the query itself. The query is embedded here with the configured provider, only when the tenant has
 * vectors of it to compare.
 */
import type { FastifyInstance } from 'fastify';
import {
  MAX_SEARCH_LIMIT,
  QueryEmbeddingError,
  SEARCH_MODES,
  type SearchMode,
  SearchQueryError,
  searchResources,
} from '../../db/search.js';
import { queryEmbedder } from '../../providers/embeddings/query-embedder.js';
import { tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiProblem } from '../problems.js';
import { problemRef, security } from '../schemas.js';

/** The deepest page: a larger `offset` is a 400, not a scan PostgreSQL gives up on (a 500). */
const MAX_OFFSET = 10_000;

const openObject = { type: 'object', additionalProperties: true } as const;

export function registerSearchRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { q: string; limit: number; offset: number; mode?: SearchMode } }>(
    '/v1/search',
    {
      schema: {
        summary:
          "Search the tenant's chunks by words, meaning or both, ranked, with snippets, file names and pages",
        description:
          'Search-box syntax: words (all must match, in any form: "reports" finds "report"), "a phrase", `or`, -excluded; ' +
          "a query must hold at least one word to find. mode: text (words), semantic (cosine similarity of the query's " +
          "vector to the chunks' vectors of the configured embedding provider) or hybrid (both rankings fused by " +
          'reciprocal rank, k = 60). Without mode: hybrid when the tenant has vectors, else text with a `note` naming ' +
          'the backfill command. `total` counts up to 1000 text matches (then `totalCapped`), or the candidates ranked.',
        tags: ['search'],
        security,
        querystring: {
          type: 'object',
          required: ['q'],
          properties: {
            q: { type: 'string', minLength: 1, maxLength: 1000 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_LIMIT, default: 10 },
            offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
            mode: { type: 'string', enum: [...SEARCH_MODES] },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: true,
            properties: {
              query: { type: 'string' },
              mode: { type: 'string', enum: [...SEARCH_MODES] },
              total: { type: 'integer' },
              totalCapped: { type: 'boolean' },
              note: { type: 'string' },
              hits: { type: 'array', items: openObject },
            },
          },
          400: problemRef,
          401: problemRef,
        },
      },
    },
    async (request) => {
      const { q, limit, offset, mode } = request.query;
      try {
        return await searchResources(deps.pool, {
          tenantId: tenantOf(request),
          query: q,
          limit,
          offset,
          ...(mode ? { mode } : {}),
          ...(mode === 'text' ? {} : { embedder: queryEmbedder(deps.cfg) }),
        });
      } catch (error) {
        if (error instanceof SearchQueryError)
          throw new ApiProblem(400, error.message, {}, undefined, { cause: error });
        // The embedding provider is down or refuses (mode asked for by name; the default falls back to text).
        if (error instanceof QueryEmbeddingError)
          throw new ApiProblem(503, error.message, {}, undefined, { cause: error });
        throw error;
      }
    },
  );
}
