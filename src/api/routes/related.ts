/**
 * A resource's or file's related resources (resource affinity, src/db/affinity.ts): the edges its rows
 * hold and those other rows hold to it, one line per neighbour file, strongest first. The tenant is in
 * every query, so another tenant's id is a 404 like a missing one.
 */
import type { FastifyInstance } from 'fastify';
import { findRelatedTarget, type RelatedTarget, relatedResources } from '../../db/affinity.js';
import { tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiProblem } from '../problems.js';
import { authProblems, security } from '../schemas.js';

export const MAX_RELATED_LIMIT = 100;
const nullableString = { type: ['string', 'null'] } as const;

const response = {
  type: 'object',
  required: ['kind', 'id', 'name', 'related'],
  properties: {
    kind: { type: 'string', enum: ['file', 'resource'] },
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    related: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string', format: 'uuid', description: 'the neighbour resource (chunk)' },
          name: { type: 'string' },
          category: nullableString,
          file_id: { type: ['string', 'null'], format: 'uuid' },
          file_name: nullableString,
          file_path: nullableString,
          weight: { type: 'number' },
          rel_type: { type: 'string', description: 'semantic_similar, or the relation a model named' },
          match_type: { ...nullableString, description: 'semantic-basic or llm-assessed' },
          similarity: { type: ['number', 'null'], description: 'cosine similarity of the vectors' },
          direction: {
            type: 'string',
            enum: ['out', 'in'],
            description: 'out: the asked rows hold the edge; in: the neighbour holds it',
          },
        },
      },
    },
  },
} as const;

function route(kind: RelatedTarget['kind']) {
  return {
    schema: {
      summary:
        kind === 'file'
          ? "A file's related resources: edges of its chunks, one per neighbour file"
          : "A resource's related resources: its edges and edges to it, one per neighbour file",
      description:
        'Written by `p8fs dreaming process --task affinity` (resources.graph_paths); strongest first. `p8fs related` reads the same.',
      tags: ['resources'],
      security,
      params: {
        type: 'object',
        required: ['id'],
        properties: { id: { type: 'string', format: 'uuid' } },
      },
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_RELATED_LIMIT, default: 20 } },
      },
      response: { 200: response, ...authProblems },
    },
  };
}

export function registerRelatedRoutes(app: FastifyInstance, deps: ApiDeps): void {
  for (const kind of ['resource', 'file'] as const)
    app.get<{ Params: { id: string }; Querystring: { limit: number } }>(
      `/v1/${kind}s/:id/related`,
      route(kind),
      async (request) => {
        const tenantId = tenantOf(request);
        const target = await findRelatedTarget(deps.pool, tenantId, request.params.id, kind);
        if (!target) throw new ApiProblem(404, `no ${kind} ${request.params.id} for this tenant`);
        const related = await relatedResources(deps.pool, tenantId, target.resourceIds, request.query.limit);
        return { kind: target.kind, id: target.id, name: target.name, related };
      },
    );
}
