/**
 * Work the API starts or reads for the key's tenant: dream analysis (dreamAnalysis on the LLM queue,
 * started as `p8fs dream start` does), batches (ingestBatch, src/temporal/batch-starts.ts), and search
 * over the tenant's chunks (src/db/search.ts). Every read is scoped to the key's tenant in the query
 * itself; another tenant's batch or workflow is 404.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { readBatch } from '../../db/batches.js';
import { MAX_SEARCH_LIMIT, SearchQueryError, searchResources } from '../../db/search.js';
import type { DreamMode } from '../../domain/insight/dream-analysis.js';
import { BatchRequestError, queryBatchProgress, startIngestBatch } from '../../temporal/batch-starts.js';
import { llmTaskQueue } from '../../temporal/names.js';
import { startDreamAnalysis } from '../../temporal/starts.js';
import { tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiProblem } from '../problems.js';
import { authProblems, problemRef, security } from '../schemas.js';

const FINAL_BATCH = new Set(['completed', 'failed', 'cancelled']);

/** Temporal did not take the call: 503, naming the address (the API itself keeps serving). */
function temporalUnavailable(deps: ApiDeps, error: unknown): never {
  if (error instanceof ApiProblem) throw error;
  throw new ApiProblem(
    503,
    `Temporal at ${deps.cfg.temporal.address} (TEMPORAL_ADDRESS) did not answer: ${(error as Error).message}`,
  );
}

const openObject = { type: 'object', additionalProperties: true } as const;

export function registerInsightRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: { mode?: DreamMode; windowHours?: number } | undefined }>(
    '/v1/dreams',
    {
      schema: {
        summary: "Start a dream analysis of the tenant's recent sessions and resources",
        description:
          'Starts dreamAnalysis on the LLM task queue (an LLM worker must run: `p8fs worker --tier llm`). Mode batch needs the OpenAI provider.',
        tags: ['dreams'],
        security,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            mode: { type: 'string', enum: ['direct', 'batch'], default: 'direct' },
            windowHours: { type: 'integer', minimum: 1, maximum: 8760 },
          },
        },
        response: {
          202: {
            type: 'object',
            required: ['workflowId', 'runId'],
            properties: {
              workflowId: { type: 'string' },
              runId: { type: 'string' },
              taskQueue: { type: 'string' },
              mode: { type: 'string' },
              status: { type: 'string' },
            },
          },
          400: problemRef,
          401: problemRef,
          409: problemRef,
          503: problemRef,
        },
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const mode = request.body?.mode ?? 'direct';
      if (mode === 'batch' && deps.cfg.llm.provider !== 'openai')
        throw new ApiProblem(
          409,
          `mode batch needs the OpenAI Batch API, but this deployment's provider is ${deps.cfg.llm.provider}; use mode direct`,
        );
      const workflowId = `dream/${tenantId}/${new Date().toISOString()}`;
      const taskQueue = llmTaskQueue(deps.cfg);
      const windowHours = request.body?.windowHours;
      const handle = await startDreamAnalysis(
        deps.temporal,
        { tenantId, mode, ...(windowHours ? { windowHours } : {}) },
        { taskQueue, workflowId },
      ).catch((error: unknown) => temporalUnavailable(deps, error));
      return reply.code(202).send({
        workflowId,
        runId: handle.firstExecutionRunId,
        taskQueue,
        mode,
        status: `/v1/dreams/${encodeURIComponent(workflowId)}`,
      });
    },
  );

  app.get<{ Params: { workflowId: string } }>(
    '/v1/dreams/:workflowId',
    {
      schema: {
        summary: 'The status of a dream analysis this tenant started (its workflow)',
        tags: ['dreams'],
        security,
        params: {
          type: 'object',
          required: ['workflowId'],
          properties: { workflowId: { type: 'string', minLength: 1, maxLength: 400 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              workflowId: { type: 'string' },
              runId: { type: 'string' },
              status: { type: 'string' },
              startTime: { type: 'string', format: 'date-time' },
              closeTime: { type: ['string', 'null'], format: 'date-time' },
            },
          },
          503: problemRef,
          ...authProblems,
        },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const { workflowId } = request.params;
      const notFound = new ApiProblem(404, `no dream analysis ${workflowId} for this tenant`);
      // Ids of this tenant's dream runs start with dream/<tenant>/ (the ones this API and the CLI make).
      if (!workflowId.startsWith(`dream/${tenantId}/`)) throw notFound;
      const described = await deps.temporal.workflow
        .getHandle(workflowId)
        .describe()
        .catch((error: unknown) => {
          if (error instanceof WorkflowNotFoundError) throw notFound;
          return temporalUnavailable(deps, error);
        });
      return {
        workflowId,
        runId: described.runId,
        status: described.status.name,
        startTime: described.startTime,
        closeTime: described.closeTime ?? null,
      };
    },
  );

  app.post<{
    Body: {
      zip?: string;
      prefix?: string;
      keys?: string[];
      priority?: number;
      window?: number;
      batchId?: string;
    };
  }>(
    '/v1/batches',
    {
      schema: {
        summary:
          'Start a batch: a ZIP in the bucket, a prefix, or a list of keys, ingested in a sliding window',
        description:
          'Exactly one of zip, prefix, keys; all are keys of the tenant’s own bucket. Follow it with GET /v1/batches/{batchId}.',
        tags: ['batches'],
        security,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            zip: { type: 'string', minLength: 1 },
            prefix: { type: 'string' },
            keys: { type: 'array', minItems: 1, maxItems: 100_000, items: { type: 'string', minLength: 1 } },
            priority: { type: 'integer', minimum: 1, maximum: 5 },
            window: { type: 'integer', minimum: 1, maximum: 1000 },
            batchId: { type: 'string', format: 'uuid' },
          },
        },
        response: {
          202: {
            type: 'object',
            required: ['batchId', 'workflowId'],
            properties: {
              batchId: { type: 'string' },
              workflowId: { type: 'string' },
              runId: { type: 'string' },
              status: { type: 'string' },
            },
          },
          400: problemRef,
          401: problemRef,
          409: problemRef,
          503: problemRef,
        },
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      try {
        const started = await startIngestBatch(
          { cfg: deps.cfg, temporal: deps.temporal, s3: deps.s3, pool: deps.pool },
          { ...request.body, tenantId },
        );
        return reply.code(202).send({
          batchId: started.batchId,
          workflowId: started.workflowId,
          runId: started.runId,
          status: `/v1/batches/${started.batchId}`,
        });
      } catch (error) {
        if (error instanceof BatchRequestError) throw new ApiProblem(400, error.message);
        if (error instanceof WorkflowExecutionAlreadyStartedError)
          throw new ApiProblem(409, `batch ${request.body.batchId} was started before`);
        throw error;
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/batches/:id',
    {
      schema: {
        summary: 'A batch: its stored progress and aggregate, and live progress while it runs',
        tags: ['batches'],
        security,
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', format: 'uuid' } },
        },
        response: {
          200: {
            type: 'object',
            properties: { batch: openObject, live: { ...openObject, nullable: true } },
          },
          400: problemRef,
          ...authProblems,
        },
      },
    },
    async (request) => {
      const batch = await readBatch(deps.pool, request.params.id, { tenantId: tenantOf(request) });
      if (!batch) throw new ApiProblem(404, `no batch ${request.params.id} for this tenant`);
      // Live figures from the workflow's query while it runs; the row is enough once it has ended.
      const live = FINAL_BATCH.has(batch.status)
        ? null
        : await queryBatchProgress(deps.temporal, batch.id).catch(() => null);
      return { batch, live };
    },
  );

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
            offset: { type: 'integer', minimum: 0, default: 0 },
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
        if (error instanceof SearchQueryError) throw new ApiProblem(400, error.message);
        throw error;
      }
    },
  );
}
