/**
 * The key's tenant's moments (src/db/moments.ts): the list by time range, person and topic, and one by
 * id. The tenant is in every query, so another tenant's moment id is a 404 like a missing one.
 */
import type { FastifyInstance } from 'fastify';
import { getMoment, listMoments, MAX_MOMENTS_LIMIT } from '../../db/moments.js';
import { tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiProblem } from '../problems.js';
import { authProblems, problemRef, security } from '../schemas.js';

const MAX_OFFSET = 10_000;

const stringArray = { type: 'array', items: { type: 'string' } } as const;
const openArray = { type: 'array', items: { type: 'object', additionalProperties: true } } as const;
const nullableString = { type: ['string', 'null'] } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

const momentSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    category: nullableString,
    summary: nullableString,
    content: { type: 'string' },
    moment_type: nullableString,
    resource_timestamp: nullableTime,
    resource_ends_timestamp: nullableTime,
    present_persons: openArray,
    location: nullableString,
    background_sounds: nullableString,
    emotion_tags: stringArray,
    topic_tags: stringArray,
    key_emotions: stringArray,
    images: { ...stringArray, description: 'URIs of pictures of the moment' },
    speakers: openArray,
    graph_paths: {
      ...openArray,
      description: 'edges to related moments and resources: {dst, rel_type, weight, properties, created_at}',
    },
    userid: nullableString,
    uri: nullableString,
    metadata: { type: 'object', additionalProperties: true },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

interface ListQuery {
  since?: string;
  until?: string;
  person?: string;
  topic?: string;
  limit: number;
  offset: number;
}

export function registerMomentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: ListQuery }>(
    '/v1/moments',
    {
      schema: {
        summary: "The tenant's moments, newest first, by time range, person and topic",
        description:
          'since: moments ending at or after it; until: moments starting before it; person: a label or name (any case), user id or fingerprint id of someone present; topic: a topic tag.',
        tags: ['moments'],
        security,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: { type: 'string', format: 'date-time' },
            until: { type: 'string', format: 'date-time' },
            person: { type: 'string', minLength: 1, maxLength: 200 },
            topic: { type: 'string', minLength: 1, maxLength: 100 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_MOMENTS_LIMIT, default: 20 },
            offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['total', 'moments'],
            properties: { total: { type: 'integer' }, moments: { type: 'array', items: momentSchema } },
          },
          400: problemRef,
          ...authProblems,
        },
      },
    },
    async (request) => {
      const { since, until, person, topic, limit, offset } = request.query;
      if (since && until && Date.parse(since) >= Date.parse(until))
        throw new ApiProblem(400, `since (${since}) must be before until (${until})`);
      return listMoments(deps.pool, {
        tenantId: tenantOf(request),
        ...(since ? { since: new Date(since) } : {}),
        ...(until ? { until: new Date(until) } : {}),
        ...(person ? { person } : {}),
        ...(topic ? { topic } : {}),
        limit,
        offset,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/moments/:id',
    {
      schema: {
        summary: "One of the tenant's moments, whole",
        tags: ['moments'],
        security,
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
        },
        response: { 200: momentSchema, ...authProblems },
      },
    },
    async (request) => {
      const moment = await getMoment(deps.pool, tenantOf(request), request.params.id);
      if (!moment) throw new ApiProblem(404, `no moment ${request.params.id} for this tenant`);
      return moment;
    },
  );
}
