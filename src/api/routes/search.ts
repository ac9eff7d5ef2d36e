/**
 * Full-text search over the key's tenant's chunks (src/db/search.ts), scoped to the tenant in the query
 * itself.
 */
import type { FastifyInstance } from 'fastify';
import { MAX_SEARCH_LIMIT, SearchQueryError, searchResources } from '../../db/search.js';
import { tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiProblem } from '../problems.js';
import { problemRef, security } from '../schemas.js';

/** The deepest page: a larger `offset` is a 400, not a scan PostgreSQL gives up on (a 500). */
const MAX_OFFSET = 10_000;

const openObject = { type: 'object', additionalProperties: true } as const;

export function registerSearchRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { q: string; limit: number; offset: number } }>(
    '/v1/search',
    {
      schema: {
        summary: "Full-text search over the tenant's chunks, ranked, with snippets, file names and pages",
        description:
          'Search-box syntax: words (all must match, in any form: "reports" finds "report"), "a phrase", `or`, -excluded.',
        tags: ['search'],
        security,
        querystring: {
          type: 'object',
          required: ['q'],
          properties: {
            q: { type: 'string', minLength: 1, maxLength: 1000 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_LIMIT, default: 10 },
            offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: true,
            properties: {
              query: { type: 'string' },
              total: { type: 'integer' },
              hits: { type: 'array', items: openObject },
            },
          },
          400: problemRef,
          401: problemRef,
        },
      },
    },
    async (request) => {
      const { q, limit, offset } = request.query;
      try {
        return await searchResources(deps.pool, { tenantId: tenantOf(request), query: q, limit, offset });
      } catch (error) {
        if (error instanceof SearchQueryError)
          throw new ApiProblem(400, error.message, {}, undefined, { cause: error });
        throw error;
      }
    },
  );
}
